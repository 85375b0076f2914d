"""The "resolved" follow-up: the shop marks a replied review's issue resolved; the customer is asked once and answers.

`mark_resolved(db, shop_id, review_id)` is what the API, the CLI and the
workspace call. It needs the shop's public reply first, and works once per
review (a repeat changes nothing). For a verified review whose customer's
address we still hold (see "Contacts" below) it queues one e-mail in the
outbox, in the same transaction: it thanks the customer, asks whether the
issue was resolved, and links to

- `/f/<token>`: two buttons, "resolved" / "not resolved"; the answer is stored
  (the customer may change it) and shown publicly next to the shop's reply;
- from that page, if they want to (never required), their author page to
  update the review, with a fresh author token (`new_author_token`).

Nothing here can change a review: the shop's call takes no fields, and the
answer page only stores the answer. The token is signed with SECRET_KEY for
this purpose (salt "review-followup") and names the review and a random
nonce stored with the follow-up; it goes only into the e-mail to the
customer, never into an answer to the shop.

Contacts: an invitation's address is erased from `invitations` once it is
sent or used, as before, but moved to `invitation_contacts` until the
invitation's link expires (INVITATION_VALID_DAYS), only for this one
follow-up question; it is erased when the author withdraws, and at expiry.
"""

from __future__ import annotations

import json
import secrets
from email.message import EmailMessage

from flask import Flask
from itsdangerous import BadSignature, URLSafeSerializer

from widgets.i18n import language_of

from . import invitations, store
from .i18n import DEFAULT_LOCALE, force_locale, lazy_gettext
from .mail import PermanentFailure, new_message

TOKEN_SALT = "review-followup"
ANSWERS = store.FOLLOWUP_ANSWERS

# English msgids, translated by the server's gettext catalogs (docs/translating.md); `t(key, **values)` formats one.
MESSAGES = {
    'subject': lazy_gettext('%(shop)s would like to know: is it resolved?'),
    'greeting': lazy_gettext('Hello,'),
    'intro': lazy_gettext('You reviewed %(shop)s on %(date)s and %(shop)s replied. They tell us they have resolved your issue.'),
    'question': lazy_gettext('Was it resolved? Your answer is shown next to their reply on the review page:'),
    'update': lazy_gettext("If you like, you can also update your review. You don't have to: your review stays as it is unless you change it."),
    'once': lazy_gettext('We ask this only once. %(shop)s cannot change your review or its rating.'),
}


def t(key: str, **values) -> str:
    """One of MESSAGES in the current locale (under `i18n.force_locale`), filled with `values`."""
    return str(MESSAGES[key]) % values


class InvalidFollowupLink(Exception):
    """A follow-up link that is forged, damaged, or for a review no longer public."""


# --- contacts ------------------------------------------------------------------


def keep_contact(db, invitation: dict) -> None:
    """Move an invitation's address to `invitation_contacts` until its link expires (call before erasing it)."""
    if invitation.get("email"):
        db.execute("INSERT OR IGNORE INTO invitation_contacts (invitation_id, email, erase_at) VALUES (?, ?, ?)",
                   [invitation["id"], invitation["email"], invitation["expires_at"]])


def forget_contact(db, invitation_id: int) -> None:
    """Erase the kept address of an invitation (the author withdrew)."""
    db.execute("DELETE FROM invitation_contacts WHERE invitation_id = ?", [invitation_id])


def erase_expired_contacts(db) -> int:
    """Erase every kept address whose invitation link has expired; returns how many."""
    with store.write(db):
        return db.execute("DELETE FROM invitation_contacts WHERE erase_at <= ?", [store.now_text()]).rowcount


def contact_for(db, review_id: int) -> tuple[dict, str] | None:
    """(invitation, address) for a verified review whose customer we can still e-mail, else None."""
    row = db.execute(
        "SELECT ir.invitation_id, c.email FROM invitation_reviews ir JOIN invitation_contacts c"
        " ON c.invitation_id = ir.invitation_id JOIN reviews r ON r.id = ir.review_id"
        " WHERE ir.review_id = ? AND r.verified = 1 AND c.erase_at > ?", [review_id, store.now_text()]).fetchone()
    if row is None:
        return None
    return invitations.get_invitation(db, row[0]), row[1]


# --- marking and answering -------------------------------------------------------


def _shape(row) -> dict:
    return {"review_id": row["review_id"], "resolved_at": store.parse_time(row["resolved_at"]),
            "email": row["email_status"], "answer": row["answer"],
            "answered_at": store.parse_time(row["answered_at"]) if row["answered_at"] else None}


def get_followup(db, shop_id: int, review_id: int) -> dict | None:
    """The review's follow-up, or None if the shop has not marked it resolved."""
    rows = list(db.query("SELECT * FROM followups WHERE review_id = ? AND shop_id = ?", [review_id, shop_id]))
    return _shape(rows[0]) if rows else None


def mark_resolved(db, shop_id: int, review_id: int, actor: str = "api") -> tuple[dict, bool]:
    """The shop says the issue of a replied review is resolved; returns (follow-up, created).

    The first call queues the one e-mail to the customer when we hold their address; later calls change nothing.
    :raise StoreError: 404 no such published review; 409 no public reply yet.
    """
    with store.write(db):
        review = store.review_row(db, shop_id, review_id)
        if review is None or review["status"] != "published":
            raise store.StoreError(f"No published review {review_id} in this shop.", "review", 404)
        existing = get_followup(db, shop_id, review_id)
        if existing is not None:
            return existing, False
        if db.execute("SELECT 1 FROM replies WHERE review_id = ?", [review_id]).fetchone() is None:
            raise store.StoreError("Reply to the review first: the follow-up asks the customer about your reply.",
                                   "review", 409)
        contact = contact_for(db, review_id)
        db.execute("INSERT INTO followups (review_id, shop_id, resolved_at, resolved_by, email_status, token_nonce)"
                   " VALUES (?, ?, ?, ?, ?, ?)",
                   [review_id, shop_id, store.now_text(), actor, "queued" if contact else "no_contact",
                    secrets.token_urlsafe(16)])
        if contact is not None:
            from .outbox import enqueue

            enqueue(db, shop_id=shop_id, kind="followup", target_id=review_id, event="followup",
                    payload={"review_id": review_id})
        store.audit(db, shop_id=shop_id, actor=actor, action="resolved", entity="followup", entity_id=review_id,
                    data={"email": "queued" if contact else "no_contact"})
        return get_followup(db, shop_id, review_id), True


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=TOKEN_SALT)


def make_token(secret: str, review_id: int, nonce: str) -> str:
    """The customer's answer token for a follow-up."""
    return _serializer(secret).dumps({"r": review_id, "n": nonce})


def answer_url(base_url: str, secret: str, db, review_id: int) -> str | None:
    """The absolute answer link of a review's follow-up (None without one): for the customer's eyes only."""
    row = db.execute("SELECT token_nonce FROM followups WHERE review_id = ?", [review_id]).fetchone()
    return f"{base_url.rstrip('/')}/f/{make_token(secret, review_id, row[0])}" if row else None


def followup_for_token(db, secret: str, token: str) -> dict:
    """The follow-up row (with its review's shop) a token opens.

    :raise InvalidFollowupLink: forged, damaged, unknown, or the review is no longer published.
    """
    if len(token) > 300:
        raise InvalidFollowupLink(token[:20])
    try:
        data = _serializer(secret).loads(token)
    except BadSignature:
        raise InvalidFollowupLink(token[:20]) from None
    if not isinstance(data, dict) or not isinstance(data.get("r"), int) or not isinstance(data.get("n"), str):
        raise InvalidFollowupLink(token[:20])
    rows = list(db.query("SELECT f.*, r.status FROM followups f JOIN reviews r ON r.id = f.review_id"
                         " WHERE f.review_id = ?", [data["r"]]))
    if not rows or not secrets.compare_digest(rows[0]["token_nonce"], data["n"]) or rows[0]["status"] != "published":
        raise InvalidFollowupLink(token[:20])
    return rows[0]


def record_answer(db, followup: dict, answer: str) -> bool:
    """Store the customer's answer (shown next to the reply); True if it changed.

    :raise ValueError: not one of ANSWERS.
    """
    if answer not in ANSWERS:
        raise ValueError(f"answer must be one of {ANSWERS}")
    with store.write(db):
        changed = db.execute("UPDATE followups SET answer = ?, answered_at = ? WHERE review_id = ?"
                             " AND answer IS NOT ?", [answer, store.now_text(), followup["review_id"], answer]).rowcount
        if changed:
            store.bump(db, followup["shop_id"])  # widgets and pages show it: their ETags must change
            store.audit(db, shop_id=followup["shop_id"], actor="author", action="answer", entity="followup",
                        entity_id=followup["review_id"], data={"answer": answer})
    return bool(changed)


def new_author_token(db, followup: dict) -> str | None:
    """A fresh author token for the reviews written with this review's invitation (None if it has none).

    For the customer who opened the follow-up link (only they got it) and chose to update their review: the
    shop never held the link, so this is the author acting. The earlier author link stops working.
    """
    from . import authorship

    token, hashed = authorship.new_token()
    with store.write(db):
        ids = [r[0] for r in db.execute(
            "SELECT review_id FROM invitation_reviews WHERE invitation_id ="
            " (SELECT invitation_id FROM invitation_reviews WHERE review_id = ?)", [followup["review_id"]]).fetchall()]
        if not ids:
            return None
        db.execute(f"UPDATE reviews SET author_token_hash = ? WHERE id IN ({', '.join('?' * len(ids))})",
                   [hashed, *ids])
        store.audit(db, shop_id=followup["shop_id"], actor="author", action="new-author-link", entity="review",
                    entity_id=followup["review_id"], data={"reviews": ids})
    return token


# --- the e-mail ----------------------------------------------------------------


def build_message(app: Flask, db, review: dict, invitation: dict, address: str) -> EmailMessage:
    """The follow-up e-mail, plain text, in the review's language."""
    from .mail import _base_url, _sender

    config = app.config
    base, sender = _base_url(config), _sender(config)
    shop = store.get_shop(db, db.execute("SELECT slug FROM shops WHERE id = ?", [review["shop_id"]]).fetchone()[0])
    locale = language_of(invitation["locale"]) or DEFAULT_LOCALE
    values = {"shop": shop["name"], "date": store.parse_time(review["created_at"]).strftime("%Y-%m-%d")}
    with app.app_context(), force_locale(locale):
        text = {key: t(key, **values) for key in MESSAGES}
    answer = answer_url(base, config["SECRET_KEY"], db, review["id"])
    message = new_message(sender, address, text["subject"], automatic=True)
    message["Content-Language"] = locale
    message.set_content(
        f"{text['greeting']}\n\n{text['intro']}\n\n{text['question']}\n{answer}\n\n{text['update']}\n"
        f"{answer}#update\n\n{text['once']}\n")
    return message


def deliver_followup(app: Flask, db, message: dict, connection) -> None:
    """Send the one follow-up e-mail of a review.

    :raise PermanentFailure: the address is gone (withdrawn, expired) or the review is no longer published.
    """
    review_id = json.loads(message["payload"])["review_id"]
    review = store.review_row(db, message["shop_id"], review_id)
    if review is None or review["status"] != "published":
        raise PermanentFailure("not sent: the review was withdrawn or removed")
    contact = contact_for(db, review_id)
    if contact is None:
        raise PermanentFailure("not sent: the customer's address was erased (link expired or reviews withdrawn)")
    invitation, address = contact
    connection.send(build_message(app, db, review, invitation, address))
