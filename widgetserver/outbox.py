"""The outbox: alert e-mails, digests, follow-up e-mails and webhook calls, queued with the change they announce.

A review write never talks to an SMTP server or a webhook receiver: it only
inserts rows into the `outbox` table inside its own transaction (so a message
exists if and only if the change committed). `deliver_due(app)` — run by
`widgetserver deliver` or the thread `serve --deliver-every SECONDS` starts —
then claims due rows one by one (status `sending`, in its own transaction),
delivers them and records the outcome:

- delivered: status `delivered`;
- a temporary failure (SMTP 4xx, connection trouble, HTTP 5xx/408/429,
  timeout): back to `pending` with `next_attempt_at` = now + base x 2^(attempt-1),
  until the kind's maximum of attempts, then `failed`;
- a permanent failure (SMTP 5xx for the recipient, other HTTP 4xx, a refused
  URL): `failed` with `last_error`.

A row left `sending` by a crash is looked at after an hour: a webhook call is
retried (receivers deduplicate on `Eerlijk-Delivery`), an e-mail is marked
failed rather than risk sending it twice.

E-mails to customers (`followup`, `confirmation`, `decision`) are for the
customer only: nothing shop-facing (API, CLI, workspace) reads their rows.
A `confirmation` payload holds the author's private link token until the row
is delivered or failed for good; `scrub` then erases it (in the same
transaction as the outcome), so the token does not stay in the database.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta

from flask import Flask

from . import store
from .mail import PermanentFailure, TemporaryFailure  # noqa: F401  (the outcomes every handler raises)

STALE_SENDING = timedelta(hours=1)
EMAIL_KINDS = ("alert", "digest", "followup", "confirmation", "decision")
SECRET_KINDS = ("confirmation",)  # payload field "token" is erased once the row is finished (`scrub`)


def enqueue(db, *, shop_id: int, kind: str, target_id: int | None, event: str, payload, delay: float = 0) -> int:
    """Queue one message inside the caller's transaction; returns its id.

    `payload` is stored as given when it is a string (a webhook body is sent byte for byte), else as JSON.
    """
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False, sort_keys=True)
    now = store.utcnow()
    insert = ("INSERT INTO outbox (shop_id, kind, target_id, event, payload, next_attempt_at, created_at)"
              " VALUES (?, ?, ?, ?, ?, ?, ?)")
    values = [shop_id, kind, target_id, event, text, store.format_time(now + timedelta(seconds=delay)),
              store.format_time(now)]
    if db.conn.in_transaction:  # the usual case: one statement of the caller's write, no savepoint needed
        return db.conn.execute(insert, values).lastrowid
    with store.write(db):
        return db.conn.execute(insert, values).lastrowid


def retry_policy(config, kind: str) -> tuple[int, float]:
    """(maximum attempts, first retry delay in seconds) for a kind of message."""
    if kind == "webhook":
        return config["WEBHOOK_MAX_ATTEMPTS"], config["WEBHOOK_RETRY_SECONDS"]
    return config["MAIL_MAX_ATTEMPTS"], config["MAIL_RETRY_SECONDS"]


def backoff(base_seconds: float, attempt: int) -> timedelta:
    """Delay before the attempt after `attempt` (1-based): base, 2 x base, 4 x base, ..."""
    return timedelta(seconds=base_seconds * 2 ** (attempt - 1))


def backoff_schedule(base_seconds: float, max_attempts: int) -> list[timedelta]:
    """Every delay between attempts, first to last (max_attempts - 1 of them)."""
    return [backoff(base_seconds, attempt) for attempt in range(1, max_attempts)]


def tidy(db) -> dict:
    """Deal with rows a crash left `sending` (webhooks retried, e-mails reported failed) and drop confirmations
    whose address is gone; returns counts (interrupted, failed)."""
    cutoff = store.format_time(store.utcnow() - STALE_SENDING)
    with store.write(db):
        retried = db.execute(
            "UPDATE outbox SET status = 'pending', claimed_at = NULL, last_error = 'interrupted while sending; retried'"
            " WHERE status = 'sending' AND kind = 'webhook' AND claimed_at <= ?", [cutoff]).rowcount
        failed = db.execute(
            "UPDATE outbox SET status = 'failed', claimed_at = NULL,"
            " last_error = 'interrupted while sending: it may or may not have arrived, so it is not sent again'"
            " WHERE status = 'sending' AND kind != 'webhook' AND claimed_at <= ?", [cutoff]).rowcount
        # A confirmation can only go to the address kept for its invitation: once that is erased (the link
        # expired, the author withdrew) it never will, so it fails now rather than keep the token waiting.
        dropped = db.execute(
            "UPDATE outbox SET status = 'failed', last_error = 'not sent: the customer''s address was erased'"
            " WHERE status = 'pending' AND kind = 'confirmation' AND NOT EXISTS (SELECT 1 FROM invitation_contacts c"
            " WHERE c.invitation_id = json_extract(outbox.payload, '$.invitation_id') AND c.erase_at > ?)",
            [store.format_time(store.utcnow())]).rowcount
        scrub(db)
    return {"interrupted": retried + failed, "failed": dropped}


def scrub(db) -> int:
    """Erase the private token from every finished (delivered or failed) row of SECRET_KINDS; returns how many.

    Runs inside the caller's transaction. `secure_delete` makes SQLite overwrite the freed bytes too, so the
    token is not left in the database file's free space.
    """
    marks = ", ".join("?" * len(SECRET_KINDS))
    previous = db.execute("PRAGMA secure_delete").fetchone()[0]
    db.execute("PRAGMA secure_delete = ON")
    try:
        return db.execute(
            "UPDATE outbox SET payload = json_set(json_remove(payload, '$.token'), '$.token_erased', json('true'))"
            f" WHERE kind IN ({marks}) AND status IN ('delivered', 'failed')"
            " AND json_extract(payload, '$.token') IS NOT NULL", list(SECRET_KINDS)).rowcount
    finally:
        db.execute(f"PRAGMA secure_delete = {int(previous)}")


def claim(db, kinds: tuple[str, ...]) -> dict | None:
    """Take the next due message of one of `kinds` (status `sending`, one more attempt), or None."""
    now = store.now_text()
    marks = ", ".join("?" * len(kinds))
    with store.write(db):
        row = db.execute(
            f"SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? AND kind IN ({marks})"
            " ORDER BY next_attempt_at, id LIMIT 1", [now, *kinds]).fetchone()
        if row is None:
            return None
        db.execute("UPDATE outbox SET status = 'sending', attempts = attempts + 1, claimed_at = ? WHERE id = ?",
                   [now, row[0]])
        return next(iter(db.query("SELECT * FROM outbox WHERE id = ?", [row[0]])))


def record(db, message: dict, outcome: str, error: str | None, config) -> str:
    """Store the result of one attempt (`delivered`, `temporary` or `permanent`); returns the new status."""
    now = store.utcnow()
    with store.write(db):
        if outcome == "delivered":
            db.execute("UPDATE outbox SET status = 'delivered', delivered_at = ?, last_error = NULL, claimed_at = NULL"
                       " WHERE id = ?", [store.format_time(now), message["id"]])
            scrub(db)
            return "delivered"
        max_attempts, base = retry_policy(config, message["kind"])
        attempts = message["attempts"]
        if outcome == "temporary" and attempts < max_attempts:
            db.execute("UPDATE outbox SET status = 'pending', next_attempt_at = ?, last_error = ?, claimed_at = NULL"
                       " WHERE id = ? AND status = 'sending'",
                       [store.format_time(now + backoff(base, attempts)), error, message["id"]])
            return "pending"
        if outcome == "temporary":
            error = f"gave up after {attempts} attempts; last: {error}"
        db.execute("UPDATE outbox SET status = 'failed', last_error = ?, claimed_at = NULL"
                   " WHERE id = ? AND status = 'sending'", [error, message["id"]])
        scrub(db)
        return "failed"


def _handlers():
    from . import alerts, author_mail, followup, webhooks

    return {"alert": alerts.deliver_alert, "digest": alerts.deliver_digest, "followup": followup.deliver_followup,
            "webhook": webhooks.deliver, "confirmation": author_mail.deliver_confirmation,
            "decision": author_mail.deliver_decision}


def deliver_due(app: Flask, db=None, kinds: tuple[str, ...] | None = None, limit: int = 1000) -> dict:
    """Deliver every due message (of `kinds`, default all); returns counts (delivered, retry, failed, interrupted, waiting).

    Without MAIL_HOST e-mails wait in the outbox (`waiting` counts them) and webhooks still go out.
    """
    from .mail import Connection, _sender, mail_configured

    config = app.config
    own = db is None
    db = db or store.connect(config["DATABASE"])
    kinds = tuple(kinds or store.OUTBOX_KINDS)
    try:
        counts = {"delivered": 0, "retry": 0, "failed": 0, "waiting": 0, **tidy(db)}
        if mail_configured(config) and any(k in EMAIL_KINDS for k in kinds):
            _sender(config)  # a missing MAIL_FROM stops here, before anything is claimed
        if not mail_configured(config):
            email_kinds = [k for k in kinds if k in EMAIL_KINDS]
            if email_kinds:
                counts["waiting"] = db.execute(
                    f"SELECT count(*) FROM outbox WHERE status = 'pending' AND kind IN ({', '.join('?' * len(email_kinds))})",
                    email_kinds).fetchone()[0]
            kinds = tuple(k for k in kinds if k not in EMAIL_KINDS)
        handlers = _handlers()
        connection = Connection(config)
        stopped: set[str] = set()
        try:
            for _ in range(limit):
                active = tuple(k for k in kinds if k not in stopped)
                if not active:
                    break
                message = claim(db, active)
                if message is None:
                    break
                try:
                    handlers[message["kind"]](app, db, message, connection)
                    outcome, error = "delivered", None
                except TemporaryFailure as exc:
                    outcome, error = "temporary", str(exc)
                    if exc.stop:  # the SMTP server or login is the problem: later e-mails would fail alike
                        stopped.update(EMAIL_KINDS)
                except PermanentFailure as exc:
                    outcome, error = "permanent", str(exc)
                status = record(db, message, outcome, error, config)
                counts[{"delivered": "delivered", "pending": "retry", "failed": "failed"}[status]] += 1
        finally:
            connection.close()
        return counts
    finally:
        if own:
            db.conn.close()


def pending_count(db, shop_id: int | None = None) -> int:
    """Messages still waiting for delivery (all shops, or one)."""
    if shop_id is None:
        return db.execute("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')").fetchone()[0]
    return db.execute("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending') AND shop_id = ?",
                      [shop_id]).fetchone()[0]


def start_delivery_thread(app: Flask, every: float) -> threading.Thread:
    """Run `deliver_due` every `every` seconds in a daemon thread (for `serve --deliver-every`)."""
    from .mail import periodic_thread

    return periodic_thread(app, every, deliver_due, name="outbox-delivery", label="outbox",
                           keys=("delivered", "retry", "failed"), failure="delivering the outbox failed")
