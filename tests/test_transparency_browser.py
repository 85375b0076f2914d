"""The transparency page and the hosted page with tombstones, in Chromium: axe-core, 375 px, no overflow."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from widgetserver import moderation, store
from widgetserver.reports import add_report

pytestmark = pytest.mark.browser


@pytest.fixture
def moderated(db, shop):
    ids = [store.add_review(db, shop["id"], rating=r, author=f"Klant {r}", body="Tekst over de jurk.",
                            product_sku="SKU-1") for r in (1, 2, 4, 5)]
    store.set_reply(db, shop["id"], ids[1], body="Sorry, we bellen je.", author="Sanne", role="klantenservice")
    add_report(db, shop["id"], ids[0], "personal_data", "", "nl")
    add_report(db, shop["id"], ids[1], "spam", "", "nl", reporter="shop")
    moderation.decide(db, shop, ids[0], "remove", reason="personal_data", decided_by="operator", operator=True)
    return ids


@pytest.mark.parametrize("path", ["/s/acme/transparency?locale=nl", "/s/acme/transparency?locale=de", "/s/acme?locale=nl"])
@pytest.mark.parametrize("width", [1280, 375])
def test_no_serious_axe_violations_and_nothing_wider_than_the_screen(live_server, page, moderated, path, width):
    page.set_viewport_size({"width": width, "height": 900})
    response = page.goto(live_server.url + path)
    assert response.status == 200
    results = Axe().run(page)
    serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
               for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == []
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"page is {overflow}px wider than a {width}px screen"
    assert page.console_errors == []  # no CSP violation or script error
