"""The public review form behind an invitation link (first review only) and the author's private page:
language, accessibility, edits with history, withdrawal, abuse limits."""

from __future__ import annotations

import re
from datetime import timedelta

import lxml.html
import pytest
from invitation_helpers import clock, csrf_token, invite, open_form, path_of, submit_first  # noqa: F401
from itsdangerous import URLSafeSerializer

from widgetserver import store


@pytest.fixture
def invitation(client, auth, clock):
    """An invitation of 'acme' for SKU-1 and SKU-2, in Dutch, whose link the shop sends itself."""
    return invite(client, auth, skus=["SKU-1", "SKU-2"], email=None)


def post(client, invitation, token, **fields):
    return client.post(path_of(invitation["review_url"]), data={"csrf_token": token, **fields})


def summary(client, product=None):
    return client.get("/api/v1/shops/acme/summary" + (f"?product={product}" if product else "")).get_json()


def test_form_is_in_the_customers_language_with_accessible_star_groups(client, invitation):
    html, _ = open_form(client, invitation["review_url"])
    doc = lxml.html.fromstring(html)
    assert doc.get("lang") == "nl"
    assert "Beoordeel je bestelling bij Acme Kleding" in doc.findtext(".//h1")
    groups = doc.xpath("//fieldset[contains(@class, 'stars')]")
    assert len(groups) == 3  # SKU-1, SKU-2, the shop
    names = []
    for group in groups:
        assert group.find("legend").text_content().startswith("Jouw beoordeling van")
        radios = group.xpath(".//input[@type='radio']")
        assert [r.get("value") for r in radios] == ["1", "2", "3", "4", "5"]
        labels = [" ".join(doc.xpath(f"//label[@for='{r.get('id')}']")[0].xpath(
            ".//span[not(@aria-hidden)]/text()")).strip() for r in radios]
        assert labels == ["1 ster", "2 sterren", "3 sterren", "4 sterren", "5 sterren"]
        names.append(radios[0].get("name"))
    assert names == ["product-0-rating", "product-1-rating", "rating"]
    for name in ("product-0-title", "product-0-body", "title", "body", "author"):
        field = doc.xpath(f"//*[@name='{name}']")[0]
        assert doc.xpath(f"//label[@for='{field.get('id')}']"), name
    honeypot = doc.xpath("//input[@name='website']")[0]
    assert honeypot.get("tabindex") == "-1"


def test_page_keeps_the_link_secret(client, invitation):
    response = client.get(path_of(invitation["review_url"]))
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]


def test_submit_publishes_verified_reviews_per_product_and_shop(client, invitation, db):
    _, token = open_form(client, invitation["review_url"])
    response = post(client, invitation, token, **{
        "product-0-rating": "2", "product-0-title": "Te klein", "product-0-body": "Valt <b>erg</b> klein.",
        "rating": "4", "author": "Sanne"})  # SKU-2 left empty: skipped
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Bedankt! Je reviews zijn gepubliceerd." in page
    items = client.get("/api/v1/shops/acme/reviews").get_json()["items"]
    assert sorted((r["product"] or "", r["rating"], r["verified"], r["author"]) for r in items) == [
        ("", 4, True, "Sanne"), ("SKU-1", 2, True, "Sanne")]
    assert [r["body"] for r in items if r["product"]] == ["Valt erg klein."]  # sanitised to plain text
    assert summary(client, "SKU-1")["count"] == 1 and summary(client, "SKU-2")["count"] == 0
    assert summary(client)["count"] == 2


def test_author_page_prefills_and_updates_with_history(client, invitation, db, clock):
    author = submit_first(client, invitation["review_url"],
                          **{"product-0-rating": "2", "product-0-title": "Te klein", "author": "Sanne"})
    clock.advance(days=3)  # the shop solved the problem and the customer wants to update
    html, token = open_form(client, author)
    doc = lxml.html.fromstring(html)
    assert doc.xpath("//input[@name='product-0-rating'][@checked]")[0].get("value") == "2"
    assert doc.xpath("//input[@name='product-0-title']")[0].get("value") == "Te klein"
    assert doc.xpath("//input[@name='author']")[0].get("value") == "Sanne"
    assert not doc.xpath("//input[@name='product-1-rating']")  # only the reviews written: SKU-2 was skipped
    assert "Wijzigingen opslaan" in html

    response = client.post(author, data={"csrf_token": token, "product-0-rating": "5",
                                         "product-0-title": "Opgelost, top service", "author": "Sanne"})
    assert response.status_code == 303 and "saved=updated" in response.headers["Location"]
    assert response.headers["Location"].startswith(author)
    review = client.get("/api/v1/shops/acme/reviews").get_json()["items"][0]
    assert review["rating"] == 5 and review["updated_at"] > review["created_at"]
    versions = list(db.query("SELECT rating, title FROM review_versions WHERE review_id = ?", [review["id"]]))
    assert versions == [{"rating": 2, "title": "Te klein"}]
    s = summary(client, "SKU-1")
    assert (s["count"], s["average"], s["distribution"]["2"], s["distribution"]["5"]) == (1, 5.0, 0, 1)
    assert store.recompute(db) == []
    assert {r["actor"] for r in db.query("SELECT actor FROM audit_log WHERE entity = 'review'")} == {"author"}

    # The same values again change nothing and add no version.
    client.post(author, data={"csrf_token": token, "product-0-rating": "5", "product-0-title": "Opgelost, top service",
                              "author": "Sanne"})
    assert db.execute("SELECT count(*) FROM review_versions").fetchone()[0] == 1


def test_withdrawal_through_the_author_page_removes_reviews_and_closes_both_links(client, invitation, db):
    author = submit_first(client, invitation["review_url"], **{"product-0-rating": "1", "product-0-body": "Kapot",
                                                                "rating": "2", "author": "Sanne"})
    html, token = open_form(client, author)
    unconfirmed = client.post(author + "/withdraw", data={"csrf_token": token})
    assert unconfirmed.status_code == 400 and "Vink het vakje aan" in unconfirmed.get_data(as_text=True)
    response = client.post(author + "/withdraw", data={"csrf_token": token, "confirm": "yes"})
    assert response.status_code == 200
    assert "Je reviews zijn ingetrokken" in response.get_data(as_text=True)
    assert client.get("/api/v1/shops/acme/reviews").get_json()["items"] == []
    assert summary(client)["count"] == 0 and summary(client, "SKU-1")["count"] == 0
    rows = list(db.query("SELECT status, title, body, author FROM reviews"))
    assert all(r == {"status": "withdrawn", "title": "", "body": "", "author": ""} for r in rows)
    assert store.recompute(db) == []
    actors = {r["actor"] for r in db.query("SELECT actor FROM audit_log WHERE action IN ('withdrawn', 'erase', 'withdraw')")}
    assert actors == {"author"}

    # Both links are refused afterwards, with a page that says why.
    again = client.get(author)
    assert again.status_code == 410 and "Je reviews zijn ingetrokken" in again.get_data(as_text=True)
    assert client.post(author, data={"csrf_token": token, "rating": "5", "author": "X"}).status_code == 410
    old = client.get(path_of(invitation["review_url"]))
    assert old.status_code == 410
    assert "Deze reviewlink is gesloten" in old.get_data(as_text=True)
    assert post(client, invitation, token, rating="5", author="X").status_code == 410
    assert client.get("/api/v1/shops/acme/reviews").get_json()["items"] == []


def test_validation_errors_rerender_with_messages_per_field(client, invitation, db):
    _, token = open_form(client, invitation["review_url"])
    response = post(client, invitation, token, **{
        "product-0-rating": "9", "product-1-title": "Geen sterren", "rating": "3", "title": "x" * 201,
        "author": "   "})
    assert response.status_code == 400
    doc = lxml.html.fromstring(response.get_data(as_text=True))
    errors = {e.get("id"): e.text_content() for e in doc.xpath("//*[@class='error']")}
    assert errors == {
        "product-0-rating-error": "Kies 1 tot 5 sterren.",
        "product-1-rating-error": "Kies een aantal sterren, of maak de tekst leeg om deze over te slaan.",
        "title-error": "Te lang: hoogstens 200 tekens.",
        "author-error": "Vul een weergavenaam in.",
    }
    assert doc.xpath("//div[@role='alert']//li")
    assert doc.xpath("//input[@name='product-1-title']")[0].get("value") == "Geen sterren"  # input kept
    assert doc.xpath("//input[@id='author']")[0].get("aria-invalid") == "true"
    assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0


def test_an_empty_form_asks_for_at_least_one_rating(client, invitation):
    _, token = open_form(client, invitation["review_url"])
    response = post(client, invitation, token, author="Sanne")
    assert response.status_code == 400
    assert "Beoordeel minstens één product of de winkel." in response.get_data(as_text=True)


def test_honeypot_rejects_quietly(client, invitation, db):
    _, token = open_form(client, invitation["review_url"])
    response = post(client, invitation, token, rating="5", author="Bot", website="http://spam.example")
    assert response.status_code == 400
    assert "We konden dit formulier niet aannemen" in response.get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0


def test_missing_csrf_token_gets_a_page(client, invitation, db):
    open_form(client, invitation["review_url"])
    response = client.post(path_of(invitation["review_url"]), data={"rating": "5", "author": "X"})
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "Dit formulier is verlopen" in response.get_data(as_text=True)
    wrong = client.post(path_of(invitation["review_url"]), data={"rating": "5", "author": "X", "csrf_token": "forged"})
    assert wrong.status_code == 400
    assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0


def test_rate_limit_per_link(app, client, invitation):
    app.config["FORM_POSTS_PER_TOKEN"] = 3
    _, token = open_form(client, invitation["review_url"])
    codes = [post(client, invitation, token, author="S").status_code for _ in range(4)]
    assert codes == [400, 400, 400, 429]
    limited = post(client, invitation, token, rating="5", author="S")
    assert limited.status_code == 429 and "Te veel pogingen" in limited.get_data(as_text=True)


def test_rate_limit_per_client_address(app, client, auth, invitation):
    app.config["FORM_POSTS_PER_IP"] = 2
    other = invite(client, auth, order_ref="A-2", email=None)
    _, token = open_form(client, invitation["review_url"])
    assert post(client, invitation, token, author="S").status_code == 400
    assert post(client, other, token, author="S").status_code == 400
    assert post(client, other, token, rating="5", author="S").status_code == 429
    elsewhere = client.post(path_of(other["review_url"]), data={"csrf_token": token, "rating": "5", "author": "S"},
                            environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert elsewhere.status_code == 303


def test_oversize_post_gets_a_page(client, invitation):
    _, token = open_form(client, invitation["review_url"])
    response = post(client, invitation, token, rating="5", author="S", body="x" * 70_000)
    assert response.status_code == 413
    assert "Je review is te lang" in response.get_data(as_text=True)
    long_body = post(client, invitation, token, rating="5", author="S", body="x" * 5001)
    assert long_body.status_code == 400 and "hoogstens 5000 tekens" in long_body.get_data(as_text=True)


def test_expired_link_gets_a_410_page(client, invitation, clock):
    clock.advance(days=64)
    assert client.get(path_of(invitation["review_url"])).status_code == 200
    clock.advance(days=1, seconds=1)
    response = client.get(path_of(invitation["review_url"]))
    assert response.status_code == 410
    assert "Deze reviewlink is verlopen" in response.get_data(as_text=True)


@pytest.mark.parametrize("mangle", ["unknown", "tampered", "other-purpose", "other-invitation-hash"])
def test_unknown_or_forged_link_gets_a_404_page(app, client, invitation, db, mangle):
    token = invitation["review_url"].rsplit("/", 1)[1]
    if mangle == "unknown":
        token = "not-a-token"
    elif mangle == "tampered":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif mangle == "other-purpose":
        token = URLSafeSerializer(app.config["SECRET_KEY"], salt="review-cursor").dumps(
            {"i": invitation["id"], "p": "review", "e": 4102444800})
    else:  # validly signed, but not the token whose hash is stored
        token = URLSafeSerializer(app.config["SECRET_KEY"], salt="review-invitation").dumps(
            {"i": invitation["id"], "p": "review", "e": 4102444800})
    response = client.get(f"/r/{token}", headers={"Accept-Language": "de"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Dieser Bewertungslink ist ungültig" in response.get_data(as_text=True)


def test_each_locale_renders(client, auth, clock):
    for n, (locale, heading) in enumerate([("en", "Review your order"), ("de", "Bewerten Sie Ihre Bestellung"),
                                           ("fr", "Évaluez votre commande")]):
        data = invite(client, auth, order_ref=f"L-{n}", locale=locale, email=None)
        html, _ = open_form(client, data["review_url"])
        assert f'lang="{locale}"' in html and heading in html


# --- open reviews ------------------------------------------------------------------


def test_open_form_is_closed_unless_the_shop_allows_it(client, shop):
    response = client.get("/s/acme/write", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert "This shop only accepts invited reviews" in response.get_data(as_text=True)
    assert client.post("/s/acme/write", data={"rating": "5", "author": "X"}).status_code in (400, 404)


def test_open_review_is_published_unverified(client, db, shop):
    store.update_shop_settings(db, shop["id"], allow_open_reviews=True)
    response = client.get("/s/acme/write?product=SKU-2", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Review Acme Kleding" in html and "not verified" in html and "Trui Noor" in html
    token = csrf_token(html)
    posted = client.post("/s/acme/write?product=SKU-2", headers={"Accept-Language": "en"},
                         data={"csrf_token": token, "rating": "3", "body": "Okay", "author": "Piet",
                               "verified": "1"})
    assert posted.status_code == 303
    assert "published (marked not verified)" in client.get(posted.headers["Location"],
                                                           headers={"Accept-Language": "en"}).get_data(as_text=True)
    items = client.get("/api/v1/shops/acme/reviews").get_json()["items"]
    assert [(r["product"], r["rating"], r["verified"], r["source"]) for r in items] == [("SKU-2", 3, False, "open")]
    assert client.get("/s/acme/write?product=NOPE").status_code == 404
    bad = client.post("/s/acme/write", data={"csrf_token": token, "author": "Piet"})
    assert bad.status_code == 400
