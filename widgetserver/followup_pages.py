"""The customer's answer to "is it resolved?": `/f/<token>`, linked only from the follow-up e-mail.

GET shows the review, the shop's reply and two buttons; POST stores
"resolved" or "not_resolved" (the customer may change it later) and shows the
page again. The page can't change the review: a third button
(`POST /f/<token>/update`) gives the customer a fresh author link and opens
their author page (`/a/<token>`) for that. Private like the review form: no Referer, no cache, no index.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from widgets.i18n import language_of

from . import followup, get_db, invitations, store
from .i18n import DEFAULT_LOCALE, LOCALES, lazy_gettext, use_locale

bp = Blueprint("followup_pages", __name__)

# English msgids, translated by the server's gettext catalogs (docs/translating.md); `text(key, **values)` formats one.
MESSAGES = {
    'title': lazy_gettext('Did %(shop)s resolve your issue?'),
    'intro': lazy_gettext('%(shop)s replied to your review and tells us your issue is resolved. Is it? Your answer is shown next to their reply. It does not change your review or its rating.'),
    'your_review': lazy_gettext('Your review (%(rating)s out of 5 stars)'),
    'their_reply': lazy_gettext('Reply from %(name)s, %(role)s'),
    'resolved': lazy_gettext('Yes, it is resolved'),
    'not_resolved': lazy_gettext('No, it is not resolved'),
    'current': lazy_gettext('Your answer now: %(answer)s.'),
    'saved': lazy_gettext('Thank you. Your answer is shown next to the reply.'),
    'update': lazy_gettext("Want to update your review as well? You don't have to."),
    'update_link': lazy_gettext('Update my review'),
    'update_note': lazy_gettext('This opens your review with a new private link; the one you saved before stops working.'),
    'answer_resolved': lazy_gettext('resolved'),
    'answer_not_resolved': lazy_gettext('not resolved'),
    'unknown_title': lazy_gettext('This link is not valid'),
    'unknown': lazy_gettext('The link may be incomplete, or the review is no longer public. Copy the whole link from the e-mail into the address bar.'),
    'csrf_title': lazy_gettext('This form has expired'),
    'csrf': lazy_gettext('Open the link from the e-mail again and answer once more.'),
}


def translator(locale: str):
    """Fix this request to `locale` and return `t(key, **values)`, one of MESSAGES translated and filled."""
    use_locale(locale)
    return lambda key, **values: str(MESSAGES[key]) % values


def _visitor_locale() -> str:
    return request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE


def _message(status: int, locale: str, title_key: str, text_key: str):
    t = translator(locale)
    return render_template("followup/message.html", locale=locale, title=t(title_key), text=t(text_key)), status


@bp.after_request
def private_headers(response):
    """The link is a secret: no Referer leaks it, no cache keeps the page, no search engine indexes it."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def _open(token: str):
    db = get_db()
    row = followup.followup_for_token(db, current_app.config["SECRET_KEY"], token)
    review = store.get_review(db, row["shop_id"], row["review_id"])
    shop = store.get_shop(db, db.execute("SELECT slug FROM shops WHERE id = ?", [row["shop_id"]]).fetchone()[0])
    invitation = invitations.get_invitation(db, db.execute(
        "SELECT invitation_id FROM invitation_reviews WHERE review_id = ?", [row["review_id"]]).fetchone()[0])
    return row, review, shop, invitation


@bp.route("/f/<token>", methods=["GET", "POST"])
def answer(token):
    """Ask the customer whether the shop resolved their issue; store their answer on POST (303 back).

    :raise 404: forged or unknown link, or the review is no longer public (as a page that says so).
    :raise 400: an answer other than the two buttons.
    """
    try:
        row, review, shop, invitation = _open(token)
    except followup.InvalidFollowupLink:
        return _message(404, _visitor_locale(), "unknown_title", "unknown")
    locale = language_of(invitation["locale"]) or DEFAULT_LOCALE
    t = translator(locale)
    if request.method == "POST":
        choice = request.form.get("answer", "")
        if choice not in followup.ANSWERS:
            return _message(400, locale, "unknown_title", "unknown")
        followup.record_answer(get_db(), row, choice)
        return redirect(url_for("followup_pages.answer", token=token, saved=1), 303)
    return render_template("followup/answer.html", locale=locale, t=t, shop=shop, review=review,
                           current=row["answer"], saved=bool(request.args.get("saved")),
                           update_action=url_for("followup_pages.update", token=token))


@bp.post("/f/<token>/update")
def update(token):
    """The customer chose to update their review: a fresh author link, then their author page (303 to /a/...).

    :raise 404: forged or unknown link, or the review is no longer public.
    """
    try:
        row, *_ = _open(token)
    except followup.InvalidFollowupLink:
        return _message(404, _visitor_locale(), "unknown_title", "unknown")
    author_token = followup.new_author_token(get_db(), row)
    if author_token is None:
        return _message(404, _visitor_locale(), "unknown_title", "unknown")
    return redirect(url_for("collect.author_page", token=author_token), 303)


@bp.errorhandler(CSRFError)
def csrf_failed(exc):  # noqa: ARG001
    """A post without a valid CSRF token: a page that says to open the link again."""
    return _message(400, _visitor_locale(), "csrf_title", "csrf")
