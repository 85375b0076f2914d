"""schema.org markup for a widget: JSON-LD nodes and microdata attributes, built from what the widget shows."""

from __future__ import annotations

import json
import re

from markupsafe import Markup, escape


SCHEMA = "https://schema.org"
MARKUPS = ("jsonld", "microdata", "none")
AUTHOR_MAX = 99  # Google: author names under 100 characters

# The control characters templates drop from visible text (rendering.strip_control): dropped here too,
# so the markup says exactly what the page shows.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def author_name(name: str, anonymous: str = "Anonymous") -> str:
    """The author name as shown and marked up: stripped, never empty, under 100 characters."""
    name = " ".join((name or "").split()) or anonymous
    return name if len(name) <= AUTHOR_MAX else name[: AUTHOR_MAX - 1] + "…"


def subject_type(widget: str) -> str:
    """`Product` for the product widget, `Organization` for shop-level widgets."""
    return "Product" if widget == "product" else "Organization"


def has_subject(widget: str, summary) -> bool:
    """Whether to mark up a node at all: a Product only when it has reviews; the shop always."""
    return widget != "product" or bool(summary.count)


def has_ratings(widget: str, shop, summary) -> bool:
    """Whether ratings go on the node: always for a Product; for the shop only with `organization_rating`."""
    if not summary.count:
        return False
    return widget == "product" or shop.organization_rating


def organization_id(shop) -> str | None:
    """A stable `@id` for the shop's Organization node (`<shop url>/#organization`), or None without a URL.

    Every shop-level widget on a page then describes the same node, and a shop whose own markup
    uses the same (common) convention gets one Organization, not several.
    """
    return shop.url.rstrip("/") + "/#organization" if shop.url else None


def json_ld(widget: str, *, shop, summary, reviews, product=None, show_aggregate=True, anonymous="Anonymous") -> dict | None:
    """The JSON-LD node for a widget, or None when there is nothing to mark up."""
    if not has_subject(widget, summary):
        return None
    if widget == "product":
        node = {"@context": SCHEMA, "@type": "Product"}
        if product.product_id:
            node["@id"] = product.product_id
        node["name"] = product.name
        for key, value in (("sku", product.sku), ("gtin", product.gtin), ("url", product.url), ("image", product.image_url)):
            if value:
                node[key] = value
    else:
        node = {"@context": SCHEMA, "@type": "Organization", "name": shop.name}
        if shop.url:
            node["@id"] = organization_id(shop)
            node["url"] = shop.url
    if has_ratings(widget, shop, summary):
        if show_aggregate:
            node["aggregateRating"] = {
                "@type": "AggregateRating",
                "ratingValue": summary.score_value,
                "reviewCount": summary.count,
                "bestRating": 5,
                "worstRating": 1,
            }
        if reviews:
            node["review"] = [review_node(r, shop, anonymous) for r in reviews]
    return node


def review_node(review, shop, anonymous="Anonymous") -> dict:
    """A `Review` node; the shop's reply becomes its `comment` (never a rating)."""
    node = {
        "@type": "Review",
        "author": {"@type": "Person", "name": author_name(review.author, anonymous)},
        "reviewRating": {"@type": "Rating", "ratingValue": review.rating, "bestRating": 5, "worstRating": 1},
        "datePublished": review.created_at.date().isoformat(),
    }
    if review.title:
        node["name"] = review.title
    node["reviewBody"] = review.body
    if review.reply:
        node["comment"] = {
            "@type": "Comment",
            "author": {"@type": "Organization", "name": shop.name},
            "text": review.reply.body,
            "datePublished": review.reply.created_at.date().isoformat(),
        }
    return node


def script_tag(node: dict | None) -> Markup:
    """A `<script type="application/ld+json">` element, safe inside HTML (`<`, `>`, `&`, U+2028/9 escaped)."""
    if node is None:
        return Markup("")
    text = json.dumps(_visible(node), ensure_ascii=False, separators=(",", ":"))
    for char, escaped in _JSON_ESCAPES.items():
        text = text.replace(char, escaped)
    return Markup(f'<script type="application/ld+json">{text}</script>')


def _visible(value):
    """`value` with control characters removed from every string, as the visible text has them removed."""
    if isinstance(value, str):
        return _CONTROL.sub("", value)
    if isinstance(value, dict):
        return {key: _visible(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_visible(item) for item in value]
    return value


class Microdata:
    """Attribute helpers templates call to emit microdata; each returns '' unless that part is marked up.

    `on` names what a property belongs to: "subject" (the Product or
    Organization: name, url) or "ratings" (aggregate, reviews, replies), which
    is off for the shop unless `organization_rating` is set.
    """

    def __init__(self, enabled: bool, subject: str, with_subject: bool, with_ratings: bool, item_id: str | None = None):
        self.enabled = enabled
        self.subject_type = subject
        self.item_id = item_id
        self._on = {"subject": enabled and with_subject, "ratings": enabled and with_subject and with_ratings}

    def active(self, on: str = "ratings") -> bool:
        """True when properties of `on` ("subject" or "ratings") are being marked up."""
        return self._on[on]

    def root(self) -> Markup:
        """Attributes for the widget root: the Product (with the shop's `itemid`) or Organization item."""
        if not self._on["subject"]:
            return Markup("")
        attrs = Markup(' itemscope itemtype="{}/{}"').format(SCHEMA, self.subject_type)
        if self.item_id:
            attrs += Markup(' itemid="{}"').format(self.item_id)
        return attrs

    def scope(self, prop: str, type_: str, on: str = "ratings") -> Markup:
        """Attributes starting a nested item, e.g. scope("review", "Review")."""
        if not self._on[on]:
            return Markup("")
        return Markup(' itemprop="{}" itemscope itemtype="{}/{}"').format(prop, SCHEMA, type_)

    def prop(self, name: str, on: str = "ratings") -> Markup:
        """An `itemprop` attribute for a visible element."""
        return Markup(' itemprop="{}"').format(name) if self._on[on] else Markup("")

    def meta(self, name: str, content, on: str = "ratings") -> Markup:
        """A `<meta itemprop content>` for a machine value shown differently (e.g. 4.3 shown as "4,3")."""
        if not self._on[on]:
            return Markup("")
        return Markup('<meta itemprop="{}" content="{}">').format(name, escape(str(content)))
