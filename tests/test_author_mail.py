"""E-mails to a review's author (aiosmtpd): the confirmation with their private link, and the moderator's decision.

Only for an address our server holds (an invitation it e-mailed); the private link never reaches the shop,
never stays in the database after delivery, and a shop cannot have it sent anywhere else.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import timedelta

import pytest
from invitation_helpers import EMAIL, clock, invite, mailed_link, open_form, path_of, submit_first  # noqa: F401
from notify_helpers import smtp  # noqa: F401
from workspace_helpers import log_in, make_user

from widgetserver import author_mail, followup, mail, moderation, outbox, reports, store

AUTHOR_LINK = re.compile(r"http://reviews\.acme\.example/a/([A-Za-z0-9_-]+)")
ATTACKER = "inbox@acme-owner.example"


def emailed_review(app, client, auth, db, clock, *, order_ref="A-1", locale="nl", rating="2", deliver=True):
    """A customer invited by e-mail (sent through aiosmtpd) who published a review of the shop.

    Returns the author token from the thank-you redirect (what only the customer's browser saw).
    """
    invitation = invite(client, auth, order_ref=order_ref, skus=[], locale=locale)
    clock.advance(days=5)
    assert mail.send_due(app)["sent"] == 1
    author_path = submit_first(client, mailed_link(app, db, invitation["id"]), rating=rating, title="Kapot",
                               body="De jurk kwam kapot aan.", author="Sanne")
    if deliver:
        clock.advance(seconds=1)
    return author_path.rsplit("/", 1)[1]


def rows_holding(db, needle: str) -> list[tuple[str, tuple]]:
    """Every row of every table in which `needle` appears in some column."""
    found = []
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        for row in db.execute(f"SELECT * FROM [{table}]").fetchall():
            if any(needle in str(value) for value in row):
                found.append((table, tuple(row)))
    return found


def confirmations(smtp):
    return [m for m in smtp.messages if "/a/" in m.get_body(("plain",)).get_content()]


# --- the confirmation ---------------------------------------------------------------------


def test_confirmation_arrives_once_its_link_edits_the_review_and_the_token_leaves_the_database(
        app, client, auth, db, smtp, clock):
    token = emailed_review(app, client, auth, db, clock)
    # Queued with the submission, holding the token until it is sent: the only row anywhere that does.
    [(table, row)] = rows_holding(db, token)
    assert table == "outbox" and row[2] == "confirmation"
    [invitation_mail] = smtp.messages  # it announces the private link and says what the address is kept for
    assert "mailen we je een persoonlijke link waarmee alleen jij hem kunt aanpassen" in invitation_mail.get_body(
        ("plain",)).get_content()
    assert "om je de persoonlijke link naar je review te sturen" in invitation_mail.get_body(("plain",)).get_content()
    smtp.envelopes.clear()

    assert outbox.deliver_due(app, db)["delivered"] == 1
    assert outbox.deliver_due(app, db)["delivered"] == 0
    [envelope] = smtp.envelopes
    assert envelope.rcpt_tos == [EMAIL]
    [message] = smtp.messages
    assert message["Subject"] == "Je review van Acme Kleding is gepubliceerd"
    assert message["Content-Language"] == "nl" and message["Auto-Submitted"] == "auto-generated"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Bedankt voor je review van Acme Kleding." in text
    assert "Acme Kleding krijgt deze link nooit." in text
    assert AUTHOR_LINK.findall(text) == [token] and AUTHOR_LINK.findall(html) == [token, token]
    assert '<html lang="nl">' in html and "<bdi>Acme Kleding</bdi>" in html

    # The token is gone from every table, and from the file's free space too (secure_delete).
    assert rows_holding(db, token) == []
    payload = json.loads(db.execute("SELECT payload FROM outbox WHERE kind = 'confirmation'").fetchone()[0])
    assert payload == {"invitation_id": 1, "reviews": [1], "token_erased": True}
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(app.config["DATABASE"], "rb") as f:
        assert token.encode() not in f.read()

    # The mailed link opens the author's page, and the author edits with it (a second visit, say on a phone).
    phone = app.test_client()
    form, csrf = open_form(phone, f"/a/{token}")
    assert "Kapot" in form
    saved = phone.post(f"/a/{token}", data={"csrf_token": csrf, "rating": "4", "title": "Opgelost",
                                            "body": "Nieuwe jurk gekregen.", "author": "Sanne"})
    assert saved.status_code == 303 and "saved=updated" in saved.headers["Location"]
    item = client.get("/api/v1/shops/acme/reviews").get_json()["items"][0]
    assert item["rating"] == 4 and item["title"] == "Opgelost"
    # Follow-up links keep working after the confirmation went out.
    store.set_reply(db, 1, item["id"], body="Fijn!", author="Sanne", role="eigenaar")
    assert followup.mark_resolved(db, 1, item["id"])[0]["email"] == "queued"
    assert outbox.deliver_due(app, db)["delivered"] == 1
    answer = re.search(r"http://reviews\.acme\.example/f/[^\s#]+", smtp.messages[-1].get_content()).group(0)
    assert client.get(path_of(answer)).status_code == 200


@pytest.mark.parametrize("locale, subject, phrase", [
    ("en", "Your review of Acme Kleding is published", "Acme Kleding never gets this link."),
    ("de", "Ihre Bewertung von Acme Kleding ist veröffentlicht", "Acme Kleding erhält diesen Link nie."),
    ("fr", "Votre avis sur Acme Kleding est publié", "Acme Kleding ne reçoit jamais ce lien."),
])
def test_confirmation_speaks_the_reviews_language(app, client, auth, db, smtp, clock, locale, subject, phrase):
    emailed_review(app, client, auth, db, clock, locale=locale)
    outbox.deliver_due(app, db)
    [message] = confirmations(smtp)
    assert message["Subject"] == subject and message["Content-Language"] == locale
    assert phrase in message.get_body(("plain",)).get_content()


def test_no_confirmation_without_an_address_we_hold(app, client, auth, db, smtp, clock):
    shop = store.get_shop(db, "acme")
    store.update_shop_settings(db, shop["id"], allow_open_reviews=True)
    # A link handed to the shop (no address): the shop's customer gets the private link on the page only.
    linked = invite(client, auth, order_ref="L-1", email=None, skus=[])
    submit_first(client, linked["review_url"], rating="3", author="Piet")
    # Imported history and an API write.
    assert client.post("/api/v1/shops/acme/reviews", headers=auth,
                       json={"rating": 1, "author": "Kees", "body": "Te laat."}).status_code == 201
    store.add_reviews(db, shop["id"], [{"rating": 2, "author": "Joke", "external_id": "old-1"}])
    # An open review.
    html, csrf = open_form(client, "/s/acme/write")
    assert client.post("/s/acme/write", data={"csrf_token": csrf, "rating": "1", "author": "Anoniem"}).status_code == 303
    # An invitation with an address whose link our server never sent (handed out before sending, say by the
    # operator): whoever holds the link may not be whoever owns the address, so no private link goes there.
    from widgetserver import invitations

    pending = invite(client, auth, order_ref="P-1", skus=[])
    row = invitations.get_invitation(db, pending["id"])
    invitations.submit_reviews(db, row, {None: {"rating": 5, "title": "", "body": "", "author": "Eva"}})
    assert db.execute("SELECT count(*) FROM outbox WHERE kind = 'confirmation'").fetchone()[0] == 0
    outbox.deliver_due(app, db)
    assert confirmations(smtp) == []


def test_a_failed_delivery_retries_with_back_off_and_never_duplicates(app, client, auth, db, smtp, clock):
    token = emailed_review(app, client, auth, db, clock)
    smtp.envelopes.clear()
    smtp.answers = ["451 4.3.0 mailbox busy", "451 4.3.0 mailbox busy"]
    base = app.config["MAIL_RETRY_SECONDS"]
    assert outbox.deliver_due(app, db)["retry"] == 1
    assert outbox.deliver_due(app, db) ["retry"] == 0  # not due yet: nothing is tried again at once
    clock.advance(seconds=base - 1)
    assert outbox.deliver_due(app, db)["retry"] == 0
    clock.advance(seconds=1)
    assert outbox.deliver_due(app, db)["retry"] == 1  # second attempt, then twice the wait
    row = next(iter(db.query("SELECT * FROM outbox WHERE kind = 'confirmation'")))
    assert row["attempts"] == 2 and store.parse_time(row["next_attempt_at"]) == clock.now + timedelta(seconds=2 * base)
    assert "451" in row["last_error"] and token in row["payload"]  # still needed for the next attempt
    clock.advance(seconds=2 * base)
    assert outbox.deliver_due(app, db)["delivered"] == 1
    clock.advance(days=1)
    assert outbox.deliver_due(app, db) == {"delivered": 0, "retry": 0, "failed": 0, "waiting": 0, "interrupted": 0}
    assert len(smtp.envelopes) == 1 and AUTHOR_LINK.findall(smtp.messages[0].get_body(("plain",)).get_content()) == [token]
    assert rows_holding(db, token) == []


def test_a_refused_address_or_a_withdrawal_fails_for_good_and_erases_the_token(app, client, auth, db, smtp, clock):
    token = emailed_review(app, client, auth, db, clock)
    smtp.envelopes.clear()
    smtp.answers = ["550 5.1.1 no such user"]
    assert outbox.deliver_due(app, db)["failed"] == 1
    row = next(iter(db.query("SELECT * FROM outbox WHERE kind = 'confirmation'")))
    assert row["status"] == "failed" and row["attempts"] == 1 and "550" in row["last_error"]
    assert rows_holding(db, token) == []
    clock.advance(days=3)
    assert outbox.deliver_due(app, db)["delivered"] == 0 and smtp.envelopes == []

    # Withdrawn before the e-mail went out: nothing is sent, the token is erased.
    second = emailed_review(app, client, auth, db, clock, order_ref="A-2")
    smtp.envelopes.clear()
    _, csrf = open_form(client, f"/a/{second}")
    assert client.post(f"/a/{second}/withdraw", data={"csrf_token": csrf, "confirm": "yes"}).status_code == 200
    assert outbox.deliver_due(app, db)["failed"] == 1 and smtp.envelopes == []
    assert rows_holding(db, second) == []
    assert db.execute("SELECT status FROM outbox WHERE kind = 'confirmation' ORDER BY id DESC").fetchone()[0] == "failed"


def test_a_confirmation_waiting_past_the_address_expiry_is_dropped_with_its_token(app, client, auth, db, smtp, clock):
    token = emailed_review(app, client, auth, db, clock)
    app.config["MAIL_HOST"] = None  # e-mail stopped after the invitation went out: the confirmation waits
    assert outbox.deliver_due(app, db)["waiting"] == 1
    assert len(rows_holding(db, token)) == 1
    clock.now = store.parse_time(db.execute("SELECT erase_at FROM invitation_contacts").fetchone()[0])
    followup.erase_expired_contacts(db)
    assert outbox.deliver_due(app, db)["failed"] == 1  # tidy: the address is gone, so is the reason to keep the token
    assert rows_holding(db, token) == []
    assert db.execute("SELECT status FROM outbox WHERE kind = 'confirmation'").fetchone()[0] == "failed"


def test_the_shop_never_reads_the_private_link(app, client, auth, db, smtp, clock, runner):
    shop = store.get_shop(db, "acme")
    token = emailed_review(app, client, auth, db, clock)
    review_id = client.get("/api/v1/shops/acme/reviews").get_json()["items"][0]["id"]
    store.set_reply(db, shop["id"], review_id, body="Sorry!", author="Sanne", role="eigenaar")
    make_user(db, shop)
    workspace = app.test_client()
    assert log_in(workspace).status_code == 302
    seen = []

    def read_everything():
        """Every GET route a shop (API key, workspace user) or the public can open, and every shop CLI read."""
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.rule.startswith(("/a/", "/r/", "/f/", "/static", "/workspace/reset/")):
                continue
            values = {"shop": "acme", "shop_slug": "acme", "review_id": review_id, "sku": "SKU-1", "widget": "list",
                      "chart": "monthly", "endpoint_id": 1}
            path = rule.build({k: values[k] for k in rule.arguments})[1]
            for who in (client, workspace):
                response = who.get(path, headers=auth if who is client else {})
                seen.append((path, who is client, response.status_code))
                assert token not in response.get_data(as_text=True), path
        repeat = client.post("/api/v1/shops/acme/invitations", headers=auth, json={
            "order_ref": "A-1", "name": "x", "email": EMAIL, "skus": [], "delivered_at": "2025-03-01T12:00:00+00:00"})
        assert repeat.status_code == 200 and token not in repeat.get_data(as_text=True)
        for args in (["invitations", "list", "acme"], ["export", "acme"], ["reports", "list"], ["alerts", "list", "acme"],
                     ["webhooks", "list", "acme"], ["shops", "list"], ["users", "list", "acme"]):
            result = runner.invoke(args=args)
            assert token not in result.output, args

    read_everything()  # while the confirmation waits in the outbox
    outbox.deliver_due(app, db)
    read_everything()  # and after it went out
    opened = {(path, api) for path, api, status in seen if status == 200}
    assert {("/api/v1/shops/acme/reviews", True), ("/workspace/acme/", False), (f"/workspace/acme/reviews/{review_id}",
            False), ("/workspace/acme/settings/notifications", False), ("/api/v1/shops/acme/reviews/1", True)} <= opened


def test_a_dishonest_shop_cannot_send_the_private_link_to_another_address(app, client, auth, db, smtp, clock):
    # 1. A link the shop was handed, then the shop "adds" its own address for that order: nothing changes.
    linked = invite(client, auth, order_ref="L-1", email=None, skus=[])
    invite(client, auth, order_ref="L-1", email=ATTACKER, skus=[])
    assert db.execute("SELECT email FROM invitations WHERE order_ref = 'L-1'").fetchone()[0] is None
    submit_first(client, linked["review_url"], rating="1", author="Piet")
    invite(client, auth, order_ref="L-1", email=ATTACKER, skus=[])  # and once more after the review
    # 2. An invitation our server e-mailed to the customer; afterwards the shop repeats it with its own address.
    token = emailed_review(app, client, auth, db, clock, order_ref="A-1")
    invite(client, auth, order_ref="A-1", email=ATTACKER, skus=[])
    assert db.execute("SELECT count(*) FROM invitation_contacts WHERE email = ?", [ATTACKER]).fetchone()[0] == 0
    # 3. The shop invites "a customer" at its own address for a new order, hoping to get a private link of an
    #    existing review: it gets a first-review link for its own order only, never another author's token.
    invite(client, auth, order_ref="A-9", email=ATTACKER, skus=[])
    clock.advance(days=6)
    mail.send_due(app)
    outbox.deliver_due(app, db)
    to_attacker = [e for e in smtp.envelopes if ATTACKER in e.rcpt_tos]
    assert all(token not in e.original_content.decode() and "/a/" not in e.original_content.decode()
               for e in to_attacker)
    [confirmation] = [e for e in smtp.envelopes if "/a/" in e.original_content.decode()]
    assert confirmation.rcpt_tos == [EMAIL] and token in confirmation.original_content.decode()
    # The queued row names no address at all: the recipient is looked up when sending, from what we kept.
    payload = db.execute("SELECT payload FROM outbox WHERE kind = 'confirmation'").fetchone()[0]
    assert "@" not in payload


# --- the decision ---------------------------------------------------------------------------


def reported(db, review_id, reason="spam"):
    reports.add_report(db, 1, review_id, reason, "", "nl")


@pytest.mark.parametrize("outcome, reason, subject, lines", [
    ("keep", None, "Je review van Acme Kleding blijft staan",
     ["Op 6 maart 2025 besloot de moderator hem te laten staan", "De melding ging over: Spam of reclame"]),
    ("remove", "personal_data", "Je review van Acme Kleding is verwijderd",
     ["Op 6 maart 2025 besloot de moderator hem te verwijderen.", "Reden: Hij bevat persoonsgegevens"]),
])
def test_the_author_is_told_the_decision(app, client, auth, db, smtp, clock, outcome, reason, subject, lines):
    emailed_review(app, client, auth, db, clock)
    outbox.deliver_due(app, db)
    smtp.envelopes.clear()
    review_id = client.get("/api/v1/shops/acme/reviews").get_json()["items"][0]["id"]
    reported(db, review_id)
    shop = store.get_shop(db, "acme")
    moderation.decide(db, shop, review_id, outcome, reason=reason, note="intern", decided_by="operator",
                      operator=True)
    assert outbox.deliver_due(app, db)["delivered"] == 1
    assert outbox.deliver_due(app, db)["delivered"] == 0
    [envelope] = smtp.envelopes
    assert envelope.rcpt_tos == [EMAIL]
    [message] = smtp.messages
    assert message["Subject"] == subject
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for line in lines + ["van 6 maart 2025 is gemeld", "http://reviews.acme.example/s/acme/transparency"]:
        assert line in text, line
    assert "http://reviews.acme.example/s/acme/transparency" in html and "/a/" not in text
    assert "intern" not in text  # the moderator's note is for the record, not the e-mail
    if outcome == "remove":
        assert "wanneer en waarom een review is verwijderd" in text


def test_no_decision_email_without_an_address_and_none_after_erasure(app, client, auth, db, smtp, clock):
    shop = store.get_shop(db, "acme")
    open_id = store.add_review(db, shop["id"], rating=1, author="Kees", source="open", actor="author")
    linked = invite(client, auth, order_ref="L-1", email=None, skus=[])
    submit_first(client, linked["review_url"], rating="1", author="Piet")
    linked_id = max(r["id"] for r in client.get("/api/v1/shops/acme/reviews").get_json()["items"])
    for review_id in (open_id, linked_id):
        reported(db, review_id)
        moderation.decide(db, shop, review_id, "remove", reason="spam", decided_by="operator", operator=True)
    assert db.execute("SELECT count(*) FROM outbox WHERE kind = 'decision'").fetchone()[0] == 0
    # An address we hold, but the author asked for erasure between the decision and its e-mail.
    emailed_review(app, client, auth, db, clock, order_ref="A-2")
    outbox.deliver_due(app, db)
    smtp.envelopes.clear()
    emailed_id = max(r["id"] for r in client.get("/api/v1/shops/acme/reviews").get_json()["items"])
    reported(db, emailed_id)
    moderation.decide(db, shop, emailed_id, "keep", decided_by="operator", operator=True)
    moderation.erase(db, shop["id"], emailed_id, requested_by="author", erased_by="operator")
    assert db.execute("SELECT count(*) FROM invitation_contacts").fetchone()[0] == 0  # erased with the review
    assert outbox.deliver_due(app, db)["failed"] == 1 and smtp.envelopes == []


def test_a_decision_is_queued_with_it_or_not_at_all(app, client, auth, db, smtp, clock, monkeypatch):
    emailed_review(app, client, auth, db, clock)
    review_id = client.get("/api/v1/shops/acme/reviews").get_json()["items"][0]["id"]
    reported(db, review_id)
    shop = store.get_shop(db, "acme")

    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    with monkeypatch.context() as patch, pytest.raises(sqlite3.OperationalError):
        patch.setattr(store, "audit", broken)  # the last step of the decision fails
        moderation.decide(db, shop, review_id, "remove", reason="spam", decided_by="operator", operator=True)
    assert db.execute("SELECT count(*) FROM outbox WHERE kind = 'decision'").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM decisions").fetchone()[0] == 0
    moderation.decide(db, shop, review_id, "remove", reason="spam", decided_by="operator", operator=True)
    assert db.execute("SELECT count(*) FROM outbox WHERE kind = 'decision'").fetchone()[0] == 1
    assert author_mail.DECISION  # (messages are checked in every language by tests/test_i18n.py)
