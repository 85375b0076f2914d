"""What a review change sets off: alert e-mails and webhook calls, queued in the change's own transaction.

The store calls these from inside its write transactions (add_review,
update_review, set_reply), so every path that changes a review — the review
form, the API, the workspace — announces it, and nothing is announced for a
change that rolls back. Reviews the shop imports from its own history
(source `import`) set off nothing.
"""

from __future__ import annotations

from . import alerts, store, webhooks


_review_schema = None


def _review_data(db, shop_id: int, review_id: int) -> dict:
    global _review_schema
    if _review_schema is None:  # built once: a marshmallow schema costs ~1 ms to construct
        from .schemas import ReviewSchema

        _review_schema = ReviewSchema()
    return _review_schema.dump(store.get_review(db, shop_id, review_id))


def review_created(db, shop_id: int, review_id: int, rating: int, source: str) -> None:
    """A customer's new review: alerts for its rating, `review.created` webhooks."""
    if source == "import":
        return
    alerts.queue_for_review(db, shop_id, review_id, rating)
    if _has_endpoints(db, shop_id):
        webhooks.emit(db, shop_id, "review.created", {"review": _review_data(db, shop_id, review_id)})


def review_updated(db, shop_id: int, review_id: int, previous_rating: int) -> None:
    """The author edited their review: `review.updated` webhooks (with the previous rating)."""
    if _has_endpoints(db, shop_id):
        webhooks.emit(db, shop_id, "review.updated", {"review": _review_data(db, shop_id, review_id),
                                                      "previous_rating": previous_rating})


def reply_published(db, shop_id: int, review_id: int, created: bool) -> None:
    """The shop published or edited its reply: `reply.published` webhooks."""
    if _has_endpoints(db, shop_id):
        webhooks.emit(db, shop_id, "reply.published", {"review": _review_data(db, shop_id, review_id),
                                                       "first": created})


def report_decided(db, shop_id: int, review_id: int, decision: dict) -> None:
    """The operator decided on a review's reports: `report.decided` webhooks (outcome, reason, report count)."""
    if _has_endpoints(db, shop_id):
        webhooks.emit(db, shop_id, "report.decided", {"review_id": review_id, **decision})


def _has_endpoints(db, shop_id: int) -> bool:
    return db.execute("SELECT 1 FROM webhook_endpoints WHERE shop_id = ? AND removed_at IS NULL LIMIT 1",
                      [shop_id]).fetchone() is not None
