"""Structured data: JSON-LD and microdata follow schema.org and Google's review-snippet rules."""

import json
import re

import extruct
import pytest

from widgets import Product, Reply, Shop, render
from widgets.fixtures import NOW, PRODUCT, SHOP, review, summary_of


def json_ld(fragment):
    scripts = re.findall(r'<script type="application/ld\+json">(.*?)</script>', fragment, flags=re.S)
    return [json.loads(s) for s in scripts]


def reviews():
    return [
        review(1, 5, days=1, title="Top", product="BIKE-1"),
        review(2, 1, days=2, author="B" * 150, title="", body="Kapot", product="BIKE-1",
               reply=Reply("Excuses, we sturen een nieuwe.", "Sanne", "klantenservice", NOW)),
    ]


def test_product_json_ld_has_required_properties():
    items = reviews()
    [node] = json_ld(render("product", shop=SHOP, summary=summary_of(items), reviews=items, product=PRODUCT, locale="nl", now=NOW))
    assert node["@context"] == "https://schema.org" and node["@type"] == "Product"
    assert node["@id"] == PRODUCT.product_id
    assert (node["name"], node["sku"], node["gtin"], node["url"], node["image"]) == (
        PRODUCT.name, PRODUCT.sku, PRODUCT.gtin, PRODUCT.url, PRODUCT.image_url)
    assert node["aggregateRating"] == {"@type": "AggregateRating", "ratingValue": 3.0, "reviewCount": 2, "bestRating": 5, "worstRating": 1}
    first, second = node["review"]
    assert first["author"] == {"@type": "Person", "name": "Anna"}
    assert first["reviewRating"] == {"@type": "Rating", "ratingValue": 5, "bestRating": 5, "worstRating": 1}
    assert first["datePublished"] == "2025-03-13"
    assert first["name"] == "Top" and first["reviewBody"] == "Snel geleverd."
    assert "name" not in second
    assert len(second["author"]["name"]) < 100
    comment = second["comment"]
    assert comment["@type"] == "Comment" and comment["author"] == {"@type": "Organization", "name": SHOP.name}
    assert comment["text"].startswith("Excuses") and comment["datePublished"] == "2025-03-14"
    assert "reviewRating" not in comment


def test_decimal_rating_uses_a_dot_in_every_locale():
    items = [review(1, 4), review(2, 4), review(3, 5)]
    for locale in ("nl", "de", "fr", "en"):
        out = render("product", shop=SHOP, summary=summary_of(items), reviews=items, product=PRODUCT, locale=locale, now=NOW)
        assert '"ratingValue":4.3' in out


def test_product_without_reviews_has_no_markup():
    out = render("product", shop=SHOP, summary=summary_of([]), reviews=[], product=PRODUCT, now=NOW)
    assert json_ld(out) == []
    assert "aggregateRating" not in out


def test_product_without_own_id_gets_none():
    items = reviews()
    product = Product(sku="X", name="X")
    [node] = json_ld(render("product", shop=SHOP, summary=summary_of(items), reviews=items, product=product, now=NOW))
    assert "@id" not in node and "gtin" not in node


@pytest.mark.parametrize("widget", ["badge", "summary", "list", "recent"])
def test_organization_has_no_rating_by_default(widget):
    items = reviews()
    [node] = json_ld(render(widget, shop=SHOP, summary=summary_of(items), reviews=items, now=NOW))
    assert node == {"@context": "https://schema.org", "@type": "Organization", "@id": SHOP.url.rstrip("/") + "/#organization",
                    "name": SHOP.name, "url": SHOP.url}


def test_every_shop_level_widget_describes_the_same_organization():
    """One stable @id: several widgets on a page (and the shop's own markup) merge into one node."""
    items = reviews()
    ids = {json_ld(render(w, shop=SHOP, summary=summary_of(items), reviews=items, now=NOW))[0]["@id"]
           for w in ("badge", "summary", "list", "recent")}
    assert ids == {SHOP.url.rstrip("/") + "/#organization"}
    html = render("badge", shop=SHOP, summary=summary_of(items), reviews=items, markup="microdata", now=NOW)
    assert f'itemid="{SHOP.url.rstrip("/")}/#organization"' in html


@pytest.mark.parametrize("widget, aggregate, review_nodes", [
    ("badge", True, False), ("summary", True, False), ("list", True, True), ("recent", False, True)])
def test_organization_rating_when_the_shop_turns_it_on(widget, aggregate, review_nodes):
    shop = Shop(slug="demo", name="Demo", url="https://shop.example", organization_rating=True)
    items = reviews()
    [node] = json_ld(render(widget, shop=shop, summary=summary_of(items), reviews=items, now=NOW))
    assert ("aggregateRating" in node) is aggregate
    assert ("review" in node) is review_nodes


def test_json_ld_escapes_html_breakers():
    items = [review(1, 3, author="</script><script>alert(1)//", body="a & b \u2028 \u2029 <!--", product="BIKE-1")]
    out = render("product", shop=SHOP, summary=summary_of(items), reviews=items, product=PRODUCT, now=NOW)
    script = re.search(r'<script type="application/ld\+json">(.*?)</script>', out, flags=re.S).group(1)
    for raw in ("<", ">", "&", "\u2028", "\u2029"):
        assert raw not in script
    node = json.loads(script)
    assert node["review"][0]["author"]["name"] == "</script><script>alert(1)//"
    assert node["review"][0]["reviewBody"] == "a & b \u2028 \u2029 <!--"


def test_markup_none_emits_nothing():
    items = reviews()
    out = render("product", shop=SHOP, summary=summary_of(items), reviews=items, product=PRODUCT, markup="none", now=NOW)
    assert "ld+json" not in out and "itemprop" not in out and "itemscope" not in out


def test_microdata_mode_parses_with_extruct():
    items = reviews()
    out = render("product", shop=SHOP, summary=summary_of(items), reviews=items, product=PRODUCT, markup="microdata", locale="nl", now=NOW)
    assert "ld+json" not in out
    data = extruct.extract(out, syntaxes=["microdata", "json-ld"], uniform=True)
    assert data["json-ld"] == []
    [product] = data["microdata"]
    assert product["@type"] == "Product" and product["name"] == PRODUCT.name and product["sku"] == PRODUCT.sku
    aggregate = product["aggregateRating"]
    assert aggregate["ratingValue"] == "3.0" and aggregate["reviewCount"] == "2"
    assert aggregate["bestRating"] == "5" and aggregate["worstRating"] == "1"
    first, second = product["review"]
    assert first["author"]["name"] == "Anna" and first["reviewRating"]["ratingValue"] == "5"
    assert first["datePublished"] == "2025-03-13" and first["reviewBody"] == "Snel geleverd."
    assert second["comment"]["author"]["name"] == SHOP.name
    assert second["comment"]["text"].startswith("Excuses")


def test_microdata_organization_without_rating_by_default():
    items = reviews()
    out = render("list", shop=SHOP, summary=summary_of(items), reviews=items, markup="microdata", now=NOW)
    [org] = extruct.extract(out, syntaxes=["microdata"], uniform=True)["microdata"]
    assert org["@type"] == "Organization" and org["name"] == SHOP.name
    assert "aggregateRating" not in org and "review" not in org


def test_json_ld_parses_with_extruct_like_a_crawler():
    items = reviews()
    out = render("list", shop=Shop(slug="d", name="D", organization_rating=True), summary=summary_of(items), reviews=items, now=NOW)
    [node] = extruct.extract(out, syntaxes=["json-ld"])["json-ld"]
    assert node["@type"] == "Organization" and node["aggregateRating"]["reviewCount"] == 2
