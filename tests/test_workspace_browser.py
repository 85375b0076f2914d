"""The owner's workspace in headless Chromium: answering a new one-star review end to end, and axe-core on every page.

`test_done_when_walk_from_invitation_to_updated_review` is issue 9's "Done when" in one walk, with a real SMTP server
(aiosmtpd) and a real webhook receiver: invitation e-mail, review, alert, reply, resolved, follow-up e-mail, the
customer's answer and update, the public page, the signed webhooks.

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
from notify_helpers import receiver, smtp  # noqa: F401
from workspace_helpers import PASSWORD, make_user

from widgetserver import alerts, mail, outbox, store, webhooks

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


def _fix_and_publish(page, body: str) -> str:
    """Drop the defensive sentence, sign again, see every tone rule pass, publish; returns the published text."""
    fixed = body.replace("\n\nHad u maar het wasvoorschrift beter gelezen.", "") + "\n\nSanne de Vries\nKlantenservice"
    page.fill("#body", fixed)
    page.dispatch_event("#body", "input")
    page.wait_for_selector("#tone-list .finding[data-rule=defensive].pass")
    page.wait_for_selector("#tone-list .finding[data-rule=signature].pass")
    assert page.locator("#tone-list .finding.fail").count() == 0
    page.click("button[name=action][value=publish]")
    page.wait_for_selector(".flash")
    assert "published" in page.inner_text(".flash")
    return fixed


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
    fixed = _fix_and_publish(page, body)

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


# --- the "Done when" walk, end to end --------------------------------------------------------------------


def _mails_to(smtp, address: str) -> list:
    return [m for e, m in zip(smtp.envelopes, smtp.messages) if address in e.rcpt_tos]


def _link_in(message, base: str, path: str) -> str:
    match = re.search(re.escape(base) + re.escape(path) + r"[^\s\"<>#]+", message.get_body(("plain",)).get_content())
    assert match, message.get_body(("plain",)).get_content()
    return match.group(0)


def _signed_events(receiver, secret: str) -> list[str]:
    """The events the receiver got, each checked as a receiver would: HMAC-SHA256 over "<t>.<body>" with the secret."""
    import hashlib
    import hmac
    import json

    names = []
    for request in receiver.requests:
        headers = {k.lower(): v for k, v in request["headers"].items()}
        parts = dict(p.split("=", 1) for p in headers["eerlijk-signature"].split(","))
        expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + request["body"], hashlib.sha256).hexdigest()
        assert hmac.compare_digest(expected, parts["v1"]), request
        event = json.loads(request["body"])
        assert event["event"] == headers["eerlijk-event"] and event["shop"] == "acme"
        names.append(event["event"])
    return names


def test_done_when_walk_from_invitation_to_updated_review(app, browser, live_server, client, db, shop, key, smtp,
                                                         receiver):
    """Issue 9's "Done when", through the real UI: a customer invited by e-mail writes a 1-star review; the owner
    finds it on top of the inbox with its clock, drafts, sees the tone check's findings, fixes, publishes and marks
    it resolved; the follow-up e-mail arrives once; the customer answers "resolved" and updates to 4 stars (history
    kept, the shop never touched the rating); the hosted page shows both; the alert e-mail and the signed webhooks
    (review.created, reply.published, review.updated) arrived."""
    base = live_server.url
    app.config["PUBLIC_BASE_URL"] = base  # the e-mails link to the live server
    store.update_shop_settings(db, shop["id"], contact_email="service@acme.example")
    make_user(db, shop, name="Sanne de Vries", title="Klantenservice")
    alerts.add_recipient(db, shop["id"], "alerts@acme.example", max_rating=2, mode="immediate")
    _, secret = webhooks.add_endpoint(db, shop["id"], receiver.url, ["review.created", "reply.published",
                                                                     "review.updated"], allow_private=True)
    # Earlier reviews the new one must rise above: an older 3-star without a reply, a 5-star, an answered 4-star.
    store.add_review(db, shop["id"], rating=3, author="Kees", title="Gaat wel", body="Levering duurde lang.",
                     locale="nl", created_at=store.utcnow() - timedelta(days=2))
    store.add_review(db, shop["id"], rating=5, author="Anna", title="Top", body="Heel blij.", locale="nl",
                     created_at=store.utcnow() - timedelta(hours=5))
    old = store.add_review(db, shop["id"], rating=4, author="Piet", title="Prima", body="Goed product.", locale="nl",
                           created_at=store.utcnow() - timedelta(days=3))
    store.set_reply(db, shop["id"], old, body="Dank je wel, Piet!", author="Sanne", role="Klantenservice")
    outbox.deliver_due(app, db)
    receiver.requests.clear()

    # The shop's system invites the customer; the invitation e-mail goes out through SMTP.
    invited = client.post("/api/v1/shops/acme/invitations", headers={"Authorization": f"Bearer {key}"}, json={
        "order_ref": "A-1", "name": "Ingrid Bakker", "email": "ingrid@example.org", "skus": [], "locale": "nl",
        "delivered_at": (store.utcnow() - timedelta(days=30)).isoformat()})
    assert invited.status_code == 201, invited.get_json()
    assert mail.send_due(app)["sent"] == 1
    [invitation_mail] = _mails_to(smtp, "ingrid@example.org")
    review_link = _link_in(invitation_mail, base, "/r/")

    # The customer follows the link and writes a 1-star review of the shop.
    customer = browser.new_context(viewport={"width": 375, "height": 800}, locale="nl-NL")
    their = customer.new_page()
    errors = []
    their.on("pageerror", lambda exc: errors.append(str(exc)))
    their.goto(review_link)
    their.click("label[for=rating-1]")
    their.fill("#title", "Na één wasbeurt gekrompen")
    their.fill("#body", "Gewassen op 30 graden zoals het label zegt en nu een maat kleiner.")
    their.fill("#author", "Ingrid")
    their.click("button[type=submit]")
    their.wait_for_url(re.compile(r".*/a/.*"))
    review_id = db.execute("SELECT id FROM reviews WHERE shop_id = ? AND rating = 1", [shop["id"]]).fetchone()[0]
    assert store.get_review(db, shop["id"], review_id)["verified"]
    outbox.deliver_due(app, db)  # what `widgetserver deliver` / `serve --deliver-every` does

    # The owner logs in; the new 1-star review is on top of the inbox, with its clock.
    owner = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = owner.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, base)
    first = page.locator("ol.inbox > li").first
    assert "Na één wasbeurt gekrompen" in first.inner_text()
    assert re.search(r"2[34] h( \d+ min)? left to reply", first.locator(".clock").inner_text())
    first.locator("a").click()
    page.wait_for_url(re.compile(rf".*/reviews/{review_id}$"))

    # Draft, a defensive sentence and no signature: the tone check lists both; fixed, all green; published.
    page.click("#draft-button")
    expect(page.locator("#body")).to_have_value(re.compile(r"^Beste Ingrid,"))
    page.wait_for_selector("#tone-list .finding[data-rule=signature].pass")
    draft = page.input_value("#body")
    body = draft.split("\n\nSanne de Vries")[0] + "\n\nHad u maar het wasvoorschrift beter gelezen."
    page.fill("#body", body)
    page.dispatch_event("#body", "input")
    page.wait_for_selector("#tone-list .finding[data-rule=defensive].fail")
    page.wait_for_selector("#tone-list .finding[data-rule=signature].fail")
    _fix_and_publish(page, body)

    # Marked resolved, once: the button is gone afterwards, and the customer is e-mailed once.
    page.click("#resolved button[type=submit]")
    page.wait_for_selector("#resolved .tag-done")
    assert "We ask the customer once" in page.inner_text(".flash")
    assert page.locator("#resolved button[type=submit]").count() == 0
    outbox.deliver_due(app, db)
    outbox.deliver_due(app, db)
    followups = [m for m in _mails_to(smtp, "ingrid@example.org") if m is not invitation_mail
                 and "opgelost" in m["Subject"]]
    assert len(followups) == 1, [m["Subject"] for m in _mails_to(smtp, "ingrid@example.org")]
    # The invitation, the confirmation with her private link, and the one follow-up.
    assert len(_mails_to(smtp, "ingrid@example.org")) == 3
    [confirmation] = [m for m in _mails_to(smtp, "ingrid@example.org") if "gepubliceerd" in m["Subject"]]
    assert "/a/" in confirmation.get_body(("plain",)).get_content()
    answer_link = _link_in(followups[0], base, "/f/")

    # The customer answers "resolved", then chooses to update the review to 4 stars.
    their.goto(answer_link)
    their.click("button[name=answer][value=resolved]")
    their.wait_for_selector(".notice")
    their.click("#update button[type=submit]")
    their.wait_for_url(re.compile(r".*/a/.*"))
    expect(their.locator("#rating-1")).to_be_checked()
    their.click("label[for=rating-4]")
    their.fill("#title", "Opgelost, netjes vervangen")
    their.fill("#body", "Gewassen op 30 graden en gekrompen, maar de winkel stuurde meteen een nieuwe.")
    their.click("form button[type=submit] >> nth=0")
    their.wait_for_load_state()
    review = store.get_review(db, shop["id"], review_id)
    assert review["rating"] == 4 and review["reply"]["outcome"] == "resolved"
    versions = db.execute("SELECT rating FROM review_versions WHERE review_id = ? ORDER BY id", [review_id]).fetchall()
    assert [v[0] for v in versions] == [1]  # the history keeps the 1-star version
    # Only the customer ever changed the review: every audited review change is theirs.
    changes = db.execute("SELECT actor, action FROM audit_log WHERE entity = 'review' AND entity_id = ?",
                         [review_id]).fetchall()
    assert changes and all(actor == "author" for actor, _ in changes), changes

    # The public page shows the update and the customer's answer next to the reply.
    public = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL")
    hosted = public.new_page()
    hosted.goto(f"{base}/s/acme")
    item = hosted.locator(f"article[data-review-id='{review_id}']").first
    text = item.inner_text()
    assert "Opgelost, netjes vervangen" in text and "Bijgewerkt" in text
    assert "De klant zegt dat dit is opgelost." in text and "Sanne de Vries" in text
    assert item.locator(".eerlijk-review-meta .eerlijk-stars").get_attribute("aria-label").startswith("4 ")
    widget = hosted.request.get(f"{base}/w/acme/list.html?locale=nl").text()  # and so does the embedded widget
    assert "Opgelost, netjes vervangen" in widget and "De klant zegt dat dit is opgelost." in widget
    assert "Had u maar" not in widget and "Sanne de Vries" in widget

    # The alert e-mail for the low review, and the signed webhooks, arrived.
    outbox.deliver_due(app, db)
    [alert] = _mails_to(smtp, "alerts@acme.example")
    assert alert["Subject"] == "Acme Kleding: nieuwe review met 1 ster(ren)"  # in the shop's language
    assert "Na één wasbeurt gekrompen" in alert.get_body(("plain",)).get_content()
    events = _signed_events(receiver, secret)
    assert events == ["review.created", "reply.published", "review.updated"], events
    assert errors == []
    for context in (customer, owner, public):
        context.close()


def test_owner_invites_a_member_who_chooses_a_password_and_logs_in(app, browser, live_server, scene, db, shop, smtp):
    """Settings → Team in Chromium: invite by e-mail (aiosmtpd), the member sets a password from the link and logs in."""
    base = live_server.url
    app.config["PUBLIC_BASE_URL"] = base
    owner = browser.new_context(viewport={"width": 375, "height": 800}, locale="en-GB")
    page = owner.new_page()
    log_in(page, base)
    page.goto(f"{base}/workspace/acme/settings")
    page.click("text=Invite, change or remove members")
    page.fill("#email", "piet@acme.example")
    page.fill("#name", "Piet Jansen")
    page.check("input[name=role][value=staff]")
    page.click("text=Send invitation")
    page.wait_for_selector(".flash")
    assert "piet@acme.example is invited as staff" in page.inner_text(".flash")
    assert "no password chosen yet" in page.inner_text("ul.members")
    [message] = _mails_to(smtp, "piet@acme.example")
    link = _link_in(message, base, "/workspace/reset/")

    member = browser.new_context(viewport={"width": 375, "height": 800}, locale="en-GB")
    theirs = member.new_page()
    theirs.goto(link)
    assert theirs.inner_text("h1") == "Welcome! Choose your password"
    theirs.fill("#password", "drie woorden lang")
    theirs.fill("#confirm", "drie woorden lang")
    theirs.click("button[type=submit]")
    theirs.wait_for_url(re.compile(r".*/workspace/login$"))
    theirs.fill("#email", "piet@acme.example")
    theirs.fill("#password", "drie woorden lang")
    theirs.click("button[type=submit]")
    theirs.wait_for_url(re.compile(r".*/workspace/acme/$"))
    assert theirs.goto(f"{base}/workspace/acme/settings/team").status == 403  # staff

    # The owner makes them owner, then removes them: their session ends at once.
    page.reload()
    piet = page.locator("li.member", has_text="Piet Jansen")
    assert "last login" in piet.inner_text()
    piet.locator("select").select_option("owner")
    piet.locator("text=Change role").click()
    page.wait_for_selector(".flash")
    assert "Piet Jansen is now owner." in page.inner_text(".flash")
    page.locator("li.member", has_text="Piet Jansen").locator("button.danger").click()
    page.wait_for_selector(".flash")
    assert "Piet Jansen no longer has access." in page.inner_text(".flash")
    theirs.goto(f"{base}/workspace/acme/")
    assert "/workspace/login" in theirs.url
    owner.close()
    member.close()


def _axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return [v for v in result if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("width", [1280, 375])
def test_axe_finds_no_serious_violations_on_workspace_pages(browser, live_server, scene, width, db, shop):
    make_user(db, shop, email="staff@acme.example", name="Piet Jansen", role="staff")  # the team page lists them
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
                      ("team", f"{live_server.url}/workspace/acme/settings/team"),
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
    page.goto(f"{live_server.url}/workspace/acme/settings/team")
    page.fill("#email", "not an address")
    page.click("text=Send invitation")
    page.wait_for_selector(".error-box[role=alert]")
    problems["team-errors"] = _axe(page)
    page.click("#member-1 button.danger")  # removing yourself without the tick: the row says why
    page.wait_for_selector("#member-1-error")
    problems["team-row-error"] = _axe(page)
    assert {k: v for k, v in problems.items() if v} == {}
    # Nothing is wider than the screen (no sideways scrolling on a phone).
    for url in (f"{live_server.url}/workspace/acme/", review, f"{live_server.url}/workspace/acme/settings",
                f"{live_server.url}/workspace/acme/snippet", f"{live_server.url}/workspace/acme/settings/notifications",
                f"{live_server.url}/workspace/acme/settings/team"):
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


def test_the_snippet_preview_frame_loads_the_widgets_from_this_server(browser, live_server, scene):
    """The preview names this server by path (never the Host header) and still renders every chosen widget."""
    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/workspace/acme/snippet?widget=badge&widget=list")
    frame = page.frame_locator("#preview")
    expect(frame.locator('[data-eerlijk="badge"][data-eerlijk-state="done"]')).to_have_count(1)
    expect(frame.locator('[data-eerlijk="list"][data-eerlijk-state="done"]')).to_have_count(1)
    assert not errors, errors
    context.close()
