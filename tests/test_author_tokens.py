"""A shop can never act as the author of a review that exists: honest and dishonest shops, both verification paths."""

from __future__ import annotations

import json
import sqlite3

import pytest
from invitation_helpers import (EMAIL, T0, clock, csrf_token, invite, mailed_link, open_form, path_of,  # noqa: F401
                                submit_first)
from test_mail import link_in, parsed, smtp  # noqa: F401

from widgetserver import authorship, invitations, mail, store
from widgetserver.cli import main
from widgetserver.transfer import export_lines


def reviews(client):
    return client.get("/api/v1/shops/acme/reviews").get_json()["items"]


def repeat(client, auth, **overrides):
    """The shop posts the same order again (what a dishonest shop does to get the customer's link back)."""
    body = {"order_ref": "A-1", "name": "Sanne", "skus": ["SKU-1"], "delivered_at": T0.isoformat(), **overrides}
    response = client.post("/api/v1/shops/acme/invitations", json=body, headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# --- the dishonest shop ---------------------------------------------------------------


def test_repeat_after_submission_returns_no_link_and_the_old_link_cannot_edit_or_withdraw(client, auth, db, clock):
    first = invite(client, auth, email=None)  # the shop sends the link itself: it has it
    submit_first(client, first["review_url"], **{"product-0-rating": "1", "product-0-body": "Kapot", "author": "Sanne"})
    before = reviews(client)
    audit_before = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]

    again = repeat(client, auth, email=None)
    assert "review_url" not in again
    assert (again["link_status"], again["status"]) == ("submitted", "used")
    assert again["id"] == first["id"]

    # The link the shop held opens nothing and changes nothing.
    page = client.get(path_of(first["review_url"]))
    assert page.status_code == 410
    assert "Je reviews voor deze bestelling zijn al geschreven" in page.get_data(as_text=True)
    assert "csrf_token" not in page.get_data(as_text=True)  # no form
    for suffix in ("/withdraw", "/edit"):
        assert client.post(path_of(first["review_url"]) + suffix, data={"confirm": "yes"}).status_code in (404, 405)
    assert reviews(client) == before
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == audit_before


def test_old_link_with_a_valid_csrf_token_still_cannot_edit(client, auth, db, clock):
    first = invite(client, auth, email=None)
    _, token = open_form(client, first["review_url"])  # the shop opened the form before the customer wrote
    client.post(path_of(first["review_url"]), data={"csrf_token": token, "rating": "2", "author": "Sanne"})
    rewrite = client.post(path_of(first["review_url"]), data={"csrf_token": token, "rating": "5", "author": "Sanne"})
    assert rewrite.status_code == 410
    assert [(r["rating"], r["author"]) for r in reviews(client)] == [(2, "Sanne")]
    assert db.execute("SELECT count(*) FROM review_versions").fetchone()[0] == 0


def test_the_author_token_is_shown_to_the_author_only_and_stored_hashed(client, auth, db, clock):
    first = invite(client, auth, email=None)
    author = submit_first(client, first["review_url"], rating="4", author="Sanne")
    token = author.rsplit("/", 1)[1]
    assert len(token) >= 40
    page = client.get(author + "?saved=created").get_data(as_text=True)
    assert f"http://localhost{author}" in page  # the thank-you page shows the private link to copy
    # Nothing the shop can read carries it: not the API, not the export, not the database in plain text.
    again = repeat(client, auth, email=None)
    assert token not in json.dumps(again)
    assert token not in "".join(export_lines(db, store.get_shop(db, "acme")))
    dump = "\n".join(db.conn.iterdump())
    assert token not in dump
    assert authorship.token_hash(token) in dump
    assert db.execute("SELECT author_token_hash FROM reviews").fetchone()[0] == authorship.token_hash(token)


@pytest.mark.parametrize("token", ["", "x", "A" * 43, "not a token", "A" * 500])
def test_unknown_author_links_get_a_404_page(client, auth, clock, token):
    response = client.get(f"/a/{token}" if token else "/a/")
    assert response.status_code == 404
    assert client.post(f"/a/{token or 'x'}/withdraw", data={"confirm": "yes"}).status_code in (400, 404)


def test_another_authors_token_never_opens_these_reviews(client, auth, db, clock):
    one = submit_first(client, invite(client, auth, email=None)["review_url"], rating="1", author="Sanne")
    two = submit_first(client, invite(client, auth, order_ref="A-2", email=None)["review_url"], rating="5",
                       author="Piet")
    html, token = open_form(client, two)
    assert "Piet" in html and "Sanne" not in html
    client.post(two + "/withdraw", data={"csrf_token": token, "confirm": "yes"})
    assert [(r["rating"], r["author"]) for r in reviews(client)] == [(1, "Sanne")]
    assert client.get(one).status_code == 200


# --- how each review was verified ----------------------------------------------------


def test_link_handed_to_the_shop_is_recorded_as_invitation_link(client, auth, db, clock):
    data = invite(client, auth, email=None)
    assert data["link_status"] == "returned"
    assert db.execute("SELECT link_disclosed_at FROM invitations").fetchone()[0] is not None
    submit_first(client, data["review_url"], rating="3", author="Sanne")
    assert [r["verification_method"] for r in reviews(client)] == ["invitation-link"]


def test_emailed_invitation_never_returns_the_link_and_is_recorded_as_invitation_email(
        app, client, auth, db, smtp, clock):  # noqa: F811
    data = invite(client, auth)  # an address: we e-mail the customer ourselves
    assert "review_url" not in data and data["link_status"] == "emailed"
    assert "review_url" not in repeat(client, auth, email=EMAIL)
    clock.advance(days=5)
    assert mail.send_due(app)["sent"] == 1
    assert repeat(client, auth)["link_status"] == "emailed"  # sent: still not handed out
    url = link_in(parsed(smtp.messages[0]))
    submit_first(client, url, **{"product-0-rating": "2", "author": "Sanne"})
    assert [r["verification_method"] for r in reviews(client)] == ["invitation-email"]
    assert db.execute("SELECT link_disclosed_at FROM invitations").fetchone()[0] is None


def test_failed_email_lets_the_shop_take_over_and_is_then_recorded_as_invitation_link(
        app, client, auth, db, smtp, clock):  # noqa: F811
    invite(client, auth)
    clock.advance(days=5)
    smtp.answers.append("550 5.1.1 No such user")
    assert mail.send_due(app)["failed"] == 1
    data = repeat(client, auth)
    assert data["link_status"] == "returned" and data["review_url"].startswith("http://")
    submit_first(client, data["review_url"], rating="4", author="Sanne")
    assert [r["verification_method"] for r in reviews(client)] == ["invitation-link"]


def test_verification_method_cannot_be_rewritten_later(client, auth, db, clock):
    submit_first(client, invite(client, auth, email=None)["review_url"], rating="1", author="Sanne")
    for sql in ("UPDATE reviews SET verification_method = 'invitation-email'",
                "UPDATE reviews SET verification_method = NULL",
                "UPDATE reviews SET verified = 0",
                "UPDATE reviews SET source = 'import'"):
        with pytest.raises(sqlite3.IntegrityError):
            db.execute(sql)
    assert db.execute("SELECT verified, verification_method, source FROM reviews").fetchone() == (
        1, "invitation-link", "invitation")


def test_method_shows_in_the_api_export_and_openapi_document(client, auth, db, shop, clock):
    submit_first(client, invite(client, auth, email=None)["review_url"], rating="5", author="Sanne")
    store.add_review(db, shop["id"], rating=2, author="Old", source="import")
    items = reviews(client)
    assert sorted((r["source"], r["verification_method"]) for r in items) == [
        ("import", None), ("invitation", "invitation-link")]
    exported = [json.loads(line) for line in export_lines(db, shop) if '"type": "review"' in line]
    assert sorted(str(r["verification_method"]) for r in exported) == ["None", "invitation-link"]
    spec = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert spec["Review"]["properties"]["verification_method"]["enum"][:2] == ["invitation-email", "invitation-link"]
    assert "review_url" not in spec["Invitation"].get("required", [])
    assert spec["Invitation"]["properties"]["link_status"]["enum"] == ["returned", "emailed", "submitted", "closed"]


def test_verification_counts_per_method(client, auth, db, shop, clock):
    submit_first(client, invite(client, auth, email=None)["review_url"], rating="5", author="A")
    store.add_review(db, shop["id"], rating=4, author="B", source="invitation", verified=True,
                     verification_method="invitation-email")
    store.add_review(db, shop["id"], rating=1, author="C", source="import")
    store.add_review(db, shop["id"], rating=2, author="D", source="open")
    gone = store.add_review(db, shop["id"], rating=1, author="E", source="open")
    store.set_review_status(db, shop["id"], gone, "withdrawn", actor="author")
    assert store.verification_counts(db, shop["id"]) == {
        "invitation-email": 1, "invitation-link": 1, "import": 1, "open": 1, "total": 4}
    assert store.verification_counts(db, 999) == {
        "invitation-email": 0, "invitation-link": 0, "import": 0, "open": 0, "total": 0}


# --- the CLI --------------------------------------------------------------------------


def test_cli_show_links_only_for_links_the_shop_sends_and_never_after_submission(runner, client, db, shop, tmp_path,
                                                                                  clock):
    path = tmp_path / "orders.csv"
    path.write_text("order_ref,name,email,skus,delivered_at\n"
                    "C-1,Jan,,SKU-1,2025-03-01T10:00:00Z\n"
                    f"C-2,Anna,{EMAIL},,2025-03-01T10:00:00Z\n")
    first = runner.invoke(main, ["invitations", "import", "acme", str(path), "--show-links"])
    assert first.exit_code == 0, first.output
    lines = {line.split("\t")[0]: line.split("\t")[2] for line in first.output.splitlines() if "\t" in line}
    assert lines["C-1"].startswith("http") and "/r/" in lines["C-1"]
    assert lines["C-2"] == "(no link: emailed)"
    submit_first(client, lines["C-1"].replace("http://127.0.0.1:8000", ""), rating="4", author="Jan")
    again = runner.invoke(main, ["invitations", "import", "acme", str(path), "--show-links"])
    assert "C-1\t" in again.output and "(no link: submitted)" in again.output and "/r/" not in again.output


# --- the migration --------------------------------------------------------------------


def test_migration_4_backfills_honestly_and_guards_the_method(tmp_path):
    db = store.connect(str(tmp_path / "old.db"))
    db.execute("CREATE TABLE migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
    for version, name, step in store.MIGRATIONS:
        if version < 4:
            with store.write(db):
                step(db)
                db.execute("INSERT INTO migrations VALUES (?, ?, ?)", [version, name, store.now_text()])
    now = store.now_text()
    db.execute("INSERT INTO shops (slug, name, created_at) VALUES ('old', 'Old', ?)", [now])
    db.execute("INSERT INTO reviews (shop_id, rating, author, verified, verification_method, source, created_at,"
               " updated_at) VALUES (1, 5, 'A', 1, 'order-invitation', 'invitation', ?, ?)", [now, now])
    db.execute("INSERT INTO reviews (shop_id, rating, author, source, created_at, updated_at)"
               " VALUES (1, 2, 'B', 'import', ?, ?)", [now, now])
    db.execute("INSERT INTO invitations (shop_id, order_ref, customer_name, locale, delivered_at, send_at,"
               " expires_at, created_at) VALUES (1, 'X', 'A', 'en', ?, ?, ?, ?)", [now, now, now, now])
    assert 4 in store.migrate(db)
    assert [r[0] for r in db.execute("SELECT verification_method FROM reviews ORDER BY id")] == ["invitation-link", None]
    assert db.execute("SELECT link_disclosed_at FROM invitations").fetchone()[0] is not None
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE reviews SET verification_method = 'invitation-email' WHERE id = 1")
    assert invitations.verification_method(invitations.get_invitation(db, 1)) == "invitation-link"


# --- open reviews (no invitation): the same author token -------------------------------


def open_review(client, query: str = "", headers=None, **fields) -> str:
    """Publish through the open form (`/s/acme/write`); returns the path of the author's private page."""
    form = client.get(f"/s/acme/write{query}", headers=headers)
    assert form.status_code == 200, form.get_data(as_text=True)[:300]
    response = client.post(f"/s/acme/write{query}", headers=headers,
                           data={"csrf_token": csrf_token(form.get_data(as_text=True)), **fields})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    location = path_of(response.headers["Location"])
    assert location.startswith("/a/") and location.endswith("?saved=open"), location
    return location.split("?")[0]


def test_an_open_review_gets_an_author_token_shown_once_and_stored_hashed(client, db, shop):
    store.update_shop_settings(db, shop["id"], allow_open_reviews=True)
    english = {"Accept-Language": "en"}
    author = open_review(client, "?product=SKU-2", headers=english, rating="2", body="Te klein.", author="Piet")
    token = author.rsplit("/", 1)[1]
    assert len(token) >= 40
    page = client.get(author + "?saved=open")  # in the language the review was written in
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    html = page.get_data(as_text=True)
    assert "published (marked not verified)" in html and f"http://localhost{author}" in html and "Te klein." in html
    row = db.execute("SELECT author_token_hash, source, verified FROM reviews").fetchone()
    assert tuple(row) == (authorship.token_hash(token), "open", 0)
    assert token not in "\n".join(db.conn.iterdump())


def test_the_author_of_an_open_review_edits_and_withdraws_it_with_the_token(client, db, shop):
    store.update_shop_settings(db, shop["id"], allow_open_reviews=True)
    author = open_review(client, rating="2", title="Matig", body="Lang gewacht.", author="Piet")
    other = open_review(client, rating="5", body="Top", author="Mies")
    html, token = open_form(client, author)
    assert "Lang gewacht." in html and "Top" not in html  # one author's token opens only their review
    edited = client.post(author, data={"csrf_token": token, "rating": "4", "title": "Toch goed",
                                       "body": "Lang gewacht, maar goed.", "author": "Piet"})
    assert edited.status_code == 303 and edited.headers["Location"].endswith("?saved=updated")
    assert sorted((r["author"], r["rating"], r["verified"], r["source"]) for r in reviews(client)) == [
        ("Mies", 5, False, "open"), ("Piet", 4, False, "open")]
    actors = set(db.execute("SELECT actor, action FROM audit_log WHERE entity = 'review'").fetchall())
    assert ("author", "update") in actors
    withdrawn = client.post(author + "/withdraw", data={"csrf_token": token, "confirm": "yes"})
    assert withdrawn.status_code == 200
    assert [r["author"] for r in reviews(client)] == ["Mies"]
    assert client.get(author).status_code == 410 and client.get(other).status_code == 200


def test_the_shop_cannot_obtain_an_open_reviews_author_token(app, client, db):
    """Every answer of every route (tests/route_walk.py), as the owner, with the API key and anonymous,
    the export and the database: the token shows only on the author's own pages."""
    from route_walk import build_site, calls, send

    site = build_site(app, db, client)  # shop 'acme' allows open reviews
    author = open_review(app.test_client(), rating="1", body="Kapot aangekomen.", author="Piet")
    token = author.rsplit("/", 1)[1]
    seen = [str(call) for call in calls(app, site)
            if token not in call.path and token in send(app, site, call).get_data(as_text=True)]
    assert not seen, seen
    assert token not in "".join(export_lines(db, store.get_shop(db, "acme")))
    assert token not in "\n".join(db.conn.iterdump())
