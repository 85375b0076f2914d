"""The embed snippet in headless Chromium, on a hostile third-party shop page served from another origin."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from werkzeug.wrappers import Request, Response

from conftest import LiveServer
from widgetserver import store

pytestmark = pytest.mark.browser

# Would restyle every element of the page (widget text too, were it in the light DOM) but leaves the
# placeholders themselves visible; also uses the class names the widgets use, to catch leaks both ways.
HOSTILE_CSS = """
body * { color: rgb(255, 0, 0) !important; font-size: 40px !important; font-family: serif !important;
         letter-spacing: 7px !important; line-height: 3 !important; text-transform: uppercase !important; }
div:not([data-eerlijk]) { display: none !important; }
span, svg, h2, ul, li, a, article { display: none !important; }
.eerlijk, .eerlijk-count, .eerlijk-score, [part] { display: none !important; background: lime !important; }
"""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Third-party shop</title>
<link rel="icon" href="data:,">
<style>{css}</style></head>
<body>
<p id="host-text" class="eerlijk-heading eerlijk-review-body">Welcome to the shop.</p>
{snippets}
<p id="host-after">Footer text.</p>
</body></html>"""


def shop_page(body_by_path: dict) -> LiveServer:
    """A tiny second server (another origin) serving fixed HTML pages."""

    @Request.application
    def wsgi(request):
        body = body_by_path.get(request.path)
        if body is None:
            return Response("not found", 404)
        return Response(body, mimetype="text/html")

    return LiveServer(wsgi)


@pytest.fixture
def reviews(db, shop):
    """Imported reviews of every rating (three 1-star), for the shop and SKU-1, one with a reply."""
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    ratings = [5, 4, 1, 3, 5, 2, 1, 4, 5, 1, 3, 5]
    ids = []
    for i, rating in enumerate(ratings):
        ids.append(store.add_review(
            db, shop["id"], rating=rating, author=f"Klant {i}", title=f"Titel {i}", body=f"Tekst {i}",
            product_sku="SKU-1" if i % 3 == 0 else None, created_at=start + timedelta(days=i),
        ))
    store.set_reply(db, shop["id"], ids[2], body="Sorry, we lossen het op.", author="Eva", role="klantenservice")
    return ids


def snippet(client, **params) -> str:
    response = client.get("/api/v1/shops/acme/snippet", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["html"]


def shadow(page, selector: str, script: str):
    """Evaluate `script` (a function of the shadow root) on the placeholder matching `selector`."""
    return page.evaluate(f"(() => {{ const root = document.querySelector({selector!r}).shadowRoot; return ({script})(root); }})()")


CLS_OBSERVER = """
window.__cls = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__cls += entry.value;
}).observe({type: 'layout-shift', buffered: true});
"""

ALL_DONE = "() => [...document.querySelectorAll('[data-eerlijk]')].every(e => e.getAttribute('data-eerlijk-state') === 'done')"


def test_snippets_on_a_hostile_page_from_another_origin(app, client, live_server, page, reviews):
    app.config["PUBLIC_BASE_URL"] = live_server.url
    parts = [snippet(client, widget="badge"), snippet(client, widget="summary"), snippet(client, widget="list"),
             snippet(client, widget="product", product="SKU-1")]
    assert all(p.count("<script async src=") == 1 and live_server.url + "/embed.js" in p for p in parts)
    # Pasted one after another: every snippet brings the loader; loading it twice is harmless.
    with_widgets = PAGE.format(css=HOSTILE_CSS, snippets="\n".join(parts))
    without = PAGE.format(css=HOSTILE_CSS, snippets="")
    other = shop_page({"/": with_widgets, "/plain": without})
    try:
        assert other.url != live_server.url
        requests = []
        page.on("request", lambda r: "/w/" in r.url and requests.append(r.url))
        page.add_init_script(CLS_OBSERVER)
        page.goto(other.url + "/plain")
        plain_style = page.evaluate("getComputedStyle(document.getElementById('host-text')).cssText || "
                                    "JSON.stringify(Object.fromEntries([...getComputedStyle(document.getElementById('host-text'))].map(k => [k, getComputedStyle(document.getElementById('host-text')).getPropertyValue(k)])))")
        page.goto(other.url + "/")
        page.wait_for_function(ALL_DONE, timeout=15000)
        page.wait_for_timeout(500)

        api = client.get("/api/v1/shops/acme/summary").get_json()
        api_product = client.get("/api/v1/shops/acme/summary?product=SKU-1").get_json()

        # One bundle request for the whole page.
        assert len(requests) == 1 and "/w/acme/bundle.json?" in requests[0], requests

        # Every widget shows the API's figures.
        def figures(selector):
            return shadow(page, selector, "r => [r.querySelector('.eerlijk-count').textContent, r.querySelector('.eerlijk-score').textContent]")

        for selector, expected in (('[data-eerlijk="badge"]', api), ('[data-eerlijk="summary"]', api),
                                   ('[data-eerlijk="list"]', api), ('[data-eerlijk="product"]', api_product)):
            count_text, score_text = figures(selector)
            assert int(re.sub(r"\D", "", count_text)) == expected["count"], (selector, count_text)
            assert abs(float(score_text.replace(",", ".")) - expected["average"]) <= 0.05 + 1e-9, (selector, score_text)
        bars = shadow(page, '[data-eerlijk="summary"]', "r => [...r.querySelectorAll('.eerlijk-bar-count')].map(e => e.textContent)")
        assert [int(b) for b in bars] == [api["distribution"][str(s)] for s in (5, 4, 3, 2, 1)]

        # Hostile host CSS does not restyle widget text.
        style = shadow(page, '[data-eerlijk="badge"]', """r => { const s = getComputedStyle(r.querySelector('.eerlijk-count'));
            return {color: s.color, size: s.fontSize, spacing: s.letterSpacing, transform: s.textTransform, display: s.display,
                    family: s.fontFamily, visible: r.querySelector('.eerlijk-count').getBoundingClientRect().width > 0}; }""")
        assert style["color"] != "rgb(255, 0, 0)" and style["size"] != "40px", style
        assert style["spacing"] != "7px" and style["transform"] != "uppercase" and style["family"] != "serif", style
        assert style["display"] != "none" and style["visible"], style

        # Widget CSS does not touch the host: its paragraph computes the same as on the page without widgets.
        host_style = page.evaluate("getComputedStyle(document.getElementById('host-text')).cssText || "
                                   "JSON.stringify(Object.fromEntries([...getComputedStyle(document.getElementById('host-text'))].map(k => [k, getComputedStyle(document.getElementById('host-text')).getPropertyValue(k)])))")
        assert host_style == plain_style

        # No layout shift.
        assert page.evaluate("window.__cls") == 0

        # JSON-LD in the light DOM, as a child of the host, and it parses.
        ld = page.evaluate("""[...document.querySelectorAll('[data-eerlijk] > script[type="application/ld+json"]')]
                              .map(s => JSON.parse(s.textContent)['@type'])""")
        assert "Product" in ld and len(ld) >= 2, ld
        assert page.evaluate("document.querySelectorAll('[data-eerlijk]')[0].shadowRoot.querySelector('script')") is None

        # Clicking a star filter re-renders the list in place with only those ratings.
        ratings = {r["id"]: r["rating"] for r in client.get("/api/v1/shops/acme/reviews?limit=100").get_json()["items"]}
        page.evaluate("""document.querySelector('[data-eerlijk="list"]').shadowRoot
                         .querySelector('.eerlijk-filters a[href*="rating=1"]').click()""")
        page.wait_for_function("""() => { const e = document.querySelector('[data-eerlijk="list"]');
            return e.getAttribute('data-eerlijk-rating') === '1' && e.getAttribute('data-eerlijk-state') === 'done'; }""")
        shown = shadow(page, '[data-eerlijk="list"]', "r => [...r.querySelectorAll('[data-review-id]')].map(e => +e.dataset.reviewId)")
        assert shown and {ratings[i] for i in shown} == {1} and len(shown) == api["distribution"]["1"]
        assert page.url == other.url + "/"  # stayed on the shop's page

        # Re-rendering on demand (single-page apps) is idempotent.
        page.evaluate("Eerlijk.render(); Eerlijk.render(document.body)")
        page.wait_for_timeout(300)
        assert page.evaluate("document.querySelectorAll('[data-eerlijk] > script[type=\"application/ld+json\"]').length") == len(ld)

        assert page.console_errors == [], page.console_errors
    finally:
        other.stop()


def test_failed_load_marks_the_placeholder_and_never_throws(app, live_server, page, shop):
    html = (f'<!doctype html><html lang="en"><head><link rel="icon" href="data:,"></head><body>'
            f'<div data-eerlijk="badge" data-eerlijk-shop="no-such-shop" data-eerlijk-server="{live_server.url}" style="height:48px"></div>'
            f'<div data-eerlijk="list" data-eerlijk-shop="acme" data-eerlijk-server="http://127.0.0.1:9" style="height:48px"></div>'
            f'<script async src="{live_server.url}/embed.js"></script><script>window.ok = 1;</script></body></html>')
    other = shop_page({"/": html})
    try:
        page.goto(other.url + "/")
        page.wait_for_function("() => [...document.querySelectorAll('[data-eerlijk]')].every(e => e.getAttribute('data-eerlijk-state') === 'error')")
        assert page.evaluate("window.ok") == 1
        assert not [e for e in page.console_errors if "Uncaught" in e or "TypeError" in e], page.console_errors
    finally:
        other.stop()
