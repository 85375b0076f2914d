"""Public report form: a shopper reports a review for one reason from the fixed list (honesty rule 2).

`GET/POST /s/<shop>/reviews/<id>/report`. A report is stored with status
`open` and audit-logged; the review stays public. Only an operator decision
(upheld or dismissed; not built here) can remove a review, citing the report's
reason. The form is protected by Flask-WTF's CSRFProtect (initialised in
`create_app`); the free-text note is kept in the reports table, never in the
append-only audit log, so personal data in it can be erased.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request, session
from flask_wtf.csrf import CSRFError

from . import get_db, ratelimit, store
from .i18n import _, current_locale, lazy_gettext, use_locale, use_shop_locale
from .sanitize import UnsafeText, clean_text

bp = Blueprint("reports", __name__, url_prefix="/s")

NOTE_MAX = 2000

REASON_LABELS = {
    "personal_data": lazy_gettext("It contains personal data (a name, address, phone number, order details of someone)"),
    "hate": lazy_gettext("Hate or discrimination"),
    "threats": lazy_gettext("Threats or harassment"),
    "spam": lazy_gettext("Spam or advertising"),
    "not_genuine": lazy_gettext("Conflict of interest / not a genuine experience"),
    "unrelated": lazy_gettext("Unrelated to this shop"),
}
"""What the form shows for each of store.REPORT_REASONS, translated when rendered."""


def page_locale(shop: dict | None = None) -> str:
    """?locale= (or the form's hidden locale), else the visitor's Accept-Language, else the shop's locale."""
    use_shop_locale(shop)
    return use_locale(request.form.get("locale")) if request.method == "POST" else current_locale()


def add_report(db, shop_id: int, review_id: int, reason: str, note: str, locale: str | None,
               reporter: str = "shopper", form_token: str | None = None, token_valid_for: int = 0,
               actor: str | None = None) -> int:
    """Store an open report and its audit entry in one transaction; the review is not touched.

    `reporter` is who reported: a shopper (the public form) or the shop (its workspace);
    `actor` names them in the audit log (default: the reporter kind; the workspace passes the user).
    `form_token`, when given, is spent in the same transaction (one report per form).
    :raise ratelimit.TokenSpent: that token was spent before; nothing is stored.
    """
    if reporter not in store.REPORTERS:
        raise store.StoreError(f"reporter must be one of: {', '.join(store.REPORTERS)}.", "reporter")
    with store.write(db):
        if form_token is not None:
            ratelimit.spend_token(db, form_token, token_valid_for)
        report_id = db.execute(
            "INSERT INTO reports (shop_id, review_id, reason, note, locale, created_at, reporter)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [shop_id, review_id, reason, note, locale, store.now_text(), reporter],
        ).lastrowid
        store.audit(db, shop_id=shop_id, actor=actor or reporter, action="create", entity="report",
                    entity_id=report_id, data={"review_id": review_id, "reason": reason, "has_note": bool(note)})
    return report_id


def _shop_and_review(shop_slug: str, review_id: int):
    db = get_db()
    shop = store.get_shop(db, shop_slug)
    if shop is None:
        abort(404)
    row = store.review_row(db, shop["id"], review_id)
    if row is None or row["status"] != "published":
        abort(404)  # another shop's, unknown, withdrawn or already removed
    return db, shop, store.get_review(db, shop["id"], review_id)


def _page(template: str, status: int = 200, headers: dict | None = None, **context):
    response = render_template(template, **context)
    # Content-Security-Policy: the form policy of widgetserver/security.py.
    return response, status, {"Cache-Control": "no-store", "X-Frame-Options": "DENY", **(headers or {})}


def _rate_limited(db, review_id: int) -> int:
    """Count this post against the client and the review; 0 when allowed, else seconds to wait."""
    config = current_app.config
    window = config["REPORT_RATE_WINDOW"]
    return ratelimit.attempt(
        db,
        ratelimit.Limit(f"report-ip:{ratelimit.client_key()}", config["REPORT_POSTS_PER_IP"], window),
        ratelimit.Limit(f"report-review:{review_id}", config["REPORT_POSTS_PER_REVIEW"], window),
    )


def _expired(locale: str):
    return _page("reports/message.html", 400, locale=locale, title=_("This form has expired"), text=_("For your security a form must be sent from the page it came from within a few hours. Open the report link again and send it once more."))


@bp.route("/<shop_slug>/reviews/<row_id:review_id>/report", methods=["GET", "POST"])
def report(shop_slug, review_id):
    """The report form (GET) and its submission (POST)."""
    db, shop, review = _shop_and_review(shop_slug, review_id)
    locale = page_locale(shop)
    values = {"reason": "", "note": ""}
    errors = {}
    if request.method == "POST":
        values["reason"] = request.form.get("reason", "")
        try:
            values["note"] = clean_text(request.form.get("note", "")).strip()
        except UnsafeText:
            values["note"], errors["note"] = "", _("The note contains characters that can't be stored; send plain text.")
        if values["reason"] not in store.REPORT_REASONS:
            errors["reason"] = _("Choose one of the reasons.")
        if len(values["note"]) > NOTE_MAX:
            errors["note"] = _("The note is too long: at most %(max)s characters.", max=NOTE_MAX)
        wait = _rate_limited(db, review["id"])
        if wait:
            text = _("Please wait %(minutes)s minutes and try again.", minutes=ratelimit.minutes(wait))
            return _page("reports/message.html", 429, {"Retry-After": str(wait)}, locale=locale,
                         title=_("Too many attempts"), text=text)
        if not errors:
            # One report per form: the session's CSRF token is spent with the report, and dropped from
            # the session so the next form gets a new one. A replayed post (same cookie and token) fails.
            raw = session.get(current_app.config["WTF_CSRF_FIELD_NAME"])
            try:
                add_report(db, shop["id"], review["id"], values["reason"], values["note"], locale,
                           form_token=f"report:{raw}" if raw else None,
                           token_valid_for=current_app.config["WTF_CSRF_TIME_LIMIT"] or 86400)
            except ratelimit.TokenSpent:
                return _expired(locale)
            session.pop(current_app.config["WTF_CSRF_FIELD_NAME"], None)
            return _page("reports/done.html", 200, locale=locale, shop=shop)
    return _page("reports/form.html", 400 if errors else 200, locale=locale, shop=shop, review=review,
                 reasons=[(code, REASON_LABELS[code]) for code in store.REPORT_REASONS], values=values, errors=errors, note_max=NOTE_MAX)


@bp.errorhandler(CSRFError)
def csrf_failed(exc):  # noqa: ARG001
    """A post without a valid CSRF token: a page that says to reopen the link."""
    return _expired(page_locale())
