"""The public report form: /s/<shop>/reviews/<id>/report (honesty rule 2: report, never hide)."""

import html
import json
import re

import pytest

import widgets
from widgetserver import store


@pytest.fixture
def review_id(db, shop):
    return store.add_review(db, shop["id"], rating=1, author="Piet", title="Slecht", body="Nooit geleverd.")


def url(review_id, shop="acme"):
    return f"/s/{shop}/reviews/{review_id}/report"


def token_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def post(client, review_id, data, shop="acme", **kwargs):
    form = client.get(url(review_id, shop), **kwargs)
    assert form.status_code == 200
    return client.post(url(review_id, shop), data={"csrf_token": token_of(form.get_data(as_text=True)), **data}, **kwargs)


def reports(db):
    return list(db.query("SELECT * FROM reports ORDER BY id"))


def test_form_lists_the_fixed_reasons(client, review_id):
    response = client.get(url(review_id), headers={"Accept-Language": "en"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.startswith("<!doctype html>")
    assert 'name="csrf_token"' in page
    assert page.count('type="radio" id="reason-') == len(store.REPORT_REASONS) == 6
    for label in ("personal data", "Hate or discrimination", "Threats or harassment", "Spam or advertising",
                  "Conflict of interest / not a genuine experience", "Unrelated to this shop"):
        assert label in html.unescape(page)
    assert "Nooit geleverd." in page  # the reported review is quoted
    assert "noindex" in page and response.headers["Cache-Control"] == "no-store"


def test_form_in_dutch(client, review_id):
    page = client.get(url(review_id), headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert '<html lang="nl">' in page and "Een review melden" in page and "Haat of discriminatie" in page


def test_valid_report_is_stored_and_audited_and_the_review_stays(client, db, shop, review_id):
    response = post(client, review_id, {"reason": "threats", "note": "Zie de <b>laatste</b> zin."},
                    headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert "your report was received" in response.get_data(as_text=True)

    [row] = reports(db)
    assert (row["shop_id"], row["review_id"], row["reason"], row["status"]) == (shop["id"], review_id, "threats", "open")
    assert row["note"] == "Zie de laatste zin."  # plain text, markup stripped
    entry = db.execute("SELECT actor, action, entity, entity_id, data FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    assert entry[:4] == ("shopper", "create", "report", str(row["id"]))
    assert json.loads(entry[4]) == {"review_id": review_id, "reason": "threats", "has_note": True}
    assert store.verify_audit(db)[1] == []

    # The review stays public and counted: only an operator decision removes it.
    assert store.review_row(db, shop["id"], review_id)["status"] == "published"
    assert store.summary_for(db, shop["id"])["count"] == 1
    listed = client.get("/api/v1/shops/acme/reviews").json["items"]
    assert [r["id"] for r in listed] == [review_id]


def test_report_without_note(client, db, review_id):
    assert post(client, review_id, {"reason": "spam"}).status_code == 200
    assert reports(db)[0]["note"] == ""


@pytest.mark.parametrize("reason", ["", "bad rating", "PERSONAL_DATA"])
def test_invalid_reason_is_a_400_page_with_a_field_message(client, db, review_id, reason):
    response = post(client, review_id, {"reason": reason, "note": "keep me"}, headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert '<p class="error" id="reason-error">Choose one of the reasons.</p>' in page
    assert 'aria-invalid="true"' in page
    assert ">keep me</textarea>" in page  # what was typed is kept
    assert reports(db) == []


def test_too_long_note_is_refused(client, db, review_id):
    response = post(client, review_id, {"reason": "spam", "note": "x" * 2001}, headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "at most 2000 characters" in response.get_data(as_text=True)
    assert reports(db) == []


def test_post_without_csrf_token_is_refused(client, db, review_id):
    response = client.post(url(review_id), data={"reason": "spam"}, headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert reports(db) == []


def test_unknown_review_or_shop_is_404(client, review_id):
    assert client.get(url(review_id + 1)).status_code == 404
    assert client.get(url(review_id, shop="nope")).status_code == 404
    assert client.post(url(999), data={"reason": "spam"}).status_code in (400, 404)


def test_review_of_another_shop_is_404(client, db, review_id):
    beta = store.create_shop(db, "beta", "Beta Shop")
    other = store.add_review(db, beta["id"], rating=5, author="Kim")
    assert client.get(url(other, shop="beta")).status_code == 200
    assert client.get(url(other)).status_code == 404  # beta's review under acme
    assert client.get(url(review_id, shop="beta")).status_code == 404


def test_withdrawn_review_cannot_be_reported(client, db, shop, review_id):
    store.set_review_status(db, shop["id"], review_id, "withdrawn", actor="author")
    assert client.get(url(review_id)).status_code == 404


def test_reason_and_status_are_constrained_in_the_table(db, shop, review_id):
    import sqlite3

    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO reports (shop_id, review_id, reason, created_at) VALUES (?, ?, 'dislike', 'x')",
                   [shop["id"], review_id])
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO reports (shop_id, review_id, reason, status, created_at) VALUES (?, ?, 'spam', 'hidden', 'x')",
                   [shop["id"], review_id])


def test_widget_report_link_points_at_the_form(client, db, shop, review_id):
    [item] = client.get("/api/v1/shops/acme/reviews").json["items"]
    review = widgets.Review.from_api(item)
    shop_data = widgets.Shop.from_api(client.get("/api/v1/shops/acme").json)
    fragment = widgets.render("list", shop=shop_data, reviews=[review], base_url="http://localhost")
    link = re.search(r'class="eerlijk-report"[^>]*href="([^"]+)"', fragment).group(1)
    assert link == f"http://localhost/s/acme/reviews/{review_id}/report"
    assert client.get(link.removeprefix("http://localhost")).status_code == 200
