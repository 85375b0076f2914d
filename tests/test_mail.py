"""Invitation e-mail through a real SMTP server (aiosmtpd on 127.0.0.1): timing, content, retries, failures, once only."""

from __future__ import annotations

import email
import email.policy
import re
import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from invitation_helpers import EMAIL, T0, clock, invite, mailed_link, open_form, path_of  # noqa: F401

from widgetserver import mail, store
from widgetserver.cli import main


class Recorder:
    """An SMTP handler that keeps what it accepts; `answers` are given instead, one per DATA, first."""

    def __init__(self):
        self.messages: list = []
        self.answers: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        if self.answers:
            return self.answers.pop(0)
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(app):
    """A real SMTP server on a free loopback port, and the app configured to use it."""
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_HOST="127.0.0.1", MAIL_PORT=controller.port, MAIL_FROM="Acme reviews <reviews@acme.example>",
                      PUBLIC_BASE_URL="http://reviews.acme.example", MAIL_TIMEOUT=5)
    yield handler
    controller.stop()


def parsed(envelope):
    return email.message_from_bytes(envelope.original_content, policy=email.policy.default)


def link_in(message) -> str:
    text = message.get_body(("plain",)).get_content()
    return re.search(r"http://reviews\.acme\.example/r/\S+", text).group(0)


def status_of(db, order_ref="A-1") -> dict:
    return db.execute("SELECT status, attempts, email, last_error, sent_at, next_attempt_at FROM invitations"
                      " WHERE order_ref = ?", [order_ref]).fetchone()


def test_invitation_becomes_an_email_at_send_at_and_its_link_works(app, client, auth, db, smtp, clock):
    invite(client, auth)
    assert mail.send_due(app)["sent"] == 0  # delivered just now: not due for 5 days
    clock.advance(days=5, seconds=-1)
    assert mail.send_due(app)["sent"] == 0
    clock.advance(seconds=1)
    assert mail.send_due(app)["sent"] == 1
    assert len(smtp.messages) == 1
    envelope = smtp.messages[0]
    assert envelope.rcpt_tos == [EMAIL]
    message = parsed(envelope)
    assert message["Subject"] == "Acme Kleding: hoe was je bestelling?"
    assert message["Content-Language"] == "nl"
    assert message.get_content_type() == "multipart/alternative"
    html = message.get_body(("html",)).get_content()
    url = link_in(message)
    assert f'href="{url}"' in html and "Hallo <bdi>Sanne de Vries</bdi>," in html

    row = status_of(db)
    assert row[0] == "sent" and row[2] is None and row[4] is not None  # address erased once sent

    # Never twice: later runs send nothing more.
    clock.advance(days=1)
    assert mail.send_due(app)["sent"] == 0
    assert len(smtp.messages) == 1

    # The link in the e-mail opens the form; a submitted form is a verified review.
    html, token = open_form(client, url)
    assert "Jurk Linde" in html
    response = client.post(path_of(url), data={"csrf_token": token, "product-0-rating": "4",
                                               "product-0-title": "Mooie jurk", "author": "Sanne"})
    assert response.status_code == 303
    reviews = client.get("/api/v1/shops/acme/reviews").get_json()["items"]
    assert [(r["rating"], r["verified"], r["source"], r["product"]) for r in reviews] == [(4, True, "invitation", "SKU-1")]
    # We e-mailed the link and the shop never had it: the review says so.
    assert [r["verification_method"] for r in reviews] == ["invitation-email"]
    assert status_of(db)[0] == "used"


def test_temporary_failure_is_retried_later_and_delivered_once(app, client, auth, db, smtp, clock):
    invite(client, auth)
    clock.advance(days=5)
    smtp.answers.append("451 4.3.0 Try again later")
    counts = mail.send_due(app)
    assert counts["retry"] == 1 and counts["sent"] == 0
    status, attempts, address, error, sent_at, next_attempt = status_of(db)
    assert (status, attempts, address, sent_at) == ("pending", 1, EMAIL, None)
    assert "451" in error and "Try again later" in error
    assert store.parse_time(next_attempt) == clock.now + timedelta(seconds=300)

    assert mail.send_due(app)["sent"] == 0  # not yet: back-off
    clock.advance(seconds=301)
    assert mail.send_due(app)["sent"] == 1
    clock.advance(hours=1)
    assert mail.send_due(app)["sent"] == 0
    assert len(smtp.messages) == 1
    status, attempts, address, error, sent_at, _ = status_of(db)
    assert (status, attempts, address, error) == ("sent", 2, None, None)


def test_back_off_doubles_and_gives_up_after_max_attempts(app, client, auth, db, smtp, clock):
    app.config.update(MAIL_MAX_ATTEMPTS=3, MAIL_RETRY_SECONDS=60)
    invite(client, auth)
    clock.advance(days=5)
    smtp.answers.extend(["421 4.7.0 busy"] * 3)
    mail.send_due(app)
    assert store.parse_time(status_of(db)[5]) == clock.now + timedelta(seconds=60)
    clock.advance(seconds=60)
    mail.send_due(app)
    assert store.parse_time(status_of(db)[5]) == clock.now + timedelta(seconds=120)
    clock.advance(seconds=120)
    assert mail.send_due(app)["failed"] == 1
    status, attempts, address, error, *_ = status_of(db)
    assert (status, attempts, address) == ("failed", 3, None)
    assert error.startswith("gave up after 3 attempts") and "421" in error
    assert smtp.messages == []


def test_permanent_failure_is_reported_failed_with_the_error(app, client, auth, db, runner, smtp, clock):
    invite(client, auth)
    clock.advance(days=5)
    smtp.answers.append("550 5.1.1 No such user here")
    counts = mail.send_due(app)
    assert counts["failed"] == 1
    status, attempts, address, error, *_ = status_of(db)
    assert (status, attempts, address) == ("failed", 1, None)
    assert "550" in error and "No such user" in error
    clock.advance(days=1)
    assert mail.send_due(app)["sent"] == 0 and smtp.messages == []
    listing = runner.invoke(main, ["invitations", "list", "acme"]).output
    assert "\tfailed\t" in listing and "550 5.1.1 No such user here" in listing


def test_unreachable_server_is_a_temporary_failure(app, client, auth, db, clock):
    app.config.update(MAIL_HOST="127.0.0.1", MAIL_PORT=free_port(), MAIL_FROM="r@acme.example",
                      PUBLIC_BASE_URL="http://x", MAIL_TIMEOUT=2)
    invite(client, auth)
    invite(client, auth, order_ref="A-2")
    clock.advance(days=5)
    counts = mail.send_due(app)
    assert counts["retry"] == 1  # the batch stops: the others would fail the same way
    rows = list(db.query("SELECT status, attempts, last_error FROM invitations ORDER BY id"))
    assert rows[0]["status"] == "pending" and rows[0]["attempts"] == 1 and "cannot reach" in rows[0]["last_error"]
    assert rows[1]["attempts"] == 0


def test_a_claimed_invitation_is_never_sent_again(app, client, auth, db, smtp, clock):
    invite(client, auth)
    clock.advance(days=5)
    db.execute("UPDATE invitations SET status = 'sending', attempts = 1, claimed_at = ?", [store.now_text()])
    assert mail.send_due(app)["sent"] == 0
    clock.advance(hours=2)  # the sender that claimed it died
    counts = mail.send_due(app)
    assert counts["interrupted"] == 1 and counts["sent"] == 0
    status, _, address, error, *_ = status_of(db)
    assert status == "failed" and address is None and "not sent again" in error
    assert smtp.messages == []


def test_used_link_is_not_mailed(app, client, auth, db, smtp, clock):
    data = invite(client, auth)
    url = mailed_link(app, db, data["id"])  # say the link reached the customer before our e-mail was due
    _, token = open_form(client, url)
    client.post(path_of(url), data={"csrf_token": token, "rating": "5", "author": "S"})
    assert status_of(db)[:3] == ("used", 0, None)
    clock.advance(days=6)
    assert mail.send_due(app)["sent"] == 0 and smtp.messages == []


def test_expired_unsent_invitation_is_expired_and_its_address_erased(app, client, auth, db, clock):
    invite(client, auth)
    clock.advance(days=66)
    counts = mail.send_due(app)  # no MAIL_HOST: nothing sent, but tidying still runs
    assert counts["expired"] == 1
    row = db.execute("SELECT status, email, customer_name FROM invitations").fetchone()
    assert row == ("expired", None, "")


def test_cli_send_without_smtp_says_so(runner, client, auth, clock):
    invite(client, auth)
    clock.advance(days=5)
    result = runner.invoke(main, ["invitations", "send"])
    assert result.exit_code == 0
    assert "MAIL_HOST is not set: nothing sent (1 due)" in result.output


def test_cli_send_sends_and_reports(app, runner, client, auth, smtp, clock):
    invite(client, auth, locale="de", skus=[])
    clock.advance(days=5)
    result = runner.invoke(main, ["invitations", "send"])
    assert result.exit_code == 0, result.output
    assert "Sent 1, to retry later 0, failed 0." in result.output
    message = parsed(smtp.messages[0])
    assert message["Subject"] == "Acme Kleding: Wie war Ihre Bestellung?"


def test_cli_send_names_a_missing_setting(app, runner, client, auth, smtp, clock):
    app.config["MAIL_FROM"] = None
    result = runner.invoke(main, ["invitations", "send"])
    assert result.exit_code != 0 and "Set MAIL_FROM" in result.output


def test_sender_thread_sends_periodically(app, client, auth, smtp, clock):
    import time

    invite(client, auth)
    clock.advance(days=5)
    thread = mail.start_sender_thread(app, 0.05)
    try:
        deadline = time.monotonic() + 5
        while not smtp.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        assert len(smtp.messages) == 1
    finally:
        thread.stop.set()
        thread.join(2)
    assert not thread.is_alive()
