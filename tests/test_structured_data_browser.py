"""Structured data after the JS embed ran in Chromium: the pasted snippet on another origin's page; the
loader puts the JSON-LD into the light DOM, where crawlers that render JavaScript read it. Same checks
as tests/test_structured_data.py: extruct, offline pyld expansion, schema.org 30.0, Google's rules, API figures."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from werkzeug.wrappers import Request, Response

import schemaorg
from conftest import LiveServer
from widgetserver import store

pytestmark = pytest.mark.browser

PRODUCT_ID = "https://acme.example/jurk#product"
HOSTILE = "</script><!-- x \u2028 y \u2029 & <b>z</b>"
DONE = "() => [...document.querySelectorAll('[data-eerlijk]')].every(e => e.getAttribute('data-eerlijk-state') === 'done')"


def host(pages: dict) -> LiveServer:
    """A second origin serving the shop's own page."""

    @Request.application
    def wsgi(request):
        body = pages.get(request.path)
        return Response(body, mimetype="text/html") if body else Response("not found", 404)

    return LiveServer(wsgi)


@pytest.fixture
def reviewed(db, shop):
    store.upsert_product(db, shop["id"], "SKU-1", name="Jurk Linde", url="https://acme.example/jurk",
                         gtin="08712345678906", product_id=PRODUCT_ID)
    start = datetime(2025, 3, 1, tzinfo=timezone.utc)
    ids = [store.add_review(db, shop["id"], rating=r, author=a, title=t, body=b, product_sku="SKU-1",
                            created_at=start + timedelta(days=i))
           for i, (r, a, t, b) in enumerate([(5, "Anna", "Top", "Past goed."), (1, "Bram", "Kapot", "Gescheurd."),
                                             (3, "", "", HOSTILE)])]
    store.set_reply(db, shop["id"], ids[1], body="Sorry, we sturen een nieuwe.", author="Sanne", role="klantenservice")
    store.add_review(db, shop["id"], rating=4, author="Eva", body="Fijne winkel.", created_at=start)
    return ids


def embedded(app, client, live_server, page, **params) -> str:
    """page.content() after the pasted snippet ran on a page of another origin."""
    app.config["PUBLIC_BASE_URL"] = live_server.url
    response = client.get("/api/v1/shops/acme/snippet", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    html = f"<!doctype html><html lang='nl'><head><meta charset='utf-8'><link rel='icon' href='data:,'><title>Shop</title></head><body>" \
           f"<h1>Jurk Linde</h1>{response.get_json()['html']}</body></html>"
    other = host({"/jurk": html})
    try:
        page.goto(other.url + "/jurk")
        page.wait_for_function(DONE, timeout=15000)
        content = page.content()
    finally:
        other.stop()
    assert page.console_errors == []
    return content


def test_product_snippet_markup_after_the_embed_ran(app, client, live_server, page, reviewed):
    content = embedded(app, client, live_server, page, widget="product", product="SKU-1")
    data = schemaorg.extract(content)
    [product] = data["json-ld"]
    assert schemaorg.problems([product]) == [] and schemaorg.google_review_problems([product]) == []
    assert product.types == ["Product"] and product.id == PRODUCT_ID and product.get("gtin") == "08712345678906"
    summary = client.get("/api/v1/shops/acme/summary?product=SKU-1").get_json()
    aggregate = product.get("aggregateRating")
    assert aggregate.get("reviewCount") == summary["count"] == 3
    assert aggregate.get("ratingValue") == 3.0 and abs(3.0 - summary["average"]) < 0.05
    api_reviews = client.get("/api/v1/shops/acme/reviews?product=SKU-1").get_json()["items"]
    marked = schemaorg.find([product], "Review")
    assert [(r.get("reviewBody"), r.get("reviewRating").get("ratingValue")) for r in marked] == \
        [(r["body"], r["rating"]) for r in api_reviews]
    assert marked[0].get("reviewBody") == HOSTILE  # round-trips through the loader and the DOM
    [comment] = schemaorg.find([product], "Comment")
    assert comment.get("author").types == ["Organization"] and "reviewRating" not in comment.props
    # the same node the server renders for crawlers that do not run JavaScript
    [served] = schemaorg.extract(client.get("/w/acme/product.html?product=SKU-1").get_data(as_text=True))["json-ld"]
    assert schemaorg.plain(served) == schemaorg.plain(product)


def test_shop_widgets_after_the_embed_ran_have_no_self_serving_rating(app, client, live_server, page, reviewed):
    content = embedded(app, client, live_server, page, widget="badge,summary,list,recent")
    nodes = schemaorg.extract(content)["json-ld"]
    assert len(nodes) == 4 and all(n.types == ["Organization"] for n in nodes)
    assert schemaorg.problems(nodes) == [] and schemaorg.google_review_problems(nodes) == []
