"""marshmallow schemas: validate API input, shape API output, and feed the OpenAPI document."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from . import store
from .sanitize import UnsafeText, clean_text, column_is_clean, identifier_problem, whole_number

LOCALES = ("nl", "en", "de", "fr")
SORT_ORDERS = ("newest", "oldest", "highest", "lowest")


class PlainText(fields.String):
    """A string cleaned to plain text by `sanitize.clean_text`, then length-checked."""

    def __init__(self, *, max_length: int, min_length: int = 0, multiline: bool = True, **kwargs):
        # For the OpenAPI document: lengths count the cleaned text, so markup-only text is refused too.
        documented = {"maxLength": max_length}
        if min_length:
            documented.update(minLength=min_length, pattern=r"\S")  # some visible character
        kwargs["metadata"] = {**documented, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)
        self.max_length = max_length
        self.min_length = min_length
        self.multiline = multiline

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            text = clean_text(text, multiline=self.multiline)
        except UnsafeText as exc:
            raise ValidationError(str(exc)) from None
        if len(text) < self.min_length:
            raise ValidationError(
                "Must not be empty (markup is removed, so text that was only markup is empty)."
                if self.min_length == 1 else f"Must be at least {self.min_length} characters."
            )
        if len(text) > self.max_length:
            raise ValidationError(f"Too long: {len(text)} characters, at most {self.max_length}.")
        return text


class Rating(fields.Integer):
    """A whole star rating 1-5; "4" and 4.5 are refused rather than guessed."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, validate=validate.Range(1, 5, error="Must be a whole number from 1 to 5."),
                         **kwargs)


def printable(value: str) -> None:
    """Validator for identifiers: no control characters, lone surrogates or noncharacters (sanitize module)."""
    problem = identifier_problem(value)
    if problem:
        raise ValidationError(problem)


SKU_PATTERN = r"^[^\s\x00-\x1f/][^\x00-\x1f/]{0,62}[^\s\x00-\x1f/]$|^[^\s\x00-\x1f/]$"


class Sku(fields.String):
    """A product SKU: 1-64 printable characters, no spaces at the ends."""

    def __init__(self, **kwargs):
        super().__init__(
            validate=[validate.Regexp(SKU_PATTERN,
                                      error="Must be 1-64 characters without slashes, control characters or "
                                            "leading/trailing spaces."), printable],
            **kwargs,
        )


class Timestamp(fields.AwareDateTime):
    """An ISO 8601 time (UTC when it has no offset), from 1995-01-01 up to `ahead` past now; loaded as UTC.

    Bounded so that every stored time is readable and sorts in time order (see store.time_problem).
    """

    def __init__(self, *, ahead: timedelta, **kwargs):
        super().__init__(default_timezone=timezone.utc, **kwargs)
        self.ahead = ahead

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            moment = super()._deserialize(value, attr, data, **kwargs)
        except OverflowError:
            raise ValidationError("Is out of range; send an ISO 8601 time such as 2025-03-01T12:00:00Z.") from None
        problem = store.time_problem(moment, ahead=self.ahead)
        if problem:
            raise ValidationError(problem)
        return moment.astimezone(timezone.utc)


# --- output --------------------------------------------------------------------


class ReplySchema(Schema):
    """The shop's public reply, signed with a name and role."""

    body = fields.String(required=True, metadata={"description": "Plain text; escape it when rendering."})
    author = fields.String(required=True, metadata={"description": "Name of the person who replied."})
    role = fields.String(required=True, metadata={"description": "Their role, e.g. 'Customer service'."})
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    outcome = fields.String(allow_none=True, metadata={
        "enum": ["resolved", "not_resolved", None],
        "description": "The customer's own answer after the shop marked the issue resolved; null: not asked or "
                       "no answer yet. Only the customer can set it."})
    outcome_at = fields.DateTime(allow_none=True, metadata={"description": "When the customer answered."})


class ReviewSchema(Schema):
    """A published review; text fields are plain text (escape them when rendering)."""

    id = fields.Integer(required=True)
    rating = fields.Integer(required=True, metadata={"minimum": 1, "maximum": 5})
    title = fields.String(required=True)
    body = fields.String(required=True)
    author = fields.String(required=True, metadata={"description": "Display name chosen by the author."})
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True, metadata={"description": "Later than created_at when the author edited it."})
    verified = fields.Boolean(required=True, metadata={"description": "Written through an invitation tied to an order."})
    verification_method = fields.String(allow_none=True, required=True, metadata={
        "enum": ["invitation-email", "invitation-link", None],
        "description": "How a verified review was verified: invitation-email (our server e-mailed the invitation "
                       "to the address the shop gave for the order; the shop never had the link) or "
                       "invitation-link (the shop was handed the link). null for unverified reviews."})
    source = fields.String(required=True, metadata={"enum": ["import", "invitation", "open"]})
    locale = fields.String(allow_none=True)
    product = fields.String(allow_none=True, metadata={"description": "SKU, or null for a review of the shop."})
    product_name = fields.String(allow_none=True, metadata={"description": "The product's name, or null for a review "
                                                                           "of the shop."})
    reply = fields.Nested(ReplySchema, allow_none=True)


class ReviewPageSchema(Schema):
    """One page of reviews and the cursor of the next (null on the last page)."""

    items = fields.List(fields.Nested(ReviewSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class ReplyFiguresSchema(Schema):
    """Reply figures over a set of published reviews."""

    reviews = fields.Integer(required=True, metadata={"description": "Published reviews in the set."})
    replied = fields.Integer(required=True, metadata={"description": "Of those, how many have a public reply."})
    rate = fields.Float(allow_none=True, required=True,
                        metadata={"description": "replied / reviews, 0-1 (4 decimals); null without reviews."})
    median_hours = fields.Float(allow_none=True, required=True, metadata={
        "description": "Median hours from review to first reply, 1 decimal; null without replies."})


class ReplyStatsSchema(Schema):
    """How the shop answers its reviews: all of them, and the negative (1-2 star) ones."""

    all = fields.Nested(ReplyFiguresSchema, required=True)
    negative = fields.Nested(ReplyFiguresSchema, required=True)


class SummarySchema(Schema):
    """Aggregate of all published reviews, whatever their rating."""

    shop = fields.String(required=True)
    product = fields.String(allow_none=True)
    count = fields.Integer(required=True)
    rating_sum = fields.Integer(required=True)
    average = fields.Float(allow_none=True, metadata={"description": "Rounded to 2 decimals; null with no reviews."})
    distribution = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                               metadata={"description": 'Count per star, keys "1" to "5".'})
    replies = fields.Nested(ReplyStatsSchema, required=True, metadata={
        "description": "The shop's reply figures (shop-wide, also for a product's summary)."})


class ProductSchema(Schema):
    """A product and its review figures."""

    sku = fields.String(required=True)
    name = fields.String(required=True)
    url = fields.String(allow_none=True, metadata={"format": "uri"})
    image_url = fields.String(allow_none=True, metadata={"format": "uri"})
    gtin = fields.String(allow_none=True)
    product_id = fields.String(allow_none=True, metadata={"description": "The shop's own schema.org @id."})
    review_count = fields.Integer()
    average = fields.Float(allow_none=True)


class ProductListSchema(Schema):
    """The shop's products."""

    items = fields.List(fields.Nested(ProductSchema), required=True)


class ShopSchema(Schema):
    """Public information about a shop."""

    slug = fields.String(required=True)
    name = fields.String(required=True)
    url = fields.String(allow_none=True)
    locale = fields.String(required=True)
    reviews_url = fields.String(required=True, metadata={"description": "Hosted page with all reviews.", "format": "uri"})
    organization_rating = fields.Boolean(required=True)
    review_count = fields.Integer(required=True)
    average = fields.Float(allow_none=True)


class ErrorSchema(Schema):
    """Every error: a sentence and messages per field."""

    error = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)


# --- input ---------------------------------------------------------------------


class ReviewQuerySchema(Schema):
    """Query parameters of the review list."""

    class Meta:
        unknown = EXCLUDE  # cache-busters and tracking parameters are ignored

    product = Sku(load_default=None)
    rating = fields.Integer(load_default=None, validate=validate.Range(1, 5, error="Must be a whole number from 1 to 5."))
    verified = fields.Boolean(load_default=None)
    sort = fields.String(load_default="newest", validate=validate.OneOf(SORT_ORDERS, error="Must be one of: {choices}."))
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100, error="Must be from 1 to 100."))
    cursor = fields.String(load_default=None, validate=validate.Length(max=512))


class SummaryQuerySchema(Schema):
    """Query parameters of the summary."""

    class Meta:
        unknown = EXCLUDE

    product = Sku(load_default=None)


class ReviewImportSchema(Schema):
    """A review from the shop's own history; stored unverified with source "import"."""

    rating = Rating(required=True)
    title = PlainText(max_length=200, multiline=False, load_default="")
    body = PlainText(max_length=10000, load_default="")
    author = PlainText(required=True, min_length=1, max_length=100, multiline=False)
    created_at = Timestamp(ahead=store.REVIEW_AHEAD, load_default=None,
                           metadata={"description": "When it was written (ISO 8601; UTC without an offset); "
                                                    "from 1995-01-01 to at most a day ahead; defaults to now."})
    product = Sku(load_default=None, metadata={"description": "SKU of an existing product, or omit for the shop."})
    locale = fields.String(load_default=None, validate=validate.OneOf(LOCALES, error="Must be one of: {choices}."))
    external_id = fields.String(load_default=None, validate=[validate.Length(1, 128), printable],
                                metadata={"description": "Your id for it; a second import with the same id is refused."})


_SKU = re.compile(SKU_PATTERN)


def plain_import_row(raw: dict, latest: datetime | None = None) -> dict | None:
    """A row of an import file that is plainly valid as it stands, in `store.add_reviews`' form (product_sku,
    reply, created_at as stored text); None for anything else, which then goes through the schemas
    (`transfer._RowSchemas.review`). `latest`: the latest time a review may have (default: now + a day).

    The row's values are CSV text or JSON values; other import columns (product_name, ...) are ignored
    here. marshmallow costs ~100 µs a row, more than all the rest of an import; this costs a few.
    tests/test_transfer.py checks on generated rows that both ways agree.
    """
    rating = raw.get("rating")
    review = _plain_review(raw, _RATING_TEXT.get(rating) if type(rating) is str else
                           rating if type(rating) is int else None, latest)
    if review is None:
        return None
    created = review["created_at"]
    if created is not None:  # in stored form; an export's usual "2024-03-01T10:00:00Z" without formatting
        text = raw["created_at"]
        review["created_at"] = text[:19] + ".000000Z" if _WHOLE_SECOND_UTC.match(text) else store.format_time(created)
    reply = None
    if "reply_body" in raw or "reply_author" in raw or "reply_role" in raw:
        reply = _plain_reply(raw.get("reply_body"), raw.get("reply_author"), raw.get("reply_role"))
        if reply is None:
            return None
    review["product_sku"] = review.pop("product")
    review["reply"] = reply
    return review


def plain_import_chunk(columns: dict[str, tuple], count: int, latest: datetime) -> store.ReviewColumns | None:
    """`plain_import_row` for `count` CSV rows at once, given column by column ({name: values}, "" for an
    empty value): the rows' reviews, column by column, when every row is plainly valid and its times, if
    any, are written "YYYY-MM-DDTHH:MM:SSZ"; None otherwise (then each row goes its own way).

    Whole columns are checked with a few C calls each, which is what makes a large import fast;
    tests/test_transfer.py checks that it gives what plain_import_row gives row by row, or None.
    """
    empty = ("",) * count
    rating = columns.get("rating", empty)
    if not _RATING_SET.issuperset(rating):
        return None
    texts = []
    for name, multiline, low, high in _IMPORT_TEXT:
        values = columns.get(name, empty)
        if not column_is_clean(values, multiline=multiline):  # a few need tidying: value by value
            try:
                values = [clean_text(value, multiline=multiline) for value in values]
            except UnsafeText:
                return None
        if max(map(len, values)) > high or (low and min(map(len, values)) < low):
            return None
        texts.append(values)
    created = columns.get("created_at", empty)
    present = list(filter(None, created))
    if present:
        if not all(map(_WHOLE_SECOND_Z.match, present)):
            return None
        try:
            list(map(datetime.fromisoformat, present))  # a real date and time (no February 30th)
        except ValueError:
            return None
        if min(present) < _EARLIEST_TEXT or max(present) > latest.strftime("%Y-%m-%dT%H:%M:%SZ"):
            return None
    product = columns.get("product", empty)
    if not all(_SKU.match(sku) and not identifier_problem(sku) for sku in set(product) if sku):
        return None
    locale = columns.get("locale", empty)
    if not _LOCALE_SET.issuperset(locale):
        return None
    external = columns.get("external_id", empty)
    if max(map(len, external)) > 128 or identifier_problem(" ".join(external)):
        return None
    replies = [None] * count
    reply_columns = [columns.get(f"reply_{name}", empty) for name, _, _ in _REPLY_TEXT]
    for i, (body, author, role) in enumerate(zip(*reply_columns)):
        if body or author or role:
            replies[i] = _plain_reply(body or None, author or None, role or None)
            if replies[i] is None:
                return None
    return store.ReviewColumns(
        rating=list(map(_RATING_TEXT.__getitem__, rating)), title=texts[0], body=texts[1], author=texts[2],
        locale=[value or None for value in locale], product_sku=[value or None for value in product],
        created_at=[value[:19] + ".000000Z" if value else None for value in created],
        external_id=[value or None for value in external], reply=replies)


def _plain_reply(body, author, role) -> dict | None:
    # ReplyInputSchema's checks, for text values; None as soon as anything is odd.
    reply = {}
    try:
        for (name, multiline, high), value in zip(_REPLY_TEXT, (body, author, role)):
            if type(value) is not str:
                return None
            text = clean_text(value, multiline=multiline)
            if not 1 <= len(text) <= high:
                return None
            reply[name] = text
    except UnsafeText:
        return None
    return reply


def _plain_review(data: dict, rating: int | None, latest: datetime | None = None) -> dict | None:
    # ReviewImportSchema's checks, for values of the expected type; None as soon as anything is odd.
    if rating is None or not 1 <= rating <= 5:
        return None
    out = {"rating": rating}
    try:
        for name, multiline, low, high in _IMPORT_TEXT:
            value = data.get(name, "")
            if type(value) is not str:
                return None
            text = clean_text(value, multiline=multiline) if value else ""
            if not low <= len(text) <= high:
                return None
            out[name] = text
    except UnsafeText:
        return None
    created = data.get("created_at")
    if created is not None:
        if type(created) is not str:
            return None
        try:
            created = datetime.fromisoformat(created)
        except ValueError:
            return None
        if created.tzinfo is None:
            created = created.replace(tzinfo=timezone.utc)
        elif created.tzinfo is not timezone.utc:
            try:
                created = created.astimezone(timezone.utc)
            except OverflowError:
                return None
        if not store.EARLIEST <= created <= (latest or store.utcnow() + store.REVIEW_AHEAD):
            return None
    out["created_at"] = created
    product = data.get("product")
    if product is not None and (type(product) is not str or not _SKU.match(product) or identifier_problem(product)):
        return None
    out["product"] = product
    locale = data.get("locale")
    if locale is not None and (type(locale) is not str or locale not in LOCALES):
        return None
    out["locale"] = locale
    external_id = data.get("external_id")
    if external_id is not None and (type(external_id) is not str or not 1 <= len(external_id) <= 128
                                    or identifier_problem(external_id)):
        return None
    out["external_id"] = external_id
    return out


_IMPORT_FIELDS = {"rating", "title", "body", "author", "created_at", "product", "locale", "external_id"}
_IMPORT_TEXT = (("title", False, 0, 200), ("body", True, 0, 10000), ("author", False, 1, 100))
_REPLY_TEXT = (("body", True, 5000), ("author", False, 100), ("role", False, 100))
_RATING_TEXT = {str(n): n for n in range(1, 6)}
_WHOLE_SECOND_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ?\Z")
_WHOLE_SECOND_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")
_EARLIEST_TEXT = store.EARLIEST.strftime("%Y-%m-%dT%H:%M:%SZ")
_RATING_SET = frozenset(_RATING_TEXT)
_LOCALE_SET = frozenset(("",) + LOCALES)


class ReplyInputSchema(Schema):
    """The shop's public reply."""

    body = PlainText(required=True, min_length=1, max_length=5000)
    author = PlainText(required=True, min_length=1, max_length=100, multiline=False)
    role = PlainText(required=True, min_length=1, max_length=100, multiline=False)


class ProductInputSchema(Schema):
    """A product to create or update, keyed by SKU."""

    sku = Sku(required=True)
    name = PlainText(required=True, min_length=1, max_length=300, multiline=False)
    url = fields.Url(load_default=None, schemes={"http", "https"}, metadata={"format": "uri"})
    image_url = fields.Url(load_default=None, schemes={"http", "https"}, metadata={"format": "uri"})
    gtin = fields.String(load_default=None, validate=validate.Regexp(r"^\d{8}$|^\d{12,14}$",
                                                                      error="Must be 8, 12, 13 or 14 digits."))
    product_id = fields.String(load_default=None, validate=[validate.Length(1, 500), printable],
                               metadata={"description": "Your page's schema.org Product @id, to merge markup."})


# --- invitations and the review form --------------------------------------------


class OrderRef(fields.String):
    """The shop's order reference: 1-128 characters without control characters."""

    def __init__(self, **kwargs):
        super().__init__(validate=[validate.Regexp(r"^[^\x00-\x1f\x7f]{1,128}$",
                                                   error="Must be 1-128 characters without control characters."),
                                   printable],
                         **kwargs)


class InvitationInputSchema(Schema):
    """An order to invite a review for; one invitation per order_ref (a repeat returns the first)."""

    order_ref = OrderRef(required=True, metadata={"description": "Your order number; one invitation per order."})
    name = PlainText(required=True, min_length=1, max_length=100, multiline=False,
                     metadata={"description": "The customer's name, used only in the invitation e-mail."})
    email = fields.Email(load_default=None, validate=validate.Length(max=254),
                         metadata={"description": "Where to send the invitation. Omit it when you send the link "
                                                  "yourself. Once sent it is kept only until the link expires, to "
                                                  "ask the customer once whether an issue marked resolved was."})
    skus = fields.List(Sku(), load_default=list, validate=validate.Length(max=50, error="At most 50 products."),
                       metadata={"description": "SKUs of existing products in the order; the shop is always asked too."})
    delivered_at = Timestamp(ahead=store.DELIVERY_AHEAD, required=True,
                             metadata={"description": "When the order arrived (ISO 8601; UTC without an offset), "
                                                      "from 1995-01-01 to at most 90 days ahead. "
                                                      "send_at = delivered_at + the shop's delay."})
    locale = fields.String(load_default=None, validate=validate.OneOf(LOCALES, error="Must be one of: {choices}."),
                           metadata={"description": "Language of the e-mail and form; default: the shop's."})


class InvitationSchema(Schema):
    """An invitation. review_url is present only when link_status is "returned": then send it yourself."""

    id = fields.Integer(required=True)
    order_ref = fields.String(required=True)
    review_url = fields.String(metadata={"description": "The customer's personal review link; it starts a first "
                                                        "review only. Present only when link_status is "
                                                        "\"returned\".", "format": "uri"})
    link_status = fields.String(required=True, metadata={
        "enum": ["returned", "emailed", "submitted", "closed"],
        "description": "returned: review_url is here, send it to the customer yourself. emailed: we e-mail the "
                       "customer (you gave an address), so the link is only in that e-mail. submitted: the "
                       "customer wrote their reviews; only they can change them. closed: expired or withdrawn."})
    send_at = fields.DateTime(required=True, metadata={"description": "When the invitation e-mail goes out."})
    expires_at = fields.DateTime(required=True, metadata={"description": "When the link stops working."})
    status = fields.String(required=True, metadata={"enum": ["pending", "sending", "sent", "failed", "used",
                                                             "withdrawn", "expired"]})


class ReviewFormSchema(Schema):
    """One block of the public review form (form values arrive as text)."""

    rating = fields.Integer(required=True, validate=validate.Range(1, 5, error="Must be a whole number from 1 to 5."))
    title = PlainText(max_length=200, multiline=False, load_default="")
    body = PlainText(max_length=5000, load_default="")
    author = PlainText(required=True, min_length=1, max_length=100, multiline=False)


# --- embedding -------------------------------------------------------------------


class SnippetQuerySchema(Schema):
    """What to embed: one widget or several (comma-separated), optionally a product, theme and locale."""

    class Meta:
        unknown = EXCLUDE

    widget = fields.String(required=True, validate=validate.Length(1, 100),
                           metadata={"description": "badge, summary, list, product or recent; several comma-separated."})
    product = Sku(load_default=None, metadata={"description": "SKU; required by the product widget."})
    theme = fields.String(load_default=None, validate=validate.Length(1, 64),
                          metadata={"description": "Theme name; default: default."})
    locale = fields.String(load_default=None, validate=validate.OneOf(LOCALES, error="Must be one of: {choices}."),
                           metadata={"description": "Language; default: the shop's."})


class SnippetSchema(Schema):
    """The HTML to paste into a page: placeholder div(s) with a reserved height, then the loader script."""

    html = fields.String(required=True)


class ToneCheckInputSchema(Schema):
    """A reply draft to check (nothing is stored)."""

    body = PlainText(required=True, max_length=5000)
    author = PlainText(max_length=100, multiline=False, load_default="")
    role = PlainText(max_length=100, multiline=False, load_default="")
    review_id = fields.Integer(load_default=None, strict=True, validate=validate.Range(1, store.MAX_ROW_ID),
                               metadata={"description": "The review answered: its rating, text and language are used."})
    rating = fields.Integer(load_default=None, strict=True, validate=validate.Range(1, 5),
                            metadata={"description": "The review's rating, when no review_id is given."})
    language = fields.String(load_default=None, validate=validate.OneOf(["nl", "en", "de", "fr"]),
                             metadata={"description": "The reply's language (default: the review's, else detected)."})
    locale = fields.String(load_default="en", validate=validate.OneOf(["nl", "en", "de", "fr"]),
                           metadata={"description": "Language of the messages."})


class ToneFindingSchema(Schema):
    """One rule's verdict."""

    rule = fields.String(metadata={"description": "thanks, acknowledge, apology, offline, signature, defensive, "
                                                  "removal, copy, length or placeholder"})
    title = fields.String()
    passed = fields.Boolean()
    message = fields.String()
    phrases = fields.List(fields.String(), metadata={"description": "The words that decided it."})


class ToneCheckSchema(Schema):
    """The tone check's findings."""

    language = fields.String()
    problems = fields.Integer(metadata={"description": "How many findings did not pass."})
    findings = fields.List(fields.Nested(ToneFindingSchema))


# --- alerts, webhooks, follow-up (widgetserver/owner_api.py) -----------------------------


class AlertInputSchema(Schema):
    """Who is alerted about new reviews at or below a rating; posting an existing address changes it."""

    email = fields.Email(required=True, validate=validate.Length(max=254))
    max_rating = Rating(load_default=2, metadata={"description": "Alert for reviews with at most this many stars."})
    mode = fields.String(load_default="immediate", validate=validate.OneOf(("immediate", "digest"),
                                                                             error="Must be one of: {choices}."),
                         metadata={"description": "immediate: an e-mail per review; digest: one a day."})


class AlertSchema(Schema):
    """An alert recipient."""

    id = fields.Integer(required=True)
    email = fields.String(required=True)
    max_rating = fields.Integer(required=True, metadata={"minimum": 1, "maximum": 5})
    mode = fields.String(required=True, metadata={"enum": ["immediate", "digest"]})
    created_at = fields.DateTime(required=True)


class AlertListSchema(Schema):
    """The shop's alert recipients."""

    items = fields.List(fields.Nested(AlertSchema), required=True)


WEBHOOK_EVENT_NAMES = ("review.created", "review.updated", "reply.published", "report.decided")


class WebhookInputSchema(Schema):
    """An endpoint to call; only http(s) URLs on public addresses."""

    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False, validate=validate.Length(max=2000),
                     metadata={"format": "uri", "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://",
                               "description": "An http(s) URL of a public host (an IP literal must be public)."})
    events = fields.List(fields.String(validate=validate.OneOf(WEBHOOK_EVENT_NAMES, error="Must be one of: {choices}.")),
                         load_default=None, validate=validate.Length(min=1, error="Name at least one event."),
                         metadata={"description": "Events to receive; default: all."})
    description = PlainText(load_default="", max_length=200, multiline=False)


class WebhookSchema(Schema):
    """A webhook endpoint; its secret is never shown again after creation."""

    id = fields.Integer(required=True)
    url = fields.String(required=True, metadata={"format": "uri"})
    events = fields.List(fields.String(), required=True)
    description = fields.String(required=True)
    secret_hint = fields.String(required=True, metadata={"description": "The secret's first characters, to tell "
                                                                        "which one you stored."})
    created_at = fields.DateTime(required=True)
    pending = fields.Integer(metadata={"description": "Calls waiting for delivery or a retry."})
    delivered = fields.Integer()
    failed = fields.Integer()


class WebhookCreatedSchema(WebhookSchema):
    """A new endpoint with its signing secret: the only answer that contains it."""

    secret = fields.String(required=True, metadata={"description": "HMAC-SHA256 key for Eerlijk-Signature; "
                                                                   "store it now, it is not shown again."})


class WebhookListSchema(Schema):
    """The shop's webhook endpoints."""

    items = fields.List(fields.Nested(WebhookSchema), required=True)


class DeliverySchema(Schema):
    """One attempt to deliver a webhook call."""

    delivery = fields.Integer(required=True, metadata={"description": "Eerlijk-Delivery header: same on retries."})
    event = fields.String(required=True)
    attempt = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    status_code = fields.Integer(allow_none=True, required=True, metadata={"description": "null: no HTTP answer."})
    outcome = fields.String(required=True, metadata={"enum": ["delivered", "retry", "failed"]})
    error = fields.String(allow_none=True, required=True)
    duration_ms = fields.Integer(required=True)
    next_attempt_at = fields.DateTime(allow_none=True, required=True)


class WholeNumber(fields.Integer):
    """A whole number in a query string, written in ASCII digits only ("²", "٣" and "１" are refused, not read)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and whole_number(value, max_digits=18) is None:
            raise ValidationError("Must be a whole number written in digits 0-9.")
        return super()._deserialize(value, attr, data, **kwargs)


class DeliveryQuerySchema(Schema):
    """Query parameters of a webhook's delivery log."""

    class Meta:
        unknown = EXCLUDE  # cache-busters and tracking parameters are ignored

    limit = WholeNumber(load_default=50, validate=validate.Range(1, 1000, error="Must be from 1 to 1000."),
                        metadata={"description": "How many attempts to list, newest first."})


class DeliveryLogSchema(Schema):
    """Delivery attempts to one endpoint, newest first."""

    items = fields.List(fields.Nested(DeliverySchema), required=True)


class ResolvedInputSchema(Schema):
    """Nothing to send: marking an issue resolved changes no review field (and a rating never)."""


class FollowupSchema(Schema):
    """The "resolved" follow-up of a review: marked by the shop, answered by the customer."""

    review_id = fields.Integer(required=True)
    resolved_at = fields.DateTime(required=True, metadata={"description": "When the shop marked it resolved."})
    email = fields.String(required=True, metadata={"enum": ["queued", "no_contact"],
                                                     "description": "queued: the customer is asked once by e-mail; "
                                                                    "no_contact: we hold no address for them."})
    answer = fields.String(allow_none=True, required=True, metadata={"enum": ["resolved", "not_resolved", None],
                                                                      "description": "The customer's answer, shown "
                                                                                     "next to the reply."})
    answered_at = fields.DateTime(allow_none=True, required=True)
