"""The public review forms: a first verified review behind an invitation link (`/r/<token>`), the author's
private page to edit or withdraw it (`/a/<token>`), and open reviews (`/s/<shop>/write`).

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

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError

from . import authorship, get_db, invitations, ratelimit, schemas, secrets_file, store
from .i18n import LOCALES, _, current_locale, use_locale, use_shop_locale
from .links import base_url

bp = Blueprint("collect", __name__)

HONEYPOT = "website"
FIELDS = ("rating", "title", "body")
MAX_LENGTHS = {"title": 200, "body": 5000, "author": 100}

def request_locale() -> str:
    """The locale of this request (see `i18n.current_locale`): for pages without an invitation."""
    return current_locale()


# --- rate limits ---------------------------------------------------------------


def rate_limited(link: str | None) -> int:
    """Count this post against its client address (and its link, when given); 0 when allowed, else seconds to wait."""
    config = current_app.config
    window = config["FORM_RATE_WINDOW"]
    limits = [ratelimit.Limit(f"form-ip:{ratelimit.client_key()}", config["FORM_POSTS_PER_IP"], window)]
    if link is not None:
        limits.append(ratelimit.Limit(f"form-link:{link}", config["FORM_POSTS_PER_TOKEN"], window))
    return ratelimit.attempt(get_db(), *limits)


def too_many(wait: int):
    """The 429 page: how long to wait, also as Retry-After."""
    html, status = message_page(429, _("Too many attempts"),
                                _("Please wait %(minutes)s minutes and try again.", minutes=ratelimit.minutes(wait)))
    return html, status, {"Retry-After": str(wait)}


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
    """The invitation's or the author's language when the URL holds a readable link, else the visitor's."""
    token = (request.view_args or {}).get("token")
    if token and (request.endpoint or "").startswith("collect.author"):
        rows = authorship.reviews_for_token(get_db(), token)
        return (rows[0]["locale"] if rows else None) or request_locale()
    if token:
        try:
            return _open(token)["locale"]
        except invitations.InvalidLink as exc:
            if exc.invitation:
                return exc.invitation["locale"]
    return request_locale()


def invalid_link_page(exc: invitations.InvalidLink):
    """404 for an unknown link, 410 for a used, expired or withdrawn one."""
    if exc.invitation:
        use_locale(exc.invitation["locale"])
    shop = _shop_name(exc.invitation)
    if exc.reason == "used":
        return message_page(410, _("Your reviews for this order were written already"), _("This invitation link starts a first review only. The author can change or withdraw their reviews through the private link shown after publishing them (we never give that link to %(shop)s).", shop=shop))
    if exc.reason == "withdrawn":
        return message_page(410, _("This review link is closed"), _("The reviews written with this link were withdrawn by their author, so the link no longer works. If this was a mistake, ask %(shop)s for a new invitation.", shop=shop))
    if exc.reason == "expired":
        return message_page(410, _("This review link has expired"), _("Review links work for a limited time. If you still want to write a review, ask %(shop)s for a new invitation.", shop=shop))
    return message_page(404, _("This review link is not valid"), _("The link may be incomplete: copy the whole link from the e-mail into the address bar. If that does not help, ask the shop for a new invitation."))


def _open(token: str) -> dict:
    """The invitation of a readable link; the rest of the request speaks its language."""
    invitation = invitations.invitation_for_token(get_db(), secrets_file.signing_keys(current_app), token)
    use_locale(invitation["locale"])
    return invitation


def _blocks(invitation: dict, shop: dict) -> list[dict]:
    """One block per product of the order, then one for the shop: field prefix, heading, SKU."""
    db = get_db()
    blocks = []
    for n, sku in enumerate(invitation["skus"]):
        product = store.product_by_sku(db, shop["id"], sku)
        blocks.append({"sku": sku, "prefix": f"product-{n}-", "item": product["name"] if product else sku,
                       "heading": product["name"] if product else sku, "removed": False})
    blocks.append({"sku": None, "prefix": "", "item": shop["name"], "heading": None, "removed": False})
    return blocks


def render_form(*, shop: dict, locale: str, blocks: list[dict], action: str, heading: str,
                invitation: dict | None = None, values: dict | None = None, errors: dict | None = None,
                status: int = 200, notice: str | None = None, author_link: str | None = None,
                withdraw_action: str | None = None):
    """The review form: an invitation's first review, the author's page (author_link) or an open review."""
    for block in blocks:
        block["legend"] = _("Your rating for %(item)s", item=block["item"])
        if block["heading"] is None:
            block["heading"] = _("Your experience with %(shop)s", shop=shop["name"])
    return render_template(
        "collect/form.html", locale=locale, shop=shop, invitation=invitation, blocks=blocks, heading=heading,
        values=values or {}, errors=errors or {}, notice=notice, max_lengths=MAX_LENGTHS, honeypot=HONEYPOT,
        action=action, withdraw_action=withdraw_action, author_link=author_link,
    ), status


def render_invitation_form(token: str, invitation: dict, *, values: dict | None = None,
                           errors: dict | None = None, status: int = 200):
    """The first-review form behind an invitation link."""
    shop = shop_of(invitation)
    locale = use_locale(invitation["locale"])
    return render_form(
        shop=shop, locale=locale, invitation=invitation, blocks=_blocks(invitation, shop), values=values,
        errors=errors, status=status, heading=_("Review your order at %(shop)s", shop=shop["name"]),
        action=url_for("collect.submit", token=token))


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


def _posted_values() -> dict:
    return {k: v for k, v in request.form.items() if k not in ("csrf_token", HONEYPOT)}


def _rejected():
    return message_page(400, _("We could not accept this submission"), _("Please go back and try again. If your browser fills in forms automatically, fill this one in by hand."))


@bp.get("/r/<token>")
def review_form(token):
    """The review form of an invitation: it starts a first review only.

    :raise 404: unknown link. :raise 410: used, expired or withdrawn link (as a page that says so).
    """
    try:
        invitation = _open(token)
    except invitations.InvalidLink as exc:
        return invalid_link_page(exc)
    return render_invitation_form(token, invitation)


def _checked_post(token):
    """(invitation, None) for a post that may proceed, else (None, the page that refuses it)."""
    try:
        invitation = _open(token)
    except invitations.InvalidLink as exc:
        return None, invalid_link_page(exc)
    wait = rate_limited(f"invitation:{invitation['id']}")
    if wait:
        return None, too_many(wait)
    if request.form.get(HONEYPOT, ""):
        return None, _rejected()
    return invitation, None


@bp.post("/r/<token>")
def submit(token):
    """Publish the customer's first verified reviews, then show their private author page (303 to /a/<token>).

    :raise 400: invalid fields (the form again, with messages), honeypot filled.
    :raise 404/410: unknown, used, expired or withdrawn link. :raise 429: too many posts.
    """
    invitation, refusal = _checked_post(token)
    if refusal is not None:
        return refusal
    items, errors = parse_form(request.form, _blocks(invitation, shop_of(invitation)))
    if errors:
        return render_invitation_form(token, invitation, values=_posted_values(), errors=errors, status=400)
    try:
        author_token = invitations.submit_reviews(get_db(), invitation, items)
    except invitations.InvalidLink as exc:  # a concurrent post used the link first
        return invalid_link_page(exc)
    return redirect(url_for("collect.author_page", token=author_token, saved="created"), 303)


# --- the author's private page ---------------------------------------------------


def _author_view(token: str):
    """(rows, shop) of an author token, or (None, None) for an unknown one; the request speaks the reviews' language."""
    rows = authorship.reviews_for_token(get_db(), token)
    if not rows:
        return None, None
    if rows[0]["locale"]:
        use_locale(rows[0]["locale"])
    return rows, shop_of(rows[0])


def _author_blocks(rows: list[dict], shop: dict) -> list[dict]:
    """One block per review of the submission (products first, then the shop), removed ones marked."""
    blocks, n = [], 0
    for row in rows:
        if row["sku"] is None:
            blocks.append({"sku": None, "prefix": "", "item": shop["name"], "heading": None,
                           "removed": row["status"] != "published"})
        else:
            blocks.append({"sku": row["sku"], "prefix": f"product-{n}-", "item": row["product_name"],
                           "heading": row["product_name"], "removed": row["status"] != "published"})
            n += 1
    return blocks


def render_author_page(token: str, rows: list[dict], shop: dict, *, values: dict | None = None,
                       errors: dict | None = None, status: int = 200, notice: str | None = None):
    """The author's page: their private link, their reviews to edit, and the withdrawal form."""
    blocks = _author_blocks(rows, shop)
    if values is None:
        values = {}
        for block, row in zip(blocks, rows):
            if not block["removed"]:
                for name in FIELDS:
                    values[block["prefix"] + name] = str(row[name])
                values.setdefault("author", row["author"])
    return render_form(
        shop=shop, locale=current_locale(), blocks=blocks, values=values, errors=errors, status=status,
        notice=notice, heading=_("Your reviews of %(shop)s", shop=shop["name"]),
        action=url_for("collect.author_submit", token=token),
        author_link=base_url().rstrip("/") + url_for("collect.author_page", token=token),
        withdraw_action=url_for("collect.author_withdraw", token=token),
    )


def _author_refusal(rows):
    """The page refusing an unknown (404) or fully withdrawn (410) author link, else None."""
    if rows is None:
        return message_page(404, _("This link is not valid"), _("The link may be incomplete: copy the whole private link you saved into the address bar."))
    if all(row["status"] == "withdrawn" for row in rows):
        return message_page(410, _("Your reviews are withdrawn"), _("They no longer appear anywhere and their text is erased. This link no longer works."))
    return None


@bp.get("/a/<token>")
def author_page(token):
    """The author's private page (the thank-you page after publishing): edit or withdraw their reviews.

    :raise 404: unknown link. :raise 410: the reviews were withdrawn.
    """
    rows, shop = _author_view(token)
    refusal = _author_refusal(rows)
    if refusal is not None:
        return refusal
    notices = {"created": _("Thank you! Your reviews are published."),
               "open": _("Thank you! Your review is published (marked not verified)."),
               "updated": _("Your changes are saved. Your review now shows as updated."),
               "unchanged": _("Nothing changed.")}
    return render_author_page(token, rows, shop, notice=notices.get(request.args.get("saved")))


def _checked_author_post(token):
    """(rows, shop, None) for an author post that may proceed, else (..., the page that refuses it)."""
    rows, shop = _author_view(token)
    refusal = _author_refusal(rows)
    if refusal is None:
        wait = rate_limited(f"author:{authorship.token_hash(token)}")
        if wait:
            refusal = too_many(wait)
    if refusal is None and request.form.get(HONEYPOT, ""):
        refusal = _rejected()
    return rows, shop, refusal


@bp.post("/a/<token>")
def author_submit(token):
    """Save the author's edits (earlier versions kept in history), then show their page again (303).

    :raise 400: invalid fields or honeypot. :raise 404/410: unknown or withdrawn. :raise 429: too many posts.
    """
    rows, shop, refusal = _checked_author_post(token)
    if refusal is not None:
        return refusal
    items, errors = parse_form(request.form, _author_blocks(rows, shop))
    if errors:
        return render_author_page(token, rows, shop, values=_posted_values(), errors=errors, status=400)
    try:
        counts = authorship.save_edits(get_db(), token, items)
    except store.StoreError:  # withdrawn or removed meanwhile
        return message_page(409, _("Your reviews are withdrawn"), _("They no longer appear anywhere and their text is erased. This link no longer works."))
    outcome = "updated" if counts["updated"] else "unchanged"
    return redirect(url_for("collect.author_page", token=token, saved=outcome), 303)


@bp.post("/a/<token>/withdraw")
def author_withdraw(token):
    """Withdraw every review of the author's submission and erase their text; the private link closes.

    :raise 400: not confirmed. :raise 404/410: unknown or withdrawn. :raise 429: too many posts.
    """
    rows, shop, refusal = _checked_author_post(token)
    if refusal is not None:
        return refusal
    if request.form.get("confirm") != "yes":
        return render_author_page(token, rows, shop, errors={"confirm": _("Tick the box to confirm.")}, status=400)
    authorship.withdraw(get_db(), token)
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
    return render_form(
        shop=shop, locale=locale, blocks=[block], values=values, errors=errors, notice=notice, status=status,
        heading=_("Review %(shop)s", shop=shop["name"]),
        action=url_for("collect.open_submit", shop=shop["slug"], product=block["sku"]),
    )


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
    return render_open_form(row, locale, block)


@bp.post("/s/<shop>/write")
def open_submit(shop):
    """Publish an unverified review (source "open"), then show the author's private page (303 to /a/<token>).

    Never verified, whatever is posted. As with invitations, the author gets a token made now and
    shown only to them (only its hash is stored): their private link to edit or withdraw the review.

    :raise 400: invalid fields or honeypot. :raise 404: as the form. :raise 429: too many posts.
    """
    row, locale = _open_shop(shop)
    if row is None or not invitations.allows_open_reviews(row):
        return message_page(404, _("This shop only accepts invited reviews"), _("Reviews of this shop come from customers it invited after an order. If you bought something, use the link in your invitation e-mail."))
    block = _open_block(row)
    if block is None:
        return message_page(404, _("There is no such product in this shop."), _("There is no such product in this shop."))
    wait = rate_limited(None)
    if wait:
        return too_many(wait)
    if request.form.get(HONEYPOT, ""):
        return message_page(400, _("We could not accept this submission"), _("Please go back and try again. If your browser fills in forms automatically, fill this one in by hand."))
    items, errors = parse_form(request.form, [block])
    if errors:
        values = {k: v for k, v in request.form.items() if k not in ("csrf_token", HONEYPOT)}
        return render_open_form(row, locale, block, values=values, errors=errors, status=400)
    data = items[block["sku"]]
    author_token, token_hash = authorship.new_token()
    store.add_review(get_db(), row["id"], rating=data["rating"], title=data["title"], body=data["body"],
                     author=data["author"], locale=locale, product_sku=block["sku"], source="open", verified=False,
                     author_token_hash=token_hash, actor="author")
    return redirect(url_for("collect.author_page", token=author_token, saved="open"), 303)


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
