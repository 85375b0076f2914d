"""The key-protected API for alerts, webhooks and their delivery log; the OpenAPI document describes it."""

from __future__ import annotations

from notify_helpers import receiver  # noqa: F401

from widgetserver import outbox, store, webhooks


def test_alerts_add_list_change_remove(client, auth):
    created = client.post("/api/v1/shops/acme/alerts", headers=auth,
                          json={"email": "service@acme.example", "max_rating": 2})
    assert created.status_code == 201 and created.get_json()["mode"] == "immediate"
    changed = client.post("/api/v1/shops/acme/alerts", headers=auth,
                          json={"email": "service@acme.example", "max_rating": 3, "mode": "digest"})
    assert changed.status_code == 200 and changed.get_json()["id"] == created.get_json()["id"]
    listing = client.get("/api/v1/shops/acme/alerts", headers=auth)
    assert listing.headers["Cache-Control"] == "no-store"
    assert [(a["email"], a["max_rating"], a["mode"]) for a in listing.get_json()["items"]] == [
        ("service@acme.example", 3, "digest")]
    removed = client.delete(f"/api/v1/shops/acme/alerts/{created.get_json()['id']}", headers=auth)
    assert removed.status_code == 200 and removed.get_json()["items"] == []
    assert client.delete(f"/api/v1/shops/acme/alerts/{created.get_json()['id']}", headers=auth).status_code == 404


def test_alert_input_errors_name_the_field(client, auth):
    response = client.post("/api/v1/shops/acme/alerts", headers=auth,
                           json={"email": "nope", "max_rating": 9, "mode": "weekly", "extra": 1})
    assert response.status_code == 400
    assert set(response.get_json()["errors"]) == {"email", "max_rating", "mode", "extra"}


def test_keys_guard_every_route(client, auth, other_shop_key):
    other = {"Authorization": f"Bearer {other_shop_key}"}
    for method, path in [("get", "/alerts"), ("post", "/alerts"), ("delete", "/alerts/1"), ("get", "/webhooks"),
                         ("post", "/webhooks"), ("delete", "/webhooks/1"), ("get", "/webhooks/1/deliveries"),
                         ("post", "/reviews/1/resolved"), ("get", "/reviews/1/resolved")]:
        url = "/api/v1/shops/acme" + path
        assert getattr(client, method)(url).status_code == 401, (method, path)
        assert getattr(client, method)(url, headers=other, json={}).status_code == 403, (method, path)


def test_webhook_secret_only_in_the_creation_answer(app, client, auth, db, shop, receiver):
    created = client.post("/api/v1/shops/acme/webhooks", headers=auth,
                          json={"url": receiver.url, "events": ["review.created"], "description": "helpdesk"})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    secret = body["secret"]
    assert secret.startswith("whsec_") and body["events"] == ["review.created"]
    listing = client.get("/api/v1/shops/acme/webhooks", headers=auth)
    assert secret not in listing.get_data(as_text=True)
    assert listing.get_json()["items"][0]["secret_hint"] == secret[:10] + "..."
    store.add_review(db, shop["id"], rating=1, author="Piet", source="open")
    receiver.statuses = [500]
    outbox.deliver_due(app, db)
    log = client.get(f"/api/v1/shops/acme/webhooks/{body['id']}/deliveries", headers=auth)
    assert log.status_code == 200 and secret not in log.get_data(as_text=True)
    [entry] = log.get_json()["items"]
    assert (entry["event"], entry["attempt"], entry["status_code"], entry["outcome"]) == ("review.created", 1, 500, "retry")
    assert entry["next_attempt_at"] and entry["error"] == "HTTP 500"
    assert webhooks.verify(secret, receiver.requests[0]["headers"]["Eerlijk-Signature"], receiver.requests[0]["body"])
    assert client.get(f"/api/v1/shops/acme/webhooks/{body['id']}/deliveries?limit=0", headers=auth).status_code == 400
    assert client.delete(f"/api/v1/shops/acme/webhooks/{body['id']}", headers=auth).get_json()["items"] == []
    assert client.get(f"/api/v1/shops/acme/webhooks/{body['id']}/deliveries", headers=auth).status_code == 200


def test_webhook_urls_are_checked(client, auth):
    for url, field in [("ftp://x.example/", "url"), ("http://127.0.0.1/x", "url"), ("http://10.1.2.3/", "url"),
                       ("not a url", "url")]:
        response = client.post("/api/v1/shops/acme/webhooks", headers=auth, json={"url": url})
        assert response.status_code == 400 and field in response.get_json()["errors"], (url, response.get_json())
    response = client.post("/api/v1/shops/acme/webhooks", headers=auth,
                           json={"url": "https://hooks.example/x", "events": ["review.deleted"]})
    assert response.status_code == 400 and "events.0" in response.get_json()["errors"]


def test_openapi_lists_the_owner_routes_with_their_key(client):
    from openapi_spec_validator import validate

    spec = client.get("/api/v1/openapi.json").get_json()
    validate(spec)
    paths = spec["paths"]
    for path, method in [("/shops/{shop}/alerts", "get"), ("/shops/{shop}/alerts", "post"),
                         ("/shops/{shop}/alerts/{alert_id}", "delete"), ("/shops/{shop}/webhooks", "post"),
                         ("/shops/{shop}/webhooks/{endpoint_id}/deliveries", "get"),
                         ("/shops/{shop}/reviews/{review_id}/resolved", "post")]:
        op = paths[path][method]
        assert op["security"] == [{"shopKey": []}], (path, method)
        assert "401" in op["responses"] and op["summary"]
    assert "secret" in spec["components"]["schemas"]["WebhookCreated"]["properties"]
    assert "secret" not in spec["components"]["schemas"]["Webhook"]["properties"]
    assert "outcome" in spec["components"]["schemas"]["Reply"]["properties"]
