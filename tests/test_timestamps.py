"""Stored times: bounded on every way in, one canonical format, all-or-nothing writes, `check` finds bad rows.

Regression for issue 8 item 3: a review dated year 150 was stored as "150-01-01T..." (strftime leaves
years before 1000 unpadded), could not be read back, and every list that reached it (sort=lowest,
sort=oldest, rating=1) answered 500, hiding the 1-star reviews; the POST itself answered 500 after
committing.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest

from widgetserver import invitations, store
from widgetserver.cli import main
from widgetserver.transfer import ImportFailed, import_reviews

BASE = "/api/v1/shops"
NOW = datetime.now(timezone.utc)


def counts(db):
    """Rows that any write would add: reviews, invitations, replies, products, audit entries."""
    return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("reviews", "invitations", "replies", "products", "audit_log")}


# --- format ----------------------------------------------------------------------


@pytest.mark.parametrize("year", [1, 150, 999, 1000, 1995, 2025, 9999])
def test_format_time_is_fixed_width_and_reads_back(year):
    moment = datetime(year, 3, 4, 5, 6, 7, 89, tzinfo=timezone.utc)
    text = store.format_time(moment)
    assert store.TIME_PATTERN.match(text), text
    assert len(text) == len("2025-03-04T05:06:07.000089Z")
    assert store.parse_time(text) == moment


def test_parse_time_refuses_other_forms():
    for text in ("150-01-01T00:00:00.000000Z", "2025-01-01T00:00:00Z", "2025-01-01 00:00:00.000000Z", "", "yesterday"):
        with pytest.raises(ValueError):
            store.parse_time(text)


def test_format_time_out_of_range_is_a_value_error():
    moment = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))
    with pytest.raises(ValueError):
        store.format_time(moment)


# --- bounds on the way in ---------------------------------------------------------

BAD_REVIEW_TIMES = [
    "0150-01-01T00:00:00Z",
    "1994-12-31T23:59:59Z",
    "0001-01-01T00:00:00+14:00",  # OverflowError when converted to UTC
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00",
    (NOW + timedelta(days=2)).isoformat(),
]


@pytest.mark.parametrize("created_at", BAD_REVIEW_TIMES)
def test_api_refuses_review_times_out_of_bounds(client, db, shop, auth, created_at):
    before = counts(db)
    response = client.post(f"{BASE}/acme/reviews", json={"rating": 1, "author": "A", "created_at": created_at},
                           headers=auth)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["errors"]["created_at"]
    assert counts(db) == before


@pytest.mark.parametrize("created_at, stored", [
    ("1995-01-01T00:00:00Z", "1995-01-01T00:00:00.000000Z"),
    ("2025-06-01T02:00:00+02:00", "2025-06-01T00:00:00.000000Z"),
    ("2025-06-01T00:00:00", "2025-06-01T00:00:00.000000Z"),  # no offset: UTC
])
def test_api_stores_review_times_in_the_canonical_form(client, db, shop, auth, created_at, stored):
    response = client.post(f"{BASE}/acme/reviews", json={"rating": 1, "author": "A", "created_at": created_at},
                           headers=auth)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert db.execute("SELECT created_at FROM reviews").fetchone()[0] == stored


def test_a_review_may_be_dated_up_to_a_day_ahead(client, db, shop, auth):
    soon = (NOW + timedelta(hours=20)).isoformat()
    response = client.post(f"{BASE}/acme/reviews", json={"rating": 2, "author": "A", "created_at": soon}, headers=auth)
    assert response.status_code == 201, response.get_data(as_text=True)


@pytest.mark.parametrize("delivered_at", ["0150-01-01T00:00:00Z", "1994-06-01T00:00:00Z", "0001-01-01T00:00:00+14:00",
                                          (NOW + timedelta(days=91)).isoformat()])
def test_api_refuses_delivery_times_out_of_bounds(client, db, shop, auth, delivered_at):
    before = counts(db)
    response = client.post(f"{BASE}/acme/invitations",
                           json={"order_ref": "o-1", "name": "Jan", "delivered_at": delivered_at}, headers=auth)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["errors"]["delivered_at"]
    assert counts(db) == before


def test_store_refuses_out_of_bounds_times_whatever_the_caller(db, shop):
    """The store guards too, so a CLI, an import or a future caller cannot write an unreadable row."""
    with pytest.raises(store.StoreError) as exc:
        store.add_review(db, shop["id"], rating=1, author="A", created_at=datetime(150, 1, 1, tzinfo=timezone.utc))
    assert exc.value.field == "created_at"
    with pytest.raises(store.StoreError) as exc:
        invitations.create_invitation(db, shop, "secret", order_ref="o", name="n", email=None, skus=[],
                                      delivered_at=datetime(150, 1, 1, tzinfo=timezone.utc))
    assert exc.value.field == "delivered_at"
    assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM invitations").fetchone()[0] == 0


def test_import_with_a_bad_date_imports_nothing(db, shop):
    lines = [json.dumps({"rating": 5, "author": "Ok", "created_at": "2024-01-01T00:00:00Z"}),
             json.dumps({"rating": 1, "author": "Old", "created_at": "0150-01-01T00:00:00Z"})]
    before = counts(db)
    with pytest.raises(ImportFailed) as exc:
        import_reviews(db, shop, io.StringIO("\n".join(lines)), "jsonl")
    assert [line for line, _ in exc.value.problems] == [2]
    assert "created_at" in exc.value.problems[0][1]
    assert counts(db) == before


def test_cli_import_with_a_bad_date_fails_cleanly(runner, db, shop, tmp_path):
    path = tmp_path / "old.csv"
    path.write_text("rating,author,created_at\n1,Old,0150-01-01T00:00:00Z\n", encoding="utf-8")
    result = runner.invoke(main, ["import", "acme", str(path)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "created_at" in result.output
    assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0


# --- all or nothing: no commit before the answer is built ----------------------------


def _boom(*args, **kwargs):
    raise RuntimeError("the answer could not be built")


WRITES = [
    ("reviews", {"rating": 1, "author": "A"}, "get_review"),
    ("products", {"sku": "NEW-1", "name": "Nieuw"}, "summary_for"),
    ("invitations", {"order_ref": "o-9", "name": "Jan", "delivered_at": "2025-03-01T12:00:00Z"}, "parse_time"),
]


@pytest.mark.parametrize("path, body, breaks", WRITES)
def test_a_write_whose_answer_fails_stores_nothing(app, client, db, shop, auth, monkeypatch, path, body, breaks):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    before = counts(db)
    version = store.get_shop(db, "acme")["data_version"]
    monkeypatch.setattr(store, breaks, _boom)
    response = client.post(f"{BASE}/acme/{path}", json=body, headers=auth)
    assert response.status_code == 500
    monkeypatch.undo()
    assert counts(db) == before
    assert store.get_shop(db, "acme")["data_version"] == version


def test_a_reply_whose_answer_fails_stores_nothing(app, client, db, shop, auth, monkeypatch):
    review_id = store.add_review(db, shop["id"], rating=1, author="A")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    before = counts(db)
    monkeypatch.setattr(store, "get_review", _boom)
    response = client.post(f"{BASE}/acme/reviews/{review_id}/reply",
                           json={"body": "Sorry", "author": "Eva", "role": "Service"}, headers=auth)
    assert response.status_code == 500
    monkeypatch.undo()
    assert counts(db) == before


# --- rows written before the fix: migration 6, check, recompute ---------------------------


def _legacy_rows(db, shop):
    """A 5-star review, and a 1-star one dated year 150 the way the old format_time wrote it."""
    store.add_review(db, shop["id"], rating=5, author="Happy", created_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
    old = store.add_review(db, shop["id"], rating=1, author="Unhappy", created_at=datetime(2025, 1, 2, tzinfo=timezone.utc))
    with store.write(db):
        db.execute("UPDATE reviews SET created_at = '150-01-01T00:00:00.000000Z',"
                   " updated_at = '150-01-01T00:00:00.000000Z' WHERE id = ?", [old])
    return old


def test_check_reports_unreadable_rows_and_exits_nonzero(runner, db, shop):
    review_id = _legacy_rows(db, shop)
    result = runner.invoke(main, ["check"])
    assert result.exit_code == 1, result.output
    assert f"reviews id={review_id}: created_at '150-01-01T00:00:00.000000Z' is unreadable" in result.output
    assert "aggregates: ok" in result.output and "audit chain: ok" in result.output
    recompute = runner.invoke(main, ["recompute"])
    assert recompute.exit_code == 1
    assert "150-01-01" in recompute.output and "unreadable" in recompute.output


def test_check_passes_on_a_sound_database(runner, db, shop):
    store.add_review(db, shop["id"], rating=1, author="A")
    result = runner.invoke(main, ["check"])
    assert result.exit_code == 0, result.output
    for section in ("SQLite integrity: ok", "stored times: ok", "aggregates: ok", "audit chain: ok"):
        assert section in result.output


def test_check_reports_times_out_of_range(runner, db, shop):
    review_id = store.add_review(db, shop["id"], rating=1, author="A")
    with store.write(db):
        db.execute("UPDATE reviews SET created_at = '2999-01-01T00:00:00.000000Z' WHERE id = ?", [review_id])
    result = runner.invoke(main, ["check"])
    assert result.exit_code == 1
    assert f"reviews id={review_id}: created_at 2999-01-01T00:00:00.000000Z is more than 1 day(s) ahead" in result.output


def _rerun_migration_6(db):
    with store.write(db):
        db.execute("DELETE FROM migrations WHERE version = 6")
    assert store.migrate(db) == [6]


def test_migration_6_makes_legacy_rows_readable_and_the_one_star_review_visible(client, db, shop, runner):
    review_id = _legacy_rows(db, shop)
    version = store.get_shop(db, "acme")["data_version"]
    _rerun_migration_6(db)
    assert db.execute("SELECT created_at, updated_at FROM reviews WHERE id = ?", [review_id]).fetchone() == \
        ("0150-01-01T00:00:00.000000Z", "0150-01-01T00:00:00.000000Z")
    assert store.get_shop(db, "acme")["data_version"] > version  # cached pages are stale
    assert db.execute("SELECT actor, action FROM audit_log ORDER BY id DESC LIMIT 1").fetchone() == \
        ("migration", "normalise")
    ok, problems = store.verify_audit(db)
    assert not problems
    # Every view that failed before now answers, and the 1-star review is in it.
    for query in ("sort=lowest", "sort=oldest", "rating=1"):
        response = client.get(f"{BASE}/acme/reviews?{query}")
        assert response.status_code == 200, (query, response.get_data(as_text=True)[:300])
        assert review_id in [item["id"] for item in response.json["items"]]
        for url in (f"/w/acme/list.html?{query}", f"/s/acme?{query}"):
            page = client.get(url)
            assert page.status_code == 200, url
            assert "Unhappy" in page.get_data(as_text=True), url
    # Readable now, but still out of range: check keeps saying so until someone corrects the date.
    result = runner.invoke(main, ["check"])
    assert result.exit_code == 1
    assert f"reviews id={review_id}: created_at 0150-01-01T00:00:00.000000Z is before 1995-01-01" in result.output


def test_migration_6_normalises_other_loose_forms_and_leaves_garbage_for_check(db, shop, runner):
    review_id = store.add_review(db, shop["id"], rating=3, author="A")
    with store.write(db):
        db.execute("UPDATE reviews SET created_at = '2025-03-01T12:00:00+02:00', updated_at = 'soon' WHERE id = ?",
                   [review_id])
    _rerun_migration_6(db)
    assert db.execute("SELECT created_at, updated_at FROM reviews WHERE id = ?", [review_id]).fetchone() == \
        ("2025-03-01T10:00:00.000000Z", "soon")
    result = runner.invoke(main, ["check"])
    assert result.exit_code == 1
    assert f"reviews id={review_id}: updated_at 'soon' is unreadable" in result.output


def test_migration_6_on_a_fresh_database_changes_nothing(db):
    audit_before = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    _rerun_migration_6(db)
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == audit_before


def test_cli_invitation_import_of_binary_or_bad_dates_fails_cleanly(runner, db, shop, tmp_path):
    binary = tmp_path / "orders.csv"
    binary.write_bytes(b"order_ref,name,delivered_at\n\x00\xff\xfe\x81\x00,\xc3\x28,\x00\n")
    result = runner.invoke(main, ["invitations", "import", "acme", str(binary)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception  # no traceback
    dates = tmp_path / "dates.csv"
    dates.write_text("order_ref,name,delivered_at\no-1,Jan,2025-03-01T12:00:00Z\no-2,Piet,0150-01-01T00:00:00Z\n",
                     encoding="utf-8")
    result = runner.invoke(main, ["invitations", "import", "acme", str(dates)])
    assert result.exit_code == 1
    assert "dates.csv:3: delivered_at" in result.output
    assert db.execute("SELECT count(*) FROM invitations").fetchone()[0] == 0
