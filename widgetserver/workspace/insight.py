"""Analytics for the shop (charts of monthly figures, CSV per chart) and the operator's moderation queue.

Analytics: `/workspace/<shop>/analytics?from=YYYY-MM&to=YYYY-MM` for every member of the shop; the charts
are drawn on the server (widgetserver/charts.py), each with its numbers as a table and a CSV download.

Moderation: blueprint `moderation` under `/workspace/moderation`, operators only (403 for shop users):
the queue of reviews with open reports, and the keep / remove decision (widgetserver/moderation.py).
A shop user never reaches it; a shop that is its own operator (`self_moderated`) decides from the CLI.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import analytics, get_db, moderation, store, topics
from ..i18n import current_locale, gettext
from ..reports import REASON_LABELS
from . import NAV_ITEMS, _, bp, member_required, operator_required

NAV_ITEMS.append(("workspace.analytics", "Analytics"))

DEFAULT_MONTHS = 12


def _month(value: str | None, *, end: bool) -> date | None:
    """`YYYY-MM` as the first (or last) day of that month; None when absent or malformed."""
    if not value or len(value) != 7 or value[4] != "-" or not (value[:4] + value[5:]).isdecimal():
        return None
    year, month = int(value[:4]), int(value[5:])
    if not (1995 <= year <= 9999 and 1 <= month <= 12):
        return None
    if not end:
        return date(year, month, 1)
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def date_range() -> tuple[date, date, dict]:
    """The requested month range (default: the last 12 months), and a message per field for bad input."""
    today = store.utcnow().date()
    errors = {}
    raw_from, raw_to = request.args.get("from"), request.args.get("to")
    end = _month(raw_to, end=True) if raw_to else None
    if raw_to and end is None:
        errors["to"] = _("Give a month as YYYY-MM, from 1995 on.")
    end = end or _month(f"{today:%Y-%m}", end=True)
    start = _month(raw_from, end=False) if raw_from else None
    if raw_from and start is None:
        errors["from"] = _("Give a month as YYYY-MM, from 1995 on.")
    if start is None:
        year, month = end.year, end.month - DEFAULT_MONTHS + 1
        while month < 1:
            year, month = year - 1, month + 12
        start = date(year, month, 1)
    if start > end:
        errors["from"] = _("The first month must not come after the last.")
        start = date(end.year, end.month, 1)
    if (end.year - start.year) * 12 + end.month - start.month >= 60:
        errors["from"] = _("Show at most 60 months at a time.")
        start = date(end.year - 4, end.month, 1)
    return start, end, errors


@bp.get("/<shop>/analytics", endpoint="analytics")
@member_required
def analytics_page(shop):
    """Charts of the shop's reviews per month in a date range; 400 with a message per field for a bad range."""
    start, end, errors = date_range()
    locale = current_locale()
    built = analytics.build_charts(get_db(), shop["id"], start, end, locale=locale, gettext=gettext)
    labels = analytics.month_labels([r["month"] for r in built["rows"]], locale)
    topic_labels = topics.labels()
    trend = [{**row, "label": topic_labels[row["topic"]]}
             for row in topics.trend(get_db(), shop["id"], end.year, end.month)]
    html = render_template("workspace/analytics.html", shop=shop, charts=built["charts"], rows=built["rows"],
                           trend=trend, trend_month=labels.get(f"{end:%Y-%m}", f"{end:%Y-%m}"),
                           products=built["products"], labels=labels, start=f"{start:%Y-%m}", end=f"{end:%Y-%m}",
                           errors=errors, ui_locale=locale)
    return html, 400 if errors else 200


@bp.get("/<shop>/analytics/<chart>.csv")
@member_required
def analytics_csv(shop, chart):
    """One chart's data as CSV (same range parameters as the page)."""
    if chart not in analytics.CHARTS:
        abort(404)
    start, end, errors = date_range()
    if errors:
        abort(400, description="; ".join(f"{k}: {v}" for k, v in errors.items()))
    db = get_db()
    rows = (analytics.negative_share_by_product(db, shop["id"], start, end) if chart == "products"
            else analytics.monthly(db, shop["id"], start, end))
    filename = f"{shop['slug']}-{chart}-{start:%Y-%m}-{end:%Y-%m}.csv"
    return Response(analytics.chart_csv(chart, rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# --- the operator's moderation queue ------------------------------------------------------------

moderation_bp = Blueprint("moderation", __name__, url_prefix="/workspace/moderation")


@moderation_bp.after_request
def private_headers(response):
    """Moderation pages are private like the rest of the workspace."""
    response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


@moderation_bp.get("/")
@operator_required
def queue():
    """Every review with open reports, oldest report first, with reporter kinds, reasons and notes."""
    items = moderation.open_reports(get_db())
    return render_template("workspace/moderation.html", items=items, reasons=_reasons(),
                           outcomes=store.DECISION_OUTCOMES, ui_locale=current_locale(), errors={},
                           shops=store.list_shops(get_db()))


@moderation_bp.post("/<shop>/<row_id:review_id>")
@operator_required
def decide(shop, review_id):
    """Keep or remove a reported review (removal cites one reason); 400 with a message per field otherwise."""
    db = get_db()
    row = store.get_shop(db, shop)
    if row is None:
        abort(404)
    outcome = request.form.get("outcome", "")
    reason = request.form.get("reason") or None
    note = request.form.get("note", "")
    errors = {}
    if outcome not in store.DECISION_OUTCOMES:
        errors["outcome"] = _("Choose keep or remove.")
    elif outcome == "remove" and reason not in store.REPORT_REASONS:
        errors["reason"] = _("Removing a review cites exactly one reason from the list.")
    if len(note) > 2000:
        errors["note"] = _("The note is too long: at most 2000 characters.")
    if not errors:
        try:
            moderation.decide(db, row, review_id, outcome, reason=reason, note=note, decided_by=current_user.actor,
                              operator=True)
        except moderation.ModerationError as exc:
            if exc.status == 404:
                abort(404)
            errors[exc.field or "review"] = exc.message
    if errors:
        items = moderation.open_reports(db)
        return render_template("workspace/moderation.html", items=items, reasons=_reasons(),
                               outcomes=store.DECISION_OUTCOMES, ui_locale=current_locale(), errors=errors,
                               failed=(shop, review_id), shops=store.list_shops(db)), 400
    flash(_("Decision recorded: review %(id)s was kept.", id=review_id) if outcome == "keep"
          else _("Decision recorded: review %(id)s was removed.", id=review_id), "success")
    return redirect(url_for("moderation.queue"))


def _reasons() -> list[tuple[str, str]]:
    return [(code, str(REASON_LABELS[code])) for code in store.REPORT_REASONS]


def init_app(app) -> None:
    """Register the moderation blueprint (the analytics views live on the workspace blueprint)."""
    app.register_blueprint(moderation_bp)
