"""The OpenAPI document describes the server truthfully: for every operation, each documented status code is
provoked here and answered as documented, and no operation answers a status the document leaves out
(issue 8: 200, 409 and 413 were missing, review_id was typed as a string, lengths and URL formats absent)."""

from __future__ import annotations

import pytest

from widgetserver import alerts, followup, store, webhooks

BASE = "/api/v1/shops"
BIG = "x" * 70_000  # over MAX_CONTENT_LENGTH (64 KiB)


@pytest.fixture
def doc(client):
    return client.get("/api/v1/openapi.json").json


@pytest.fixture
def world(db, shop, key, other_shop_key):
    """acme with a review that has no reply yet, one that has, an imported external id, an invitation."""
    plain = store.add_review(db, shop["id"], rating=2, author="A")
    replied = store.add_review(db, shop["id"], rating=1, author="B", external_id="ext-1")
    store.set_reply(db, shop["id"], replied, body="Sorry", author="Eva", role="Service")
    bare = store.add_review(db, shop["id"], rating=1, author="C")  # never replied to
    resolved = store.add_review(db, shop["id"], rating=2, author="D")
    store.set_reply(db, shop["id"], resolved, body="Fixed", author="Eva", role="Service")
    followup.mark_resolved(db, shop["id"], resolved)
    alert, _ = alerts.add_recipient(db, shop["id"], "service@acme.example")  # removed by the DELETE below
    alerts.add_recipient(db, shop["id"], "desk@acme.example")  # changed by a POST
    endpoint, _ = webhooks.add_endpoint(db, shop["id"], "https://hooks.example/eerlijk")
    return {"key": key, "other": other_shop_key, "plain": plain, "replied": replied, "bare": bare,
            "resolved": resolved, "alert": alert["id"], "endpoint": endpoint["id"], "db": db, "shop": shop}


def provoke(client, world):
    """(operationId, status) -> a function that makes the server answer that status."""
    own = {"Authorization": f"Bearer {world['key']}"}
    other = {"Authorization": f"Bearer {world['other']}"}

    def get(url, **kw):
        return lambda: client.get(url, **kw)

    def not_modified(url):
        def run():
            etag = client.get(url).headers["ETag"]
            return client.get(url, headers={"If-None-Match": etag})
        return run

    def post(url, body=None, headers=own, **kw):
        return lambda: client.post(url, json=body, headers=headers, **kw) if body is not None else \
            client.post(url, headers=headers, **kw)

    writes = {
        "import_review": (f"{BASE}/acme/reviews", {"rating": 3, "author": "C"}),
        "reply": (f"{BASE}/acme/reviews/{world['plain']}/reply", {"body": "Thanks", "author": "Eva", "role": "Owner"}),
        "upsert_product": (f"{BASE}/acme/products", {"sku": "NEW-1", "name": "New"}),
        "create_invitation": (f"{BASE}/acme/invitations",
                              {"order_ref": "o-1", "name": "Jan", "delivered_at": "2025-03-01T12:00:00Z"}),
        "tone_check": (f"{BASE}/acme/tone-check", {"body": "Thank you.", "review_id": world["plain"]}),
    }
    table = {
        ("get_shop", 200): get(f"{BASE}/acme"),
        ("get_shop", 304): not_modified(f"{BASE}/acme"),
        ("get_shop", 404): get(f"{BASE}/nope"),
        ("list_products", 200): get(f"{BASE}/acme/products"),
        ("list_products", 304): not_modified(f"{BASE}/acme/products"),
        ("list_products", 404): get(f"{BASE}/nope/products"),
        ("get_summary", 200): get(f"{BASE}/acme/summary?product=SKU-1"),
        ("get_summary", 304): not_modified(f"{BASE}/acme/summary"),
        ("get_summary", 400): get(f"{BASE}/acme/summary?product=%20x"),
        ("get_summary", 404): get(f"{BASE}/acme/summary?product=NOPE"),
        ("list_reviews", 200): get(f"{BASE}/acme/reviews?sort=lowest"),
        ("list_reviews", 304): not_modified(f"{BASE}/acme/reviews"),
        ("list_reviews", 400): get(f"{BASE}/acme/reviews?rating=²"),
        ("list_reviews", 404): get(f"{BASE}/nope/reviews"),
        ("get_review", 200): get(f"{BASE}/acme/reviews/{world['plain']}"),
        ("get_review", 304): not_modified(f"{BASE}/acme/reviews/{world['plain']}"),
        ("get_review", 404): get(f"{BASE}/acme/reviews/999999"),
        ("embed.snippet", 200): get(f"{BASE}/acme/snippet?widget=badge"),
        ("embed.snippet", 304): not_modified(f"{BASE}/acme/snippet?widget=badge"),
        ("embed.snippet", 400): get(f"{BASE}/acme/snippet?widget=nope"),
        ("embed.snippet", 404): get(f"{BASE}/nope/snippet?widget=badge"),
        ("import_review", 201): post(*writes["import_review"]),
        ("import_review", 409): post(f"{BASE}/acme/reviews", {"rating": 3, "author": "C", "external_id": "ext-1"}),
        ("reply", 201): post(*writes["reply"]),
        ("reply", 200): post(f"{BASE}/acme/reviews/{world['replied']}/reply",
                             {"body": "Sorry again", "author": "Eva", "role": "Owner"}),
        ("upsert_product", 201): post(*writes["upsert_product"]),
        ("upsert_product", 200): post(f"{BASE}/acme/products", {"sku": "SKU-1", "name": "Jurk"}),
        ("create_invitation", 201): post(*writes["create_invitation"]),
    }

    def invited_again():
        post(*writes["create_invitation"])()
        return post(*writes["create_invitation"])()

    table[("create_invitation", 200)] = invited_again

    # The owner API: every operation needs the key, also the reads and deletes.
    db, shop = world["db"], world["shop"]
    writes.update({
        "owner_api.add_alert": (f"{BASE}/acme/alerts", {"email": "shop@acme.example", "max_rating": 2}),
        "owner_api.add_webhook": (f"{BASE}/acme/webhooks", {"url": "https://hooks.example/new"}),
        "owner_api.mark_resolved": (f"{BASE}/acme/reviews/{world['replied']}/resolved", {}),
    })
    keyed = {
        "owner_api.list_alerts": ("get", f"{BASE}/acme/alerts", f"{BASE}/nope/alerts"),
        "owner_api.remove_alert": ("delete", f"{BASE}/acme/alerts/{world['alert']}", f"{BASE}/acme/alerts/999999"),
        "owner_api.list_webhooks": ("get", f"{BASE}/acme/webhooks", f"{BASE}/nope/webhooks"),
        "owner_api.remove_webhook": ("delete", f"{BASE}/acme/webhooks/{world['endpoint']}",
                                     f"{BASE}/acme/webhooks/999999"),
        "owner_api.webhook_deliveries": ("get", f"{BASE}/acme/webhooks/{world['endpoint']}/deliveries?limit=5",
                                         f"{BASE}/acme/webhooks/999999/deliveries"),
        "owner_api.get_resolved": ("get", f"{BASE}/acme/reviews/{world['resolved']}/resolved",
                                   f"{BASE}/acme/reviews/{world['plain']}/resolved"),
    }

    def call(method, url, headers=own):
        return lambda: getattr(client, method)(url, headers=headers)

    for view, (method, url, missing) in keyed.items():
        table[(view, 200)] = call(method, url)
        table[(view, 401)] = call(method, url, headers={})
        table[(view, 403)] = call(method, url, headers=other)
        table[(view, 404)] = call(method, missing)
    table[("owner_api.webhook_deliveries", 400)] = call("get", f"{BASE}/acme/webhooks/{world['endpoint']}"
                                                                f"/deliveries?limit=٣")

    def full(url, body, fill, remove):
        """The shop at its limit (filled directly in the store), one more asked for, the fillers removed."""
        def run():
            made = []
            while True:
                try:
                    made.append(fill(len(made)))
                except store.StoreError as exc:
                    assert exc.status == 409
                    break
            try:
                return post(url, body)()
            finally:
                for item in made:
                    remove(item)
        return run

    table[("owner_api.add_alert", 201)] = post(*writes["owner_api.add_alert"])
    table[("owner_api.add_alert", 200)] = post(f"{BASE}/acme/alerts", {"email": "desk@acme.example",
                                                                        "max_rating": 3, "mode": "digest"})
    table[("owner_api.add_alert", 409)] = full(
        f"{BASE}/acme/alerts", {"email": "one-more@acme.example"}, lambda n: alerts.add_recipient(db, shop["id"], f"fill{n}@acme.example")[0]["id"],
        lambda item: alerts.remove_recipient(db, shop["id"], item))
    table[("owner_api.add_webhook", 201)] = post(*writes["owner_api.add_webhook"])
    table[("owner_api.add_webhook", 409)] = full(
        f"{BASE}/acme/webhooks", {"url": "https://hooks.example/one-more"}, lambda n: webhooks.add_endpoint(db, shop["id"], f"https://hooks.example/{n}")[0]["id"],
        lambda item: webhooks.remove_endpoint(db, shop["id"], item))
    table[("owner_api.mark_resolved", 201)] = post(*writes["owner_api.mark_resolved"])
    table[("owner_api.mark_resolved", 200)] = post(f"{BASE}/acme/reviews/{world['resolved']}/resolved")
    table[("owner_api.mark_resolved", 409)] = post(f"{BASE}/acme/reviews/{world['bare']}/resolved")
    for view, (url, body) in writes.items():
        table[(view, 400)] = post(url, {})
        table[(view, 401)] = post(url, body, headers={})
        table[(view, 403)] = post(url, body, headers=other)
        table[(view, 404)] = post(url.replace("/acme/", "/nope/"), body)
        table[(view, 413)] = post(url, headers={**own, "Content-Type": "application/json"}, data=BIG)
        table[(view, 415)] = post(url, headers=own, data="rating=5", content_type="text/plain")
    table[("reply", 404)] = post(f"{BASE}/acme/reviews/999999/reply", writes["reply"][1])
    table[("owner_api.mark_resolved", 400)] = post(writes["owner_api.mark_resolved"][0], {"rating": 5})
    table[("owner_api.mark_resolved", 404)] = post(f"{BASE}/acme/reviews/999999/resolved")
    table[("tone_check", 200)] = post(*writes["tone_check"])
    table[("tone_check", 404)] = post(f"{BASE}/acme/tone-check", {"body": "x", "review_id": 999999})
    return table


def documented(doc) -> dict[tuple[str, int], dict]:
    out = {}
    for item in doc["paths"].values():
        for op in item.values():
            for code, response in op["responses"].items():
                out[(op["operationId"], int(code))] = response
    return out


def test_every_documented_status_is_answered_and_nothing_else_is_documented(client, world, doc):
    table = provoke(client, world)
    statuses = documented(doc)
    assert sorted(statuses) == sorted(table), "document and server disagree on which answers exist"
    for (view, status), run in table.items():
        response = run()
        assert response.status_code == status, (view, status, response.status_code, response.get_data(as_text=True)[:300])
        declared = statuses[(view, status)]
        if status == 304:
            assert response.get_data() == b"" and "content" not in declared
        else:
            assert response.mimetype == "application/json" and set(declared["content"]) == {"application/json"}
        if status >= 400:  # the API's one error shape; a 400 names each field it refuses
            body = response.json
            assert set(body) == {"error", "errors"} and body["error"], (view, status, body)
            assert all(isinstance(m, list) and m for m in body["errors"].values()), (view, status, body)
            assert status != 400 or body["errors"], (view, body)


def test_review_id_is_an_integer_and_huge_ids_are_a_404(client, world, doc):
    params = doc["paths"]["/shops/{shop}/reviews/{review_id}/reply"]["post"]["parameters"]
    review_id = next(p for p in params if p["name"] == "review_id")
    assert review_id["schema"]["type"] == "integer"
    auth = {"Authorization": f"Bearer {world['key']}"}
    body = {"body": "x", "author": "y", "role": "z"}
    for value in (review_id["schema"]["maximum"], review_id["schema"]["maximum"] + 1, 10**30):
        response = client.post(f"{BASE}/acme/reviews/{value}/reply", json=body, headers=auth)
        assert response.status_code == 404, response.get_data(as_text=True)
        assert client.get(f"{BASE}/acme/reviews/{value}").status_code == 404


def test_lengths_and_formats_are_documented(doc):
    schemas = doc["components"]["schemas"]
    author = schemas["ReviewImport"]["properties"]["author"]
    assert (author["minLength"], author["maxLength"]) == (1, 100)
    assert schemas["ReviewImport"]["properties"]["body"]["maxLength"] == 10000
    assert schemas["ReplyInput"]["properties"]["body"]["minLength"] == 1
    assert schemas["ProductInput"]["properties"]["url"]["format"] == "uri"
    assert schemas["Product"]["properties"]["url"]["format"] == "uri"
    assert schemas["Shop"]["properties"]["reviews_url"]["format"] == "uri"
    assert schemas["ReviewImport"]["properties"]["created_at"]["format"] == "date-time"
    assert schemas["InvitationInput"]["properties"]["order_ref"]["pattern"]


@pytest.mark.parametrize("method, url, allowed", [
    ("delete", f"{BASE}/acme/reviews", {"GET", "HEAD", "OPTIONS", "POST"}),
    ("put", f"{BASE}/acme", {"GET", "HEAD", "OPTIONS"}),
    ("get", f"{BASE}/acme/invitations", {"OPTIONS", "POST"}),
])
def test_405_keeps_the_allow_header(client, shop, method, url, allowed):
    response = getattr(client, method)(url)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed
    assert response.json["error"]
