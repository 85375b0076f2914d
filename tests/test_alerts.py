"""Review alerts through a real SMTP server (aiosmtpd): immediate ones, daily digests, never twice, never in the way."""

from __future__ import annotations

import pytest
from invitation_helpers import clock  # noqa: F401
from notify_helpers import free_port, smtp  # noqa: F401

from widgetserver import alerts, outbox, store
from widgetserver.cli import main


def open_review(db, shop, rating, title="Titel", body="Tekst."):
    return store.add_review(db, shop["id"], rating=rating, author="Piet", title=title, body=body, source="open",
                            actor="author")


def test_immediate_alert_for_a_review_at_or_below_the_rating(app, db, shop, smtp):
    alerts.add_recipient(db, shop["id"], "service@acme.example", max_rating=2, mode="immediate")
    open_review(db, shop, 4, title="Prima")
    open_review(db, shop, 2, title="Te laat", body="Drie dagen te laat geleverd.")
    assert smtp.envelopes == []  # queued, not sent while the review was written
    assert outbox.deliver_due(app, db)["delivered"] == 1
    [message] = smtp.messages
    assert smtp.envelopes[0].rcpt_tos == ["service@acme.example"]
    assert message["Subject"] == "Acme Kleding: nieuwe review met 2 ster(ren)"  # the shop's language (nl)
    text = message.get_content()
    assert "Te laat" in text and "Drie dagen te laat geleverd." in text
    assert "http://reviews.acme.example/s/acme#review-" in text
    assert outbox.deliver_due(app, db)["delivered"] == 0 and len(smtp.envelopes) == 1


def test_digest_gathers_each_review_once(app, db, shop, smtp, runner):
    alerts.add_recipient(db, shop["id"], "owner@acme.example", max_rating=3, mode="digest")
    first = open_review(db, shop, 1, title="Kapot")
    open_review(db, shop, 3, title="Matig")
    open_review(db, shop, 5, title="Top")
    result = runner.invoke(main, ["alerts", "send-digests"])
    assert result.exit_code == 0, result.output
    assert "1 digest" in result.output
    [message] = smtp.messages
    text = message.get_content()
    assert "Kapot" in text and "Matig" in text and "Top" not in text
    assert message["Subject"] == "Acme Kleding: 2 nieuwe review(s) om te bekijken"
    # Again: nothing new, nothing sent.
    assert runner.invoke(main, ["alerts", "send-digests"]).exit_code == 0
    assert len(smtp.envelopes) == 1
    open_review(db, shop, 2, title="Traag")
    runner.invoke(main, ["alerts", "send-digests"])
    assert len(smtp.envelopes) == 2
    second = smtp.messages[1].get_content()
    assert "Traag" in second and "Kapot" not in second
    history = alerts.digest_history(db, shop["id"])
    assert [(d["review_count"], d["status"]) for d in history] == [(1, "delivered"), (2, "delivered")]
    assert db.execute("SELECT count(*) FROM digest_items WHERE review_id = ?", [first]).fetchone()[0] == 1


def test_a_digest_that_fails_is_retried_as_the_same_digest(app, db, shop, smtp, clock):
    alerts.add_recipient(db, shop["id"], "owner@acme.example", max_rating=2, mode="digest")
    open_review(db, shop, 1, title="Kapot")
    smtp.answers = ["451 4.3.0 try again later"]
    counts = alerts.send_digests(app, db)
    assert (counts["gathered"], counts["retry"]) == (1, 1) and smtp.envelopes == []
    open_review(db, shop, 2, title="Traag")
    clock.advance(seconds=app.config["MAIL_RETRY_SECONDS"])
    counts = alerts.send_digests(app, db)  # the new review makes a new digest; the old one is retried unchanged
    assert counts["gathered"] == 1 and counts["delivered"] == 2
    texts = sorted(m.get_content() for m in smtp.messages)
    assert sum("Kapot" in t for t in texts) == 1 and sum("Traag" in t for t in texts) == 1


def test_smtp_down_never_breaks_a_review_and_the_alert_waits(app, client, db, shop, clock):
    app.config.update(MAIL_HOST="127.0.0.1", MAIL_PORT=free_port(), MAIL_FROM="a@eerlijk.example", MAIL_TIMEOUT=2)
    alerts.add_recipient(db, shop["id"], "service@acme.example", max_rating=5)
    review_id = open_review(db, shop, 1)
    assert store.get_review(db, shop["id"], review_id)["rating"] == 1
    counts = outbox.deliver_due(app, db)
    assert counts["retry"] == 1
    row = db.execute("SELECT status, last_error FROM outbox").fetchone()
    assert row[0] == "pending" and "cannot reach" in row[1]


def test_without_mail_host_alerts_wait_and_webhooks_are_unaffected(app, db, shop):
    alerts.add_recipient(db, shop["id"], "service@acme.example", max_rating=5)
    open_review(db, shop, 1)
    counts = outbox.deliver_due(app, db)
    assert counts["waiting"] == 1 and counts["delivered"] == 0


def test_withdrawn_before_delivery_means_no_alert(app, db, shop, smtp):
    alerts.add_recipient(db, shop["id"], "service@acme.example", max_rating=5)
    review_id = open_review(db, shop, 1)
    store.set_review_status(db, shop["id"], review_id, "withdrawn", actor="author")
    assert outbox.deliver_due(app, db)["failed"] == 1 and smtp.envelopes == []


def test_recipients_are_checked_and_changed_in_place(db, shop):
    recipient, created = alerts.add_recipient(db, shop["id"], "Service@Acme.example", max_rating=2)
    assert created
    again, created = alerts.add_recipient(db, shop["id"], "Service@Acme.example", max_rating=3, mode="digest")
    assert not created and again["id"] == recipient["id"] and again["mode"] == "digest"
    for email, rating, mode, field in [("not-an-address", 2, "immediate", "email"), ("a@b.example", 0, "digest", "max_rating"),
                                       ("a@b.example", 6, "digest", "max_rating"), ("a@b.example", True, "digest", "max_rating"),
                                       ("a@b.example", 2, "weekly", "mode")]:
        with pytest.raises(alerts.AlertError) as exc:
            alerts.add_recipient(db, shop["id"], email, max_rating=rating, mode=mode)
        assert exc.value.field == field
    assert alerts.remove_recipient(db, shop["id"], "Service@Acme.example")
    assert alerts.list_recipients(db, shop["id"]) == []
    # The audit log, kept for good, holds no address.
    assert "Acme.example" not in "".join(r[0] for r in db.execute("SELECT data FROM audit_log").fetchall())


def test_other_shops_reviews_alert_nobody_here(db, shop):
    alerts.add_recipient(db, shop["id"], "service@acme.example", max_rating=5)
    other = store.create_shop(db, "beta", "Beta")
    store.add_review(db, other["id"], rating=1, author="X", source="open")
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
