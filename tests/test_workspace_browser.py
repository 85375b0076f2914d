"""The owner's workspace in headless Chromium: answering a new one-star review end to end, and axe-core on every page.

The owner logs in, finds the new 1-star review on top of the inbox with its clock, asks for a draft,
sees the tone check flag a defensive phrase and a missing signature as they type, fixes both,
publishes, and the reply shows in the widget and on the hosted page. axe-core (vendored under
axe-playwright-python) reports no serious or critical violation on any workspace page, at 1280 and 375 px.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import axe_playwright_python
import pytest
from playwright.sync_api import expect
from workspace_helpers import PASSWORD, make_user

from widgetserver import store

pytestmark = pytest.mark.browser

AXE = Path(axe_playwright_python.__file__).resolve().parent / "axe.min.js"  # the axe-core the package ships


@pytest.fixture
def scene(db, shop):
    """Acme with an owner, older reviews (one answered) and a 1-star review that arrived an hour ago."""
    store.update_shop_settings(db, shop["id"], contact_email="service@acme.example")
    make_user(db, shop, name="Sanne de Vries", title="Klantenservice")
    old = store.add_review(db, shop["id"], rating=4, author="Piet", title="Prima", body="Goed product.",
                           locale="nl", created_at=store.utcnow() - timedelta(days=3))
    store.set_reply(db, shop["id"], old, body="Dank je wel, Piet!", author="Sanne", role="Klantenservice")
    store.add_review(db, shop["id"], rating=5, author="Anna", title="Top", body="Heel blij.", locale="nl",
                     created_at=store.utcnow() - timedelta(hours=5))
    new = store.add_review(db, shop["id"], rating=1, author="Ingrid B.", title="Na één wasbeurt gekrompen",
                           body="Gewassen op 30 graden zoals het label zegt en nu een maat kleiner.", locale="nl",
                           product_sku="SKU-1", created_at=store.utcnow() - timedelta(hours=1))
    return {"new": new}


def log_in(page, base):
    page.goto(f"{base}/workspace/login")
    page.fill("#email", "owner@acme.example")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/workspace/acme/$"))


def test_owner_answers_a_new_one_star_review(browser, live_server, scene, db, shop):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server.url)

    # The new 1-star review is on top, with its clock.
    first = page.locator("ol.inbox > li").first
    assert "Na één wasbeurt gekrompen" in first.inner_text()
    clock = first.locator(".clock")
    assert re.search(r"2[23] h \d+ min left to reply", clock.inner_text())
    first.locator("a").click()
    page.wait_for_url(re.compile(rf".*/reviews/{scene['new']}$"))

    # A draft in the review's language, signed, passing every rule.
    page.click("#draft-button")
    expect(page.locator("#body")).to_have_value(re.compile(r"^Beste Ingrid,"))
    page.wait_for_selector("#tone-list .finding[data-rule=signature].pass")
    draft = page.input_value("#body")
    assert "service@acme.example" in draft and draft.rstrip().endswith("Klantenservice, Acme Kleding")
    assert page.locator("#tone-list .finding.fail").count() == 0

    # The owner makes it defensive and drops the signature: the checklist says so while typing.
    body = draft.split("\n\nSanne de Vries")[0] + "\n\nHad u maar het wasvoorschrift beter gelezen."
    page.fill("#body", "")
    page.type("#body", body[-60:])  # typing fires the debounced check
    page.fill("#body", body)
    page.dispatch_event("#body", "input")
    page.wait_for_selector("#tone-list .finding[data-rule=defensive].fail")
    page.wait_for_selector("#tone-list .finding[data-rule=signature].fail")
    assert "had u maar" in page.inner_text("#tone-list .finding[data-rule=defensive]")
    assert "to improve" in page.inner_text("#tone-summary")

    # Fixed: the defensive sentence goes, the signature comes back; all green again.
    fixed = body.replace("\n\nHad u maar het wasvoorschrift beter gelezen.", "") + "\n\nSanne de Vries\nKlantenservice"
    page.fill("#body", fixed)
    page.dispatch_event("#body", "input")
    page.wait_for_selector("#tone-list .finding[data-rule=defensive].pass")
    page.wait_for_selector("#tone-list .finding[data-rule=signature].pass")
    assert page.locator("#tone-list .finding.fail").count() == 0
    page.click("button[name=action][value=publish]")
    page.wait_for_selector(".flash")
    assert "published" in page.inner_text(".flash")

    # Public: the widget and the hosted page show it, signed.
    reply = store.get_review(db, shop["id"], scene["new"])["reply"]
    assert reply["body"] == fixed.replace("\r\n", "\n") and reply["author"] == "Sanne de Vries"
    widget = page.request.get(f"{live_server.url}/w/acme/list.html").text()
    assert "Had u maar" not in widget and "Het spijt ons" in widget and "Sanne de Vries" in widget
    page.goto(f"{live_server.url}/s/acme")
    hosted = page.inner_text("body")
    assert "Het spijt ons" in hosted and "Sanne de Vries" in hosted
    assert errors == []
    context.close()


def _axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return [v for v in result if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("width", [1280, 375])
def test_axe_finds_no_serious_violations_on_workspace_pages(browser, live_server, scene, width):
    # bypass_csp: the pages allow no injected script, and axe must be injected.
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/workspace/login")
    problems = {"login": _axe(page)}
    page.goto(f"{live_server.url}/workspace/reset")
    problems["reset"] = _axe(page)
    log_in(page, live_server.url)
    review = f"{live_server.url}/workspace/acme/reviews/{scene['new']}"
    for name, url in [("inbox", f"{live_server.url}/workspace/acme/"),
                      ("review", review), ("report", f"{review}/report"),
                      ("settings", f"{live_server.url}/workspace/acme/settings"),
                      ("snippet", f"{live_server.url}/workspace/acme/snippet"),
                      ("notifications", f"{live_server.url}/workspace/acme/settings/notifications"),
                      ("analytics", f"{live_server.url}/workspace/acme/analytics")]:
        page.goto(url)
        if name == "review":
            page.click("#draft-button")
            page.wait_for_selector("#tone-list .finding.pass")
        problems[name] = _axe(page)
    # A page with errors shown (aria-invalid, messages) too.
    page.goto(f"{live_server.url}/workspace/acme/settings")
    page.fill("#name", "")
    page.fill("#reply_target_hours", "0")
    page.click("text=Save settings")
    page.wait_for_selector(".error-box")
    problems["settings-errors"] = _axe(page)
    assert {k: v for k, v in problems.items() if v} == {}
    # Nothing is wider than the screen (no sideways scrolling on a phone).
    for url in (f"{live_server.url}/workspace/acme/", review, f"{live_server.url}/workspace/acme/settings",
                f"{live_server.url}/workspace/acme/snippet", f"{live_server.url}/workspace/acme/settings/notifications"):
        page.goto(url)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, (url, overflow)
    context.close()


def test_keyboard_only_reply(browser, live_server, scene):
    """Tab order reaches the draft button, the reply, name, role and publish; focus is visible."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/workspace/acme/reviews/{scene['new']}")
    seen = []
    for _ in range(30):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
        if seen[-1] == "draft-button":
            break
    assert "draft-button" in seen
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    expect(page.locator("#body")).to_have_value(re.compile(r"^Beste Ingrid,"))
    assert page.evaluate("document.activeElement.id") == "body"
    context.close()
