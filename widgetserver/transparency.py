"""The figures of a shop's transparency page (honesty rule 5), computed live from the data.

Everything here is a plain read of the store, so a visitor (or a test) can
recompute each figure from the API or an export:

- `collection_counts`: published reviews per collection method;
- `reply_stats`: reply rate and median reply time, for all and for 1-2 star reviews;
- `report_months`: reports received and decisions per month;
- `removals_by_reason`, `erasure_count`: what left the page and why;
- `audit_head`: the head of the hash-chained audit log.

`figures(db, shop)` bundles them for the page; `cached_reply_stats` serves the
summary API and widgets without recomputing until the shop's data changes.
"""

from __future__ import annotations

import threading

from . import store

# How a published review reached the page, in the order the page explains them.
METHODS = ("invitation-email", "invitation-link", "import", "open")

NEGATIVE = (1, 2)


def collection_counts(db, shop_id: int) -> dict[str, int]:
    """Published reviews per method: invitation e-mailed by us, link handed to the shop, imported, open."""
    counts = dict.fromkeys(METHODS, 0)
    rows = db.execute(
        "SELECT CASE WHEN source = 'invitation' THEN coalesce(verification_method, 'invitation-link')"
        " ELSE source END AS method, count(*) FROM reviews WHERE shop_id = ? AND status = 'published'"
        " GROUP BY method", [shop_id],
    ).fetchall()
    for method, count in rows:
        counts[method] = counts.get(method, 0) + count
    return counts


def _median_hours(db, shop_id: int, negative: bool, replied: int) -> float | None:
    """Median of (reply created - review created) in hours, by SQL OFFSET on the sorted delays."""
    if not replied:
        return None
    where = "r.shop_id = ? AND r.status = 'published'" + (" AND r.rating <= 2" if negative else "")
    sql = ("SELECT (julianday(rp.created_at) - julianday(r.created_at)) * 24 AS h FROM reviews r"
           f" JOIN replies rp ON rp.review_id = r.id WHERE {where} ORDER BY h LIMIT ? OFFSET ?")
    if replied % 2:
        values = [db.execute(sql, [shop_id, 1, replied // 2]).fetchone()[0]]
    else:
        values = [v for (v,) in db.execute(sql, [shop_id, 2, replied // 2 - 1]).fetchall()]
    return round(max(0.0, sum(values) / len(values)), 1)


def reply_stats(db, shop_id: int) -> dict:
    """Reply figures over published reviews: {"all": {...}, "negative": {...}}.

    Each part has `reviews`, `replied`, `rate` (0-1, or None without reviews) and `median_hours`
    (None without replies); "negative" is 1 and 2 star reviews.
    """
    result = {}
    for part, negative in (("all", False), ("negative", True)):
        where = "r.shop_id = ? AND r.status = 'published'" + (" AND r.rating <= 2" if negative else "")
        reviews, replied = db.execute(
            f"SELECT count(*), count(rp.review_id) FROM reviews r LEFT JOIN replies rp ON rp.review_id = r.id"
            f" WHERE {where}", [shop_id],
        ).fetchone()
        result[part] = {
            "reviews": reviews,
            "replied": replied,
            "rate": round(replied / reviews, 4) if reviews else None,
            "median_hours": _median_hours(db, shop_id, negative, replied),
        }
    return result


_reply_cache: dict[tuple, dict] = {}
_reply_lock = threading.Lock()


def cached_reply_stats(db, shop: dict) -> dict:
    """`reply_stats`, recomputed only when the shop's data version moves (see store.bump)."""
    key = (shop["id"], shop["data_version"])
    hit = _reply_cache.get(key)
    if hit is None:
        hit = reply_stats(db, shop["id"])
        with _reply_lock:
            if len(_reply_cache) > 1024:
                _reply_cache.clear()
            _reply_cache[key] = hit
    return hit


def report_months(db, shop_id: int, months: int = 12) -> list[dict]:
    """Per month (newest first, at most `months`): reports received, decisions to keep, removals."""
    rows = db.execute(
        "WITH events AS ("
        " SELECT substr(created_at, 1, 7) AS month, 1 AS received, 0 AS kept, 0 AS removed FROM reports"
        "  WHERE shop_id = ?"
        " UNION ALL SELECT substr(decided_at, 1, 7), 0, outcome = 'keep', outcome = 'remove' FROM decisions"
        "  WHERE shop_id = ?)"
        " SELECT month, sum(received), sum(kept), sum(removed) FROM events GROUP BY month"
        " ORDER BY month DESC LIMIT ?", [shop_id, shop_id, months],
    ).fetchall()
    return [{"month": m, "received": r, "kept": k, "removed": x} for m, r, k, x in rows]


def removals_by_reason(db, shop_id: int) -> dict[str, int]:
    """Reviews removed by the moderator, per reason (every reason of the fixed list, zeros included)."""
    counts = dict.fromkeys(store.REPORT_REASONS, 0)
    for reason, count in db.execute(
        "SELECT reason, count(*) FROM decisions WHERE shop_id = ? AND outcome = 'remove' GROUP BY reason", [shop_id]
    ):
        counts[reason] = count
    return counts


def erasure_count(db, shop_id: int) -> int:
    """Reviews whose personal data was erased on request."""
    return db.execute("SELECT count(*) FROM erasures WHERE shop_id = ?", [shop_id]).fetchone()[0]


def withdrawn_count(db, shop_id: int) -> int:
    """Reviews their authors withdrew (erasures not included)."""
    return db.execute(
        "SELECT count(*) FROM reviews WHERE shop_id = ? AND status = 'withdrawn'"
        " AND coalesce(status_reason, '') != 'erased'", [shop_id]).fetchone()[0]


def audit_head(db) -> dict | None:
    """The newest audit entry's id, time and hash: publish it, and anyone can check an export against it."""
    row = db.execute("SELECT id, at, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    return {"entries": row[0], "at": store.parse_time(row[1]), "hash": row[2]} if row else None


def figures(db, shop: dict) -> dict:
    """Every figure of the transparency page for `shop`."""
    from .moderation import is_self_moderated

    shop_id = shop["id"]
    summary = store.summary_for(db, shop_id)
    return {
        "summary": summary,
        "collection": collection_counts(db, shop_id),
        "replies": reply_stats(db, shop_id),
        "reports": report_months(db, shop_id),
        "reports_total": db.execute("SELECT count(*) FROM reports WHERE shop_id = ?", [shop_id]).fetchone()[0],
        "open_reports": db.execute("SELECT count(*) FROM reports WHERE shop_id = ? AND status = 'open'",
                                   [shop_id]).fetchone()[0],
        "removals": removals_by_reason(db, shop_id),
        "erasures": erasure_count(db, shop_id),
        "withdrawn": withdrawn_count(db, shop_id),
        "self_moderated": is_self_moderated(shop),
        "audit": audit_head(db),
    }
