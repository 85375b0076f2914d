"""Google's Product Review Feed (version 2.2): the XML Merchant Center ingests for product ratings.

Schema: http://www.google.com/shopping/reviews/schema/product/2.2/product_reviews.xsd (a copy is in
../shared/data/google-product-reviews/; tests validate every feed against it). What goes in:

- Only reviews of a product. Reviews of the shop itself have no product and belong to seller
  ratings, not to this feed; they are left out.
- Published product reviews under <reviews>; withdrawn or removed ones as <deleted_reviews>/<review_id>
  so Google drops what it ingested before.
- A published review needs non-empty <content>: its body, else its title. A review with neither
  (a bare star rating) is left out, as the schema demands.
- collection_method: post_fulfillment for reviews written through an invitation after an order,
  unsolicited otherwise (imported or open reviews).
- review_url: the hosted product page, type "group" (that page lists many reviews; we have no
  page holding a single review, so "singleton" would be false).
- No personal data beyond the display name the author chose; a display name that is (or holds)
  an e-mail address is sent as anonymous. Invitation e-mails are never read here.
"""

from __future__ import annotations

import re
from typing import Iterator
from urllib.parse import quote

from lxml import etree

from . import store
from .sanitize import xml_text

VERSION = "2.2"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
VC = "http://www.w3.org/2007/XMLSchema-versioning"
SCHEMA_LOCATION = "http://www.google.com/shopping/reviews/schema/product/2.2/product_reviews.xsd"
ANONYMOUS = "Anonymous"

_EMAIL = re.compile(r"[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+")


def _text(value) -> str:
    """Plain text safe for XML 1.0 (sanitize.xml_text): characters XML forbids dropped, whitespace stripped.

    Every text that goes into the feed passes here, identifiers (SKU, GTIN) and URLs too: rows stored
    before input refused such characters must not abort the export.
    """
    return xml_text(value)


def _timestamp(value) -> str:
    """An xs:dateTime in UTC with a Z."""
    return store.format_time(value)[:19] + "Z"  # zero-padded whatever the year (strftime's %Y is not)


def _sub(parent, tag: str, text: str | None = None, **attrs):
    element = etree.SubElement(parent, tag, {k: v for k, v in attrs.items()})
    if text is not None:
        element.text = text
    return element


def product_review_feed(db, shop: dict, base_url: str, aggregator: str | None = None) -> etree._ElementTree:
    """The feed for `shop` as an lxml tree; `base_url` is this server's public root (for review URLs)."""
    base_url = base_url.rstrip("/")
    products = {p["sku"]: p for p in store.list_products(db, shop["id"])}
    root = etree.Element("feed", nsmap={"vc": VC, "xsi": XSI})
    root.set(f"{{{XSI}}}noNamespaceSchemaLocation", SCHEMA_LOCATION)
    _sub(root, "version", VERSION)
    if aggregator:
        _sub(_sub(root, "aggregator"), "name", _text(aggregator))
    _sub(_sub(root, "publisher"), "name", _text(shop["name"]) or _text(shop["slug"]))
    published, deleted = [], []
    for review in store.export_rows(db, shop["id"]):
        if not review["product"]:
            continue  # a review of the shop, not of a product: not for this feed
        if review["status"] == "published":
            published.append(review)
        else:
            deleted.append(review)
    reviews = None
    for review in published:
        content = _text(review["body"]) or _text(review["title"])
        if not content:
            continue
        if reviews is None:
            reviews = _sub(root, "reviews")
        _review(reviews, review, content, products[review["product"]], shop, base_url)
    if deleted:
        container = _sub(root, "deleted_reviews")
        for review in deleted:
            _sub(container, "review_id", str(review["id"]))
    return etree.ElementTree(root)


def _review(parent, review: dict, content: str, product: dict, shop: dict, base_url: str) -> None:
    element = _sub(parent, "review")
    _sub(element, "review_id", str(review["id"]))
    name = _text(review["author"])
    reviewer = _sub(element, "reviewer")
    if not name or _EMAIL.search(name):
        _sub(reviewer, "name", ANONYMOUS, is_anonymous="true")
    else:
        _sub(reviewer, "name", name)
    _sub(element, "review_timestamp", _timestamp(review["created_at"]))
    title = _text(review["title"])
    if title:
        _sub(element, "title", title)
    _sub(element, "content", content)
    page = f"{base_url}/s/{shop['slug']}/p/{quote(xml_text(product['sku']), safe='')}"
    _sub(element, "review_url", page, type="group")
    _sub(_sub(element, "ratings"), "overall", str(review["rating"]), min="1", max="5")
    item = _sub(_sub(element, "products"), "product")
    ids = _sub(item, "product_ids")
    if _text(product["gtin"]):
        _sub(_sub(ids, "gtins"), "gtin", _text(product["gtin"]))
    _sub(_sub(ids, "skus"), "sku", _text(product["sku"]))
    _sub(item, "product_name", _text(product["name"]) or _text(product["sku"]))
    _sub(item, "product_url", _text(product["url"]) or page)
    _sub(element, "is_spam", "false")
    _sub(element, "collection_method", "post_fulfillment" if review["source"] == "invitation" else "unsolicited")


def feed_bytes(db, shop: dict, base_url: str, aggregator: str | None = None) -> bytes:
    """The feed serialized as UTF-8 XML with a declaration."""
    return etree.tostring(product_review_feed(db, shop, base_url, aggregator), xml_declaration=True,
                          encoding="UTF-8", pretty_print=True)


def feed_lines(db, shop: dict, base_url: str) -> Iterator[str]:
    """The feed as text, for a text output stream."""
    yield feed_bytes(db, shop, base_url).decode("utf-8")
