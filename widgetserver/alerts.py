"""Review alerts by e-mail: who at the shop hears about new reviews at or below a rating, at once or daily.

A recipient has an e-mail address, a `max_rating` (1-5: alert for reviews
with at most that many stars) and a mode: `immediate` (one e-mail per review,
queued in the outbox with the review's own transaction and sent by
`widgetserver deliver`) or `digest` (the review is noted in `digest_items`;
`widgetserver alerts send-digests`, run daily, gathers each recipient's noted
reviews into one e-mail). A review is in at most one digest per recipient: the
(recipient, review) pair is a primary key and a gathered item carries the id
of its digest. Alerts cover reviews customers write (invitation link or open
form), not reviews the shop imports from its own history.
"""

from __future__ import annotations

import json
from email.message import EmailMessage

from marshmallow import ValidationError, fields, validate

from widgets.i18n import language_of

from . import store
from .i18n import DEFAULT_LOCALE, force_locale, lazy_gettext
from .mail import PermanentFailure, new_message

MODES = store.ALERT_MODES
MAX_RECIPIENTS = 20

# English msgids, translated by the server's gettext catalogs (docs/translating.md); `t(key, **values)` formats one.
MESSAGES = {
    'subject': lazy_gettext('%(shop)s: new %(rating)s-star review'),
    'digest_subject': lazy_gettext('%(shop)s: %(count)s new review(s) to look at'),
    'intro': lazy_gettext('A customer wrote a review with %(rating)s out of 5 stars.'),
    'product': lazy_gettext('Product: %(product)s'),
    'digest_intro': lazy_gettext('Reviews at or below %(max)s stars since the last digest:'),
    'answer': lazy_gettext('Reply within 24 hours, thank them, stay factual and offer to continue by e-mail or phone.'),
    'view': lazy_gettext('See it on the review page:'),
    'why': lazy_gettext("You get this because %(email)s is on the alert list of %(shop)s (reviews with at most %(max)s stars). Ask the shop's owner to take you off."),
}


def t(key: str, **values) -> str:
    """One of MESSAGES in the current locale (under `i18n.force_locale`), filled with `values`."""
    return str(MESSAGES[key]) % values

_email_field = fields.Email(validate=validate.Length(max=254))


class AlertError(store.StoreError):
    """A recipient the store refuses, with the field and what to change."""


def _check(email: str, max_rating, mode: str) -> str:
    try:
        email = _email_field.deserialize(email.strip() if isinstance(email, str) else email)
    except ValidationError:
        raise AlertError("Give a valid e-mail address, e.g. 'service@shop.example'.", "email") from None
    if isinstance(max_rating, bool) or not isinstance(max_rating, int) or not 1 <= max_rating <= 5:
        raise AlertError("max_rating must be a whole number from 1 to 5 (alert for reviews with at most that many "
                         "stars).", "max_rating")
    if mode not in MODES:
        raise AlertError(f"mode must be one of: {', '.join(MODES)}.", "mode")
    return email


def _shape(row: dict) -> dict:
    return {"id": row["id"], "email": row["email"], "max_rating": row["max_rating"], "mode": row["mode"],
            "created_at": store.parse_time(row["created_at"])}


def add_recipient(db, shop_id: int, email: str, max_rating: int = 2, mode: str = "immediate",
                  actor: str = "api") -> tuple[dict, bool]:
    """Add (or change) who is alerted; returns (recipient, created). One row per address and shop.

    :raise AlertError: invalid address, rating or mode, or too many recipients.
    """
    email = _check(email, max_rating, mode)
    with store.write(db):
        old = db.execute("SELECT id, mode FROM alert_recipients WHERE shop_id = ? AND email = ?",
                         [shop_id, email]).fetchone()
        if old is None:
            count = db.execute("SELECT count(*) FROM alert_recipients WHERE shop_id = ?", [shop_id]).fetchone()[0]
            if count >= MAX_RECIPIENTS:
                raise AlertError(f"A shop can have at most {MAX_RECIPIENTS} alert recipients; remove one first.",
                                 "email", 409)
            recipient_id = db.execute(
                "INSERT INTO alert_recipients (shop_id, email, max_rating, mode, created_at) VALUES (?, ?, ?, ?, ?)",
                [shop_id, email, max_rating, mode, store.now_text()]).lastrowid
        else:
            recipient_id = old[0]
            db.execute("UPDATE alert_recipients SET max_rating = ?, mode = ? WHERE id = ?",
                       [max_rating, mode, recipient_id])
        # Addresses are personal data: the audit log (kept for good) records only the recipient's id.
        store.audit(db, shop_id=shop_id, actor=actor, action="create" if old is None else "update",
                    entity="alert_recipient", entity_id=recipient_id, data={"max_rating": max_rating, "mode": mode})
        row = next(iter(db.query("SELECT * FROM alert_recipients WHERE id = ?", [recipient_id])))
    return _shape(row), old is None


def list_recipients(db, shop_id: int) -> list[dict]:
    """The shop's alert recipients, oldest first."""
    return [_shape(r) for r in db.query("SELECT * FROM alert_recipients WHERE shop_id = ? ORDER BY id", [shop_id])]


def remove_recipient(db, shop_id: int, id_or_email, actor: str = "api") -> bool:
    """Stop alerting a recipient (by id or address); queued alerts and digest items for them are dropped."""
    with store.write(db):
        column = "id" if isinstance(id_or_email, int) or str(id_or_email).isdecimal() else "email"
        row = db.execute(f"SELECT id FROM alert_recipients WHERE shop_id = ? AND {column} = ?",
                         [shop_id, int(id_or_email) if column == "id" else str(id_or_email).strip()]).fetchone()
        if row is None:
            return False
        db.execute("DELETE FROM alert_recipients WHERE id = ?", [row[0]])
        db.execute("DELETE FROM digest_items WHERE recipient_id = ? AND digest_id IS NULL", [row[0]])
        db.execute("UPDATE outbox SET status = 'failed', last_error = 'recipient removed'"
                   " WHERE kind = 'alert' AND target_id = ? AND status = 'pending'", [row[0]])
        store.audit(db, shop_id=shop_id, actor=actor, action="remove", entity="alert_recipient", entity_id=row[0],
                    data={})
    return True


def queue_for_review(db, shop_id: int, review_id: int, rating: int) -> int:
    """Queue an alert (immediate) or a digest item for every recipient this rating concerns; returns how many.

    Runs inside the review's write transaction.
    """
    from .outbox import enqueue

    count = 0
    for row in db.query("SELECT id, mode FROM alert_recipients WHERE shop_id = ? AND max_rating >= ?",
                        [shop_id, rating]):
        if row["mode"] == "immediate":
            enqueue(db, shop_id=shop_id, kind="alert", target_id=row["id"], event="review.created",
                    payload={"review_id": review_id})
        else:
            db.execute("INSERT OR IGNORE INTO digest_items (recipient_id, review_id, queued_at) VALUES (?, ?, ?)",
                       [row["id"], review_id, store.now_text()])
        count += 1
    return count


def gather_digests(db) -> list[int]:
    """Turn every recipient's noted reviews into one digest each, queued for delivery; returns the digest ids.

    Each review is taken into exactly one digest per recipient (running this twice sends nothing twice).
    """
    from .outbox import enqueue

    digests = []
    with store.write(db):
        pending = list(db.query(
            "SELECT d.recipient_id, a.shop_id, a.email, count(*) AS n FROM digest_items d"
            " JOIN alert_recipients a ON a.id = d.recipient_id WHERE d.digest_id IS NULL GROUP BY d.recipient_id"))
        for item in pending:
            digest_id = db.execute(
                "INSERT INTO digests (shop_id, recipient_id, email, review_count, created_at) VALUES (?, ?, ?, ?, ?)",
                [item["shop_id"], item["recipient_id"], item["email"], item["n"], store.now_text()]).lastrowid
            db.execute("UPDATE digest_items SET digest_id = ? WHERE recipient_id = ? AND digest_id IS NULL",
                       [digest_id, item["recipient_id"]])
            enqueue(db, shop_id=item["shop_id"], kind="digest", target_id=digest_id, event="digest",
                    payload={"digest_id": digest_id})
            digests.append(digest_id)
    return digests


def send_digests(app, db) -> dict:
    """Gather the day's digests and send them (with the outbox's retries); returns counts."""
    from .outbox import deliver_due

    gathered = gather_digests(db)
    counts = deliver_due(app, db, kinds=("digest",))
    return {"gathered": len(gathered), **counts}


def digest_history(db, shop_id: int, limit: int = 30) -> list[dict]:
    """The shop's digests, newest first: when, to whom, how many reviews, delivery status."""
    return list(db.query(
        "SELECT g.id, g.email, g.review_count, g.created_at, o.status, o.delivered_at, o.last_error FROM digests g"
        " LEFT JOIN outbox o ON o.kind = 'digest' AND o.target_id = g.id WHERE g.shop_id = ? ORDER BY g.id DESC LIMIT ?",
        [shop_id, limit]))


# --- e-mails -------------------------------------------------------------------


def _review_lines(review: dict, link: str) -> list[str]:
    stars = "\u2605" * review["rating"] + "\u2606" * (5 - review["rating"])
    lines = [f"{stars}  {review['title']}".rstrip(), f"- {review['author']}"]
    if review["product"]:
        lines.append(t("product", product=review["product"]))
    if review["body"]:
        lines += ["", review["body"]]
    lines += ["", t("view"), link]
    return lines


def _message(app, shop: dict, to: str, subject: str, body: str) -> EmailMessage:
    from .mail import _sender

    sender = _sender(app.config)
    message = new_message(sender, to, subject, automatic=True)
    message["Content-Language"] = shop["locale"]
    message.set_content(body)
    return message


def _link(app, shop: dict, review: dict) -> str:
    base = (app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
    return f"{base}/s/{shop['slug']}#review-{review['id']}"


def _shop_by_id(db, shop_id: int) -> dict:
    return store.get_shop(db, db.execute("SELECT slug FROM shops WHERE id = ?", [shop_id]).fetchone()[0])


def deliver_alert(app, db, message: dict, connection) -> None:
    """Send one immediate alert.

    :raise PermanentFailure: the recipient was removed or the review is no longer published (nothing sent).
    """
    recipient = db.execute("SELECT email, max_rating FROM alert_recipients WHERE id = ?",
                           [message["target_id"]]).fetchone()
    if recipient is None:
        raise PermanentFailure("not sent: recipient removed")
    review_id = json.loads(message["payload"])["review_id"]
    review = store.get_review(db, message["shop_id"], review_id)
    row = store.review_row(db, message["shop_id"], review_id)
    if review is None or row["status"] != "published":
        raise PermanentFailure("not sent: the review was withdrawn or removed before delivery")
    shop = _shop_by_id(db, message["shop_id"])
    with app.app_context(), force_locale(language_of(shop["locale"]) or DEFAULT_LOCALE):
        body = "\n".join([t("intro", rating=review["rating"]), "", *_review_lines(review, _link(app, shop, review)),
                          "", t("answer"), "", "--", t("why", email=recipient[0], shop=shop["name"], max=recipient[1])])
        subject = t("subject", shop=shop["name"], rating=review["rating"])
    connection.send(_message(app, shop, recipient[0], subject, body + "\n"))


def deliver_digest(app, db, message: dict, connection) -> None:
    """Send one gathered digest (reviews withdrawn meanwhile are left out; none left: nothing is sent)."""
    digest = next(iter(db.query("SELECT * FROM digests WHERE id = ?", [message["target_id"]])))
    recipient = db.execute("SELECT max_rating FROM alert_recipients WHERE id = ?", [digest["recipient_id"]]).fetchone()
    if recipient is None:
        raise PermanentFailure("not sent: recipient removed")
    shop = _shop_by_id(db, message["shop_id"])
    reviews = []
    for (review_id,) in db.execute("SELECT review_id FROM digest_items WHERE digest_id = ? ORDER BY review_id",
                                   [digest["id"]]).fetchall():
        row = store.review_row(db, shop["id"], review_id)
        if row is not None and row["status"] == "published":
            reviews.append(store.get_review(db, shop["id"], review_id))
    if not reviews:
        raise PermanentFailure("not sent: every review in it was withdrawn or removed")
    with app.app_context(), force_locale(language_of(shop["locale"]) or DEFAULT_LOCALE):
        lines = [t("digest_intro", max=recipient[0]), ""]
        for review in reviews:
            lines += _review_lines(review, _link(app, shop, review)) + ["", "-" * 40, ""]
        lines += [t("answer"), "", "--", t("why", email=digest["email"], shop=shop["name"], max=recipient[0])]
        subject = t("digest_subject", shop=shop["name"], count=len(reviews))
    connection.send(_message(app, shop, digest["email"], subject, "\n".join(lines) + "\n"))
