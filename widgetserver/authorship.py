"""Author tokens: the private link (`/a/<token>`) with which only a review's author edits or withdraws it.

When a customer publishes reviews, through an invitation link or the open
review form of a shop that allows unverified reviews, the server makes a
random token (`secrets.token_urlsafe`) and shows it once, to them only: on
the thank-you page (the address bar and a box to copy it from).
Only its SHA-256 hash is stored, on each review of that submission. The
invitation link the shop may have handed out starts a first review and
nothing else, so a shop that holds that link can never act as the author of
a review that exists (docs/invitations.md).
"""

from __future__ import annotations

import hashlib
import re
import secrets

from . import store

TOKEN_BYTES = 32
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


def token_hash(token: str) -> str:
    """What is stored of an author token."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh author token and its hash: give the token to the author, store the hash."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_hash(token)


def reviews_for_token(db, token: str) -> list[dict]:
    """The raw review rows an author token opens (any status), products first, the shop's review last."""
    if not _TOKEN_SHAPE.match(token or ""):
        return []
    return list(db.query(
        "SELECT r.*, p.sku AS sku, p.name AS product_name FROM reviews r LEFT JOIN products p ON p.id = r.product_id"
        " WHERE r.author_token_hash = ? ORDER BY r.product_id IS NULL, r.id", [token_hash(token)]))


def save_edits(db, token: str, items: dict[str | None, dict]) -> dict[str, int]:
    """The author's changes to their published reviews (by SKU, None for the shop), history kept, one transaction.

    :raise store.StoreError: the token opens no published review any more (409).
    """
    counts = {"updated": 0, "unchanged": 0}
    with store.write(db):
        current = {row["sku"]: row for row in reviews_for_token(db, token) if row["status"] == "published"}
        if not current:
            raise store.StoreError("These reviews are no longer published; they cannot be edited.", "review", 409)
        for sku, fields in items.items():
            old = current.get(sku)
            if old is None:
                continue  # not one of this author's published reviews: ignored, never created here
            if any(old[k] != fields[k] for k in ("rating", "title", "body", "author")):
                store.update_review(db, old["shop_id"], old["id"], actor="author", **fields)
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
    return counts


def withdraw(db, token: str) -> int:
    """The author withdraws every review of their submission and erases its text; returns the number withdrawn.

    The rating stays (withdrawn reviews count in no aggregate); title, body,
    display name and earlier versions are erased, and the invitation they
    came through is closed. Every step is audited with actor "author".
    """
    with store.write(db):
        count = 0
        rows = reviews_for_token(db, token)
        for review in rows:
            if review["status"] == "published":
                store.set_review_status(db, review["shop_id"], review["id"], "withdrawn",
                                        reason="withdrawn by the author", actor="author")
                count += 1
            if review["status"] in ("published", "withdrawn") and (review["title"] or review["body"]
                                                                   or review["author"]):
                db.execute("UPDATE reviews SET title = '', body = '', author = '' WHERE id = ?", [review["id"]])
                db.execute("DELETE FROM review_versions WHERE review_id = ?", [review["id"]])
                store.audit(db, shop_id=review["shop_id"], actor="author", action="erase", entity="review",
                            entity_id=review["id"], data={"fields": ["title", "body", "author", "versions"]})
        ids = [r["id"] for r in rows]
        if ids:
            marks = ", ".join("?" * len(ids))
            for (invitation_id, shop_id) in db.execute(
                    f"SELECT DISTINCT i.id, i.shop_id FROM invitations i JOIN invitation_reviews ir"
                    f" ON ir.invitation_id = i.id WHERE ir.review_id IN ({marks}) AND i.status != 'withdrawn'",
                    ids).fetchall():
                db.execute("UPDATE invitations SET status = 'withdrawn', email = NULL, customer_name = ''"
                           " WHERE id = ?", [invitation_id])
                db.execute("DELETE FROM invitation_contacts WHERE invitation_id = ?", [invitation_id])
                store.audit(db, shop_id=shop_id, actor="author", action="withdraw", entity="invitation",
                            entity_id=invitation_id, data={"reviews": count})
    return count
