"""Analytics for the shop's workspace: monthly series computed from the store, and each chart's data as CSV.

Every figure is a plain SQL aggregate over the shop's reviews in a date range,
so the charts (widgetserver/charts.py draws them as SVG on the server) and the
CSV downloads always agree. Months are calendar months in UTC, `YYYY-MM`.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from . import store

NEGATIVE_MAX = 2


def months_between(start: date, end: date) -> list[str]:
    """Every month from `start` to `end` inclusive, as `YYYY-MM`."""
    months = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _range_sql(start: date, end: date) -> tuple[str, list]:
    return "r.created_at >= ? AND r.created_at < ?", [
        f"{start.isoformat()}T00:00:00.000000Z", f"{date.fromordinal(end.toordinal() + 1).isoformat()}T00:00:00.000000Z"]


def monthly(db, shop_id: int, start: date, end: date, rolling: int = 3) -> list[dict]:
    """One row per month of published reviews created in the range.

    `count`, `average`, `r1`..`r5`, `verified` (share 0-1), `replied` (share of that month's reviews with a
    reply), `negative_replied` (same for 1-2 star), `median_reply_hours`, and `rolling_average` over the
    last `rolling` months (weighted by count).
    """
    where, params = _range_sql(start, end)
    rows = {m: {"month": m, "count": 0, "rating_sum": 0, **{f"r{s}": 0 for s in range(1, 6)}, "verified_n": 0,
                "replied_n": 0, "negative_n": 0, "negative_replied_n": 0} for m in months_between(start, end)}
    query = (
        "SELECT substr(r.created_at, 1, 7) AS month, count(*), sum(r.rating),"
        + ", ".join(f"sum(r.rating = {s})" for s in range(1, 6))
        + ", sum(r.verified), count(rp.review_id), sum(r.rating <= ?), sum(r.rating <= ? AND rp.review_id IS NOT NULL)"
        " FROM reviews r LEFT JOIN replies rp ON rp.review_id = r.id"
        f" WHERE r.shop_id = ? AND r.status = 'published' AND {where} GROUP BY month"
    )
    for month, count, total, r1, r2, r3, r4, r5, verified, replied, negative, negative_replied in db.execute(
            query, [NEGATIVE_MAX, NEGATIVE_MAX, shop_id, *params]):
        if month in rows:
            rows[month].update(count=count, rating_sum=total, r1=r1, r2=r2, r3=r3, r4=r4, r5=r5, verified_n=verified,
                               replied_n=replied, negative_n=negative, negative_replied_n=negative_replied)
    delays: dict[str, list[float]] = {}
    for month, hours in db.execute(
            "SELECT substr(r.created_at, 1, 7), (julianday(rp.created_at) - julianday(r.created_at)) * 24"
            " FROM reviews r JOIN replies rp ON rp.review_id = r.id"
            f" WHERE r.shop_id = ? AND r.status = 'published' AND {where}", [shop_id, *params]):
        delays.setdefault(month, []).append(max(0.0, hours))
    series = []
    for index, (month, row) in enumerate(rows.items()):
        window = list(rows.values())[max(0, index - rolling + 1): index + 1]
        window_count = sum(w["count"] for w in window)
        series.append({
            "month": month,
            "count": row["count"],
            "average": store.average(row["rating_sum"], row["count"]),
            "rolling_average": store.average(sum(w["rating_sum"] for w in window), window_count),
            **{f"r{s}": row[f"r{s}"] for s in range(1, 6)},
            "verified": round(row["verified_n"] / row["count"], 4) if row["count"] else None,
            "replied": round(row["replied_n"] / row["count"], 4) if row["count"] else None,
            "negative_replied": (round(row["negative_replied_n"] / row["negative_n"], 4)
                                 if row["negative_n"] else None),
            "median_reply_hours": _median(delays.get(month, [])),
        })
    return series


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    values = sorted(values)
    middle = len(values) // 2
    value = values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2
    return round(value, 1)


def negative_share_by_product(db, shop_id: int, start: date, end: date, limit: int = 12) -> list[dict]:
    """Products with reviews in the range, by share of 1-2 star reviews (highest first, ties by count)."""
    where, params = _range_sql(start, end)
    rows = db.execute(
        "SELECT p.sku, p.name, count(*) AS n, sum(r.rating <= ?) AS neg FROM reviews r"
        " JOIN products p ON p.id = r.product_id"
        f" WHERE r.shop_id = ? AND r.status = 'published' AND {where}"
        " GROUP BY p.id ORDER BY 1.0 * neg / n DESC, n DESC, p.sku LIMIT ?",
        [NEGATIVE_MAX, shop_id, *params, limit]).fetchall()
    return [{"sku": sku, "name": name, "count": n, "negative": neg, "share": round(neg / n, 4)}
            for sku, name, n, neg in rows]


# Each chart: its id, the columns of its CSV (from the monthly rows, or the product rows).
CHARTS = {
    "volume": ("month", "count", "average", "rolling_average"),
    "stars": ("month", "r1", "r2", "r3", "r4", "r5"),
    "replies": ("month", "replied", "negative_replied", "median_reply_hours"),
    "reply_time": ("month", "median_reply_hours"),
    "verified": ("month", "count", "verified"),
    "products": ("sku", "name", "count", "negative", "share"),
}


def _cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (names come from the shop's catalogue)."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def chart_csv(chart: str, rows: list[dict]) -> str:
    """The data of one chart as CSV text (header row, then one row per month or product)."""
    if chart not in CHARTS:
        raise KeyError(chart)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CHARTS[chart])
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in CHARTS[chart]])
    return out.getvalue()


def month_labels(months: list[str], locale: str) -> dict[str, str]:
    """Short localised month names for axis labels: `nov. 2026` (nl), `Nov 2026` (en)."""
    from babel.dates import format_date

    return {m: format_date(date(int(m[:4]), int(m[5:]), 1), "MMM y", locale=locale) for m in months}


def build_charts(db, shop_id: int, start: date, end: date, *, locale: str, gettext) -> dict:
    """The five workspace charts (geometry for templates/analytics/_charts.html) and their data rows."""
    from . import charts

    _ = gettext
    rows = monthly(db, shop_id, start, end)
    products = negative_share_by_product(db, shop_id, start, end)
    months = [r["month"] for r in rows]
    labels = month_labels(months, locale)
    drawn = {
        "volume": charts.line_chart(
            "volume", _("Average rating and reviews per month"), months,
            [(_("Average"), [r["average"] for r in rows]),
             (_("3-month rolling average"), [r["rolling_average"] for r in rows])],
            low=1, high=5, fixed=True, month_labels=labels, bars=[r["count"] for r in rows],
            bar_label=_("Reviews")),
        "stars": charts.stacked_chart(
            "stars", _("Reviews per star rating"), months,
            [{s: r[f"r{s}"] for s in range(1, 6)} for r in rows], month_labels=labels),
        "replies": charts.line_chart(
            "replies", _("Share of reviews with a reply"), months,
            [(_("All reviews"), [r["replied"] for r in rows]),
             (_("Negative reviews (1–2 stars)"), [r["negative_replied"] for r in rows])],
            low=0, high=1, fixed=True, unit="%", month_labels=labels),
        "reply_time": charts.line_chart(
            "reply_time", _("Median time to reply, in hours"), months,
            [(_("Median hours to reply"), [r["median_reply_hours"] for r in rows])],
            low=0, month_labels=labels),
        "verified": charts.line_chart(
            "verified", _("Share of verified reviews"), months, [(_("Verified"), [r["verified"] for r in rows])],
            low=0, high=1, fixed=True, unit="%", month_labels=labels),
        "products": charts.hbar_chart(
            "products", _("Share of 1–2 star reviews per product"),
            [(p["name"], p["share"], f"{round(p['share'] * 100)}% ({p['negative']}/{p['count']})") for p in products]),
    }
    return {"charts": drawn, "rows": rows, "products": products}
