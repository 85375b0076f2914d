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

import json
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


def cached_reply_stats(db, shop: dict, database: str) -> dict:
    """`reply_stats`, recomputed only when the shop's data version moves (see store.bump).

    `database` names the file (the app's DATABASE): one process may serve several.
    """
    key = (database, shop["id"], shop["data_version"])
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


# --- the public page: /s/<shop>/transparency ---------------------------------------------


def _method_texts():
    from flask_babel import gettext as _

    return [
        ("invitation-email", _("Invitation e-mailed by this service"),
         _("After delivery this service e-mailed the buyer a personal link. Verified purchase.")),
        ("invitation-link", _("Invitation link handed to the shop"),
         _("The shop received a personal review link for a real order and passed it on to the buyer itself. "
           "Verified order, but this service did not see who used the link.")),
        ("import", _("Imported history"),
         _("Reviews the shop collected earlier, imported with their original date. This service cannot check "
           "how they were collected; they are not marked verified.")),
        ("open", _("Open reviews"),
         _("Written on this page without an invitation; anyone can write one. Not marked verified.")),
    ]


def _reason_labels():
    from .reports import REASON_LABELS

    return [(code, str(REASON_LABELS[code])) for code in store.REPORT_REASONS]


def _page_figures(db, shop: dict, locale: str) -> dict:
    """`figures` with the words and formatted numbers the page shows."""
    from babel.dates import format_date, format_datetime

    from widgets.i18n import Formatter

    fmt = Formatter(locale)
    data = figures(db, shop)
    for part in data["replies"].values():
        part["percent"] = fmt.percent(part["rate"]) if part["rate"] is not None else None
        part["duration"] = fmt.duration(part["median_hours"]) if part["median_hours"] is not None else None
    for row in data["reports"]:
        year, month = row["month"].split("-")
        row["label"] = format_date(store.parse_time(f"{year}-{month}-01T00:00:00.000000Z"), "LLLL y", locale=locale)
    if data["audit"]:
        data["audit"]["label"] = format_datetime(data["audit"]["at"], "medium", tzinfo="UTC", locale=locale) + " UTC"
    return data


def blueprint():
    """The public transparency page and its audit export, as a Flask blueprint."""
    from flask import Blueprint, Response, abort, current_app, render_template, url_for

    from . import get_db
    from .http_cache import cached
    from .i18n import current_locale, use_shop_locale
    from .links import hosted_url

    bp = Blueprint("transparency", __name__)

    def shop_or_404(slug: str) -> dict:
        shop = store.get_shop(get_db(), slug)
        if shop is None:
            abort(404, description=f"No shop with slug {slug[:64]!r}.")
        use_shop_locale(shop)
        return shop

    @bp.get("/s/<shop>/transparency")
    def page(shop):
        """How reviews are collected, moderated and answered at this shop, with live figures.

        :raise 404: unknown shop.
        """
        from babel.dates import format_date

        row = shop_or_404(shop)
        locale = current_locale()

        def build():
            db = get_db()
            return render_template(
                "pages/transparency.html", shop=row, locale=locale, figures=_page_figures(db, row, locale),
                methods=_method_texts(), reasons=_reason_labels(), reviews_url=hosted_url(row["slug"]),
                audit_url=url_for("transparency.audit_log", shop=row["slug"]),
                today=format_date(store.utcnow().date(), "long", locale=locale),
            )

        response = cached(row, build, locale)
        response.vary.add("Accept-Language")
        return response

    @bp.get("/s/<shop>/transparency/audit.jsonl")
    def audit_log(shop):
        """The audit chain as this shop's public sees it: its own entries in full, others as hashes only."""
        row = shop_or_404(shop)
        path = current_app.config["DATABASE"]

        def lines():  # its own connection: the request's closes before a streamed body is done
            db = store.connect(path)
            try:
                for entry in export_audit(db, row["id"]):
                    yield json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
            finally:
                db.conn.close()

        return Response(lines(), mimetype="application/jsonl",
                        headers={"Content-Disposition": f'attachment; filename="{row["slug"]}-audit.jsonl"',
                                 "Cache-Control": "no-store"})

    return bp


def export_audit(db, shop_id: int):
    """Every audit entry in order: this shop's with all hashed fields, other shops' as id and hashes only.

    Anyone can then check (see `check_audit_export`) that each full entry hashes to its `hash`, that
    every entry's `prev_hash` is the `hash` before it, and that the last `hash` is the published head.
    """
    fields = ("at", "shop_id", "actor", "action", "entity", "entity_id", "data")
    for row in db.execute("SELECT id, prev_hash, hash, " + ", ".join(fields) + " FROM audit_log ORDER BY id"):
        entry = {"id": row[0], "prev_hash": row[1], "hash": row[2]}
        if row[4] == shop_id:
            entry.update(zip(fields, row[3:]))
        yield entry


def check_audit_export(lines, head: str | None = None) -> tuple[int, list[str]]:
    """Check an audit export (JSON Lines): returns (entries, problems); no database needed."""
    problems = []
    prev = "0" * 64
    count = 0
    fields = ("at", "shop_id", "actor", "action", "entity", "entity_id", "data")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        entry = json.loads(line)
        count += 1
        if entry["prev_hash"] != prev:
            problems.append(f"line {number} (entry {entry['id']}): prev_hash is not the hash of the entry before")
        if "at" in entry and entry["hash"] != store._entry_hash(entry["prev_hash"], {k: entry[k] for k in fields}):
            problems.append(f"line {number} (entry {entry['id']}): content does not match its hash")
        prev = entry["hash"]
    if head is not None and prev != head:
        problems.append(f"the last hash {prev[:16]}... is not the published head {head[:16]}...")
    return count, problems
