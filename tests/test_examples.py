"""The examples run as their READMEs say: the in-process Flask shop and the static page with the snippet."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from werkzeug.wrappers import Request, Response

from conftest import LiveServer
from widgetserver import store
from widgetserver.demo import build_demo

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def demo(db, live_server):
    """The demo shop, served over real HTTP."""
    build_demo(db)
    return store.get_shop(db, "demo")


def load_flask_shop(monkeypatch, api_url: str):
    """Import examples/flask_shop/app.py the way `python app.py` would, pointed at `api_url`."""
    monkeypatch.setenv("EERLIJK_API", api_url)
    monkeypatch.setenv("EERLIJK_SHOP", "demo")
    spec = importlib.util.spec_from_file_location("flask_shop_example", EXAMPLES / "flask_shop" / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def test_flask_shop_renders_widgets_in_process_from_the_api(monkeypatch, live_server, demo, db):
    shop_app = load_flask_shop(monkeypatch, live_server.url).test_client()
    summary = store.summary_for(db, demo["id"])

    home = shop_app.get("/").get_data(as_text=True)
    assert 'data-eerlijk-widget="summary"' in home and 'data-eerlijk-widget="recent"' in home
    assert f"{summary['count']} reviews" in home

    one_star = shop_app.get("/reviews?stars=1&lang=en")
    assert one_star.status_code == 200
    labels = re.findall(r'aria-label="(\d) out of 5 stars"', one_star.get_data(as_text=True).split("eerlijk-list", 1)[1])
    assert labels and set(labels) == {"1"}

    product = shop_app.get("/products/JURK-1078")
    assert product.status_code == 200
    assert '"@type": "Product"' in product.get_data(as_text=True) or '"@type":"Product"' in product.get_data(as_text=True)
    assert shop_app.get("/products/NOPE").status_code == 404


@pytest.mark.browser
def test_static_shop_page_fills_its_pasted_snippets(live_server, demo, db, page):
    html = (EXAMPLES / "static_shop" / "index.html").read_text().replace("http://127.0.0.1:5000", live_server.url)

    @Request.application
    def static_site(request):
        if request.path == "/favicon.ico":
            return Response(status=204)
        return Response(html, mimetype="text/html") if request.path == "/" else Response("", 404)

    site = LiveServer(static_site)  # its own origin, as `python -m http.server 8080` would be
    try:
        page.goto(site.url + "/")
        page.wait_for_function(
            "[...document.querySelectorAll('[data-eerlijk]')].every(e => e.getAttribute('data-eerlijk-state') === 'done')"
        )
        count = store.summary_for(db, demo["id"])["count"]
        badge = page.evaluate("document.querySelector('[data-eerlijk=badge]').shadowRoot.textContent")
        assert str(count) in badge
        assert page.evaluate("document.querySelectorAll('script[type=\"application/ld+json\"]').length") >= 1
        assert page.console_errors == []
    finally:
        site.stop()
