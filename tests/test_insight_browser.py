"""Analytics and the moderation queue in Chromium: chart values read from the rendered SVG, axe-core, 375 px."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from test_workspace_browser import _axe
from workspace_helpers import PASSWORD, make_user

from widgetserver import store
from widgetserver.reports import add_report

pytestmark = pytest.mark.browser


@pytest.fixture
def fixture_shop(db, shop):
    """Sept 2026: 5 and 4 stars; Oct 2026: 1 star on SKU-1 (reported) and 5 stars on SKU-1."""
    ids = [store.add_review(db, shop["id"], rating=r, author="Klant", body=b, product_sku=sku, locale="nl",
                            created_at=datetime(2026, m, d, 12, tzinfo=timezone.utc))
           for m, d, r, sku, b in [(9, 3, 5, "SKU-2", "Mooi."), (9, 20, 4, None, "Goed."),
                                   (10, 2, 1, "SKU-1", "Kwam kapot aan, bel 0612345678."), (10, 30, 5, "SKU-1", "Top.")]]
    add_report(db, shop["id"], ids[2], "personal_data", "", "nl")
    make_user(db, shop)
    make_user(db, None, email="op@eerlijk.example", role="operator", name="Olga")
    return ids


def log_in(page, base, email):
    page.goto(f"{base}/workspace/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/workspace/.+"))


@pytest.mark.parametrize("width", [1280, 375])
def test_analytics_renders_the_right_values_accessibly(browser, live_server, fixture_shop, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    log_in(page, live_server.url, "owner@acme.example")
    page.goto(f"{live_server.url}/workspace/acme/analytics?from=2026-09&to=2026-10&locale=en")
    values = page.evaluate("""() => Object.fromEntries(['volume', 'stars', 'products'].map(id =>
        [id, [...document.querySelectorAll(`svg[data-chart=${id}] [data-value]`)].map(e =>
            [e.getAttribute('data-series'), Number(e.getAttribute('data-value'))])]))""")
    assert [v for s, v in values["volume"] if s == "count"] == [2, 2]
    assert [v for s, v in values["volume"] if s == "Average"] == [4.5, 3.0]
    assert sorted(values["stars"]) == [["r1", 1], ["r4", 1], ["r5", 1], ["r5", 1]]
    assert [v for _, v in values["products"]] == [0.5, 0.0]
    box = page.locator("svg[data-chart=volume]").bounding_box()
    assert box["width"] > 200 and box["height"] > 60  # drawn, not collapsed
    assert _axe(page) == []
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    page.screenshot(path=f"/tmp/eerlijk-analytics-{width}.png", full_page=True)
    context.close()


@pytest.mark.parametrize("width", [1280, 375])
def test_operator_removes_a_review_in_the_browser(browser, live_server, db, shop, fixture_shop, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    log_in(page, live_server.url, "op@eerlijk.example")
    assert page.url.endswith("/workspace/moderation/")
    assert _axe(page) == []
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    form = page.locator(f"#review-acme-{fixture_shop[2]} form")
    form.locator("input[value=remove]").check()
    form.locator("select").select_option("personal_data")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".flash")
    assert store.review_row(db, shop["id"], fixture_shop[2])["status"] == "removed"
    page.goto(f"{live_server.url}/s/acme?locale=en")
    assert "by the moderator: It contains personal data" in page.content()
    context.close()
