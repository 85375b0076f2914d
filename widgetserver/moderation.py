"""Moderation: the operator decides on reports (honesty rule 2), and erases personal data on request.

A report never changes a review by itself. An operator looks at the open
reports of a review and decides once for all of them:

- **keep**: the review stays; its open reports become `dismissed`;
- **remove**: the review leaves widgets and aggregates (status `removed`),
  citing exactly one reason from the fixed list (`store.REPORT_REASONS`); its
  open reports become `upheld`, and the hosted list shows a tombstone
  "Removed on DATE by the moderator: REASON".

A shop never decides on reports about its own reviews, unless the shop is
also the operator of this server (shop setting `self_moderated`); the
transparency page then says so. Every decision is a row in `decisions` and an
entry in the hash-chained audit log, in the same transaction.

Erasure (`erase`) is for a person who asks for their data to go, whatever
the review's source: author name, title and body (and their earlier
versions) are blanked, a kept e-mail address is erased, the review is withdrawn from everything public, and
the erasure is counted (not described) on the transparency page.
"""

from __future__ import annotations

from . import author_mail, events, store

REASON_LABELS = {
    "personal_data": "contains personal data",
    "hate": "hate or discrimination",
    "threats": "threats or harassment",
    "spam": "spam or advertising",
    "not_genuine": "conflict of interest / not a genuine experience",
    "unrelated": "unrelated to this shop",
}


class ModerationError(store.StoreError):
    """A decision the rules refuse (status 403 for who, 400/404/409 for what)."""


def is_self_moderated(shop: dict) -> bool:
    """True when the shop runs its own server and is its own operator (disclosed on the transparency page)."""
    return bool((shop.get("settings") or {}).get("self_moderated"))


def can_decide(shop: dict, *, operator: bool) -> bool:
    """Operators decide for every shop; a shop's own users only where the shop is its own operator."""
    return operator or is_self_moderated(shop)


def open_reports(db, shop_id: int | None = None) -> list[dict]:
    """Reviews with open reports, oldest report first: the review, reporter kinds, reasons and count."""
    where = "rep.status = 'open'" + (" AND rep.shop_id = ?" if shop_id is not None else "")
    rows = db.execute(
        "SELECT rep.review_id, rep.shop_id, s.slug, count(*) AS reports, min(rep.created_at) AS first_at,"
        " group_concat(DISTINCT rep.reason) AS reasons, group_concat(DISTINCT rep.reporter) AS reporters"
        " FROM reports rep JOIN shops s ON s.id = rep.shop_id"
        f" WHERE {where} GROUP BY rep.review_id ORDER BY first_at, rep.review_id",
        [shop_id] if shop_id is not None else [],
    ).fetchall()
    queue = []
    for review_id, sid, slug, count, first_at, reasons, reporters in rows:
        queue.append({
            "review": store.get_review(db, sid, review_id),
            "status": store.review_row(db, sid, review_id)["status"],
            "shop_id": sid,
            "shop": slug,
            "reports": count,
            "first_reported_at": store.parse_time(first_at),
            "reasons": sorted(reasons.split(",")),
            "reporters": sorted(reporters.split(",")),
            "notes": notes_of(db, review_id),
        })
    return queue


def notes_of(db, review_id: int) -> list[dict]:
    """The open reports' notes for one review (kept out of the audit log so they can be erased)."""
    return [
        {"reason": r["reason"], "reporter": r["reporter"], "note": r["note"], "at": store.parse_time(r["created_at"])}
        for r in db.query(
            "SELECT reason, reporter, note, created_at FROM reports WHERE review_id = ? AND status = 'open'"
            " ORDER BY created_at, id", [review_id])
    ]


def decide(db, shop: dict, review_id: int, outcome: str, *, reason: str | None = None, note: str = "",
           decided_by: str, operator: bool) -> int:
    """Record one decision on all open reports of a review, in one transaction; returns the decision id.

    :raise ModerationError: if the decider may not decide, the outcome or reason is invalid, or the review
        has no open report.
    """
    if not can_decide(shop, operator=operator):
        raise ModerationError("Only the operator decides on reports about this shop's reviews.", "decided_by", 403)
    if outcome not in store.DECISION_OUTCOMES:
        raise ModerationError(f"Outcome must be one of: {', '.join(store.DECISION_OUTCOMES)}.", "outcome")
    if outcome == "remove" and reason not in store.REPORT_REASONS:
        raise ModerationError(
            f"Removing a review cites exactly one reason: {', '.join(store.REPORT_REASONS)}.", "reason")
    if outcome == "keep":
        reason = None if reason not in store.REPORT_REASONS else reason
    note = (note or "").strip()
    if len(note) > 2000:
        raise ModerationError("The note is too long: at most 2000 characters.", "note")
    shop_id = shop["id"]
    with store.write(db):
        row = store.review_row(db, shop_id, review_id)
        if row is None:
            raise ModerationError(f"No review {review_id} in shop {shop['slug']}.", "review", 404)
        open_ids = [r[0] for r in db.execute(
            "SELECT id FROM reports WHERE review_id = ? AND shop_id = ? AND status = 'open'", [review_id, shop_id])]
        if not open_ids:
            raise ModerationError(f"Review {review_id} has no open report to decide on.", "review", 409)
        now = store.now_text()
        decision_id = db.execute(
            "INSERT INTO decisions (shop_id, review_id, outcome, reason, note, decided_by, decided_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", [shop_id, review_id, outcome, reason, note, decided_by, now],
        ).lastrowid
        db.execute(
            "UPDATE reports SET status = ?, decided_at = ?, decision_id = ?, decision_note = ?"
            f" WHERE id IN ({','.join('?' * len(open_ids))})",
            ["upheld" if outcome == "remove" else "dismissed", now, decision_id, note, *open_ids],
        )
        if outcome == "remove" and row["status"] == "published":
            store.set_review_status(db, shop_id, review_id, "removed", reason, actor=decided_by)
        store.bump(db, shop_id)
        author_mail.queue_decision(db, shop_id, review_id, decision_id)  # when we hold the author's address
        events.report_decided(db, shop_id, review_id, {"decision_id": decision_id, "outcome": outcome,
                                                       "reason": reason, "reports": len(open_ids),
                                                       "decided_at": now})
        store.audit(db, shop_id=shop_id, actor=decided_by, action=f"decide-{outcome}", entity="review",
                    entity_id=review_id, data={"decision": decision_id, "reason": reason, "reports": len(open_ids),
                                               "self_moderated": is_self_moderated(shop) and not operator})
    return decision_id


def tombstones(db, shop_id: int, limit: int = 50) -> list[dict]:
    """Removed reviews as the public sees them: when, by whom (the moderator) and why; newest first."""
    rows = db.execute(
        "SELECT d.review_id, d.reason, d.decided_at FROM decisions d JOIN reviews r ON r.id = d.review_id"
        " WHERE d.shop_id = ? AND d.outcome = 'remove' AND r.status = 'removed'"
        " ORDER BY d.decided_at DESC, d.id DESC LIMIT ?", [shop_id, limit],
    ).fetchall()
    return [{"review_id": rid, "reason": reason, "removed_at": store.parse_time(at)} for rid, reason, at in rows]


def erase(db, shop_id: int, review_id: int, *, requested_by: str, erased_by: str) -> None:
    """Erase the personal data of one review on request, audited without the data itself.

    Author name, title and body (and all earlier versions) are blanked; report notes about it are blanked;
    a published review is withdrawn so it leaves widgets and aggregates. Replies (the shop's words) stay
    stored but are no longer shown, since the review is not.
    """
    if requested_by not in ("author", "operator", "legal"):
        raise ModerationError("requested_by is one of: author, operator, legal.", "requested_by")
    with store.write(db):
        row = store.review_row(db, shop_id, review_id)
        if row is None:
            raise ModerationError(f"No review {review_id} in this shop.", "review", 404)
        if db.execute("SELECT 1 FROM erasures WHERE review_id = ?", [review_id]).fetchone():
            raise ModerationError(f"Review {review_id} was erased already.", "review", 409)
        if row["status"] == "published":
            store.set_review_status(db, shop_id, review_id, "withdrawn", "erased", actor=erased_by)
        db.execute("UPDATE reviews SET author = '', title = '', body = '', external_id = NULL WHERE id = ?",
                   [review_id])
        db.execute("UPDATE review_versions SET author = '', title = '', body = '' WHERE review_id = ?", [review_id])
        db.execute("UPDATE reports SET note = '' WHERE review_id = ?", [review_id])
        db.execute("UPDATE invitations SET customer_name = '', email = NULL WHERE id IN"
                   " (SELECT invitation_id FROM invitation_reviews WHERE review_id = ?)", [review_id])
        db.execute("DELETE FROM invitation_contacts WHERE invitation_id IN"
                   " (SELECT invitation_id FROM invitation_reviews WHERE review_id = ?)", [review_id])
        db.execute("INSERT INTO erasures (shop_id, review_id, requested_by, erased_by, erased_at) VALUES (?, ?, ?, ?, ?)",
                   [shop_id, review_id, requested_by, erased_by, store.now_text()])
        store.bump(db, shop_id)
        store.audit(db, shop_id=shop_id, actor=erased_by, action="erase", entity="review", entity_id=review_id,
                    data={"requested_by": requested_by})
