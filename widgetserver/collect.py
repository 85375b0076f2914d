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
from .i18n import LOCALES, _, current_locale, use_locale, use_shop_locale

bp = Blueprint("collect", __name__)

HONEYPOT = "website"
FIELDS = ("rating", "title", "body")
MAX_LENGTHS = {"title": 200, "body": 5000, "author": 100}

def request_locale() -> str:
    """The locale of this request (see `i18n.current_locale`): for pages without an invitation."""
    return current_locale()


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


def message_page(status: int, title: str, text: str, back_url: str | None = None):
    """A plain page that says what happened and what to do, with `status`, in the current locale."""
    return render_template("collect/message.html", locale=current_locale(), title=title, text=text,
                           back_url=back_url), status


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
    if exc.invitation:
        use_locale(exc.invitation["locale"])
    shop = _shop_name(exc.invitation)
    if exc.reason == "withdrawn":
        return message_page(410, _("This review link is closed"), _("The reviews written with this link were withdrawn by their author, so the link no longer works. If this was a mistake, ask %(shop)s for a new invitation.", shop=shop))
    if exc.reason == "expired":
        return message_page(410, _("This review link has expired"), _("Review links work for a limited time. If you still want to write a review, ask %(shop)s for a new invitation.", shop=shop))
    return message_page(404, _("This review link is not valid"), _("The link may be incomplete: copy the whole link from the e-mail into the address bar. If that does not help, ask the shop for a new invitation."))


def _open(token: str) -> dict:
    """The invitation of a readable link; the rest of the request speaks its language."""
    invitation = invitations.invitation_for_token(get_db(), current_app.config["SECRET_KEY"], token)
    use_locale(invitation["locale"])
    return invitation


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
    locale = use_locale(invitation["locale"])
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
        block["legend"] = _("Your rating for %(item)s", item=block["item"])
        if block["heading"] is None:
            block["heading"] = _("Your experience with %(shop)s", shop=shop["name"])
    has_reviews = any(r["status"] == "published" for r in existing.values())
    return render_template(
        "collect/form.html", locale=locale, shop=shop, invitation=invitation, blocks=blocks,
        heading=_("Review your order at %(shop)s", shop=shop["name"]),
        values=values, errors=errors or {}, notice=notice, has_reviews=has_reviews, token=token,
        max_lengths=MAX_LENGTHS, honeypot=HONEYPOT, action=url_for("collect.submit", token=token),
        withdraw_action=url_for("collect.withdraw", token=token),
    ), status


def _message_for(error: str, field: str) -> str:
    """A marshmallow message for a form field, in the customer's language."""
    if field == "rating":
        return _("Choose from 1 to 5 stars.")
    if error.startswith("Too long"):
        return _("Too long: at most %(max)s characters.", max=MAX_LENGTHS.get(field, 0))
    if field == "author" and ("empty" in error or "required" in error.lower()):
        return _("Enter a display name.")
    return _("This text cannot be accepted; remove special characters and try again.")


def parse_form(form, blocks: list[dict]) -> tuple[dict, dict]:
    """The form's reviews by SKU (None for the shop) and its errors by field name, localised."""
    schema = schemas.ReviewFormSchema()
    errors: dict[str, str] = {}
    items: dict = {}
    author_raw = form.get("author", "")
    author = None
    try:
        author = schema.fields["author"].deserialize(author_raw)
    except ValidationError as exc:
        errors["author"] = _message_for(" ".join(exc.messages), "author")
    for block in blocks:
        if block.get("removed"):
            continue
        raw = {name: form.get(block["prefix"] + name, "") for name in FIELDS}
        if not any(v.strip() for v in raw.values()):
            continue  # skipped block
        if not raw["rating"].strip():
            errors[block["prefix"] + "rating"] = _("Choose a star rating, or clear the text to skip this one.")
            continue
        try:
            data = schema.load({**raw, "author": author or "-"})
        except ValidationError as exc:
            for field, messages in exc.messages.items():
                errors[block["prefix"] + field] = _message_for(" ".join(messages), field)
            continue
        data["author"] = author
        items[block["sku"]] = data
    if not items and not errors:
        errors["_form"] = _("Rate at least one product or the shop.")
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
    use_locale(invitation["locale"])
    notices = {"created": _("Thank you! Your reviews are published."), "updated": _("Your changes are saved. Your review now shows as updated."),
               "unchanged": _("Nothing changed.")}
    notice = notices.get(saved)
    return render_form(token, invitation, notice=notice)


def _checked_post(token):
    """(invitation, None) for a post that may proceed, else (None, the page that refuses it)."""
    try:
        invitation = _open(token)
    except invitations.InvalidLink as exc:
        return None, invalid_link_page(exc)
    if not within_rate_limits(invitation):
        return None, message_page(429, _("Too many attempts"), _("Please wait a while (up to an hour) and try again."))
    if request.form.get(HONEYPOT, ""):
        return None, message_page(400, _("We could not accept this submission"), _("Please go back and try again. If your browser fills in forms automatically, fill this one in by hand."))
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
    use_locale(invitation["locale"])
    db = get_db()
    shop = shop_of(invitation)
    blocks = _blocks(invitation, shop)
    existing = invitations.reviews_of(db, invitation)
    for block in blocks:
        review = existing.get(block["sku"])
        block["removed"] = review is not None and review["status"] != "published"
    items, errors = parse_form(request.form, blocks)
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
    if request.form.get("confirm") != "yes":
        return render_form(token, invitation, errors={"confirm": _("Tick the box to confirm.")}, status=400)
    invitations.withdraw(get_db(), invitation)
    return message_page(200, _("Your reviews are withdrawn"), _("They no longer appear anywhere and their text is erased. This link no longer works."))


# --- open reviews (shops that allow them) -------------------------------------------


def _open_shop(slug: str) -> tuple[dict | None, str]:
    """The shop and the page's locale: ?locale=, else Accept-Language, else the shop's."""
    shop = store.get_shop(get_db(), slug)
    return shop, use_shop_locale(shop)


def _open_block(shop: dict) -> dict | None:
    """The one block of the open form: the product named by ?product=SKU, else the shop."""
    sku = (request.args.get("product") or "").strip()
    if not sku:
        return {"sku": None, "prefix": "", "item": shop["name"], "heading": _("Your experience with %(shop)s", shop=shop["name"]),
                "removed": False, "legend": _("Your rating for %(item)s", item=shop["name"])}
    product = store.product_by_sku(get_db(), shop["id"], sku)
    if product is None:
        return None
    return {"sku": sku, "prefix": "", "item": product["name"], "heading": product["name"], "removed": False,
            "legend": _("Your rating for %(item)s", item=product["name"])}


def render_open_form(shop: dict, locale: str, block: dict, *, values=None, errors=None, notice=None, status=200):
    """The open review form: one unverified review of the shop or one product."""
    return render_template(
        "collect/form.html", locale=locale, shop=shop, invitation=None, blocks=[block], values=values or {},
        errors=errors or {}, notice=notice, has_reviews=False, token=None, max_lengths=MAX_LENGTHS,
        honeypot=HONEYPOT, heading=_("Review %(shop)s", shop=shop["name"]),
        action=url_for("collect.open_submit", shop=shop["slug"], product=block["sku"]), withdraw_action=None,
    ), status


@bp.get("/s/<shop>/write")
def open_form(shop):
    """A form for an unverified review, when the shop allows open reviews (`?product=SKU` for a product).

    :raise 404: unknown shop or product, or open reviews not allowed (as a page that says so).
    """
    row, locale = _open_shop(shop)
    if row is None:
        return message_page(404, _("This review link is not valid"), _("The link may be incomplete: copy the whole link from the e-mail into the address bar. If that does not help, ask the shop for a new invitation."))
    if not invitations.allows_open_reviews(row):
        return message_page(404, _("This shop only accepts invited reviews"), _("Reviews of this shop come from customers it invited after an order. If you bought something, use the link in your invitation e-mail."))
    block = _open_block(row)
    if block is None:
        return message_page(404, _("There is no such product in this shop."), _("There is no such product in this shop."))
    notice = _("Thank you! Your review is published (marked not verified).") if request.args.get("saved") else None
    return render_open_form(row, locale, block, notice=notice)


@bp.post("/s/<shop>/write")
def open_submit(shop):
    """Publish an unverified review (source "open"); never verified, whatever is posted.

    :raise 400: invalid fields or honeypot. :raise 404: as the form. :raise 429: too many posts.
    """
    row, locale = _open_shop(shop)
    if row is None or not invitations.allows_open_reviews(row):
        return message_page(404, _("This shop only accepts invited reviews"), _("Reviews of this shop come from customers it invited after an order. If you bought something, use the link in your invitation e-mail."))
    block = _open_block(row)
    if block is None:
        return message_page(404, _("There is no such product in this shop."), _("There is no such product in this shop."))
    config = current_app.config
    if not _limiter().allow(f"ip:{request.remote_addr}", config["FORM_POSTS_PER_IP"], config["FORM_RATE_WINDOW"]):
        return message_page(429, _("Too many attempts"), _("Please wait a while (up to an hour) and try again."))
    if request.form.get(HONEYPOT, ""):
        return message_page(400, _("We could not accept this submission"), _("Please go back and try again. If your browser fills in forms automatically, fill this one in by hand."))
    items, errors = parse_form(request.form, [block])
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
    use_locale(page_locale())
    return message_page(400, _("This form has expired"), _("For your security a form must be sent from the page it came from within a few hours. Open your review link again and send your review once more."))


@bp.errorhandler(413)
def too_large(exc):  # noqa: ARG001
    """A post over MAX_CONTENT_LENGTH: a page that says to shorten it."""
    use_locale(page_locale())
    return message_page(413, _("Your review is too long"), _("Please shorten your text and send it again."))
