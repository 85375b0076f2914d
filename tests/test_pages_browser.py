"""The public pages in Chromium at 1280 and 375 px: axe-core finds nothing serious, nothing is wider than the screen."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from widgetserver import store

pytestmark = pytest.mark.browser


@pytest.fixture
def reviewed(db, shop):
    for rating, sku in ((5, "SKU-1"), (4, "SKU-1"), (1, "SKU-1"), (3, None), (2, "SKU-2")):
        review_id = store.add_review(db, shop["id"], rating=rating, title=f"Titel {rating}",
                                     body="Een review met wat tekst over de jurk en de levering. " * 3,
                                     author="Anne-Marie van den Berg-Huisman", product_sku=sku)
    store.set_reply(db, shop["id"], review_id, body="Dank je, we sturen een nieuwe.", author="Sanne", role="klantenservice")


@pytest.mark.parametrize("path, status", [("/", 200), ("/s/acme", 200), ("/s/acme/p/SKU-1", 200),
                                          ("/s/acme/p/SKU-1?rating=1&sort=lowest", 200), ("/s/acme/p/NOPE", 404),
                                          ("/no/such/page", 404), ("/s/acme?rating=9", 400)])
@pytest.mark.parametrize("width", [1280, 375])
@pytest.mark.parametrize("language", ["nl", "de"])
def test_public_pages_pass_axe_and_fit_the_screen(live_server, page, reviewed, path, status, width, language):
    page.set_extra_http_headers({"Accept-Language": language})
    page.set_viewport_size({"width": width, "height": 900})
    response = page.goto(live_server.url + path)
    assert response.status == status
    assert page.evaluate("document.documentElement.lang") == language
    results = Axe().run(page)
    serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
               for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == []
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"page is {overflow}px wider than a {width}px screen"
    # No CSP violation or script error (the page's own 4xx status is logged as a failed load).
    errors = [e for e in page.console_errors if not (status != 200 and e.startswith("Failed to load resource"))]
    assert errors == []
