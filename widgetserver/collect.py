"""The public review form behind an invitation link (`/r/<token>`): write, update and withdraw verified reviews.

Form fields (documented in docs/invitations.md):

- the review of the shop: `rating` (1-5), `title`, `body`;
- the review of the n-th product of the order (n from 0, in the order's SKU
  order): `product-<n>-rating`, `product-<n>-title`, `product-<n>-body`;
- `author`: the display name shown with every review of this form;
- `csrf_token` (Flask-WTF) and `website`, a honeypot that people never see.

A block whose stars and text are left empty is skipped. The page speaks the
invitation's language (nl, en, de, fr). Tokens never leave this page through
a Referer header, and the page is neither cached nor indexed.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError

from . import get_db, invitations, schemas, store

bp = Blueprint("collect", __name__)

LOCALES = ("nl", "en", "de", "fr")
HONEYPOT = "website"
FIELDS = ("rating", "title", "body")
MAX_LENGTHS = {"title": 200, "body": 5000, "author": 100}

# --- messages ------------------------------------------------------------------

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "page_title": "Review your order at {shop}",
        "intro": "Hello {name}, thank you for your order {order}. How was it? Every review is published, "
                 "good or bad, with the display name you choose.",
        "verified_note": "Reviews written here are marked \u201cverified purchase\u201d: this link belongs to your order.",
        "shop_block": "Your experience with {shop}",
        "rating_legend": "Your rating for {item}",
        "star_1": "1 star", "star_n": "{n} stars",
        "title_label": "Title (optional)",
        "body_label": "Your review (optional)",
        "skip_hint": "Leave the stars empty to skip this one.",
        "author_label": "Display name",
        "author_hint": "Shown with your reviews, for example your first name.",
        "submit": "Publish my reviews", "submit_update": "Save my changes",
        "errors_summary": "Please correct the following:",
        "err_rating": "Choose from 1 to 5 stars.",
        "err_rating_needed": "Choose a star rating, or clear the text to skip this one.",
        "err_nothing": "Rate at least one product or the shop.",
        "err_author": "Enter a display name.",
        "err_too_long": "Too long: at most {max} characters.",
        "err_invalid": "This text cannot be accepted; remove special characters and try again.",
        "saved_created": "Thank you! Your reviews are published.",
        "saved_updated": "Your changes are saved. Your review now shows as updated.",
        "saved_unchanged": "Nothing changed.",
        "come_back": "You can come back through the same link to update your reviews.",
        "removed_note": "This review was removed after moderation and can no longer be edited.",
        "withdraw_heading": "Withdraw your reviews",
        "withdraw_text": "This removes your reviews from public view and erases their text. "
                         "The link stops working afterwards.",
        "withdraw_confirm": "Yes, withdraw my reviews and erase their text",
        "withdraw_button": "Withdraw my reviews",
        "err_confirm": "Tick the box to confirm.",
        "withdrawn_title": "Your reviews are withdrawn",
        "withdrawn_text": "They no longer appear anywhere and their text is erased. This link no longer works.",
        "gone_withdrawn_title": "This review link is closed",
        "gone_withdrawn": "The reviews written with this link were withdrawn by their author, so the link no longer "
                          "works. If this was a mistake, ask {shop} for a new invitation.",
        "expired_title": "This review link has expired",
        "expired": "Review links work for a limited time. If you still want to write a review, "
                   "ask {shop} for a new invitation.",
        "unknown_title": "This review link is not valid",
        "unknown": "The link may be incomplete: copy the whole link from the e-mail into the address bar. "
                   "If that does not help, ask the shop for a new invitation.",
        "rate_title": "Too many attempts",
        "rate": "Please wait a while (up to an hour) and try again.",
        "rejected_title": "We could not accept this submission",
        "rejected": "Please go back and try again. If your browser fills in forms automatically, fill this one in by hand.",
        "csrf_title": "This form has expired",
        "csrf": "For your security a form must be sent from the page it came from within a few hours. "
                "Open your review link again and send your review once more.",
        "too_large_title": "Your review is too long",
        "too_large": "Please shorten your text and send it again.",
        "honeypot_label": "Leave this field empty",
        "open_title": "Review {shop}",
        "open_intro": "Every review is published, good or bad. Reviews written here are not tied to an order, so they are marked \u201cnot verified\u201d.",
        "open_saved": "Thank you! Your review is published (marked not verified).",
        "open_closed_title": "This shop only accepts invited reviews",
        "open_closed": "Reviews of this shop come from customers it invited after an order. If you bought something, use the link in your invitation e-mail.",
        "unknown_item": "There is no such product in this shop.",
        "back": "Back to the form",
    },
    "nl": {
        "page_title": "Beoordeel je bestelling bij {shop}",
        "intro": "Hallo {name}, bedankt voor je bestelling {order}. Hoe was het? Elke review wordt gepubliceerd, "
                 "goed of slecht, met de naam die je kiest.",
        "verified_note": "Reviews die je hier schrijft krijgen het label \u201cgeverifieerde aankoop\u201d: "
                         "deze link hoort bij je bestelling.",
        "shop_block": "Je ervaring met {shop}",
        "rating_legend": "Jouw beoordeling van {item}",
        "star_1": "1 ster", "star_n": "{n} sterren",
        "title_label": "Titel (optioneel)",
        "body_label": "Je review (optioneel)",
        "skip_hint": "Laat de sterren leeg om deze over te slaan.",
        "author_label": "Weergavenaam",
        "author_hint": "Staat bij je reviews, bijvoorbeeld je voornaam.",
        "submit": "Publiceer mijn reviews", "submit_update": "Wijzigingen opslaan",
        "errors_summary": "Verbeter het volgende:",
        "err_rating": "Kies 1 tot 5 sterren.",
        "err_rating_needed": "Kies een aantal sterren, of maak de tekst leeg om deze over te slaan.",
        "err_nothing": "Beoordeel minstens \u00e9\u00e9n product of de winkel.",
        "err_author": "Vul een weergavenaam in.",
        "err_too_long": "Te lang: hoogstens {max} tekens.",
        "err_invalid": "Deze tekst kan niet worden opgeslagen; verwijder speciale tekens en probeer het opnieuw.",
        "saved_created": "Bedankt! Je reviews zijn gepubliceerd.",
        "saved_updated": "Je wijzigingen zijn opgeslagen. Je review staat nu als bijgewerkt.",
        "saved_unchanged": "Er is niets gewijzigd.",
        "come_back": "Via dezelfde link kun je je reviews later bijwerken.",
        "removed_note": "Deze review is na moderatie verwijderd en kan niet meer worden bewerkt.",
        "withdraw_heading": "Je reviews intrekken",
        "withdraw_text": "Hiermee verdwijnen je reviews uit het openbaar en wordt hun tekst gewist. "
                         "Daarna werkt de link niet meer.",
        "withdraw_confirm": "Ja, trek mijn reviews in en wis hun tekst",
        "withdraw_button": "Reviews intrekken",
        "err_confirm": "Vink het vakje aan om te bevestigen.",
        "withdrawn_title": "Je reviews zijn ingetrokken",
        "withdrawn_text": "Ze staan nergens meer en hun tekst is gewist. Deze link werkt niet meer.",
        "gone_withdrawn_title": "Deze reviewlink is gesloten",
        "gone_withdrawn": "De reviews van deze link zijn door de schrijver ingetrokken, daarom werkt de link niet meer. "
                          "Was dat een vergissing? Vraag {shop} om een nieuwe uitnodiging.",
        "expired_title": "Deze reviewlink is verlopen",
        "expired": "Reviewlinks werken een beperkte tijd. Wil je toch een review schrijven, "
                   "vraag {shop} dan om een nieuwe uitnodiging.",
        "unknown_title": "Deze reviewlink is ongeldig",
        "unknown": "Misschien is de link onvolledig: kopieer de hele link uit de e-mail naar de adresbalk. "
                   "Helpt dat niet, vraag de winkel dan om een nieuwe uitnodiging.",
        "rate_title": "Te veel pogingen",
        "rate": "Wacht even (hoogstens een uur) en probeer het opnieuw.",
        "rejected_title": "We konden dit formulier niet aannemen",
        "rejected": "Ga terug en probeer het opnieuw. Vult je browser formulieren automatisch in, "
                    "vul dit formulier dan met de hand in.",
        "csrf_title": "Dit formulier is verlopen",
        "csrf": "Voor je veiligheid moet een formulier binnen een paar uur vanaf dezelfde pagina worden verstuurd. "
                "Open je reviewlink opnieuw en verstuur je review nog eens.",
        "too_large_title": "Je review is te lang",
        "too_large": "Maak je tekst korter en verstuur hem opnieuw.",
        "honeypot_label": "Laat dit veld leeg",
        "open_title": "Beoordeel {shop}",
        "open_intro": "Elke review wordt gepubliceerd, goed of slecht. Reviews die je hier schrijft horen niet bij een bestelling en krijgen daarom het label \u201cniet geverifieerd\u201d.",
        "open_saved": "Bedankt! Je review is gepubliceerd (als niet geverifieerd).",
        "open_closed_title": "Deze winkel neemt alleen reviews op uitnodiging aan",
        "open_closed": "Reviews van deze winkel komen van klanten die na een bestelling zijn uitgenodigd. Heb je iets gekocht, gebruik dan de link in je uitnodiging.",
        "unknown_item": "Dit product bestaat niet in deze winkel.",
        "back": "Terug naar het formulier",
    },
    "de": {
        "page_title": "Bewerten Sie Ihre Bestellung bei {shop}",
        "intro": "Hallo {name}, danke f\u00fcr Ihre Bestellung {order}. Wie war es? Jede Bewertung wird ver\u00f6ffentlicht, "
                 "gut oder schlecht, mit dem Namen, den Sie w\u00e4hlen.",
        "verified_note": "Hier geschriebene Bewertungen tragen das Zeichen \u201everifizierter Kauf\u201c: "
                         "Dieser Link geh\u00f6rt zu Ihrer Bestellung.",
        "shop_block": "Ihre Erfahrung mit {shop}",
        "rating_legend": "Ihre Bewertung f\u00fcr {item}",
        "star_1": "1 Stern", "star_n": "{n} Sterne",
        "title_label": "Titel (optional)",
        "body_label": "Ihre Bewertung (optional)",
        "skip_hint": "Lassen Sie die Sterne leer, um dies zu \u00fcberspringen.",
        "author_label": "Anzeigename",
        "author_hint": "Steht bei Ihren Bewertungen, zum Beispiel Ihr Vorname.",
        "submit": "Bewertungen ver\u00f6ffentlichen", "submit_update": "\u00c4nderungen speichern",
        "errors_summary": "Bitte korrigieren Sie Folgendes:",
        "err_rating": "W\u00e4hlen Sie 1 bis 5 Sterne.",
        "err_rating_needed": "W\u00e4hlen Sie eine Sternebewertung oder leeren Sie den Text, um dies zu \u00fcberspringen.",
        "err_nothing": "Bewerten Sie mindestens ein Produkt oder den Shop.",
        "err_author": "Geben Sie einen Anzeigenamen ein.",
        "err_too_long": "Zu lang: h\u00f6chstens {max} Zeichen.",
        "err_invalid": "Dieser Text kann nicht angenommen werden; entfernen Sie Sonderzeichen und versuchen Sie es erneut.",
        "saved_created": "Vielen Dank! Ihre Bewertungen sind ver\u00f6ffentlicht.",
        "saved_updated": "Ihre \u00c4nderungen sind gespeichert. Ihre Bewertung erscheint jetzt als aktualisiert.",
        "saved_unchanged": "Nichts ge\u00e4ndert.",
        "come_back": "\u00dcber denselben Link k\u00f6nnen Sie Ihre Bewertungen sp\u00e4ter aktualisieren.",
        "removed_note": "Diese Bewertung wurde nach einer Pr\u00fcfung entfernt und kann nicht mehr bearbeitet werden.",
        "withdraw_heading": "Bewertungen zur\u00fcckziehen",
        "withdraw_text": "Damit verschwinden Ihre Bewertungen aus der \u00d6ffentlichkeit und ihr Text wird gel\u00f6scht. "
                         "Danach funktioniert der Link nicht mehr.",
        "withdraw_confirm": "Ja, meine Bewertungen zur\u00fcckziehen und ihren Text l\u00f6schen",
        "withdraw_button": "Bewertungen zur\u00fcckziehen",
        "err_confirm": "Kreuzen Sie das K\u00e4stchen zur Best\u00e4tigung an.",
        "withdrawn_title": "Ihre Bewertungen sind zur\u00fcckgezogen",
        "withdrawn_text": "Sie erscheinen nirgends mehr und ihr Text ist gel\u00f6scht. Dieser Link funktioniert nicht mehr.",
        "gone_withdrawn_title": "Dieser Bewertungslink ist geschlossen",
        "gone_withdrawn": "Die Bewertungen dieses Links wurden vom Verfasser zur\u00fcckgezogen, daher funktioniert der "
                          "Link nicht mehr. War das ein Versehen? Bitten Sie {shop} um eine neue Einladung.",
        "expired_title": "Dieser Bewertungslink ist abgelaufen",
        "expired": "Bewertungslinks gelten nur begrenzte Zeit. Wenn Sie noch eine Bewertung schreiben m\u00f6chten, "
                   "bitten Sie {shop} um eine neue Einladung.",
        "unknown_title": "Dieser Bewertungslink ist ung\u00fcltig",
        "unknown": "Vielleicht ist der Link unvollst\u00e4ndig: Kopieren Sie den ganzen Link aus der E-Mail in die "
                   "Adressleiste. Hilft das nicht, bitten Sie den Shop um eine neue Einladung.",
        "rate_title": "Zu viele Versuche",
        "rate": "Bitte warten Sie eine Weile (h\u00f6chstens eine Stunde) und versuchen Sie es erneut.",
        "rejected_title": "Wir konnten dieses Formular nicht annehmen",
        "rejected": "Bitte gehen Sie zur\u00fcck und versuchen Sie es erneut. F\u00fcllt Ihr Browser Formulare "
                    "automatisch aus, f\u00fcllen Sie dieses bitte von Hand aus.",
        "csrf_title": "Dieses Formular ist abgelaufen",
        "csrf": "Zu Ihrer Sicherheit muss ein Formular innerhalb weniger Stunden von derselben Seite gesendet werden. "
                "\u00d6ffnen Sie Ihren Bewertungslink erneut und senden Sie Ihre Bewertung noch einmal.",
        "too_large_title": "Ihre Bewertung ist zu lang",
        "too_large": "Bitte k\u00fcrzen Sie Ihren Text und senden Sie ihn erneut.",
        "honeypot_label": "Dieses Feld leer lassen",
        "open_title": "{shop} bewerten",
        "open_intro": "Jede Bewertung wird ver\u00f6ffentlicht, gut oder schlecht. Hier geschriebene Bewertungen geh\u00f6ren zu keiner Bestellung und tragen daher den Hinweis \u201enicht verifiziert\u201c.",
        "open_saved": "Vielen Dank! Ihre Bewertung ist ver\u00f6ffentlicht (als nicht verifiziert).",
        "open_closed_title": "Dieser Shop nimmt nur Bewertungen auf Einladung an",
        "open_closed": "Bewertungen dieses Shops stammen von Kunden, die nach einer Bestellung eingeladen wurden. Wenn Sie etwas gekauft haben, nutzen Sie den Link in Ihrer Einladung.",
        "unknown_item": "Dieses Produkt gibt es in diesem Shop nicht.",
        "back": "Zur\u00fcck zum Formular",
    },
    "fr": {
        "page_title": "\u00c9valuez votre commande chez {shop}",
        "intro": "Bonjour {name}, merci pour votre commande {order}. Qu\u2019en avez-vous pens\u00e9\u00a0? Chaque avis est "
                 "publi\u00e9, bon ou mauvais, avec le nom que vous choisissez.",
        "verified_note": "Les avis \u00e9crits ici portent la mention \u00ab\u00a0achat v\u00e9rifi\u00e9\u00a0\u00bb\u00a0: "
                         "ce lien appartient \u00e0 votre commande.",
        "shop_block": "Votre exp\u00e9rience avec {shop}",
        "rating_legend": "Votre note pour {item}",
        "star_1": "1 \u00e9toile", "star_n": "{n} \u00e9toiles",
        "title_label": "Titre (facultatif)",
        "body_label": "Votre avis (facultatif)",
        "skip_hint": "Laissez les \u00e9toiles vides pour passer celui-ci.",
        "author_label": "Nom affich\u00e9",
        "author_hint": "Affich\u00e9 avec vos avis, par exemple votre pr\u00e9nom.",
        "submit": "Publier mes avis", "submit_update": "Enregistrer mes modifications",
        "errors_summary": "Veuillez corriger ce qui suit\u00a0:",
        "err_rating": "Choisissez de 1 \u00e0 5 \u00e9toiles.",
        "err_rating_needed": "Choisissez une note, ou videz le texte pour passer celui-ci.",
        "err_nothing": "Notez au moins un produit ou la boutique.",
        "err_author": "Indiquez un nom affich\u00e9.",
        "err_too_long": "Trop long\u00a0: {max} caract\u00e8res au plus.",
        "err_invalid": "Ce texte ne peut pas \u00eatre accept\u00e9\u00a0; retirez les caract\u00e8res sp\u00e9ciaux et r\u00e9essayez.",
        "saved_created": "Merci\u00a0! Vos avis sont publi\u00e9s.",
        "saved_updated": "Vos modifications sont enregistr\u00e9es. Votre avis appara\u00eet d\u00e9sormais comme mis \u00e0 jour.",
        "saved_unchanged": "Rien n\u2019a chang\u00e9.",
        "come_back": "Vous pouvez revenir par le m\u00eame lien pour mettre vos avis \u00e0 jour.",
        "removed_note": "Cet avis a \u00e9t\u00e9 retir\u00e9 apr\u00e8s mod\u00e9ration et ne peut plus \u00eatre modifi\u00e9.",
        "withdraw_heading": "Retirer vos avis",
        "withdraw_text": "Vos avis ne seront plus publics et leur texte sera effac\u00e9. Le lien ne fonctionnera plus ensuite.",
        "withdraw_confirm": "Oui, retirer mes avis et effacer leur texte",
        "withdraw_button": "Retirer mes avis",
        "err_confirm": "Cochez la case pour confirmer.",
        "withdrawn_title": "Vos avis sont retir\u00e9s",
        "withdrawn_text": "Ils n\u2019apparaissent plus nulle part et leur texte est effac\u00e9. Ce lien ne fonctionne plus.",
        "gone_withdrawn_title": "Ce lien d\u2019avis est ferm\u00e9",
        "gone_withdrawn": "Les avis \u00e9crits avec ce lien ont \u00e9t\u00e9 retir\u00e9s par leur auteur, le lien ne fonctionne "
                          "donc plus. Si c\u2019est une erreur, demandez une nouvelle invitation \u00e0 {shop}.",
        "expired_title": "Ce lien d\u2019avis a expir\u00e9",
        "expired": "Les liens d\u2019avis sont valables un temps limit\u00e9. Si vous souhaitez encore \u00e9crire un avis, "
                   "demandez une nouvelle invitation \u00e0 {shop}.",
        "unknown_title": "Ce lien d\u2019avis n\u2019est pas valide",
        "unknown": "Le lien est peut-\u00eatre incomplet\u00a0: copiez le lien entier de l\u2019e-mail dans la barre "
                   "d\u2019adresse. Sinon, demandez une nouvelle invitation \u00e0 la boutique.",
        "rate_title": "Trop de tentatives",
        "rate": "Veuillez patienter un moment (une heure au plus) puis r\u00e9essayer.",
        "rejected_title": "Nous n\u2019avons pas pu accepter cet envoi",
        "rejected": "Revenez en arri\u00e8re et r\u00e9essayez. Si votre navigateur remplit les formulaires "
                    "automatiquement, remplissez celui-ci \u00e0 la main.",
        "csrf_title": "Ce formulaire a expir\u00e9",
        "csrf": "Pour votre s\u00e9curit\u00e9, un formulaire doit \u00eatre envoy\u00e9 depuis sa page en quelques heures. "
                "Rouvrez votre lien d\u2019avis et envoyez votre avis \u00e0 nouveau.",
        "too_large_title": "Votre avis est trop long",
        "too_large": "Raccourcissez votre texte et envoyez-le \u00e0 nouveau.",
        "honeypot_label": "Laissez ce champ vide",
        "open_title": "\u00c9valuer {shop}",
        "open_intro": "Chaque avis est publi\u00e9, bon ou mauvais. Les avis \u00e9crits ici ne sont li\u00e9s \u00e0 aucune commande et portent donc la mention \u00ab\u00a0non v\u00e9rifi\u00e9\u00a0\u00bb.",
        "open_saved": "Merci\u00a0! Votre avis est publi\u00e9 (non v\u00e9rifi\u00e9).",
        "open_closed_title": "Cette boutique n\u2019accepte que les avis sur invitation",
        "open_closed": "Les avis de cette boutique viennent de clients invit\u00e9s apr\u00e8s une commande. Si vous avez achet\u00e9 quelque chose, utilisez le lien de votre invitation.",
        "unknown_item": "Ce produit n\u2019existe pas dans cette boutique.",
        "back": "Retour au formulaire",
    },
}


def translator(locale: str):
    """A `t(key, **values)` function for `locale` (English for anything else)."""
    catalog = MESSAGES.get(locale, MESSAGES["en"])

    def t(key: str, **values) -> str:
        return catalog.get(key, MESSAGES["en"][key]).format(**values)

    return t


def request_locale() -> str:
    """The visitor's best language from Accept-Language, for pages without an invitation."""
    return request.accept_languages.best_match(LOCALES) or "en"


# --- rate limits ---------------------------------------------------------------


class SlidingWindow:
    """Counts events per key over the last `window` seconds, in this process (one per app)."""

    def __init__(self):
        self.events: dict[str, deque] = {}
        self.lock = threading.Lock()

    def allow(self, key: str, limit: int, window: float) -> bool:
        """Record one event for `key` unless `limit` were recorded within `window`; False when over."""
        now = time.monotonic()
        with self.lock:
            if len(self.events) > 10000:  # forget idle keys so memory stays bounded
                self.events = {k: q for k, q in self.events.items() if q and q[-1] > now - window}
            queue = self.events.setdefault(key, deque())
            while queue and queue[0] <= now - window:
                queue.popleft()
            if len(queue) >= limit:
                return False
            queue.append(now)
            return True


def _limiter() -> SlidingWindow:
    return current_app.extensions.setdefault("review_form_limiter", SlidingWindow())


def within_rate_limits(invitation: dict) -> bool:
    """Count this post against its link and its client address; False when either is over its limit."""
    config = current_app.config
    window = config["FORM_RATE_WINDOW"]
    limiter = _limiter()
    by_ip = limiter.allow(f"ip:{request.remote_addr}", config["FORM_POSTS_PER_IP"], window)
    by_token = limiter.allow(f"invitation:{invitation['id']}", config["FORM_POSTS_PER_TOKEN"], window)
    return by_ip and by_token


# --- pages ---------------------------------------------------------------------


@bp.after_request
def private_headers(response):
    """The link is a secret: no Referer leaks it, no cache keeps the page, no search engine indexes it."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["X-Frame-Options"] = "DENY"  # and CSP frame-ancestors 'none' (widgetserver/security.py)
    return response


def message_page(status: int, locale: str, title_key: str, text_key: str, **values):
    """A plain page that says what happened and what to do, with `status`."""
    t = translator(locale)
    return render_template("collect/message.html", locale=locale, t=t, title=t(title_key, **values),
                           text=t(text_key, **values), back_url=values.get("back_url")), status


def shop_of(invitation: dict) -> dict:
    """The shop an invitation belongs to."""
    db = get_db()
    return store.get_shop(db, db.execute("SELECT slug FROM shops WHERE id = ?", [invitation["shop_id"]]).fetchone()[0])


def _shop_name(invitation: dict | None) -> str:
    return shop_of(invitation)["name"] if invitation else ""


def page_locale() -> str:
    """The invitation's language when the URL holds a readable link, else the visitor's."""
    token = (request.view_args or {}).get("token")
    if token:
        try:
            return _open(token)["locale"]
        except invitations.InvalidLink as exc:
            if exc.invitation:
                return exc.invitation["locale"]
    return request_locale()


def invalid_link_page(exc: invitations.InvalidLink):
    """404 for an unknown link, 410 for an expired or withdrawn one."""
    locale = exc.invitation["locale"] if exc.invitation else request_locale()
    shop = _shop_name(exc.invitation)
    if exc.reason == "withdrawn":
        return message_page(410, locale, "gone_withdrawn_title", "gone_withdrawn", shop=shop)
    if exc.reason == "expired":
        return message_page(410, locale, "expired_title", "expired", shop=shop)
    return message_page(404, locale, "unknown_title", "unknown")


def _open(token: str) -> dict:
    return invitations.invitation_for_token(get_db(), current_app.config["SECRET_KEY"], token)


def _blocks(invitation: dict, shop: dict) -> list[dict]:
    """One block per product of the order, then one for the shop: field prefix, heading, SKU."""
    db = get_db()
    blocks = []
    for n, sku in enumerate(invitation["skus"]):
        product = store.product_by_sku(db, shop["id"], sku)
        blocks.append({"sku": sku, "prefix": f"product-{n}-", "item": product["name"] if product else sku,
                       "heading": product["name"] if product else sku})
    blocks.append({"sku": None, "prefix": "", "item": shop["name"], "heading": None})
    return blocks


def render_form(token: str, invitation: dict, *, values: dict | None = None, errors: dict | None = None,
                status: int = 200, notice: str | None = None):
    """The review form, pre-filled with `values` (default: the reviews written so far)."""
    db = get_db()
    shop = shop_of(invitation)
    t = translator(invitation["locale"])
    existing = invitations.reviews_of(db, invitation)
    blocks = _blocks(invitation, shop)
    if values is None:
        values = {}
        for block in blocks:
            review = existing.get(block["sku"])
            if review is not None and review["status"] == "published":
                for name in FIELDS:
                    values[block["prefix"] + name] = str(review[name])
                values.setdefault("author", review["author"])
    for block in blocks:
        review = existing.get(block["sku"])
        block["removed"] = review is not None and review["status"] != "published"
        block["legend"] = t("rating_legend", item=block["item"])
        if block["heading"] is None:
            block["heading"] = t("shop_block", shop=shop["name"])
    has_reviews = any(r["status"] == "published" for r in existing.values())
    return render_template(
        "collect/form.html", locale=invitation["locale"], t=t, shop=shop, invitation=invitation, blocks=blocks,
        heading=t("page_title", shop=shop["name"]),
        values=values, errors=errors or {}, notice=notice, has_reviews=has_reviews, token=token,
        max_lengths=MAX_LENGTHS, honeypot=HONEYPOT, action=url_for("collect.submit", token=token),
        withdraw_action=url_for("collect.withdraw", token=token),
    ), status


def _message_for(error: str, field: str, t) -> str:
    """A marshmallow message for a form field, in the customer's language."""
    if field == "rating":
        return t("err_rating")
    if error.startswith("Too long"):
        return t("err_too_long", max=MAX_LENGTHS.get(field, 0))
    if field == "author" and ("empty" in error or "required" in error.lower()):
        return t("err_author")
    return t("err_invalid")


def parse_form(form, blocks: list[dict], t) -> tuple[dict, dict]:
    """The form's reviews by SKU (None for the shop) and its errors by field name, localised."""
    schema = schemas.ReviewFormSchema()
    errors: dict[str, str] = {}
    items: dict = {}
    author_raw = form.get("author", "")
    author = None
    try:
        author = schema.fields["author"].deserialize(author_raw)
    except ValidationError as exc:
        errors["author"] = _message_for(" ".join(exc.messages), "author", t)
    for block in blocks:
        if block.get("removed"):
            continue
        raw = {name: form.get(block["prefix"] + name, "") for name in FIELDS}
        if not any(v.strip() for v in raw.values()):
            continue  # skipped block
        if not raw["rating"].strip():
            errors[block["prefix"] + "rating"] = t("err_rating_needed")
            continue
        try:
            data = schema.load({**raw, "author": author or "-"})
        except ValidationError as exc:
            for field, messages in exc.messages.items():
                errors[block["prefix"] + field] = _message_for(" ".join(messages), field, t)
            continue
        data["author"] = author
        items[block["sku"]] = data
    if not items and not errors:
        errors["_form"] = t("err_nothing")
    return items, errors


@bp.get("/r/<token>")
def review_form(token):
    """The review form of an invitation, pre-filled with what the customer wrote before.

    :raise 404: unknown link. :raise 410: expired or withdrawn link (as a page that says so).
    """
    try:
        invitation = _open(token)
    except invitations.InvalidLink as exc:
        return invalid_link_page(exc)
    saved = request.args.get("saved")
    t = translator(invitation["locale"])
    notice = t(f"saved_{saved}") if saved in ("created", "updated", "unchanged") else None
    return render_form(token, invitation, notice=notice)


def _checked_post(token):
    """(invitation, None) for a post that may proceed, else (None, the page that refuses it)."""
    try:
        invitation = _open(token)
    except invitations.InvalidLink as exc:
        return None, invalid_link_page(exc)
    if not within_rate_limits(invitation):
        return None, message_page(429, invitation["locale"], "rate_title", "rate")
    if request.form.get(HONEYPOT, ""):
        return None, message_page(400, invitation["locale"], "rejected_title", "rejected")
    return invitation, None


@bp.post("/r/<token>")
def submit(token):
    """Publish or update the customer's verified reviews, then show the form again (303).

    :raise 400: invalid fields (the form again, with messages), honeypot filled.
    :raise 404/410: unknown, expired or withdrawn link. :raise 429: too many posts.
    """
    invitation, refusal = _checked_post(token)
    if refusal is not None:
        return refusal
    locale = invitation["locale"]
    t = translator(locale)
    db = get_db()
    shop = shop_of(invitation)
    blocks = _blocks(invitation, shop)
    existing = invitations.reviews_of(db, invitation)
    for block in blocks:
        review = existing.get(block["sku"])
        block["removed"] = review is not None and review["status"] != "published"
    items, errors = parse_form(request.form, blocks, t)
    if errors:
        values = {k: v for k, v in request.form.items() if k not in ("csrf_token", HONEYPOT)}
        return render_form(token, invitation, values=values, errors=errors, status=400)
    counts = invitations.save_reviews(db, invitation, items)
    outcome = "created" if counts["created"] else "updated" if counts["updated"] else "unchanged"
    return redirect(url_for("collect.review_form", token=token, saved=outcome), 303)


@bp.post("/r/<token>/withdraw")
def withdraw(token):
    """Withdraw every review of the invitation and erase their text; the link stops working.

    :raise 400: not confirmed. :raise 404/410: unknown, expired or withdrawn link. :raise 429: too many posts.
    """
    invitation, refusal = _checked_post(token)
    if refusal is not None:
        return refusal
    locale = invitation["locale"]
    if request.form.get("confirm") != "yes":
        t = translator(locale)
        return render_form(token, invitation, errors={"confirm": t("err_confirm")}, status=400)
    invitations.withdraw(get_db(), invitation)
    return message_page(200, locale, "withdrawn_title", "withdrawn_text")


# --- open reviews (shops that allow them) -------------------------------------------


def _open_shop(slug: str) -> tuple[dict | None, str]:
    shop = store.get_shop(get_db(), slug)
    locale = request.accept_languages.best_match(LOCALES) or (shop["locale"] if shop else "en")
    return shop, locale


def _open_block(shop: dict, t) -> dict | None:
    """The one block of the open form: the product named by ?product=SKU, else the shop."""
    sku = (request.args.get("product") or "").strip()
    if not sku:
        return {"sku": None, "prefix": "", "item": shop["name"], "heading": t("shop_block", shop=shop["name"]),
                "removed": False, "legend": t("rating_legend", item=shop["name"])}
    product = store.product_by_sku(get_db(), shop["id"], sku)
    if product is None:
        return None
    return {"sku": sku, "prefix": "", "item": product["name"], "heading": product["name"], "removed": False,
            "legend": t("rating_legend", item=product["name"])}


def render_open_form(shop: dict, locale: str, block: dict, *, values=None, errors=None, notice=None, status=200):
    """The open review form: one unverified review of the shop or one product."""
    t = translator(locale)
    return render_template(
        "collect/form.html", locale=locale, t=t, shop=shop, invitation=None, blocks=[block], values=values or {},
        errors=errors or {}, notice=notice, has_reviews=False, token=None, max_lengths=MAX_LENGTHS,
        honeypot=HONEYPOT, heading=t("open_title", shop=shop["name"]),
        action=url_for("collect.open_submit", shop=shop["slug"], product=block["sku"]), withdraw_action=None,
    ), status


@bp.get("/s/<shop>/write")
def open_form(shop):
    """A form for an unverified review, when the shop allows open reviews (`?product=SKU` for a product).

    :raise 404: unknown shop or product, or open reviews not allowed (as a page that says so).
    """
    row, locale = _open_shop(shop)
    if row is None:
        return message_page(404, locale, "unknown_title", "unknown")
    if not invitations.allows_open_reviews(row):
        return message_page(404, locale, "open_closed_title", "open_closed")
    t = translator(locale)
    block = _open_block(row, t)
    if block is None:
        return message_page(404, locale, "unknown_item", "unknown_item")
    notice = t("open_saved") if request.args.get("saved") else None
    return render_open_form(row, locale, block, notice=notice)


@bp.post("/s/<shop>/write")
def open_submit(shop):
    """Publish an unverified review (source "open"); never verified, whatever is posted.

    :raise 400: invalid fields or honeypot. :raise 404: as the form. :raise 429: too many posts.
    """
    row, locale = _open_shop(shop)
    if row is None or not invitations.allows_open_reviews(row):
        return message_page(404, locale, "open_closed_title", "open_closed")
    t = translator(locale)
    block = _open_block(row, t)
    if block is None:
        return message_page(404, locale, "unknown_item", "unknown_item")
    config = current_app.config
    if not _limiter().allow(f"ip:{request.remote_addr}", config["FORM_POSTS_PER_IP"], config["FORM_RATE_WINDOW"]):
        return message_page(429, locale, "rate_title", "rate")
    if request.form.get(HONEYPOT, ""):
        return message_page(400, locale, "rejected_title", "rejected")
    items, errors = parse_form(request.form, [block], t)
    if errors:
        values = {k: v for k, v in request.form.items() if k not in ("csrf_token", HONEYPOT)}
        return render_open_form(row, locale, block, values=values, errors=errors, status=400)
    data = items[block["sku"]]
    store.add_review(get_db(), row["id"], rating=data["rating"], title=data["title"], body=data["body"],
                     author=data["author"], locale=locale, product_sku=block["sku"], source="open", verified=False,
                     actor="author")
    return redirect(url_for("collect.open_form", shop=shop, product=block["sku"], saved=1), 303)


# Blueprint-local handlers: they answer only requests routed to this blueprint, as pages.


@bp.errorhandler(CSRFError)
def csrf_failed(exc):  # noqa: ARG001
    """A post without a valid CSRF token: a page that says to reopen the link."""
    return message_page(400, page_locale(), "csrf_title", "csrf")


@bp.errorhandler(413)
def too_large(exc):  # noqa: ARG001
    """A post over MAX_CONTENT_LENGTH: a page that says to shorten it."""
    return message_page(413, page_locale(), "too_large_title", "too_large")
