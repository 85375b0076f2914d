"""Moderation: operator decisions on reports (keep / remove with one reason), tombstones, erasure."""

from __future__ import annotations

import sqlite3

import pytest

from widgetserver import moderation, store
from widgetserver.cli import main
from widgetserver.reports import add_report


@pytest.fixture
def reviewed(db, shop):
    """Three published reviews of acme; review 1 (1 star) is reported twice, once by a shopper, once by the shop."""
    ids = [
        store.add_review(db, shop["id"], rating=1, author="Piet Jansen", title="Nooit meer",
                         body="Mijn adres is Dorpsstraat 1, bel me op 0612345678.", product_sku="SKU-1"),
        store.add_review(db, shop["id"], rating=5, author="Anna", body="Prima."),
        store.add_review(db, shop["id"], rating=4, author="Kees", body="Goed.", product_sku="SKU-1"),
    ]
    add_report(db, shop["id"], ids[0], "personal_data", "Staat een telefoonnummer in.", "nl")
    add_report(db, shop["id"], ids[0], "spam", "", "nl", reporter="shop")
    return ids


def api_reviews(client, **params):
    response = client.get("/api/v1/shops/acme/reviews", query_string={"limit": 100, **params})
    assert response.status_code == 200
    return response.get_json()


def test_queue_shows_review_reporters_reasons_and_count(db, shop, reviewed):
    queue = moderation.open_reports(db)
    assert len(queue) == 1
    item = queue[0]
    assert item["review"]["id"] == reviewed[0] and item["shop"] == "acme"
    assert item["reports"] == 2
    assert item["reasons"] == ["personal_data", "spam"]
    assert item["reporters"] == ["shop", "shopper"]
    assert [n["note"] for n in item["notes"]] == ["Staat een telefoonnummer in.", ""]


def test_remove_for_personal_data_leaves_widgets_and_aggregates_and_is_audited(client, db, shop, reviewed):
    before = client.get("/api/v1/shops/acme/summary").get_json()
    assert before["count"] == 3 and before["distribution"]["1"] == 1

    decision = moderation.decide(db, shop, reviewed[0], "remove", reason="personal_data",
                                 note="Phone number in the body.", decided_by="operator", operator=True)

    after = client.get("/api/v1/shops/acme/summary").get_json()
    assert after["count"] == 2 and after["distribution"]["1"] == 0
    assert after["average"] == 4.5
    assert reviewed[0] not in [r["id"] for r in api_reviews(client)["items"]]
    fragment = client.get("/w/acme/list.html").get_data(as_text=True)
    assert "Dorpsstraat" not in fragment and "Kees" in fragment
    product = client.get("/api/v1/shops/acme/summary", query_string={"product": "SKU-1"}).get_json()
    assert product["count"] == 1
    assert store.recompute(db) == []  # aggregates agree with a full scan

    reports = list(db.query("SELECT status, decision_id, decided_at FROM reports WHERE review_id = ?", [reviewed[0]]))
    assert {r["status"] for r in reports} == {"upheld"} and {r["decision_id"] for r in reports} == {decision}
    row = store.review_row(db, shop["id"], reviewed[0])
    assert (row["status"], row["status_reason"]) == ("removed", "personal_data")

    entries = list(db.query("SELECT actor, action, data FROM audit_log WHERE entity = 'review' AND entity_id = ?",
                            [str(reviewed[0])]))
    assert ("operator", "decide-remove") in [(e["actor"], e["action"]) for e in entries]
    assert ("operator", "removed") in [(e["actor"], e["action"]) for e in entries]
    assert store.verify_audit(db)[1] == []

    [stone] = moderation.tombstones(db, shop["id"])
    assert stone["review_id"] == reviewed[0] and stone["reason"] == "personal_data"
    assert moderation.open_reports(db) == []


def test_keep_dismisses_the_reports_and_the_review_stays(client, db, shop, reviewed):
    moderation.decide(db, shop, reviewed[0], "keep", note="Criticism is not a reason.", decided_by="operator",
                      operator=True)
    assert reviewed[0] in [r["id"] for r in api_reviews(client)["items"]]
    assert {r["status"] for r in db.query("SELECT status FROM reports")} == {"dismissed"}
    assert moderation.tombstones(db, shop["id"]) == []


def test_a_shop_cannot_decide_on_its_own_reviews(db, shop, reviewed):
    with pytest.raises(moderation.ModerationError) as info:
        moderation.decide(db, shop, reviewed[0], "remove", reason="spam", decided_by="owner@acme.example",
                          operator=False)
    assert info.value.status == 403
    assert store.review_row(db, shop["id"], reviewed[0])["status"] == "published"
    assert db.execute("SELECT count(*) FROM decisions").fetchone()[0] == 0
    assert {r["status"] for r in db.query("SELECT status FROM reports")} == {"open"}


def test_a_self_moderated_shop_may_decide_and_it_is_recorded(db, shop, reviewed):
    store.update_shop_settings(db, shop["id"], self_moderated=True)
    shop = store.get_shop(db, "acme")
    moderation.decide(db, shop, reviewed[0], "keep", decided_by="owner@acme.example", operator=False)
    entry = db.execute("SELECT data FROM audit_log WHERE action = 'decide-keep'").fetchone()[0]
    assert '"self_moderated": true' in entry


@pytest.mark.parametrize("outcome, reason, status", [
    ("remove", None, 400), ("remove", "too negative", 400), ("delete", "spam", 400),
])
def test_invalid_decisions_are_refused_and_change_nothing(db, shop, reviewed, outcome, reason, status):
    with pytest.raises(moderation.ModerationError) as info:
        moderation.decide(db, shop, reviewed[0], outcome, reason=reason, decided_by="operator", operator=True)
    assert info.value.status == status
    assert store.review_row(db, shop["id"], reviewed[0])["status"] == "published"
    assert db.execute("SELECT count(*) FROM decisions").fetchone()[0] == 0


def test_no_decision_without_an_open_report(db, shop, reviewed):
    with pytest.raises(moderation.ModerationError) as info:
        moderation.decide(db, shop, reviewed[1], "remove", reason="spam", decided_by="operator", operator=True)
    assert info.value.status == 409


def test_the_table_itself_refuses_a_removal_without_reason(db, shop, reviewed):
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO decisions (shop_id, review_id, outcome, reason, decided_by, decided_at)"
                   " VALUES (?, ?, 'remove', NULL, 'x', 'y')", [shop["id"], reviewed[0]])


def test_erasure_blanks_personal_data_everywhere_and_is_counted(client, db, shop, reviewed):
    store.update_review(db, shop["id"], reviewed[0], rating=2, title="Update", body="Nog steeds Dorpsstraat 1.",
                        author="Piet Jansen")
    moderation.erase(db, shop["id"], reviewed[0], requested_by="author", erased_by="operator")
    row = store.review_row(db, shop["id"], reviewed[0])
    assert (row["author"], row["title"], row["body"], row["status"]) == ("", "", "", "withdrawn")
    versions = list(db.query("SELECT author, title, body FROM review_versions WHERE review_id = ?", [reviewed[0]]))
    assert versions and all(v == {"author": "", "title": "", "body": ""} for v in versions)
    assert all(r["note"] == "" for r in db.query("SELECT note FROM reports WHERE review_id = ?", [reviewed[0]]))
    dump = "\n".join(db.conn.iterdump())
    assert "Dorpsstraat" not in dump and "Piet Jansen" not in dump
    assert client.get("/api/v1/shops/acme/summary").get_json()["count"] == 2
    assert db.execute("SELECT requested_by FROM erasures").fetchall() == [("author",)]
    with pytest.raises(moderation.ModerationError):
        moderation.erase(db, shop["id"], reviewed[0], requested_by="author", erased_by="operator")
    assert store.verify_audit(db)[1] == []


def test_cli_lists_and_decides(runner, db, shop, reviewed):
    listing = runner.invoke(main, ["reports", "list"])
    assert listing.exit_code == 0, listing.output
    assert f"acme review {reviewed[0]}: 1/5 by Piet Jansen" in listing.output
    assert "2 report(s)" in listing.output and "personal_data, spam" in listing.output

    refused = runner.invoke(main, ["reports", "decide", "acme", str(reviewed[0]), "remove"])
    assert refused.exit_code != 0 and "exactly one reason" in refused.output

    done = runner.invoke(main, ["reports", "decide", "acme", str(reviewed[0]), "remove", "--reason", "personal_data",
                                "--note", "phone number"])
    assert done.exit_code == 0, done.output
    assert "Removed review" in done.output
    assert runner.invoke(main, ["reports", "list"]).output.strip() == "No open reports."


def test_cli_erase_asks_and_erases(runner, db, shop, reviewed):
    aborted = runner.invoke(main, ["erase", "acme", str(reviewed[1])], input="n\n")
    assert aborted.exit_code != 0
    assert store.review_row(db, shop["id"], reviewed[1])["author"] == "Anna"
    done = runner.invoke(main, ["erase", "acme", str(reviewed[1]), "--yes"])
    assert done.exit_code == 0, done.output
    assert store.review_row(db, shop["id"], reviewed[1])["author"] == ""


def test_self_moderated_flag_from_the_cli(runner, db, shop):
    result = runner.invoke(main, ["shops", "set", "acme", "--self-moderated"])
    assert result.exit_code == 0, result.output
    assert moderation.is_self_moderated(store.get_shop(db, "acme"))


def test_a_removed_review_leaves_a_public_tombstone_on_the_hosted_page(client, db, shop, reviewed):
    moderation.decide(db, shop, reviewed[0], "remove", reason="personal_data", decided_by="operator", operator=True)
    html = client.get("/s/acme?locale=en").get_data(as_text=True)
    assert "Dorpsstraat" not in html
    assert "1 review removed by the moderator" in html
    assert "by the moderator: It contains personal data" in html
    assert "/s/acme/transparency" in html
    dutch = client.get("/s/acme?locale=nl").get_data(as_text=True)
    assert "door de moderator" in dutch
    page = client.get("/s/acme/transparency?locale=en").get_data(as_text=True)
    assert 'id="removed-personal_data"><th scope="row">' in page
