"""Public report form: a shopper reports a review for one reason from the fixed list (honesty rule 2).

`GET/POST /s/<shop>/reviews/<id>/report`. A report is stored with status
`open` and audit-logged; the review stays public. Only an operator decision
(upheld or dismissed; not built here) can remove a review, citing the report's
reason. The form is protected by Flask-WTF's CSRFProtect (initialised in
`create_app`); the free-text note is kept in the reports table, never in the
append-only audit log, so personal data in it can be erased.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_wtf.csrf import CSRFError

from . import get_db, store
from .sanitize import UnsafeText, clean_text

bp = Blueprint("reports", __name__, url_prefix="/s")

LOCALES = ("nl", "en", "de", "fr")
NOTE_MAX = 2000

MESSAGES = {
    "en": {
        "title": "Report a review",
        "intro": "Report this review on {shop} if it breaks one of the rules below. The review stays visible "
                 "while an independent operator looks at your report; only the operator can remove it, and only "
                 "for one of these reasons. A low rating or criticism is not a reason.",
        "reason": "Why should this review be removed?",
        "personal_data": "It contains personal data (a name, address, phone number, order details of someone)",
        "hate": "Hate or discrimination",
        "threats": "Threats or harassment",
        "spam": "Spam or advertising",
        "not_genuine": "Conflict of interest / not a genuine experience",
        "unrelated": "Unrelated to this shop",
        "note": "Anything the operator should know (optional)",
        "note_hint": "Up to {max} characters. Please don't include personal data.",
        "send": "Send report",
        "errors": "Please correct this:",
        "err_reason": "Choose one of the reasons.",
        "err_note": "The note is too long: at most {max} characters.",
        "err_note_text": "The note contains characters that can't be stored; send plain text.",
        "review_by": "Review by {author}, {rating} out of 5 stars",
        "thanks_title": "Thank you, your report was received",
        "thanks": "An operator will look at it. The review stays visible until they decide; if they uphold the "
                  "report, it is removed and counted on the shop's transparency page under this reason.",
        "back": "Back to the reviews of {shop}",
        "csrf_title": "This form has expired",
        "csrf": "For your security a form must be sent from the page it came from within a few hours. "
                "Open the report link again and send it once more.",
    },
    "nl": {
        "title": "Een review melden",
        "intro": "Meld deze review over {shop} als die een van de regels hieronder overtreedt. De review blijft "
                 "zichtbaar terwijl een onafhankelijke beheerder je melding bekijkt; alleen die kan hem "
                 "verwijderen, en alleen om een van deze redenen. Een lage score of kritiek is geen reden.",
        "reason": "Waarom zou deze review weg moeten?",
        "personal_data": "Hij bevat persoonsgegevens (naam, adres, telefoonnummer, bestelgegevens van iemand)",
        "hate": "Haat of discriminatie",
        "threats": "Bedreiging of intimidatie",
        "spam": "Spam of reclame",
        "not_genuine": "Belangenverstrengeling / geen echte ervaring",
        "unrelated": "Gaat niet over deze winkel",
        "note": "Wat moet de beheerder nog weten? (niet verplicht)",
        "note_hint": "Hooguit {max} tekens. Zet er liever geen persoonsgegevens in.",
        "send": "Melding versturen",
        "errors": "Verbeter dit:",
        "err_reason": "Kies een van de redenen.",
        "err_note": "De toelichting is te lang: hooguit {max} tekens.",
        "err_note_text": "De toelichting bevat tekens die niet kunnen worden opgeslagen; stuur gewone tekst.",
        "review_by": "Review van {author}, {rating} van 5 sterren",
        "thanks_title": "Bedankt, je melding is ontvangen",
        "thanks": "Een beheerder bekijkt hem. De review blijft zichtbaar tot die beslist; wordt de melding "
                  "toegewezen, dan verdwijnt de review en telt hij met deze reden mee op de transparantiepagina.",
        "back": "Terug naar de reviews van {shop}",
        "csrf_title": "Dit formulier is verlopen",
        "csrf": "Voor je veiligheid moet een formulier binnen een paar uur vanaf dezelfde pagina worden "
                "verstuurd. Open de meldlink opnieuw en verstuur hem nog eens.",
    },
}


def page_locale(shop: dict | None = None) -> str:
    """?locale=, else the visitor's Accept-Language, else the shop's locale; messages exist in en and nl."""
    locale = request.args.get("locale") or request.form.get("locale")
    if locale not in LOCALES:
        locale = request.accept_languages.best_match(LOCALES) or (shop or {}).get("locale") or "en"
    return locale


def translator(locale: str):
    """`t(key, **values)` in `locale`, English where a message is missing."""
    catalog = MESSAGES.get(locale, MESSAGES["en"])

    def t(key: str, **values) -> str:
        return catalog.get(key, MESSAGES["en"][key]).format(**values)

    return t


def add_report(db, shop_id: int, review_id: int, reason: str, note: str, locale: str | None,
               reporter: str = "shopper") -> int:
    """Store an open report and its audit entry in one transaction; the review is not touched.

    `reporter` is who reported: a shopper (the public form) or the shop (its workspace).
    """
    if reporter not in store.REPORTERS:
        raise store.StoreError(f"reporter must be one of: {', '.join(store.REPORTERS)}.", "reporter")
    with store.write(db):
        report_id = db.execute(
            "INSERT INTO reports (shop_id, review_id, reason, note, locale, created_at, reporter)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [shop_id, review_id, reason, note, locale, store.now_text(), reporter],
        ).lastrowid
        store.audit(db, shop_id=shop_id, actor=reporter, action="create", entity="report", entity_id=report_id,
                    data={"review_id": review_id, "reason": reason, "has_note": bool(note)})
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


def _page(template: str, status: int = 200, **context):
    response = render_template(template, **context)
    # Content-Security-Policy: the form policy of widgetserver/security.py.
    return response, status, {"Cache-Control": "no-store", "X-Frame-Options": "DENY"}


@bp.route("/<shop_slug>/reviews/<int:review_id>/report", methods=["GET", "POST"])
def report(shop_slug, review_id):
    """The report form (GET) and its submission (POST)."""
    db, shop, review = _shop_and_review(shop_slug, review_id)
    locale = page_locale(shop)
    t = translator(locale)
    values = {"reason": "", "note": ""}
    errors = {}
    if request.method == "POST":
        values["reason"] = request.form.get("reason", "")
        try:
            values["note"] = clean_text(request.form.get("note", "")).strip()
        except UnsafeText:
            values["note"], errors["note"] = "", t("err_note_text")
        if values["reason"] not in store.REPORT_REASONS:
            errors["reason"] = t("err_reason")
        if len(values["note"]) > NOTE_MAX:
            errors["note"] = t("err_note", max=NOTE_MAX)
        if not errors:
            add_report(db, shop["id"], review["id"], values["reason"], values["note"], locale)
            return _page("reports/done.html", 200, t=t, locale=locale, shop=shop)
    return _page("reports/form.html", 400 if errors else 200, t=t, locale=locale, shop=shop, review=review,
                 reasons=store.REPORT_REASONS, values=values, errors=errors, note_max=NOTE_MAX)


@bp.errorhandler(CSRFError)
def csrf_failed(exc):  # noqa: ARG001
    """A post without a valid CSRF token: a page that says to reopen the link."""
    locale = page_locale()
    t = translator(locale)
    return _page("reports/message.html", 400, t=t, locale=locale, title=t("csrf_title"), text=t("csrf"))
