"""Review invitations: create them per order, sign their links, read them back from a token, link their reviews.

A review link is `<base>/r/<token>`. The token is signed with the app's
SECRET_KEY for one purpose only (salt "review-invitation") and carries the
invitation id and its expiry; the invitation row keeps only a SHA-256 hash of
the token. A link is accepted when the signature, the purpose, the expiry and
the stored hash all agree, and no review was written with it yet: the link
starts a first review only. Edits and withdrawal need the author token made
at submission (widgetserver/authorship.py), which the shop never sees.

The shop-facing API and CLI hand the link out only while nobody else will
(`disclose_link`): not once reviews were submitted, and not when our server
e-mails the customer itself. Each hand-out is recorded, and a review's
`verification_method` says whether the shop ever held its link.

The customer's e-mail address is kept in the invitation only while it is
needed to send it: it is cleared once the e-mail is sent, once the link is
used, when sending failed for good, and when the link expires. After a send
or a use it moves to `invitation_contacts` until the link expires, only for
the author's confirmation e-mail, the one "resolved" follow-up question and
a moderator's decision (widgetserver/author_mail.py, followup.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

from . import authorship, store

TOKEN_SALT = "review-invitation"
TOKEN_PURPOSE = "review"
DEFAULT_DELAY_DAYS = 5
DEFAULT_VALID_DAYS = 60


class InvalidLink(Exception):
    """A review link that cannot be used; `reason` is unknown, expired, used or withdrawn."""

    def __init__(self, reason: str, invitation: dict | None = None):
        super().__init__(reason)
        self.reason = reason
        self.invitation = invitation


def delay_days(shop: dict) -> int:
    """Days between delivery and the invitation e-mail (shop setting `invitation_delay_days`)."""
    value = shop["settings"].get("invitation_delay_days", DEFAULT_DELAY_DAYS)
    return value if isinstance(value, int) and 0 <= value <= 90 else DEFAULT_DELAY_DAYS


def allows_open_reviews(shop: dict) -> bool:
    """True when the shop accepts unverified reviews without an invitation (setting `allow_open_reviews`)."""
    return shop["settings"].get("allow_open_reviews", False) is True


# --- tokens --------------------------------------------------------------------


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=TOKEN_SALT)


def token_hash(token: str) -> str:
    """What is stored of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def make_token(secret: str, invitation: dict) -> str:
    """The invitation's link token: deterministic for (secret, id, expiry), so it can be issued again."""
    expires = int(store.parse_time(invitation["expires_at"]).timestamp())
    return _serializer(secret).dumps({"i": invitation["id"], "p": TOKEN_PURPOSE, "e": expires})


def review_url(base_url: str, secret: str, invitation: dict) -> str:
    """The absolute review link of an invitation."""
    return f"{base_url.rstrip('/')}/r/{make_token(secret, invitation)}"


def invitation_for_token(db, secret: str, token: str) -> dict:
    """The invitation a link token opens, checked for signature, purpose, expiry, stored hash and status.

    :raise InvalidLink: reason "unknown" (forged, damaged, another purpose or no such invitation),
        "used" (reviews were submitted with it: it starts a first review only),
        "expired" or "withdrawn" (the author withdrew their reviews).
    """
    if len(token) > 300:
        raise InvalidLink("unknown")
    try:
        data = _serializer(secret).loads(token)
    except BadSignature:
        raise InvalidLink("unknown") from None
    if not isinstance(data, dict) or data.get("p") != TOKEN_PURPOSE or not isinstance(data.get("i"), int):
        raise InvalidLink("unknown")
    invitation = get_invitation(db, data["i"])
    if invitation is None or not hmac.compare_digest(invitation["token_hash"], token_hash(token)):
        raise InvalidLink("unknown")
    if invitation["status"] == "withdrawn":
        raise InvalidLink("withdrawn", invitation)
    if invitation["status"] == "used" or reviews_of(db, invitation):
        raise InvalidLink("used", invitation)
    if not isinstance(data.get("e"), int) or store.utcnow().timestamp() >= data["e"] \
            or store.utcnow() >= store.parse_time(invitation["expires_at"]):
        raise InvalidLink("expired", invitation)
    return invitation


# --- invitations ---------------------------------------------------------------


def _shape(row: dict) -> dict:
    row = dict(row)
    row["skus"] = json.loads(row["skus"])
    return row


def get_invitation(db, invitation_id: int) -> dict | None:
    """The invitation row with its SKUs decoded, or None."""
    rows = list(db.query("SELECT * FROM invitations WHERE id = ?", [invitation_id]))
    return _shape(rows[0]) if rows else None


def invitation_by_order(db, shop_id: int, order_ref: str) -> dict | None:
    """The shop's invitation for this order, or None."""
    rows = list(db.query("SELECT * FROM invitations WHERE shop_id = ? AND order_ref = ?", [shop_id, order_ref]))
    return _shape(rows[0]) if rows else None


def list_invitations(db, shop_id: int) -> list[dict]:
    """The shop's invitations, newest first, with the number of reviews each brought in."""
    return [_shape(r) for r in db.query(
        "SELECT i.*, (SELECT count(*) FROM invitation_reviews ir WHERE ir.invitation_id = i.id) AS review_count"
        " FROM invitations i WHERE i.shop_id = ? ORDER BY i.id DESC", [shop_id])]


def unknown_skus(db, shop_id: int, skus: list[str]) -> list[str]:
    """The SKUs in `skus` that are not products of the shop."""
    return [sku for sku in skus if store.product_by_sku(db, shop_id, sku) is None]


def create_invitation(db, shop: dict, secret: str, *, order_ref: str, name: str, email: str | None,
                      skus: list[str], delivered_at: datetime, locale: str | None = None,
                      valid_days: int = DEFAULT_VALID_DAYS, actor: str = "api") -> tuple[dict, bool]:
    """Create the invitation for an order, or return the existing one unchanged; returns (invitation, created).

    `send_at` is delivery plus the shop's delay; the link expires `valid_days` after that.
    :raise StoreError: for SKUs that are not products of the shop.
    """
    problem = store.time_problem(delivered_at, ahead=store.DELIVERY_AHEAD)
    if problem:
        raise store.StoreError(problem, "delivered_at")
    with store.write(db):
        existing = invitation_by_order(db, shop["id"], order_ref)
        if existing is not None:
            return existing, False
        missing = unknown_skus(db, shop["id"], skus)
        if missing:
            raise store.StoreError(
                f"Unknown SKU(s) {', '.join(map(repr, missing))}; create the products first (POST .../products).",
                "skus")
        now = store.utcnow()
        send_at = delivered_at + timedelta(days=delay_days(shop))
        expires_at = max(send_at, now) + timedelta(days=valid_days)
        invitation_id = db.execute(
            "INSERT INTO invitations (shop_id, order_ref, customer_name, email, locale, skus, delivered_at, send_at,"
            " expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [shop["id"], order_ref, name, email, locale or shop["locale"], json.dumps(list(dict.fromkeys(skus))),
             store.format_time(delivered_at), store.format_time(send_at), store.format_time(expires_at),
             store.format_time(now)],
        ).lastrowid
        invitation = get_invitation(db, invitation_id)
        db.execute("UPDATE invitations SET token_hash = ? WHERE id = ?",
                   [token_hash(make_token(secret, invitation)), invitation_id])
        # No name or e-mail in the audit log: it is kept for good.
        store.audit(db, shop_id=shop["id"], actor=actor, action="create", entity="invitation",
                    entity_id=invitation_id, data={"order_ref": order_ref, "skus": invitation["skus"],
                                                   "send_at": invitation["send_at"]})
    return get_invitation(db, invitation_id), True


def reviews_of(db, invitation: dict) -> dict[str | None, dict]:
    """The invitation's reviews by SKU (None for the review of the shop), raw rows with any status."""
    rows = db.query(
        "SELECT ir.sku AS item, r.* FROM invitation_reviews ir JOIN reviews r ON r.id = ir.review_id"
        " WHERE ir.invitation_id = ?", [invitation["id"]])
    return {row["item"]: row for row in rows}


def verification_method(invitation: dict) -> str:
    """How a review written through this invitation is verified (store.VERIFICATION_METHODS).

    "invitation-email" only when our server e-mailed the link and the shop was
    never handed it; anything else is "invitation-link" (we cannot prove who
    received the link).
    """
    if invitation["link_disclosed_at"] is None and invitation["sent_at"] is not None:
        return "invitation-email"
    return "invitation-link"


def submit_reviews(db, invitation: dict, items: dict[str | None, dict]) -> str:
    """Publish the customer's first reviews, verified, in one transaction; returns their new author token.

    `items` maps a SKU (None for the shop) to {rating, title, body, author}.
    The invitation becomes "used": its link starts no other review, and later
    edits or a withdrawal need the returned token (widgetserver/authorship.py).
    :raise InvalidLink: reason "used" when reviews were submitted meanwhile.
    """
    token, hashed = authorship.new_token()
    with store.write(db):
        invitation = get_invitation(db, invitation["id"])  # as it is inside this transaction
        if invitation["status"] in ("used", "withdrawn") or reviews_of(db, invitation):
            raise InvalidLink("used", invitation)
        method = verification_method(invitation)
        review_ids = []
        for sku, fields in items.items():
            review_id = store.add_review(
                db, invitation["shop_id"], rating=fields["rating"], title=fields["title"], body=fields["body"],
                author=fields["author"], locale=invitation["locale"], product_sku=sku, source="invitation",
                verified=True, verification_method=method, author_token_hash=hashed, actor="author",
            )
            db.execute("INSERT INTO invitation_reviews (invitation_id, review_id, sku) VALUES (?, ?, ?)",
                       [invitation["id"], review_id, sku])
            review_ids.append(review_id)
        # Used: the e-mail address is no longer needed (and a pending e-mail is no longer sent),
        # except for the one "resolved" follow-up question, until the link would have expired.
        from .followup import keep_contact  # late: followup imports this module

        keep_contact(db, invitation)
        # The author's private link by e-mail, when our server sent this invitation (author_mail.py).
        from .author_mail import queue_confirmation

        queue_confirmation(db, invitation, review_ids, token)
        db.execute("UPDATE invitations SET status = 'used', email = NULL, used_at = ? WHERE id = ?",
                   [store.now_text(), invitation["id"]])
    return token


LINK_STATUSES = {
    "returned": "review_url is the customer's link: send it to them yourself.",
    "emailed": "We e-mail the customer ourselves (you gave an address), so the link is only in that e-mail.",
    "submitted": "The customer has written their reviews; the link only started them, and only the "
                 "customer can change them now.",
    "closed": "The link expired or the customer withdrew their reviews.",
}


def link_status(db, invitation: dict) -> str:
    """Whether the shop may be handed the invitation's review link, as one of LINK_STATUSES."""
    if invitation["status"] == "used" or reviews_of(db, invitation):
        return "submitted"
    if invitation["status"] in ("withdrawn", "expired") or store.utcnow() >= store.parse_time(invitation["expires_at"]):
        return "closed"
    if invitation["email"] is not None or invitation["sent_at"] is not None or invitation["status"] in ("sending", "sent"):
        return "emailed"
    return "returned"


def disclose_link(db, invitation: dict, base_url: str, secret: str) -> tuple[str | None, str]:
    """The link for the shop-facing API or CLI: (url, "returned"), or (None, why not) per LINK_STATUSES.

    Handing the link out is recorded (link_disclosed_at) in the same
    transaction, so a review written with it is disclosed as "invitation-link".
    """
    with store.write(db):
        invitation = get_invitation(db, invitation["id"])
        status = link_status(db, invitation)
        if status != "returned":
            return None, status
        db.execute("UPDATE invitations SET link_disclosed_at = coalesce(link_disclosed_at, ?) WHERE id = ?",
                   [store.now_text(), invitation["id"]])
    return review_url(base_url, secret, invitation), status


# --- bulk import -----------------------------------------------------------------

CSV_COLUMNS = ("order_ref", "name", "email", "skus", "delivered_at", "locale")


def import_csv(db, shop: dict, secret: str, stream, valid_days: int = DEFAULT_VALID_DAYS) -> list[tuple[dict, bool]]:
    """Create invitations from CSV rows (columns CSV_COLUMNS; `skus` separated by ';'), all or none.

    Rows for orders invited before are returned unchanged (created False).
    :raise transfer.ImportFailed: every bad row, by line number; nothing was created.
    """
    import csv

    from marshmallow import ValidationError

    from . import schemas
    from .transfer import ImportFailed, _describe

    reader = csv.DictReader(stream)
    columns = reader.fieldnames or []
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    missing = [c for c in ("order_ref", "name", "delivered_at") if c not in columns]
    if unknown or missing:
        parts = ([f"unknown column(s) {', '.join(unknown)}"] if unknown else []) + \
                ([f"missing column(s) {', '.join(missing)}"] if missing else [])
        raise ImportFailed([(1, "; ".join(parts) + f"; columns are: {', '.join(CSV_COLUMNS)}")])
    schema = schemas.InvitationInputSchema()
    problems: list[tuple[int, str]] = []
    rows: list[dict] = []
    seen: dict[str, int] = {}
    line = reader.line_num + 1
    for raw in reader:
        data = {k: v for k, v in raw.items() if k in CSV_COLUMNS and v not in (None, "")}
        if "skus" in data:
            data["skus"] = [s.strip() for s in data["skus"].split(";") if s.strip()]
        try:
            row = schema.load(data)
        except ValidationError as exc:
            problems.append((line, _describe(exc)))
        else:
            absent = unknown_skus(db, shop["id"], row["skus"])
            if absent:
                problems.append((line, f"skus: unknown SKU(s) {', '.join(map(repr, absent))}; create the products first"))
            elif row["order_ref"] in seen:
                problems.append((line, f"order_ref: {row['order_ref']!r} is on line {seen[row['order_ref']]} already"))
            else:
                seen[row["order_ref"]] = line
                rows.append(row)
        line = reader.line_num + 1
    if problems:
        raise ImportFailed(problems)
    results = []
    with store.write(db):
        for row in rows:
            results.append(create_invitation(db, shop, secret, order_ref=row["order_ref"], name=row["name"],
                                             email=row["email"], skus=row["skus"], delivered_at=row["delivered_at"],
                                             locale=row["locale"], valid_days=valid_days, actor="import"))
    return results
