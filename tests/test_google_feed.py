"""`widgetserver export SHOP --format google-product-reviews`: Google's product review feed 2.2, valid against
Google's XSD (../shared/data/google-product-reviews/product_reviews.xsd)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

import pytest
from lxml import etree

from widgetserver import store
from widgetserver.cli import main as cli

XSD = Path("/work/shared/data/google-product-reviews/product_reviews.xsd")
for candidate in (Path(__file__).resolve().parents[2] / "shared/data/google-product-reviews/product_reviews.xsd",):
    if candidate.is_file():
        XSD = candidate
BASE = "https://reviews.example.com"
T0 = datetime(2025, 3, 1, 10, 0, tzinfo=timezone.utc)
HOSTILE = "]]> </content><script>x</script> & <!-- \u2028 \x07bell \"q\" 'a'"


@lru_cache(maxsize=1)
def schema():
    return etree.XMLSchema(etree.parse(str(XSD)))


@pytest.fixture
def reviews(db, shop):
    """Product reviews from an invitation and an import, a shop review, a hostile one, an e-mail as name."""
    store.upsert_product(db, shop["id"], "SKU-1", name="Jurk Linde", url="https://acme.example/jurk",
                         gtin="08712345678906", product_id="https://acme.example/jurk#product")
    ids = {
        "invited": store.add_review(db, shop["id"], rating=5, author="Anna", title="Prachtig", body="Valt goed.",
                                    product_sku="SKU-1", source="invitation", verified=True,
                                    verification_method="invitation-email", created_at=T0),
        "imported": store.add_review(db, shop["id"], rating=1, author="", title="", body="Kapot.",
                                     product_sku="SKU-2", source="import", created_at=T0 + timedelta(days=1)),
        "shop": store.add_review(db, shop["id"], rating=4, author="Eva", body="Fijne winkel.", created_at=T0),
        "hostile": store.add_review(db, shop["id"], rating=2, author="<b>Bram</b>", title=HOSTILE, body=HOSTILE,
                                    product_sku="SKU-1", source="open", created_at=T0 + timedelta(days=2)),
        "email": store.add_review(db, shop["id"], rating=3, author="jan.jansen@example.org", body="Gaat wel.",
                                  product_sku="SKU-2", created_at=T0 + timedelta(days=3)),
        "withdrawn": store.add_review(db, shop["id"], rating=1, author="Kees", body="Weg ermee.",
                                      product_sku="SKU-1", created_at=T0 + timedelta(days=4)),
        "removed": store.add_review(db, shop["id"], rating=1, author="Spammer", body="Koop bij ons!",
                                    product_sku="SKU-2", created_at=T0 + timedelta(days=5)),
    }
    store.set_review_status(db, shop["id"], ids["withdrawn"], "withdrawn", actor="author")
    store.set_review_status(db, shop["id"], ids["removed"], "removed", reason="spam or advertising")
    return ids


def export(runner, *args):
    result = runner.invoke(cli, ["export", "acme", "--format", "google-product-reviews", *args])
    assert result.exit_code == 0, result.output
    return result.output


def parse(text):
    tree = etree.fromstring(text.encode("utf-8"))
    schema().assertValid(tree)
    return tree


def by_id(tree):
    return {r.findtext("review_id"): r for r in tree.findall("reviews/review")}


def test_feed_is_valid_against_googles_xsd(runner, reviews):
    tree = parse(export(runner, "--base-url", BASE))
    assert tree.tag == "feed" and tree.findtext("version") == "2.2"
    assert tree.get("{http://www.w3.org/2001/XMLSchema-instance}noNamespaceSchemaLocation") == \
        "http://www.google.com/shopping/reviews/schema/product/2.2/product_reviews.xsd"
    assert tree.findtext("publisher/name") == "Acme Kleding"


def test_only_published_product_reviews_and_deleted_ones_listed(runner, reviews):
    tree = parse(export(runner, "--base-url", BASE))
    listed = by_id(tree)
    assert set(listed) == {str(reviews[k]) for k in ("invited", "imported", "hostile", "email")}  # not the shop review
    assert [e.text for e in tree.findall("deleted_reviews/review_id")] == [str(reviews["withdrawn"]), str(reviews["removed"])]


def test_review_fields(runner, reviews):
    listed = by_id(parse(export(runner, "--base-url", BASE)))
    invited = listed[str(reviews["invited"])]
    assert invited.findtext("reviewer/name") == "Anna" and invited.find("reviewer/name").get("is_anonymous") is None
    assert invited.findtext("review_timestamp") == "2025-03-01T10:00:00Z"
    assert (invited.findtext("title"), invited.findtext("content")) == ("Prachtig", "Valt goed.")
    assert invited.find("review_url").get("type") == "group"
    assert invited.findtext("review_url") == f"{BASE}/s/acme/p/SKU-1"
    overall = invited.find("ratings/overall")
    assert (overall.text, overall.get("min"), overall.get("max")) == ("5", "1", "5")
    product = invited.find("products/product")
    assert product.findtext("product_ids/gtins/gtin") == "08712345678906"
    assert product.findtext("product_ids/skus/sku") == "SKU-1"
    assert (product.findtext("product_name"), product.findtext("product_url")) == ("Jurk Linde", "https://acme.example/jurk")
    assert invited.findtext("is_spam") == "false" and invited.findtext("collection_method") == "post_fulfillment"
    imported = listed[str(reviews["imported"])]
    assert imported.findtext("collection_method") == "unsolicited"
    assert imported.find("reviewer/name").get("is_anonymous") == "true" and imported.find("title") is None
    assert imported.findtext("products/product/product_url") == f"{BASE}/s/acme/p/SKU-2"  # no shop URL: hosted page
    assert listed[str(reviews["hostile"])].findtext("collection_method") == "unsolicited"


def test_hostile_text_is_escaped_and_kept(runner, reviews):
    text = export(runner, "--base-url", BASE)
    hostile = by_id(parse(text))[str(reviews["hostile"])]
    expected = HOSTILE.replace("\x07", "").strip()  # control characters are not allowed in XML 1.0
    assert hostile.findtext("content") == expected and hostile.findtext("title") == expected
    assert hostile.findtext("reviewer/name") == "<b>Bram</b>"
    assert "<script>" not in text and "</content><script>" not in text


def test_no_email_addresses_in_the_feed(runner, db, shop, reviews):
    # a pending invitation still holds the buyer's e-mail address: it must never reach the feed
    now = "2025-03-01T00:00:00.000000Z"
    db["invitations"].insert({"shop_id": shop["id"], "order_ref": "A-1", "customer_name": "Koper", "email": "koper@example.net",
                              "locale": "nl", "skus": '["SKU-1"]', "delivered_at": now, "send_at": now,
                              "expires_at": now, "created_at": now})
    text = export(runner, "--base-url", BASE)
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text)
    email_review = by_id(parse(text))[str(reviews["email"])]
    assert email_review.find("reviewer/name").get("is_anonymous") == "true"


def test_feed_without_reviews_is_valid(runner, shop):
    tree = parse(export(runner, "--base-url", BASE))
    assert tree.find("reviews") is None and tree.find("deleted_reviews") is None


def test_feed_to_a_file_and_base_url_required(runner, reviews, tmp_path):
    result = runner.invoke(cli, ["export", "acme", "--format", "google-product-reviews"])
    assert result.exit_code != 0 and "--base-url" in result.output
    out = tmp_path / "feed.xml"
    result = runner.invoke(cli, ["export", "acme", "--format", "google-product-reviews", "--base-url", BASE, "-o", str(out)])
    assert result.exit_code == 0, result.output
    schema().assertValid(etree.parse(str(out)))


def test_jsonl_export_is_unchanged(runner, reviews):
    result = runner.invoke(cli, ["export", "acme"])
    assert result.exit_code == 0 and result.output.startswith("{")


XML_INVALID = ["\ufffe", "\uffff", "\x01", "\x0b"]  # (a lone surrogate cannot reach SQLite at all)


@pytest.mark.parametrize("char", XML_INVALID)
def test_characters_xml_forbids_in_any_stored_field_do_not_abort_the_feed(runner, db, shop, char):
    """Rows stored before input refused such characters (issue 8: U+FFFE in a SKU aborted the export)."""
    sku = f"SKU{char}9"
    store.upsert_product(db, shop["id"], sku, name=f"Naam{char}", url=None, gtin=None)
    store.add_review(db, shop["id"], rating=1, author=f"Bram{char}", title=f"Titel{char}", body=f"Tekst{char}",
                     product_sku=sku, created_at=T0)
    tree = parse(export(runner, "--base-url", BASE))
    review = tree.find("reviews/review")
    assert review.findtext("products/product/product_ids/skus/sku") == "SKU9"
    assert review.findtext("products/product/product_name") == "Naam"
    assert review.findtext("reviewer/name") == "Bram"
    assert review.findtext("title") == "Titel" and review.findtext("content") == "Tekst"
    assert review.findtext("review_url") == f"{BASE}/s/acme/p/SKU9"


@pytest.mark.parametrize("char", ["\ufffe", "\uffff", "\x85", "\x1f"])
def test_api_refuses_xml_invalid_characters_in_identifiers(client, auth, char):
    for path, body, field in [
        ("products", {"sku": f"A{char}B", "name": "x"}, "sku"),
        ("products", {"sku": "AB", "name": "x", "product_id": f"id{char}"}, "product_id"),
        ("reviews", {"rating": 3, "author": "a", "external_id": f"e{char}"}, "external_id"),
        ("invitations", {"order_ref": f"o{char}", "name": "n", "delivered_at": "2025-03-01T00:00:00Z"}, "order_ref"),
    ]:
        response = client.post(f"/api/v1/shops/acme/{path}", json=body, headers=auth)
        assert response.status_code == 400, (path, response.get_data(as_text=True))
        assert field in response.json["errors"], response.json


def test_api_strips_noncharacters_from_review_text(client, db, auth):
    response = client.post("/api/v1/shops/acme/reviews",
                           json={"rating": 2, "author": "Ann\ufffe", "title": "Ti\uffffs", "body": "B\ufffeody"},
                           headers=auth)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert (response.json["author"], response.json["title"], response.json["body"]) == ("Ann", "Tis", "Body")


def test_a_review_time_before_1000_is_a_padded_xs_datetime(runner, db, shop):
    """A row stored before times were bounded (year 150) still gives a feed that passes the XSD."""
    review_id = store.add_review(db, shop["id"], rating=1, author="Oud", body="Heel oud.", product_sku="SKU-1",
                                 created_at=T0)
    with store.write(db):
        db.execute("UPDATE reviews SET created_at = '0150-01-01T00:00:00.000000Z' WHERE id = ?", [review_id])
    tree = parse(export(runner, "--base-url", BASE))
    assert tree.findtext("reviews/review/review_timestamp") == "0150-01-01T00:00:00Z"
