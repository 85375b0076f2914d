"""Settings → Alerts and webhooks in the workspace: add/remove recipients and endpoints, owner only, per shop."""

from __future__ import annotations

import lxml.html
import pytest
from notify_helpers import receiver  # noqa: F401
from workspace_helpers import csrf_of, log_in, make_user

from widgetserver import alerts, outbox, store, webhooks

PAGE = "/workspace/acme/settings/notifications"


@pytest.fixture
def owner(client, db, shop):
    make_user(db, shop)
    assert log_in(client).status_code == 302
    return client


def post(client, path, data):
    return client.post(path, data={**data, "csrf_token": csrf_of(client, PAGE)})


def test_owner_adds_and_removes_an_alert_recipient(owner, db, shop):
    added = post(owner, f"{PAGE}/recipients", {"email": "sanne@acme.example", "max_rating": "2", "mode": "digest"})
    assert added.status_code == 303
    [recipient] = alerts.list_recipients(db, shop["id"])
    assert (recipient["email"], recipient["max_rating"], recipient["mode"]) == ("sanne@acme.example", 2, "digest")
    assert "sanne@acme.example" in owner.get(PAGE).get_data(as_text=True)
    removed = post(owner, f"{PAGE}/recipients/{recipient['id']}/stop", {})
    assert removed.status_code == 303 and alerts.list_recipients(db, shop["id"]) == []


@pytest.mark.parametrize("data, field", [
    ({"email": "not-an-address", "max_rating": "2", "mode": "immediate"}, "email"),
    ({"email": "a@acme.example", "max_rating": "9", "mode": "immediate"}, "max_rating"),
    ({"email": "a@acme.example", "max_rating": "²", "mode": "immediate"}, "max_rating"),
    ({"email": "a@acme.example", "max_rating": "2", "mode": "hourly"}, "mode"),
])
def test_bad_recipient_is_a_400_with_a_message_for_the_field(owner, db, shop, data, field):
    response = post(owner, f"{PAGE}/recipients", data)
    assert response.status_code == 400
    tree = lxml.html.fromstring(response.get_data(as_text=True))
    assert tree.xpath(f"//a[@href='#{field}']")
    assert alerts.list_recipients(db, shop["id"]) == []


def test_owner_adds_a_webhook_sees_the_secret_once_and_it_signs(app, owner, db, shop, receiver):  # noqa: F811
    app.config["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"] = True  # the receiver listens on loopback
    response = post(owner, f"{PAGE}/webhooks", {"url": receiver.url, "events": ["review.created"]})
    assert response.status_code == 200
    secret = lxml.html.fromstring(response.get_data(as_text=True)).xpath("//input[@id='new-secret']/@value")[0]
    assert secret.startswith("whsec_")
    assert secret not in owner.get(PAGE).get_data(as_text=True)  # never shown again
    store.add_review(db, shop["id"], rating=1, author="Piet", body="Kapot.", source="open", actor="author")
    assert outbox.deliver_due(app, db)["delivered"] == 1
    [call] = receiver.requests
    headers = {k.lower(): v for k, v in call["headers"].items()}
    assert webhooks.verify(secret, headers["eerlijk-signature"], call["body"])
    assert "review.created" in owner.get(PAGE).get_data(as_text=True)  # the delivery log
    [endpoint] = webhooks.list_endpoints(db, shop["id"])
    assert post(owner, f"{PAGE}/webhooks/{endpoint['id']}/stop", {}).status_code == 303
    assert webhooks.list_endpoints(db, shop["id"]) == []


def test_private_addresses_and_empty_events_are_refused(owner, db, shop):
    refused = post(owner, f"{PAGE}/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["review.created"]})
    assert refused.status_code == 400
    assert post(owner, f"{PAGE}/webhooks", {"url": "https://hooks.example/x"}).status_code == 400
    assert webhooks.list_endpoints(db, shop["id"]) == []


def test_staff_and_other_shops_cannot_touch_it(client, db, shop):
    make_user(db, shop, email="staff@acme.example", role="staff")
    other = store.create_shop(db, "beta", "Beta")
    make_user(db, other, email="owner@beta.example")
    recipient, _ = alerts.add_recipient(db, shop["id"], "sanne@acme.example")
    log_in(client, "staff@acme.example")
    assert client.get(PAGE).status_code == 403
    client.post("/workspace/logout", data={"csrf_token": csrf_of(client, "/workspace/acme/")})
    log_in(client, "owner@beta.example")
    assert client.get(PAGE).status_code == 404
    token = csrf_of(client, "/workspace/beta/settings/notifications")
    assert client.post(f"{PAGE}/recipients/{recipient['id']}/stop", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/workspace/beta/settings/notifications/recipients/{recipient['id']}/stop",
                       data={"csrf_token": token}).status_code == 404
    assert len(alerts.list_recipients(db, shop["id"])) == 1
