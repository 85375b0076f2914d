"""Invitations: the API call, idempotency, validation, the CSV import, the list, and where e-mail never shows."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from invitation_helpers import EMAIL, T0, clock, invite, mailed_link, open_form, path_of  # noqa: F401

from widgetserver import invitations, store
from widgetserver.cli import main
from widgetserver.transfer import export_lines


def test_create_returns_link_and_send_at_after_the_shop_delay(client, auth, clock):
    data = invite(client, auth, email=None)
    assert data["review_url"].startswith("http://localhost/r/") and data["link_status"] == "returned"
    assert data["send_at"] == (T0 + timedelta(days=5)).isoformat()
    assert data["status"] == "pending"
    assert data["expires_at"] == (T0 + timedelta(days=65)).isoformat()


def test_shop_setting_changes_the_delay(client, auth, db, shop, clock):
    store.update_shop_settings(db, shop["id"], invitation_delay_days=2)
    data = invite(client, auth)
    assert data["send_at"] == (T0 + timedelta(days=2)).isoformat()


def test_repeat_for_the_same_order_is_idempotent(client, auth, clock):
    first = client.post("/api/v1/shops/acme/invitations", headers=auth, json={
        "order_ref": "A-1", "name": "Sanne", "email": EMAIL, "skus": ["SKU-1"], "delivered_at": T0.isoformat()})
    assert first.status_code == 201
    clock.advance(hours=3)
    again = client.post("/api/v1/shops/acme/invitations", headers=auth, json={
        "order_ref": "A-1", "name": "Sanne", "email": EMAIL, "skus": ["SKU-1"],
        "delivered_at": (T0 + timedelta(days=1)).isoformat()})
    assert again.status_code == 200
    for key in ("id", "send_at", "expires_at", "link_status"):
        assert again.get_json()[key] == first.get_json()[key]
    assert "review_url" not in first.get_json() and "review_url" not in again.get_json()  # we e-mail it


def test_only_a_hash_of_the_token_is_stored(client, auth, db, clock):
    data = invite(client, auth, email=None)
    token = data["review_url"].rsplit("/", 1)[1]
    row = db.execute("SELECT * FROM invitations").fetchone()
    assert token not in json.dumps(row)
    assert invitations.token_hash(token) in row


@pytest.mark.parametrize("body, field", [
    ({"name": "X", "delivered_at": "2025-03-01T12:00:00Z"}, "order_ref"),
    ({"order_ref": "A-9", "delivered_at": "2025-03-01T12:00:00Z"}, "name"),
    ({"order_ref": "A-9", "name": "X"}, "delivered_at"),
    ({"order_ref": "A-9", "name": "X", "delivered_at": "yesterday"}, "delivered_at"),
    ({"order_ref": "A-9", "name": "X", "delivered_at": "2025-03-01T12:00:00Z", "email": "not-an-address"}, "email"),
    ({"order_ref": "A-9", "name": "X", "delivered_at": "2025-03-01T12:00:00Z", "locale": "es"}, "locale"),
    ({"order_ref": "A-9", "name": "X", "delivered_at": "2025-03-01T12:00:00Z", "skus": "SKU-1"}, "skus"),
    ({"order_ref": "A-9", "name": "X", "delivered_at": "2025-03-01T12:00:00Z", "skus": ["NOPE"]}, "skus"),
    ({"order_ref": "A-9", "name": "X", "delivered_at": "2025-03-01T12:00:00Z", "verified": True}, "verified"),
])
def test_invalid_fields_are_named(client, auth, body, field):
    response = client.post("/api/v1/shops/acme/invitations", json=body, headers=auth)
    assert response.status_code == 400
    assert field in response.get_json()["errors"], response.get_json()


def test_needs_the_shops_key_and_json(client, auth, other_shop_key, shop):
    body = {"order_ref": "A-1", "name": "X", "delivered_at": T0.isoformat()}
    assert client.post("/api/v1/shops/acme/invitations", json=body).status_code == 401
    assert client.post("/api/v1/shops/acme/invitations", json=body,
                       headers={"Authorization": f"Bearer {other_shop_key}"}).status_code == 403
    assert client.post("/api/v1/shops/acme/invitations", data="order_ref=A-1", headers=auth).status_code == 415
    assert client.post("/api/v1/shops/nope/invitations", json=body, headers=auth).status_code == 404


def test_email_is_optional_for_shops_that_send_links_themselves(client, auth, db, clock):
    invite(client, auth, email=None)
    assert db.execute("SELECT email FROM invitations").fetchone()[0] is None


def test_route_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/shops/{shop}/invitations"]["post"]
    assert operation["operationId"] == "create_invitation"
    assert "InvitationInput" in spec["components"]["schemas"]


def test_review_import_cannot_set_verified(client, auth, shop):
    response = client.post("/api/v1/shops/acme/reviews", headers=auth,
                           json={"rating": 5, "author": "Shop", "verified": True})
    assert response.status_code == 400
    ok = client.post("/api/v1/shops/acme/reviews", headers=auth, json={"rating": 5, "author": "Shop"})
    assert ok.get_json()["verified"] is False


def test_database_refuses_verified_reviews_of_other_sources(db, shop):
    import sqlite3

    with pytest.raises(sqlite3.IntegrityError):
        store.add_review(db, shop["id"], rating=5, author="X", source="open", verified=True)


# --- CLI -------------------------------------------------------------------------

CSV = (
    "order_ref,name,email,skus,delivered_at,locale\n"
    "B-1,Jan Jansen,jan@example.org,SKU-1;SKU-2,2025-03-01T10:00:00Z,nl\n"
    "B-2,Anna Schmidt,anna@example.org,,2025-03-02T10:00:00Z,de\n"
)


def test_cli_import_creates_invitations_and_is_idempotent(runner, db, shop, tmp_path, clock):
    path = tmp_path / "orders.csv"
    path.write_text(CSV)
    result = runner.invoke(main, ["invitations", "import", "acme", str(path)])
    assert result.exit_code == 0, result.output
    assert "Invited 2 order(s)" in result.output
    rows = list(db.query("SELECT order_ref, locale, skus, send_at FROM invitations ORDER BY order_ref"))
    assert [(r["order_ref"], r["locale"], json.loads(r["skus"])) for r in rows] == [
        ("B-1", "nl", ["SKU-1", "SKU-2"]), ("B-2", "de", [])]
    again = runner.invoke(main, ["invitations", "import", "acme", str(path), "--show-links"])
    assert again.exit_code == 0
    assert "Invited 0 order(s); 2 were invited before" in again.output
    assert "/r/" not in again.output and again.output.count("(no link: emailed)") == 2  # rows with an e-mail


def test_cli_import_reports_bad_lines_and_imports_nothing(runner, db, shop, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(CSV + "B-3,,x@example.org,,2025-03-02T10:00:00Z,nl\n"
                          "B-4,Piet,not-an-email,NOPE,2025-03-02T10:00:00Z,nl\n"
                          "B-1,Jan,jan@example.org,,2025-03-02T10:00:00Z,nl\n")
    result = runner.invoke(main, ["invitations", "import", "acme", str(path)])
    assert result.exit_code != 0
    assert "orders.csv:4: name:" in result.output
    assert "orders.csv:5: email:" in result.output
    assert "orders.csv:6: order_ref: 'B-1' is on line 2 already" in result.output
    assert "Nothing imported" in result.output
    assert db.execute("SELECT count(*) FROM invitations").fetchone()[0] == 0


def test_cli_import_names_unknown_columns(runner, shop, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order,name\nB-1,Jan\n")
    result = runner.invoke(main, ["invitations", "import", "acme", str(path)])
    assert result.exit_code != 0
    assert "unknown column(s) order" in result.output and "missing column(s) order_ref" in result.output


def test_cli_list_shows_status_without_email(runner, client, auth, clock):
    invite(client, auth)
    invite(client, auth, order_ref="A-2", email=None)
    result = runner.invoke(main, ["invitations", "list", "acme"])
    assert result.exit_code == 0
    assert "A-1\tpending" in result.output
    assert "A-2\tpending (no e-mail: link only)" in result.output
    assert EMAIL not in result.output and "@" not in result.output


# --- the e-mail address never leaks ----------------------------------------------


def test_email_is_in_no_public_read_export_or_audit(app, client, auth, db, shop, clock):
    data = invite(client, auth)
    url = mailed_link(app, db, data["id"])
    html, token = open_form(client, url)
    assert EMAIL not in html
    client.post(path_of(url), data={
        "csrf_token": token, "product-0-rating": "4", "product-0-body": "Mooi", "rating": "5", "author": "Sanne"})
    # Read while the address is still stored: a second invitation that was never sent or used.
    invite(client, auth, order_ref="A-2")
    assert db.execute("SELECT count(*) FROM invitations WHERE email = ?", [EMAIL]).fetchone()[0] == 1

    bodies = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        if rule.arguments <= {"shop"}:
            url = rule.rule.replace("<shop>", "acme")
            bodies.append((url, client.get(url).get_data(as_text=True)))
    for sku_rule in ("/api/v1/shops/acme/reviews?product=SKU-1", "/api/v1/shops/acme/summary?product=SKU-1"):
        bodies.append((sku_rule, client.get(sku_rule).get_data(as_text=True)))
    assert any("/api/v1/shops/acme/reviews" == url for url, _ in bodies)
    for url, body in bodies:
        assert EMAIL not in body, url
    assert EMAIL not in "".join(export_lines(db, shop))
    assert EMAIL not in json.dumps(list(db.query("SELECT * FROM audit_log")))


def test_email_is_in_no_widget(app, client, auth, db, shop, clock):
    data = invite(client, auth)
    url = mailed_link(app, db, data["id"])
    _, token = open_form(client, url)
    client.post(path_of(url), data={"csrf_token": token, "rating": "3", "author": "Sanne"})
    for name in ("badge", "summary", "list", "recent"):
        response = client.get(f"/w/acme/{name}.html")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert EMAIL not in html
        if name in ("list", "recent"):
            assert "Sanne" in html  # the verified review is there; only the address is not


def test_cli_sets_the_invitation_delay(runner, db, shop, client, auth, clock):
    result = runner.invoke(main, ["shops", "set", "acme", "--invitation-delay-days", "10", "--allow-open-reviews"])
    assert result.exit_code == 0, result.output
    assert store.get_shop(db, "acme")["settings"]["allow_open_reviews"] is True
    assert invite(client, auth)["send_at"] == (T0 + timedelta(days=10)).isoformat()
    assert runner.invoke(main, ["shops", "set", "acme", "--invitation-delay-days", "91"]).exit_code != 0
