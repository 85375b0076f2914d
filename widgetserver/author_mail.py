"""E-mails to a review's author: the confirmation with their private link, and the moderator's decision.

Both go only to an address the server holds for a verified review: the one
our server sent the invitation to, kept in `invitation_contacts` until the
invitation's link expires (widgetserver/followup.py, "Contacts"). Both are
queued in the outbox in the transaction of the change they announce and
sent by `widgetserver deliver` with the outbox's retries (outbox.py).

**Confirmation** (`confirmation`): when a customer publishes reviews through
an invitation *our server e-mailed* (verification method
`invitation-email`), one e-mail thanks them and carries their private
`/a/<token>` link to change or withdraw the reviews. The author token is
made at submission and only its hash is stored on the reviews; the raw token
waits in this one outbox row's payload and is erased from it as soon as the
row is delivered or fails for good (`outbox.scrub`). The address is looked up
when sending, never taken from the shop: a review whose link the shop was
handed (`invitation-link`) gets no confirmation, so a shop can never have the
author link sent to an address of its choosing. If the link stopped working
before sending (the author withdrew, or took a fresh link from the follow-up
page), nothing is sent.

**Decision** (`decision`): `moderation.decide` queues one e-mail to the
author when it holds their address: kept or removed, the reason in plain
words, the date, and a link to the shop's transparency page.

Both speak the review's language (else the shop's), plain text plus HTML.
"""

from __future__ import annotations

import json
from email.message import EmailMessage

from babel.dates import format_date
from flask import Flask, render_template
from markupsafe import Markup, escape
from widgets.i18n import language_of

from . import authorship, store
from .i18n import DEFAULT_LOCALE, force_locale, lazy_gettext
from .mail import PermanentFailure, new_message

CONFIRMATION = {
    'subject': lazy_gettext('Your review of %(shop)s is published'),
    'greeting': lazy_gettext('Hello,'),
    'intro': lazy_gettext('Thank you for reviewing %(shop)s. Your review is published.'),
    'link': lazy_gettext('This is your private link. With it you can change or withdraw your review at any time:'),
    'button': lazy_gettext('Change or withdraw your review'),
    'keep': lazy_gettext('Keep this e-mail and do not pass the link on: whoever has it can change your review. %(shop)s never gets this link.'),
    'privacy': lazy_gettext('We keep your e-mail address until %(until)s, only to ask you once whether an issue you raised was resolved and to tell you if a moderator decides on a report about your review. Then we erase it.'),
}

DECISION = {
    'subject_keep': lazy_gettext('Your review of %(shop)s stays published'),
    'subject_remove': lazy_gettext('Your review of %(shop)s was removed'),
    'greeting': lazy_gettext('Hello,'),
    'keep': lazy_gettext('Your review of %(shop)s of %(written)s was reported. On %(date)s the moderator decided to keep it: it stays published as you wrote it.'),
    'remove': lazy_gettext('Your review of %(shop)s of %(written)s was reported. On %(date)s the moderator decided to remove it.'),
    'reported': lazy_gettext('It was reported as: %(reason)s'),
    'reason': lazy_gettext('Reason: %(reason)s'),
    'removed': lazy_gettext('It no longer appears in widgets or averages. In its place the review page of %(shop)s says when and why a review was removed.'),
    'how': lazy_gettext('How reviews and reports are handled at %(shop)s:'),
    'button': lazy_gettext('How reviews work'),
    'why': lazy_gettext('You get this e-mail because you reviewed %(shop)s through an invitation we sent you. We keep your address only until %(until)s.'),
}


# --- queueing (inside the caller's transaction) ------------------------------------


def queue_confirmation(db, invitation: dict, review_ids: list[int], token: str) -> int | None:
    """Queue the author's confirmation after `invitations.submit_reviews` (same transaction); returns its id.

    Only for an invitation our server e-mailed and never handed to the shop, whose address is kept.
    """
    from .invitations import verification_method

    if verification_method(invitation) != "invitation-email" or _contact(db, invitation["id"]) is None:
        return None
    from .outbox import enqueue

    return enqueue(db, shop_id=invitation["shop_id"], kind="confirmation", target_id=invitation["id"],
                   event="confirmation", payload={"invitation_id": invitation["id"], "reviews": review_ids,
                                                  "token": token})


def queue_decision(db, shop_id: int, review_id: int, decision_id: int) -> int | None:
    """Queue the decision e-mail when the author's address is held (inside `moderation.decide`)."""
    from .followup import contact_for

    if contact_for(db, review_id) is None:
        return None
    from .outbox import enqueue

    return enqueue(db, shop_id=shop_id, kind="decision", target_id=decision_id, event="decision",
                   payload={"review_id": review_id, "decision_id": decision_id})


def _contact(db, invitation_id: int) -> tuple[str, str] | None:
    """(address, erase_at) kept for an invitation, while its link has not expired."""
    return db.execute("SELECT email, erase_at FROM invitation_contacts WHERE invitation_id = ? AND erase_at > ?",
                      [invitation_id, store.now_text()]).fetchone()


# --- building ---------------------------------------------------------------------


def _shop(db, shop_id: int) -> dict:
    return store.get_shop(db, db.execute("SELECT slug FROM shops WHERE id = ?", [shop_id]).fetchone()[0])


def _locale(review: dict, shop: dict) -> str:
    return language_of(review.get("locale")) or language_of(shop["locale"]) or DEFAULT_LOCALE


def _date(value: str, locale: str) -> str:
    return format_date(store.parse_time(value).date(), "long", locale=locale)


def _message(app: Flask, *, address: str, locale: str, subject: str, blocks: list[dict]) -> EmailMessage:
    """One e-mail: plain text plus an HTML alternative built from the same blocks.

    A block is {"text": str} (with "html": Markup when it names user text), optionally "url" (a link on its
    own line; with "button", shown as a button in HTML) and "small".
    """
    from .mail import _sender

    sender = _sender(app.config)
    plain = []
    for block in blocks:
        if block.get("text"):
            plain.append(block["text"] + ("\n" + block["url"] if block.get("url") else ""))
        elif block.get("url"):
            plain.append(block["url"])
    with app.app_context():
        html = render_template("collect/author_email.html", locale=locale, subject=subject, blocks=blocks)
    message = new_message(sender, address, subject, automatic=True)
    message.set_content("\n\n".join(plain) + "\n")
    message.add_alternative(html, subtype="html")
    message["Content-Language"] = locale  # after add_alternative, which moves Content-* headers into the part
    return message


def _texts(messages: dict, locale: str, values: dict, app: Flask) -> tuple[dict, dict]:
    """Each message translated and filled: plain, and HTML with the shop's name isolated in <bdi>."""
    isolated = {k: Markup("<bdi>{}</bdi>").format(v) if k == "shop" else v for k, v in values.items()}
    with app.app_context(), force_locale(locale):
        plain = {key: str(message) % values for key, message in messages.items()}
        html = {key: Markup(escape(str(message))) % isolated for key, message in messages.items()}
    return plain, html


def build_confirmation(app: Flask, db, shop: dict, review: dict, address: str, erase_at: str,
                       token: str) -> EmailMessage:
    """The confirmation e-mail with the author's private link, in the review's language."""
    from .mail import _base_url

    locale = _locale(review, shop)
    url = f"{_base_url(app.config).rstrip('/')}/a/{token}"
    text, html = _texts(CONFIRMATION, locale, {"shop": shop["name"], "until": _date(erase_at, locale)}, app)
    blocks = [{"text": text["greeting"]}, {"text": text["intro"], "html": html["intro"]},
              {"text": text["link"], "url": url, "button": text["button"]},
              {"text": text["keep"], "html": html["keep"], "small": True},
              {"text": text["privacy"], "small": True}]
    return _message(app, address=address, locale=locale, subject=text["subject"], blocks=blocks)


def build_decision(app: Flask, db, shop: dict, review: dict, decision: dict, address: str,
                   erase_at: str) -> EmailMessage:
    """The decision e-mail: kept or removed, the reason in plain words, the date, the transparency page."""
    from .mail import _base_url
    from .reports import REASON_LABELS

    locale = _locale(review, shop)
    url = f"{_base_url(app.config).rstrip('/')}/s/{shop['slug']}/transparency"
    if decision["reason"]:
        reasons = [decision["reason"]]
    else:  # a "keep" cites no reason: say what it was reported for
        reasons = [r[0] for r in db.execute(
            "SELECT DISTINCT reason FROM reports WHERE decision_id = ? ORDER BY reason", [decision["id"]])]
    with app.app_context(), force_locale(locale):
        reason = "; ".join(str(REASON_LABELS[r]) for r in reasons if r in REASON_LABELS)
    values = {"shop": shop["name"], "date": _date(decision["decided_at"], locale),
              "written": _date(review["created_at"], locale), "reason": reason, "until": _date(erase_at, locale)}
    text, html = _texts(DECISION, locale, values, app)
    outcome = decision["outcome"]
    blocks = [{"text": text["greeting"]}, {"text": text[outcome], "html": html[outcome]}]
    if reason:
        blocks.append({"text": text["reason" if outcome == "remove" else "reported"]})
    if outcome == "remove":
        blocks.append({"text": text["removed"], "html": html["removed"]})
    blocks += [{"text": text["how"], "html": html["how"], "url": url, "button": text["button"]},
               {"text": text["why"], "html": html["why"], "small": True}]
    return _message(app, address=address, locale=locale, subject=text[f"subject_{outcome}"], blocks=blocks)


# --- delivering (outbox handlers) -----------------------------------------------------


def deliver_confirmation(app: Flask, db, message: dict, connection) -> None:
    """Send the author's confirmation.

    :raise PermanentFailure: the link was erased already, no longer opens a published review (withdrawn,
        removed, replaced by a fresh one), or the address is gone (expired, withdrawn, erased).
    """
    payload = json.loads(message["payload"])
    token = payload.get("token")
    if not token:
        raise PermanentFailure("not sent: the private link was erased from the outbox")
    rows = [r for r in authorship.reviews_for_token(db, token) if r["status"] == "published"]
    if not rows:
        raise PermanentFailure("not sent: the private link no longer opens the reviews (withdrawn, removed or replaced)")
    if any(r["verification_method"] != "invitation-email" for r in rows):
        raise PermanentFailure("not sent: the shop held this invitation's link")
    contact = _contact(db, payload["invitation_id"])
    if contact is None:
        raise PermanentFailure("not sent: the customer's address was erased (link expired or reviews withdrawn)")
    shop = _shop(db, message["shop_id"])
    connection.send(build_confirmation(app, db, shop, rows[-1], contact[0], contact[1], token))


def deliver_decision(app: Flask, db, message: dict, connection) -> None:
    """Send the moderator's decision to the author.

    :raise PermanentFailure: the address is gone (expired, withdrawn, erased) or the decision is unknown.
    """
    from .followup import contact_for

    payload = json.loads(message["payload"])
    decisions = list(db.query("SELECT * FROM decisions WHERE id = ? AND shop_id = ?",
                              [payload["decision_id"], message["shop_id"]]))
    review = store.review_row(db, message["shop_id"], payload["review_id"])
    if not decisions or review is None:
        raise PermanentFailure("not sent: no such decision")
    contact = contact_for(db, payload["review_id"])
    if contact is None:
        raise PermanentFailure("not sent: the author's address was erased (link expired, withdrawn or erased)")
    invitation, address = contact
    shop = _shop(db, message["shop_id"])
    connection.send(build_decision(app, db, shop, review, decisions[0], address, invitation["expires_at"]))
