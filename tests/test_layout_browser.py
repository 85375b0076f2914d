"""Pasted widgets in Chromium: nothing is ever clipped or scrolls inside, and the page barely moves.

For every widget x shipped theme x locale x viewport (1,280 and 375 px) the content of each widget
must fit its box: no element scrolls (scrollHeight/Width within clientHeight/Width + 1 px) and no
element is cut by an ancestor whose overflow is not visible. The cumulative layout shift (CLS) of a
shop page whose widgets arrive late (the server delays every fragment) stays at or under 0.01.

Figures: `python -m pytest tests/test_layout_browser.py -m browser -s` prints the CLS of each run.
"""

from __future__ import annotations

import time

import pytest
from werkzeug.wrappers import Request, Response

import widgets
from conftest import LiveServer
from widgetserver import store
from widgetserver.demo import build_demo

pytestmark = pytest.mark.browser

THEMES = ("default", "minimal", "dark")
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 740}}
DELAY = 0.8  # seconds the slow server waits before answering a fragment or bundle request
CLS_BUDGET = 0.01

CLS_OBSERVER = """
window.__shifts = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__shifts.push(entry.value);
}).observe({type: 'layout-shift', buffered: true});
"""

ALL_DONE = "() => [...document.querySelectorAll('[data-eerlijk]')].every(e => e.getAttribute('data-eerlijk-state') === 'done')"

# Problems in every placeholder: scrolling boxes, elements cut by a clipping ancestor, a widget taller than its host.
CLIPPED_JS = """() => {
  const problems = [];
  const name = (el) => el.tagName.toLowerCase() + (el.className && el.className.baseVal === undefined && el.className ? '.' + el.className.split(' ')[0] : '');
  for (const host of document.querySelectorAll('[data-eerlijk]')) {
    const widget = host.getAttribute('data-eerlijk'), root = host.shadowRoot;
    const box = root.querySelector('.eerlijk');
    if (!box) { problems.push([widget, 'no widget rendered']); continue; }
    for (const el of [host, box, ...box.querySelectorAll('*')]) {
      // Star outlines and the partial fill that masks them: decoration without text, clipped on purpose.
      if (el.closest('svg') || (el.querySelector('svg') && !el.textContent.trim())) continue;
      const s = getComputedStyle(el);
      if (s.display === 'none' || s.display === 'contents') continue;
      if (el.scrollHeight > el.clientHeight + 1 && el.clientHeight > 0 && s.overflowY !== 'visible')
        problems.push([widget, name(el), 'scrolls vertically', el.scrollHeight, el.clientHeight]);
      if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0 && s.overflowX !== 'visible')
        problems.push([widget, name(el), 'scrolls horizontally', el.scrollWidth, el.clientWidth]);
      if (s.overflowX !== 'visible' || s.overflowY !== 'visible') {
        if (el === host || el === box) problems.push([widget, name(el), 'overflow ' + s.overflow + ' on the widget box']);
      }
      // Cut by an ancestor (inside the shadow root, up to the host) that clips.
      const r = el.getBoundingClientRect();
      if (!r.width || !r.height) continue;
      for (let a = el.parentElement || el.getRootNode().host; a; a = a.parentElement || (a.getRootNode() !== document && a.getRootNode().host)) {
        const as = getComputedStyle(a);
        if (as.overflowX !== 'visible' || as.overflowY !== 'visible') {
          const ar = a.getBoundingClientRect();
          if (r.top < ar.top - 1 || r.bottom > ar.bottom + 1 || r.left < ar.left - 1 || r.right > ar.right + 1)
            problems.push([widget, name(el), 'cut by', name(a), Math.round(r.bottom - ar.bottom)]);
        }
        if (a === host) break;
      }
    }
    // The host is as tall as the widget (nothing hangs out over the page below), and as wide.
    const hr = host.getBoundingClientRect(), br = box.getBoundingClientRect();
    if (br.bottom > hr.bottom + 1) problems.push([widget, 'widget extends below its placeholder', br.bottom - hr.bottom]);
    if (br.right > hr.right + 1 || br.left < hr.left - 1) problems.push([widget, 'widget wider than its placeholder']);
    if (root.querySelector('.eerlijk').scrollWidth > hr.width + 1) problems.push([widget, 'content wider than the widget']);
  }
  return problems;
}"""


@pytest.fixture
def demo_shop(db):
    """The demo shop: products, many reviews of every rating, replies, long and short texts."""
    build_demo(db)
    return store.get_shop(db, "demo")


def snippet(client, **params) -> str:
    response = client.get("/api/v1/shops/demo/snippet", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["html"]


def shop_page(lang: str, body: str) -> str:
    """A plain shop page: a header, some copy, the pasted widgets in between, a footer."""
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">'
            '<title>Shop</title><style>body{font:16px/1.5 sans-serif;margin:0 auto;max-width:1100px;padding:0 16px}'
            '[data-eerlijk]{margin:16px 0}</style></head><body>'
            '<header><h1>Modehuis</h1><p>Linnen zomerjurk, gemaakt in Portugal. € 89,95</p></header>'
            f'{body}<footer><p>© Modehuis · Over ons · Contact</p><p>Verzending en retour</p></footer></body></html>')


def serve(pages: dict) -> LiveServer:
    @Request.application
    def wsgi(request):
        body = pages.get(request.path)
        return Response(body, mimetype="text/html") if body else Response("not found", 404)

    return LiveServer(wsgi)


def slow(app, delay: float):
    """The app behind a slow network: widget fragments and bundles answer after `delay` seconds."""
    def wsgi(environ, start_response):
        if environ.get("PATH_INFO", "").startswith("/w/"):
            time.sleep(delay)
        return app(environ, start_response)

    return wsgi


@pytest.mark.parametrize("theme", THEMES)
def test_no_widget_is_ever_clipped(app, client, db, demo_shop, browser, theme):
    server = LiveServer(app)
    app.config["PUBLIC_BASE_URL"] = server.url
    product = store.list_products(db, demo_shop["id"])[0]["sku"]
    pages = {}
    for locale in widgets.LOCALES:
        body = "".join(
            snippet(client, widget=widget, theme=theme, locale=locale, **({"product": product} if widget == "product" else {}))
            for widget in widgets.WIDGETS)
        pages[f"/{locale}"] = shop_page(locale, body)
    site = serve(pages)
    failures = {}
    try:
        for label, viewport in VIEWPORTS.items():
            context = browser.new_context(viewport=viewport)
            page = context.new_page()
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            for locale in widgets.LOCALES:
                page.goto(f"{site.url}/{locale}")
                page.wait_for_function(ALL_DONE, timeout=20000)
                assert page.evaluate("document.querySelectorAll('[data-eerlijk]').length") == len(widgets.WIDGETS)
                # Every widget's language is the one asked for, its 1-star row is on screen-able layout.
                langs = page.evaluate("[...document.querySelectorAll('[data-eerlijk]')].map(e => e.shadowRoot.querySelector('.eerlijk').lang)")
                assert set(langs) == {locale}
                problems = page.evaluate(CLIPPED_JS)
                if problems:
                    failures[(label, locale)] = problems[:12]
                one_star = page.evaluate("""(() => { const r = document.querySelector('[data-eerlijk=summary]').shadowRoot;
                    const rows = r.querySelectorAll('.eerlijk-bar-row'); const last = rows[rows.length - 1].getBoundingClientRect();
                    const host = document.querySelector('[data-eerlijk=summary]').getBoundingClientRect();
                    return [rows.length, last.height > 0 && last.bottom <= host.bottom + 0.5]; })()""")
                assert one_star == [5, True], (label, locale, one_star)
            assert errors == []
            context.close()
    finally:
        site.stop()
        server.stop()
    assert not failures, failures


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_late_widgets_barely_move_the_page(app, client, db, demo_shop, browser, theme, viewport):
    """CLS <= 0.01 with every fragment 0.8 s late, for host pages in two languages (the loader's hint)."""
    server = LiveServer(slow(app, DELAY))
    app.config["PUBLIC_BASE_URL"] = server.url
    product = store.list_products(db, demo_shop["id"])[0]["sku"]
    badge = snippet(client, widget="badge", theme=theme)
    rest = snippet(client, widget="summary,list", theme=theme)
    item = snippet(client, widget="product", product=product, theme=theme)
    recent = snippet(client, widget="recent", theme=theme)
    body = (badge + "<h2>Wat klanten zeggen</h2>" + rest + "<h2>Dit product</h2>" + item + recent)
    site = serve({"/nl": shop_page("nl", body), "/de": shop_page("de-AT", body)})
    figures = {}
    try:
        for lang in ("nl", "de"):
            context = browser.new_context(viewport=VIEWPORTS[viewport])
            page = context.new_page()
            page.add_init_script(CLS_OBSERVER)
            started = time.monotonic()
            page.goto(f"{site.url}/{lang}")
            page.wait_for_function(ALL_DONE, timeout=20000)
            assert time.monotonic() - started >= DELAY  # the widgets really arrived late
            page.wait_for_timeout(300)
            assert page.evaluate("document.querySelector('[data-eerlijk=list]').shadowRoot.querySelector('.eerlijk').lang") == lang
            shifts = page.evaluate("window.__shifts")
            figures[lang] = round(sum(shifts), 5)
            context.close()
    finally:
        site.stop()
        server.stop()
    print(f"\nCLS {theme} {viewport} ({VIEWPORTS[viewport]['width']} px): {figures}")
    assert all(cls <= CLS_BUDGET for cls in figures.values()), figures
