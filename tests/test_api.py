"""JSON API v1: every endpoint, every error path, pagination, isolation, keys, caching and CORS."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta, timezone

import pytest

from widgetserver import api, store

BASE = "/api/v1/shops"
T0 = datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc)


# --- helpers -------------------------------------------------------------------


def assert_error(response, status, field=None):
    """Every error: JSON with `error` (str) and `errors` ({field: [str]}), the expected 4xx status."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert 400 <= response.status_code < 500
    body = response.get_json()
    assert isinstance(body, dict), response.get_data(as_text=True)
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["errors"], dict)
    for name, messages in body["errors"].items():
        assert isinstance(name, str)
        assert isinstance(messages, list) and messages and all(isinstance(m, str) and m for m in messages)
    if field is not None:
        assert field in body["errors"], body
    return body


def seed(db, shop, specs):
    """Add reviews from (rating, sku, minutes after T0) tuples; returns their ids."""
    return [
        store.add_review(db, shop["id"], rating=rating, author=f"Author {i}", title=f"T{i}", body=f"B{i}",
                         product_sku=sku, created_at=T0 + timedelta(minutes=minutes), locale="nl")
        for i, (rating, sku, minutes) in enumerate(specs)
    ]


def varied_specs(n=60):
    """Reviews with many ties in time and rating, spread over the shop and two products."""
    skus = [None, "SKU-1", "SKU-2"]
    return [((i * 7) % 5 + 1, skus[i % 3], (i * 11) % 13) for i in range(n)]


def expected_ids(db, shop_id, sort, product_id=None, rating=None):
    """Published review ids in the order the sort promises, computed in Python from the rows."""
    rows = [r for r in db.query("SELECT * FROM reviews WHERE shop_id = ? AND status = 'published'", [shop_id])]
    if product_id is not None:
        rows = [r for r in rows if r["product_id"] == product_id]
    if rating is not None:
        rows = [r for r in rows if r["rating"] == rating]
    for col, direction in reversed(store.SORTS[sort]):
        rows.sort(key=lambda r: r[col], reverse=direction == "DESC")
    return [r["id"] for r in rows]


def page_all(client, query="", slug="acme", limit=7):
    """Follow next_cursor to the end; returns every item."""
    items, cursor = [], None
    for _ in range(1000):
        url = f"{BASE}/{slug}/reviews?limit={limit}{query}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(url)
        assert response.status_code == 200, response.json
        page = response.json
        assert len(page["items"]) <= limit
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


def post_review(client, auth, slug="acme", **fields):
    return client.post(f"{BASE}/{slug}/reviews", json={"rating": 4, "author": "Anna", **fields}, headers=auth)


# --- public reads --------------------------------------------------------------


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_get_shop(client, db, shop):
    seed(db, shop, [(5, None, 0), (2, "SKU-1", 1)])
    response = client.get(f"{BASE}/acme")
    assert response.status_code == 200
    data = response.json
    assert data["slug"] == "acme"
    assert data["name"] == "Acme Kleding"
    assert data["url"] == "https://acme.example"
    assert data["locale"] == "nl"
    assert data["organization_rating"] is False
    assert data["review_count"] == 2
    assert data["average"] == 3.5
    assert data["reviews_url"].endswith("/s/acme")


def test_list_products(client, db, shop):
    seed(db, shop, [(5, "SKU-1", 0), (4, "SKU-1", 1), (1, None, 2)])
    response = client.get(f"{BASE}/acme/products")
    assert response.status_code == 200
    items = response.json["items"]
    assert [p["sku"] for p in items] == ["SKU-1", "SKU-2"]
    first, second = items
    assert first["name"] == "Jurk Linde" and first["url"] == "https://acme.example/jurk"
    assert first["review_count"] == 2 and first["average"] == 4.5
    assert second["url"] is None and second["review_count"] == 0 and second["average"] is None


def test_summary_shop_and_product(client, db, shop):
    seed(db, shop, [(5, "SKU-1", 0), (4, "SKU-1", 1), (1, None, 2), (2, "SKU-2", 3), (2, None, 4)])
    shop_level = client.get(f"{BASE}/acme/summary").json
    assert shop_level["shop"] == "acme" and shop_level["product"] is None
    assert shop_level["count"] == 5
    assert shop_level["rating_sum"] == 14
    assert shop_level["average"] == 2.8
    assert shop_level["distribution"] == {"1": 1, "2": 2, "3": 0, "4": 1, "5": 1}
    product = client.get(f"{BASE}/acme/summary?product=SKU-1").json
    assert product["product"] == "SKU-1"
    assert product["count"] == 2 and product["average"] == 4.5
    assert product["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1}


def test_summary_average_has_two_decimals(client, db, shop):
    seed(db, shop, [(5, None, 0), (4, None, 1), (4, None, 2)])
    assert client.get(f"{BASE}/acme/summary").json["average"] == 4.33


def test_summary_without_reviews(client, shop):
    data = client.get(f"{BASE}/acme/summary?product=SKU-2").json
    assert data["count"] == 0 and data["average"] is None
    assert data["distribution"] == {str(s): 0 for s in range(1, 6)}


def test_reviews_items_have_the_documented_fields(client, db, shop):
    ids = seed(db, shop, [(1, "SKU-1", 0), (5, None, 1)])
    store.set_reply(db, shop["id"], ids[0], body="Sorry!", author="Joost", role="Owner")
    items = client.get(f"{BASE}/acme/reviews").json["items"]
    assert [i["id"] for i in items] == [ids[1], ids[0]]  # newest first by default
    for item in items:
        for field in ("id", "rating", "title", "body", "author", "created_at", "updated_at", "verified", "locale",
                      "product", "reply"):
            assert field in item
        assert item["verified"] is False
    assert items[0]["reply"] is None and items[0]["product"] is None
    reply = items[1]["reply"]
    assert items[1]["product"] == "SKU-1"
    assert reply["body"] == "Sorry!" and reply["author"] == "Joost" and reply["role"] == "Owner"
    assert "created_at" in reply
    assert datetime.fromisoformat(items[1]["created_at"]) == T0


@pytest.mark.parametrize("sort", list(store.SORTS))
def test_reviews_each_sort(client, db, shop, sort):
    seed(db, shop, varied_specs(30))
    ids = [i["id"] for i in client.get(f"{BASE}/acme/reviews?sort={sort}&limit=100").json["items"]]
    assert ids == expected_ids(db, shop["id"], sort)


def test_reviews_filters(client, db, shop):
    seed(db, shop, varied_specs(30))
    sku1 = store.product_by_sku(db, shop["id"], "SKU-1")["id"]
    by_product = client.get(f"{BASE}/acme/reviews?product=SKU-1&limit=100").json["items"]
    assert [i["id"] for i in by_product] == expected_ids(db, shop["id"], "newest", product_id=sku1)
    assert by_product and all(i["product"] == "SKU-1" for i in by_product)
    by_rating = client.get(f"{BASE}/acme/reviews?rating=2&limit=100").json["items"]
    assert [i["id"] for i in by_rating] == expected_ids(db, shop["id"], "newest", rating=2)
    assert by_rating and all(i["rating"] == 2 for i in by_rating)
    both = client.get(f"{BASE}/acme/reviews?rating=3&product=SKU-1&sort=oldest&limit=100").json["items"]
    assert [i["id"] for i in both] == expected_ids(db, shop["id"], "oldest", product_id=sku1, rating=3)
    # Every review here is an unverified import.
    assert client.get(f"{BASE}/acme/reviews?verified=true").json["items"] == []
    assert len(client.get(f"{BASE}/acme/reviews?verified=false&limit=100").json["items"]) == 30


def test_reviews_limit_and_unknown_query_params(client, db, shop):
    seed(db, shop, varied_specs(25))
    assert len(client.get(f"{BASE}/acme/reviews").json["items"]) == 20  # default page size
    page = client.get(f"{BASE}/acme/reviews?limit=1&utm_source=x&_=123").json
    assert len(page["items"]) == 1 and page["next_cursor"]
    assert client.get(f"{BASE}/acme/reviews?limit=100").json["next_cursor"] is None


def test_withdrawn_and_removed_reviews_are_not_listed(client, db, shop):
    ids = seed(db, shop, [(1, None, 0), (2, None, 1), (3, None, 2)])
    store.set_review_status(db, shop["id"], ids[0], "withdrawn")
    store.set_review_status(db, shop["id"], ids[1], "removed", reason="spam")
    assert [i["id"] for i in client.get(f"{BASE}/acme/reviews").json["items"]] == [ids[2]]
    assert client.get(f"{BASE}/acme/summary").json["count"] == 1


# --- writes --------------------------------------------------------------------


def test_post_review(client, db, shop, auth):
    response = post_review(client, auth, rating=2, title="Te klein", body="Valt klein.", product="SKU-1",
                           locale="nl", created_at="2024-03-01T10:00:00+01:00", external_id="ord-1")
    assert response.status_code == 201, response.json
    review = response.json
    assert review["rating"] == 2 and review["title"] == "Te klein" and review["product"] == "SKU-1"
    assert review["source"] == "import" and review["verified"] is False and review["reply"] is None
    assert datetime.fromisoformat(review["created_at"]) == datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)
    assert response.headers["Location"].endswith(f"#review-{review['id']}")
    row = store.review_row(db, shop["id"], review["id"])
    assert row["source"] == "import" and row["verified"] == 0 and row["external_id"] == "ord-1"
    assert client.get(f"{BASE}/acme/summary?product=SKU-1").json["distribution"]["2"] == 1
    # The same external id twice is refused.
    again = post_review(client, auth, external_id="ord-1")
    assert_error(again, 409, "external_id")


def test_post_review_client_cannot_claim_verified(client, auth):
    response = post_review(client, auth, verified=True)
    assert_error(response, 400, "verified")


def test_post_review_defaults(client, auth):
    before = datetime.now(timezone.utc) - timedelta(seconds=5)
    review = post_review(client, auth).json
    assert review["title"] == "" and review["body"] == "" and review["product"] is None and review["locale"] is None
    assert datetime.fromisoformat(review["created_at"]) >= before


def test_reply_create_then_update_keeps_history(client, db, shop, auth):
    review_id = post_review(client, auth, rating=1).json["id"]
    url = f"{BASE}/acme/reviews/{review_id}/reply"
    first = client.post(url, json={"body": "Sorry", "author": "Sanne", "role": "Klantenservice"}, headers=auth)
    assert first.status_code == 201, first.json
    assert first.json["reply"]["body"] == "Sorry"
    second = client.post(url, json={"body": "Opgelost", "author": "Joost", "role": "Eigenaar"}, headers=auth)
    assert second.status_code == 200, second.json
    assert second.json["reply"] == {**second.json["reply"], "body": "Opgelost", "author": "Joost", "role": "Eigenaar"}
    history = list(db.query("SELECT body, author, role FROM reply_versions WHERE review_id = ?", [review_id]))
    assert history == [{"body": "Sorry", "author": "Sanne", "role": "Klantenservice"}]
    listed = client.get(f"{BASE}/acme/reviews").json["items"][0]
    assert listed["reply"]["body"] == "Opgelost"


def test_reply_to_unknown_or_unpublished_review_is_404(client, db, shop, auth):
    assert_error(client.post(f"{BASE}/acme/reviews/999999/reply", json={"body": "x", "author": "a", "role": "r"},
                             headers=auth), 404, "review")
    (review_id,) = seed(db, shop, [(1, None, 0)])
    store.set_review_status(db, shop["id"], review_id, "withdrawn")
    assert_error(client.post(f"{BASE}/acme/reviews/{review_id}/reply", json={"body": "x", "author": "a", "role": "r"},
                             headers=auth), 404, "review")


def test_post_product_create_then_update(client, db, shop, auth):
    data = {"sku": "ROK-1", "name": "Rok Fien", "url": "https://acme.example/rok", "gtin": "8712345010786",
            "image_url": "https://acme.example/rok.jpg", "product_id": "https://acme.example/rok#product"}
    created = client.post(f"{BASE}/acme/products", json=data, headers=auth)
    assert created.status_code == 201, created.json
    assert created.json == {**data, "review_count": 0, "average": None}
    updated = client.post(f"{BASE}/acme/products", json={"sku": "ROK-1", "name": "Rok Fien II"}, headers=auth)
    assert updated.status_code == 200, updated.json
    assert updated.json["name"] == "Rok Fien II"
    skus = [p["sku"] for p in client.get(f"{BASE}/acme/products").json["items"]]
    assert skus == ["ROK-1", "SKU-1", "SKU-2"]
    assert post_review(client, auth, product="ROK-1").status_code == 201
    assert client.get(f"{BASE}/acme/summary?product=ROK-1").json["count"] == 1


# --- OpenAPI -------------------------------------------------------------------


def test_openapi_document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["servers"][0]["url"].endswith("/api/v1")
    schemas = doc["components"]["schemas"]
    assert doc["components"]["securitySchemes"]["shopKey"] == {"type": "http", "scheme": "bearer"}
    # Every route of the API is there with its method.
    for path, method, view, query, body, output, status in api.ROUTES:
        assert path in doc["paths"], path
        op = doc["paths"][path][method]
        assert op["operationId"] == view
        assert str(status) in op["responses"]
        if body:
            assert op["requestBody"]["content"]["application/json"]["schema"]
            assert op["security"] == [{"shopKey": []}]
            assert {"401", "403", "415"} <= set(op["responses"])
        if query:
            assert any(p["in"] == "query" for p in op["parameters"])
    # Structure: operations have responses with descriptions; path parameters are declared; refs resolve.
    valid_methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            assert method in valid_methods
            assert op["responses"]
            for code, resp in op["responses"].items():
                assert code == "default" or code.isdigit()
                assert resp["description"]
            names = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            for segment in path.split("/"):
                if segment.startswith("{"):
                    assert segment.strip("{}") in names
            for param in op.get("parameters", []):
                assert param["in"] in {"path", "query", "header", "cookie"} and param["name"]
                if param["in"] == "path":
                    assert param["required"] is True

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    assert value.startswith("#/components/schemas/"), value
                    assert value.rsplit("/", 1)[1] in schemas, value
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    for name in ("Error", "Review", "ReviewPage", "Summary", "Shop", "Product", "ReviewImport"):
        assert name in schemas
    assert set(schemas["Error"]["required"]) == {"error", "errors"}
    # The query parameters of the review list are documented one by one.
    list_params = {p["name"] for p in doc["paths"]["/shops/{shop}/reviews"]["get"]["parameters"]}
    assert {"shop", "product", "rating", "verified", "sort", "limit", "cursor"} <= list_params


def test_openapi_document_is_valid_openapi_3(client):
    from openapi_spec_validator import validate

    validate(client.get("/api/v1/openapi.json").json)


# --- error paths ---------------------------------------------------------------


@pytest.mark.parametrize(
    "query, field",
    [
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("limit=2.5", "limit"),
        ("rating=0", "rating"),
        ("rating=6", "rating"),
        ("rating=x", "rating"),
        ("sort=random", "sort"),
        ("sort=", "sort"),
        ("verified=maybe", "verified"),
        ("cursor=abc", "cursor"),
        ("cursor=" + "a" * 600, "cursor"),
        ("product=a/b", "product"),
    ],
)
def test_bad_review_list_params(client, shop, query, field):
    assert_error(client.get(f"{BASE}/acme/reviews?{query}"), 400, field)


def test_nul_byte_in_query(client, shop):
    assert_error(client.get(f"{BASE}/acme/reviews?sort=new%00est"), 400)
    assert_error(client.get(f"{BASE}/acme/summary?product=SKU%00-1"), 400)


def test_unknown_shop_and_product(client, shop):
    for url in (f"{BASE}/nope", f"{BASE}/nope/products", f"{BASE}/nope/summary", f"{BASE}/nope/reviews"):
        assert_error(client.get(url), 404, "shop")
    assert_error(client.get(f"{BASE}/acme/summary?product=NOPE"), 404, "product")
    assert_error(client.get(f"{BASE}/acme/reviews?product=NOPE"), 404, "product")
    assert_error(client.post(f"{BASE}/nope/reviews", json={"rating": 4, "author": "a"}), 404, "shop")
    assert_error(client.get("/api/v1/nothing/here"), 404)


def test_unknown_product_on_import_is_400(client, auth):
    assert_error(post_review(client, auth, product="NOPE"), 400, "product")


def test_wrong_method_is_json_405(client, shop):
    assert_error(client.delete(f"{BASE}/acme/reviews"), 405)


def _cursor(client, query="sort=newest"):
    cursor = client.get(f"{BASE}/acme/reviews?limit=2&{query}").json["next_cursor"]
    assert cursor
    return cursor


def test_tampered_cursor(client, db, shop):
    seed(db, shop, varied_specs(10))
    cursor = _cursor(client)
    payload, signature = cursor.rsplit(".", 1)
    flipped = payload[:-3] + ("A" if payload[-3] != "A" else "B") + payload[-2:]
    assert_error(client.get(f"{BASE}/acme/reviews?limit=2&cursor={flipped}.{signature}"), 400, "cursor")
    # Deterministic: the replacement always differs from the character it replaces (an "x" over an "x"
    # left the cursor intact 1 time in 64).
    other = "A" if signature[0] != "A" else "B"
    assert_error(client.get(f"{BASE}/acme/reviews?limit=2&cursor={payload}.{other}{signature[1:]}"), 400, "cursor")
    # A cursor signed with another secret (another server, or a guessed key) is refused.
    from itsdangerous import URLSafeSerializer

    forged = URLSafeSerializer("not-the-secret", salt="review-cursor").dumps(
        {"k": ["2099-01-01T00:00:00.000000Z", 1], "s": "newest", "p": None, "r": None, "v": None})
    assert_error(client.get(f"{BASE}/acme/reviews?limit=2&cursor={forged}"), 400, "cursor")


@pytest.mark.parametrize(
    "first, reused",
    [
        ("sort=newest", "sort=oldest"),
        ("sort=highest", "sort=lowest"),
        ("sort=newest", "sort=newest&rating=3"),
        ("sort=newest", "sort=newest&product=SKU-1"),
        ("sort=newest&product=SKU-1", "sort=newest&product=SKU-2"),
        ("sort=newest", "sort=newest&verified=false"),
    ],
)
def test_cursor_reused_with_another_query(client, db, shop, first, reused):
    seed(db, shop, varied_specs(30))
    cursor = _cursor(client, first)
    assert_error(client.get(f"{BASE}/acme/reviews?limit=2&{reused}&cursor={cursor}"), 400, "cursor")


def test_cursor_from_another_shop_is_refused(client, db, shop, other_shop_key):
    seed(db, shop, varied_specs(10))
    beta = store.get_shop(db, "beta")
    store.add_review(db, beta["id"], rating=3, author="x")
    cursor = _cursor(client)
    # A cursor is bound to the shop whose list issued it (docs/api.md), whatever the other shop holds.
    body = assert_error(client.get(f"{BASE}/beta/reviews?limit=2&cursor={cursor}"), 400, "cursor")
    assert "another shop" in body["error"]


def test_write_auth_errors(client, db, shop, key, other_shop_key):
    url = f"{BASE}/acme/reviews"
    body = {"rating": 4, "author": "a"}
    assert_error(client.post(url, json=body), 401)
    assert_error(client.post(url, json=body, headers={"Authorization": f"Basic {key}"}), 401)
    assert_error(client.post(url, json=body, headers={"Authorization": "Bearer "}), 401)
    assert_error(client.post(url, json=body, headers={"Authorization": "Bearer nonsense"}), 401)
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert_error(client.post(url, json=body, headers={"Authorization": f"Bearer {forged}"}), 401)
    assert_error(client.post(url, json=body, headers={"Authorization": "Bearer eer_000000000000_x"}), 401)
    assert_error(client.post(url, json=body, headers={"Authorization": f"Bearer {other_shop_key}"}), 403)
    # Auth is checked before the body, on every write endpoint.
    for path in (f"{BASE}/acme/products", f"{BASE}/acme/reviews/1/reply"):
        assert_error(client.post(path, json={}), 401)
        assert_error(client.post(path, json={}, headers={"Authorization": f"Bearer {other_shop_key}"}), 403)
    assert store.summary_for(db, shop["id"])["count"] == 0


def test_revoked_key_is_rejected(client, db, shop, key, auth):
    assert post_review(client, auth).status_code == 201
    assert store.revoke_key(db, key)
    assert_error(post_review(client, auth), 401)
    assert store.summary_for(db, shop["id"])["count"] == 1


def test_bearer_scheme_is_case_insensitive(client, key):
    assert post_review(client, {"Authorization": f"bearer {key}"}).status_code == 201


def test_body_errors(client, auth):
    url = f"{BASE}/acme/reviews"
    assert_error(client.post(url, data="rating=4&author=a", headers=auth,
                             content_type="application/x-www-form-urlencoded"), 415)
    assert_error(client.post(url, data='{"rating": 4, "author": "a"}', headers=auth, content_type="text/plain"), 415)
    assert_error(client.post(url, data='{"rating": 4,', headers=auth, content_type="application/json"), 400, "_body")
    assert_error(client.post(url, data="", headers=auth, content_type="application/json"), 400)
    assert_error(client.post(url, data=b"\xff\xfe{}", headers=auth, content_type="application/json"), 400)
    assert_error(client.post(url, json=[{"rating": 4, "author": "a"}], headers=auth), 400, "_body")
    assert_error(client.post(url, json="text", headers=auth), 400, "_body")
    assert_error(client.post(url, data="null", headers=auth, content_type="application/json"), 400)


def test_oversized_body_is_413(client, app, auth):
    assert app.config["MAX_CONTENT_LENGTH"] == 64 * 1024
    big = json.dumps({"rating": 4, "author": "a", "body": "x" * (65 * 1024)})
    assert_error(client.post(f"{BASE}/acme/reviews", data=big, headers=auth, content_type="application/json"), 413)
    assert_error(client.post(f"{BASE}/acme/products", data=big, headers=auth, content_type="application/json"), 413)


def test_nul_bytes_in_body(client, auth):
    assert_error(post_review(client, auth, body="a\x00b"), 400, "body")
    assert_error(post_review(client, auth, author="a\x00"), 400, "author")
    # A raw NUL outside a string is not JSON at all.
    assert_error(client.post(f"{BASE}/acme/reviews", data=b'{"rating": 4,\x00 "author": "a"}', headers=auth,
                             content_type="application/json"), 400)


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"rating": "4"}, "rating"),
        ({"rating": 4.5}, "rating"),
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": "x"}, "rating"),
        ({"rating": None}, "rating"),
        ({"rating": True}, "rating"),
        ({"author": ""}, "author"),
        ({"author": "<b></b>"}, "author"),
        ({"author": "<script></script>   "}, "author"),
        ({"author": "x" * 101}, "author"),
        ({"title": "x" * 201}, "title"),
        ({"body": 123}, "body"),
        ({"locale": "xx"}, "locale"),
        ({"product": " SKU-1"}, "product"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"created_at": "2999-01-01T00:00:00Z"}, "created_at"),
        ({"external_id": ""}, "external_id"),
        ({"stars": 4}, "stars"),
        ({"source": "invitation"}, "source"),
    ],
)
def test_invalid_review_fields(client, db, shop, auth, fields, field):
    assert_error(post_review(client, auth, **fields), 400, field)
    assert store.summary_for(db, shop["id"])["count"] == 0


def test_missing_required_fields(client, auth):
    body = assert_error(client.post(f"{BASE}/acme/reviews", json={}, headers=auth), 400)
    assert {"rating", "author"} <= set(body["errors"])


def test_created_at_just_now_is_accepted(client, auth):
    now = datetime.now(timezone.utc).isoformat()
    assert post_review(client, auth, created_at=now).status_code == 201


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"gtin": "123"}, "gtin"),
        ({"gtin": "12345678901"}, "gtin"),
        ({"gtin": "abcdefgh"}, "gtin"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"image_url": "ftp://x.example/a.jpg"}, "image_url"),
        ({"sku": ""}, "sku"),
        ({"sku": "a/b"}, "sku"),
        ({"sku": "x" * 65}, "sku"),
        ({"name": "<i></i>"}, "name"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_product_fields(client, auth, fields, field):
    body = {"sku": "ROK-1", "name": "Rok", **fields}
    assert_error(client.post(f"{BASE}/acme/products", json=body, headers=auth), 400, field)


@pytest.mark.parametrize(
    "fields, field",
    [({"body": ""}, "body"), ({"author": "<b></b>"}, "author"), ({"role": None}, "role"), ({"extra": 1}, "extra")],
)
def test_invalid_reply_fields(client, auth, fields, field):
    review_id = post_review(client, auth).json["id"]
    body = {"body": "Dank", "author": "Joost", "role": "Eigenaar", **fields}
    assert_error(client.post(f"{BASE}/acme/reviews/{review_id}/reply", json=body, headers=auth), 400, field)


def test_non_numeric_review_id_in_reply_path_is_404(client, auth):
    assert_error(client.post(f"{BASE}/acme/reviews/abc/reply", json={}, headers=auth), 404)


# --- keyset pagination ---------------------------------------------------------


@pytest.mark.parametrize("sort", list(store.SORTS))
@pytest.mark.parametrize("product, rating", [(None, None), ("SKU-1", None), (None, 4), ("SKU-2", 2)])
def test_paging_yields_every_review_once_in_order(client, db, shop, sort, product, rating):
    seed(db, shop, varied_specs(60))
    ids = seed(db, shop, varied_specs(6))
    store.set_review_status(db, shop["id"], ids[0], "withdrawn")
    store.set_review_status(db, shop["id"], ids[1], "removed", reason="spam")
    query = f"&sort={sort}" + (f"&product={product}" if product else "") + (f"&rating={rating}" if rating else "")
    items = page_all(client, query, limit=4)
    product_id = store.product_by_sku(db, shop["id"], product)["id"] if product else None
    expected = expected_ids(db, shop["id"], sort, product_id, rating)
    assert expected
    assert [i["id"] for i in items] == expected


@pytest.mark.parametrize("sort", list(store.SORTS))
def test_paging_while_reviews_arrive_never_repeats_or_skips(client, db, shop, sort):
    seed(db, shop, varied_specs(40))
    existing = expected_ids(db, shop["id"], sort)
    seen, cursor, arrivals = [], None, []
    for n in itertools.count():
        url = f"{BASE}/acme/reviews?limit=6&sort={sort}" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url).json
        seen.extend(i["id"] for i in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        # New reviews arrive (newest of all) between page fetches, some with the ratings being paged.
        for k in range(3):
            arrivals.append(store.add_review(db, shop["id"], rating=(n + k) % 5 + 1, author="new",
                                             product_sku=None if k else "SKU-1"))
    assert len(seen) == len(set(seen)), "a review was repeated"
    assert [i for i in seen if i in set(existing)] == existing, "an existing review was skipped or misplaced"
    assert set(seen) - set(existing) <= set(arrivals)
    if sort == "newest":
        assert seen == existing  # arrivals are newer than the first page: none of them shows up later


def _tally(items):
    dist = {str(s): 0 for s in range(1, 6)}
    for item in items:
        dist[str(item["rating"])] += 1
    return {"count": len(items), "rating_sum": sum(i["rating"] for i in items), "distribution": dist}


def test_summary_equals_what_paging_adds_up_to(client, db, shop):
    ids = seed(db, shop, varied_specs(75))
    store.set_review_status(db, shop["id"], ids[3], "withdrawn")
    store.set_review_status(db, shop["id"], ids[4], "removed", reason="spam")
    store.update_review(db, shop["id"], ids[5], rating=1, title="Changed", body="", author="A")
    for product in (None, "SKU-1", "SKU-2"):
        q = f"&product={product}" if product else ""
        tally = _tally(page_all(client, q, limit=9))
        summary = client.get(f"{BASE}/acme/summary" + (f"?product={product}" if product else "")).json
        assert {k: summary[k] for k in ("count", "rating_sum", "distribution")} == tally, product
        assert summary["average"] == round(tally["rating_sum"] / tally["count"], 2)
        assert tally["count"] > 0
    # Every star filter pages to the count in the distribution.
    summary = client.get(f"{BASE}/acme/summary").json
    for star in range(1, 6):
        assert len(page_all(client, f"&rating={star}", limit=50)) == summary["distribution"][str(star)]


# --- isolation between shops ---------------------------------------------------


def test_shops_are_isolated(client, db, shop, auth, other_shop_key):
    beta = store.get_shop(db, "beta")
    beta_auth = {"Authorization": f"Bearer {other_shop_key}"}
    store.upsert_product(db, beta["id"], "SKU-1", name="Beta item")
    beta_review = post_review(client, beta_auth, slug="beta", rating=1, author="Beta buyer", product="SKU-1").json
    acme_review = post_review(client, auth, rating=5, author="Acme buyer", product="SKU-1").json
    # Keys only write to their own shop.
    assert_error(post_review(client, auth, slug="beta"), 403)
    assert_error(client.post(f"{BASE}/beta/products", json={"sku": "X", "name": "X"}, headers=auth), 403)
    # Reviews, summaries and products do not leak.
    acme_items = client.get(f"{BASE}/acme/reviews").json["items"]
    assert [i["id"] for i in acme_items] == [acme_review["id"]]
    assert [i["id"] for i in client.get(f"{BASE}/beta/reviews").json["items"]] == [beta_review["id"]]
    assert client.get(f"{BASE}/acme/summary").json["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}
    assert client.get(f"{BASE}/acme/summary?product=SKU-1").json["count"] == 1
    assert client.get(f"{BASE}/beta/summary?product=SKU-1").json["distribution"]["1"] == 1
    assert_error(client.get(f"{BASE}/beta/summary?product=SKU-2"), 404, "product")
    # A reply with acme's key to beta's review id through acme's URL is a 404, and beta's review is untouched.
    reply = {"body": "Not yours", "author": "Mallory", "role": "Owner"}
    assert_error(client.post(f"{BASE}/acme/reviews/{beta_review['id']}/reply", json=reply, headers=auth), 404)
    assert_error(client.post(f"{BASE}/beta/reviews/{beta_review['id']}/reply", json=reply, headers=auth), 403)
    assert client.get(f"{BASE}/beta/reviews").json["items"][0]["reply"] is None
    assert store.recompute(db) == []


# --- API keys ------------------------------------------------------------------


def test_api_keys_are_stored_hashed(db, shop, key):
    rows = list(db.query("SELECT * FROM api_keys"))
    assert len(rows) == 1
    secret_part = key.split("_", 2)[2]
    for value in rows[0].values():
        assert key not in str(value)
        assert secret_part not in str(value)
    assert rows[0]["revoked_at"] is None
    assert store.shop_id_for_key(db, key) == shop["id"]
    # Nothing else in the database holds the key either.
    for table in db.table_names():
        for row in db.query(f"SELECT * FROM [{table}]"):
            assert secret_part not in json.dumps(row, default=str)


def test_revoke_by_id_and_twice(db, shop, key):
    key_id = key.split("_")[1]
    assert store.revoke_key(db, key_id)
    assert store.shop_id_for_key(db, key) is None
    assert not store.revoke_key(db, key)


# --- HTTP caching --------------------------------------------------------------


READ_URLS = [f"{BASE}/acme", f"{BASE}/acme/products", f"{BASE}/acme/summary", f"{BASE}/acme/summary?product=SKU-1",
             f"{BASE}/acme/reviews", f"{BASE}/acme/reviews?sort=lowest&rating=1"]


@pytest.mark.parametrize("url", READ_URLS)
def test_reads_are_cacheable_and_revalidate(client, db, shop, auth, url):
    first = client.get(url)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    cache_control = first.headers["Cache-Control"]
    assert cache_control.startswith("public") and "stale-while-revalidate" in cache_control
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert client.get(url, headers={"If-None-Match": f'"other", {etag}'}).status_code == 304
    assert client.get(url, headers={"If-None-Match": f"W/{etag}"}).status_code == 304  # weak comparison
    assert client.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200
    # A write to the shop changes every representation of it.
    assert post_review(client, auth, rating=1, product="SKU-1").status_code == 201
    after = client.get(url, headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["ETag"] != etag


def test_every_kind_of_write_bumps_the_etag(client, db, shop, auth):
    url = f"{BASE}/acme/reviews"
    etags = [client.get(url).headers["ETag"]]
    review_id = post_review(client, auth).json["id"]
    etags.append(client.get(url).headers["ETag"])
    client.post(f"{url}/{review_id}/reply", json={"body": "Dank", "author": "J", "role": "Owner"}, headers=auth)
    etags.append(client.get(url).headers["ETag"])
    client.post(f"{BASE}/acme/products", json={"sku": "N-1", "name": "New"}, headers=auth)
    etags.append(client.get(url).headers["ETag"])
    store.set_review_status(db, shop["id"], review_id, "withdrawn")
    etags.append(client.get(url).headers["ETag"])
    assert len(set(etags)) == len(etags)


def test_etags_differ_per_representation_and_shop(client, db, shop, other_shop_key):
    etags = {client.get(url).headers["ETag"] for url in READ_URLS}
    assert len(etags) == len(READ_URLS)
    assert client.get(f"{BASE}/beta/reviews").headers["ETag"] != client.get(f"{BASE}/acme/reviews").headers["ETag"]


# --- CORS ----------------------------------------------------------------------


def test_cors_on_reads_only(client, shop, auth):
    for url in READ_URLS + ["/api/v1/openapi.json"]:
        assert client.get(url).headers.get("Access-Control-Allow-Origin") == "*", url
    # Error answers of reads may be read cross-origin too (so a widget can show them).
    assert client.get(f"{BASE}/acme/reviews?limit=0").headers.get("Access-Control-Allow-Origin") == "*"
    created = post_review(client, auth)
    assert created.status_code == 201
    assert "Access-Control-Allow-Origin" not in created.headers
    for response in (
        client.post(f"{BASE}/acme/products", json={"sku": "Z", "name": "Z"}, headers=auth),
        client.post(f"{BASE}/acme/reviews/{created.json['id']}/reply", json={"body": "b", "author": "a", "role": "r"},
                    headers=auth),
        client.post(f"{BASE}/acme/reviews", json={"rating": 9, "author": "a"}, headers=auth),
        client.post(f"{BASE}/acme/reviews", json={"rating": 4, "author": "a"}),
    ):
        assert "Access-Control-Allow-Origin" not in response.headers


def test_reviews_url_follows_public_base_url(app, client, shop):
    """Behind a proxy the shop's hosted page is named by PUBLIC_BASE_URL, like every other link."""
    assert client.get("/api/v1/shops/acme").json["reviews_url"] == "http://localhost/s/acme"
    app.config["PUBLIC_BASE_URL"] = "https://reviews.acme.example/"
    assert client.get("/api/v1/shops/acme").json["reviews_url"] == "https://reviews.acme.example/s/acme"


# --- one review, product names ----------------------------------------------------------


def test_get_one_review_with_its_product_name(client, db, shop):
    ids = seed(db, shop, [(4, "SKU-1", 0), (2, None, 1)])
    store.set_reply(db, shop["id"], ids[0], body="Dank je", author="Sanne", role="Klantenservice")
    one = client.get(f"{BASE}/acme/reviews/{ids[0]}")
    assert one.status_code == 200
    assert one.json["id"] == ids[0] and one.json["product"] == "SKU-1" and one.json["product_name"] == "Jurk Linde"
    assert one.json["reply"]["body"] == "Dank je"
    assert one.json == next(i for i in client.get(f"{BASE}/acme/reviews").json["items"] if i["id"] == ids[0])
    shop_review = client.get(f"{BASE}/acme/reviews/{ids[1]}").json
    assert shop_review["product"] is None and shop_review["product_name"] is None
    again = client.get(f"{BASE}/acme/reviews/{ids[0]}", headers={"If-None-Match": one.headers["ETag"]})
    assert again.status_code == 304


def test_get_one_review_refuses_other_shops_and_unpublished_reviews(client, db, shop):
    ids = seed(db, shop, [(4, None, 0), (3, None, 1)])
    other = store.create_shop(db, "other", "Other")
    foreign = store.add_review(db, other["id"], rating=5, author="X")
    store.set_review_status(db, shop["id"], ids[1], "withdrawn")
    for path in (f"{BASE}/acme/reviews/{foreign}", f"{BASE}/acme/reviews/{ids[1]}", f"{BASE}/acme/reviews/999999",
                 f"{BASE}/nope/reviews/{ids[0]}"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert answer.json["error"]
    assert client.get(f"{BASE}/other/reviews/{foreign}").status_code == 200


def test_every_listed_review_names_its_product(client, db, shop):
    seed(db, shop, [(5, "SKU-1", 0), (1, "SKU-2", 1), (3, None, 2)])
    names = {i["product"]: i["product_name"] for i in client.get(f"{BASE}/acme/reviews").json["items"]}
    assert names == {"SKU-1": "Jurk Linde", "SKU-2": "Trui Noor", None: None}
