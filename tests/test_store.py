"""The review store: migrations, constraints, aggregates, query plans, audit chain."""

from __future__ import annotations

import itertools
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from widgetserver import store

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def fill(db, shop, n=40, verified_too=False):
    """n reviews over the shop and its two products, every rating (half verified with verified_too); returns ids."""
    skus = [None, "SKU-1", "SKU-2"]
    return [
        store.add_review(db, shop["id"], rating=i % 5 + 1, author=f"A{i}", product_sku=skus[i % 3],
                         created_at=T0 + timedelta(hours=i % 7),
                         **({"source": "invitation", "verified": True, "verification_method": "invitation-link"}
                            if verified_too and i % 2 else {}))
        for i in range(n)
    ]


# --- migrations and connection -------------------------------------------------


def test_fresh_database_is_fully_migrated(tmp_path):
    db = store.connect(str(tmp_path / "fresh.db"))
    assert store.schema_version(db) == 0
    applied = store.migrate(db)
    assert applied == [v for v, _, _ in store.MIGRATIONS]
    assert store.schema_version(db) == max(v for v, *_ in store.MIGRATIONS)
    rows = list(db.query("SELECT version, name, applied_at FROM migrations ORDER BY version"))
    assert [(r["version"], r["name"]) for r in rows] == [(v, n) for v, n, _ in store.MIGRATIONS]
    assert all(r["applied_at"] for r in rows)
    for table in ("shops", "api_keys", "products", "reviews", "replies", "reply_versions", "review_versions",
                  "aggregates", "audit_log", "meta"):
        assert db[table].exists(), table


def test_migrate_twice_is_a_no_op(tmp_path):
    path = str(tmp_path / "twice.db")
    db = store.connect(path)
    store.migrate(db)
    schema = list(db.query("SELECT name, sql FROM sqlite_master ORDER BY name"))
    assert store.migrate(db) == []
    db2 = store.connect(path)  # another process opening the same file
    assert store.migrate(db2) == []
    assert store.schema_version(db2) == max(v for v, *_ in store.MIGRATIONS)
    assert db.execute("SELECT count(*) FROM migrations").fetchone()[0] == len(store.MIGRATIONS)
    assert list(db.query("SELECT name, sql FROM sqlite_master ORDER BY name")) == schema


def test_migration_versions_are_increasing_and_unique():
    versions = [v for v, _, _ in store.MIGRATIONS]
    assert versions == sorted(set(versions)) and versions[0] == 1


def test_wal_mode_and_foreign_keys(db):
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def _insert_review(db, sid, **overrides):
    row = {"shop_id": sid, "rating": 4, "author": "a", "source": "import", "status": "published",
           "verified": 0, "created_at": store.now_text(), "updated_at": store.now_text(), **overrides}
    cols = ", ".join(row)
    db.execute(f"INSERT INTO reviews ({cols}) VALUES ({', '.join('?' * len(row))})", list(row.values()))


@pytest.mark.parametrize(
    "overrides",
    [
        {"rating": 6},
        {"rating": 0},
        {"status": "hidden"},
        {"status": "PUBLISHED"},
        {"source": "shop"},
        {"verified": 1, "source": "import"},
        {"verified": 1, "source": "open"},
        {"verified": 2, "source": "invitation"},
        {"verified": 1, "source": "invitation"},  # verified without saying how
        {"verified": 1, "source": "invitation", "verification_method": "order-invitation"},
        {"verification_method": "invitation-email"},  # an unverified review claiming a method
        {"shop_id": 999},  # foreign key
    ],
)
def test_check_constraints(db, shop, overrides):
    with pytest.raises(sqlite3.IntegrityError):
        _insert_review(db, shop["id"], **overrides)


def test_constraints_allow_valid_rows(db, shop):
    _insert_review(db, shop["id"], verified=1, source="invitation", verification_method="invitation-email")
    _insert_review(db, shop["id"], status="withdrawn")
    assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 2


@pytest.mark.parametrize("slug", ["A", "a", "ab_c", "-ab", "ab c", "Ab", "x" * 65, "é"])
def test_bad_shop_slugs(db, slug):
    with pytest.raises(store.StoreError) as err:
        store.create_shop(db, slug, "Name")
    assert err.value.field == "slug"


def test_duplicate_slug(db, shop):
    with pytest.raises(store.StoreError) as err:
        store.create_shop(db, "acme", "Again")
    assert err.value.status == 409


# --- aggregates ----------------------------------------------------------------


def test_aggregates_follow_every_write(db, shop):
    ids = fill(db, shop)
    assert store.recompute(db) == []
    store.set_reply(db, shop["id"], ids[0], body="Sorry", author="J", role="Owner")
    store.set_reply(db, shop["id"], ids[0], body="Sorry again", author="J", role="Owner")
    assert store.recompute(db) == []
    store.update_review(db, shop["id"], ids[1], rating=1, title="t", body="b", author="a")  # product review
    store.update_review(db, shop["id"], ids[3], rating=5, title="t", body="b", author="a")  # shop review
    assert store.recompute(db) == []
    store.set_review_status(db, shop["id"], ids[2], "withdrawn")
    store.set_review_status(db, shop["id"], ids[4], "removed", reason="spam")
    store.set_review_status(db, shop["id"], ids[5], "removed", reason="spam")
    assert store.recompute(db) == []
    store.set_review_status(db, shop["id"], ids[5], "published")
    store.set_review_status(db, shop["id"], ids[4], "withdrawn")  # removed -> withdrawn: still out
    assert store.recompute(db) == []
    store.set_review_status(db, shop["id"], ids[2], "withdrawn")  # no change is no change
    assert store.recompute(db) == []
    published = list(db.query("SELECT rating, product_id FROM reviews WHERE status = 'published'"))
    summary = store.summary_for(db, shop["id"])
    assert summary["count"] == len(published) == 40 - 2
    assert summary["rating_sum"] == sum(r["rating"] for r in published)
    for star in range(1, 6):
        assert summary["distribution"][str(star)] == sum(r["rating"] == star for r in published)
    sku1 = store.product_by_sku(db, shop["id"], "SKU-1")["id"]
    assert store.summary_for(db, shop["id"], sku1)["count"] == sum(r["product_id"] == sku1 for r in published)


def test_withdrawn_review_cannot_be_edited_or_replied_to(db, shop):
    (review_id,) = fill(db, shop, 1)
    store.set_review_status(db, shop["id"], review_id, "withdrawn")
    with pytest.raises(store.StoreError):
        store.update_review(db, shop["id"], review_id, rating=5, title="", body="", author="a")
    with pytest.raises(store.StoreError) as err:
        store.set_reply(db, shop["id"], review_id, body="x", author="a", role="r")
    assert err.value.status == 404
    with pytest.raises(store.StoreError):
        store.set_review_status(db, shop["id"], review_id, "hidden")
    assert store.recompute(db) == []


def test_failed_write_changes_nothing(db, shop):
    fill(db, shop, 5)
    before = (store.summary_for(db, shop["id"]), store.get_shop(db, "acme")["data_version"],
              db.execute("SELECT count(*) FROM audit_log").fetchone()[0])
    with pytest.raises(store.StoreError):
        store.add_review(db, shop["id"], rating=3, author="a", product_sku="NOPE")
    with pytest.raises(sqlite3.IntegrityError):
        store.add_review(db, shop["id"], rating=7, author="a")
    after = (store.summary_for(db, shop["id"]), store.get_shop(db, "acme")["data_version"],
             db.execute("SELECT count(*) FROM audit_log").fetchone()[0])
    assert before == after
    assert store.recompute(db) == []


def test_imports_keep_aggregates(db, shop):
    import io

    from widgetserver.transfer import import_reviews

    csv_text = "rating,author,product,reply_body,reply_author,reply_role\n" + "".join(
        f"{i % 5 + 1},Buyer {i},{'SKU-1' if i % 2 else ''},{'Thanks' if i % 4 == 0 else ''},"
        f"{'Joost' if i % 4 == 0 else ''},{'Owner' if i % 4 == 0 else ''}\n" for i in range(30)
    )
    counts = import_reviews(db, shop, io.StringIO(csv_text, newline=""), "csv")
    assert counts["reviews"] == 30 and counts["replies"] == 8
    assert store.recompute(db) == []
    assert store.summary_for(db, shop["id"])["count"] == 30


def test_recompute_reports_and_fixes_a_corrupt_aggregate(db, shop):
    fill(db, shop, 20)
    sku1 = store.product_by_sku(db, shop["id"], "SKU-1")["id"]
    right_shop = store.summary_for(db, shop["id"])
    right_product = store.summary_for(db, shop["id"], sku1)
    db.execute("UPDATE aggregates SET count = count + 3, r5 = r5 + 3 WHERE shop_id = ? AND product_id = ?",
               [shop["id"], sku1])
    db.execute("UPDATE aggregates SET rating_sum = 0 WHERE shop_id = ? AND product_id = 0", [shop["id"]])
    problems = store.recompute(db)
    assert len(problems) == 2
    assert any("(shop)" in p for p in problems)
    assert any(f"product {sku1}" in p for p in problems)
    assert store.summary_for(db, shop["id"]) != right_shop  # reporting alone mends nothing
    assert len(store.recompute(db, fix=True)) == 2
    assert store.recompute(db) == []
    assert store.summary_for(db, shop["id"]) == right_shop
    assert store.summary_for(db, shop["id"], sku1) == right_product


def test_summary_of_unknown_product_is_empty(db, shop):
    assert store.summary_for(db, shop["id"], 999)["count"] == 0


# --- query plans ---------------------------------------------------------------


def _list_sql(db, shop_id, **kwargs):
    """The SELECTs `store.list_reviews` runs, as executed (Python's trace callback expands parameters)."""
    statements = []
    db.conn.set_trace_callback(statements.append)
    try:
        store.list_reviews(db, shop_id, **kwargs)
    finally:
        db.conn.set_trace_callback(None)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "FROM reviews" in s]
    # One statement, or two for a deep page of a mixed-direction sort (rest of the star group, then the next stars).
    assert 1 <= len(selects) <= 2, statements
    return selects


def _plan(db, sql):
    return [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql).fetchall()]


def _plan_cases(db, shop):
    sku1 = store.product_by_sku(db, shop["id"], "SKU-1")["id"]
    for sort, product_id, rating, verified in itertools.product(store.SORTS, (None, sku1), (None, 3), (None, True)):
        kwargs = {"sort": sort, "product_id": product_id, "rating": rating, "verified": verified, "limit": 5}
        _, key = store.list_reviews(db, shop["id"], **kwargs)
        assert key is not None
        for after in (None, key):
            yield {**kwargs, "after": after}


def _assert_no_sort_step(db, shop):
    problems = []
    for kwargs in _plan_cases(db, shop):
        for sql in _list_sql(db, shop["id"], **kwargs):
            plan = _plan(db, sql)
            if any("TEMP B-TREE" in step for step in plan):
                problems.append((kwargs, plan))
            assert any("USING INDEX reviews_" in step or "USING COVERING INDEX reviews_" in step for step in plan), plan
    assert problems == [], "\n".join(f"{k}: {p}" for k, p in problems)


def test_list_queries_use_an_index_without_a_sort_step(db, shop):
    fill(db, shop, 300, verified_too=True)
    _assert_no_sort_step(db, shop)


def test_list_queries_need_no_sort_step_after_analyze(db, shop):
    fill(db, shop, 300, verified_too=True)
    db.execute("ANALYZE")
    _assert_no_sort_step(db, shop)


# --- audit log -----------------------------------------------------------------


def _audit_count(db):
    return db.execute("SELECT count(*) FROM audit_log").fetchone()[0]


def test_every_write_appends_an_audit_entry(db, shop):
    n = _audit_count(db)
    (review_id,) = fill(db, shop, 1)
    assert _audit_count(db) == n + 1
    store.set_reply(db, shop["id"], review_id, body="b", author="a", role="r")
    store.update_review(db, shop["id"], review_id, rating=2, title="", body="", author="a")
    store.set_review_status(db, shop["id"], review_id, "withdrawn", actor="author")
    key = store.create_key(db, shop["id"])
    store.revoke_key(db, key)
    store.update_shop_settings(db, shop["id"], organization_rating=True)
    store.upsert_product(db, shop["id"], "SKU-3", name="x")
    assert _audit_count(db) == n + 8
    last = list(db.query("SELECT * FROM audit_log ORDER BY id"))
    actions = [(r["entity"], r["action"]) for r in last[-8:]]
    assert actions == [("review", "create"), ("reply", "create"), ("review", "update"), ("review", "withdrawn"),
                       ("api_key", "create"), ("api_key", "revoke"), ("shop", "settings"), ("product", "create")]
    assert all(r["shop_id"] == shop["id"] for r in last[-8:])
    assert key not in "".join(r["data"] for r in last)
    count, problems = store.verify_audit(db)
    assert count == _audit_count(db) and problems == []


def test_audit_chain_detects_edited_data(db, shop):
    fill(db, shop, 5)
    target = db.execute("SELECT id FROM audit_log ORDER BY id LIMIT 1 OFFSET 3").fetchone()[0]
    db.execute("UPDATE audit_log SET data = '{\"rating\": 5}' WHERE id = ?", [target])
    _, problems = store.verify_audit(db)
    assert problems and any(f"entry {target}" in p for p in problems)


def test_audit_chain_detects_edit_with_rehash(db, shop):
    """Even if the edited entry's own hash is recomputed, the next entry's prev_hash no longer matches."""
    fill(db, shop, 5)
    rows = list(db.query("SELECT * FROM audit_log ORDER BY id"))
    row = rows[2]
    fields = {k: row[k] for k in ("at", "shop_id", "actor", "action", "entity", "entity_id", "data")}
    fields["actor"] = "someone-else"
    db.execute("UPDATE audit_log SET actor = ?, hash = ? WHERE id = ?",
               [fields["actor"], store._entry_hash(row["prev_hash"], fields), row["id"]])
    _, problems = store.verify_audit(db)
    assert any(f"entry {rows[3]['id']}" in p for p in problems)


def test_audit_chain_detects_deleted_entry(db, shop):
    fill(db, shop, 5)
    middle = db.execute("SELECT id FROM audit_log ORDER BY id LIMIT 1 OFFSET 2").fetchone()[0]
    db.execute("DELETE FROM audit_log WHERE id = ?", [middle])
    _, problems = store.verify_audit(db)
    assert problems


# --- list_reviews directly -----------------------------------------------------


def test_list_reviews_keyset_walk(db, shop):
    fill(db, shop, 50)
    for sort in store.SORTS:
        seen, after = [], None
        while True:
            page, after = store.list_reviews(db, shop["id"], sort=sort, limit=7, after=after)
            seen.extend(r["id"] for r in page)
            if after is None:
                break
        assert sorted(seen) == sorted(r["id"] for r in db.query("SELECT id FROM reviews"))
        assert len(seen) == len(set(seen))


def test_get_review_of_another_shop_is_none(db, shop, other_shop_key):
    (review_id,) = fill(db, shop, 1)
    beta = store.get_shop(db, "beta")
    assert store.get_review(db, beta["id"], review_id) is None
    assert store.review_row(db, beta["id"], review_id) is None
    with pytest.raises(store.StoreError) as err:
        store.set_reply(db, beta["id"], review_id, body="x", author="a", role="r")
    assert err.value.status == 404
    with pytest.raises(store.StoreError):
        store.set_review_status(db, beta["id"], review_id, "removed")
    with pytest.raises(store.StoreError):
        store.update_review(db, beta["id"], review_id, rating=1, title="", body="", author="a")
    assert store.recompute(db) == []


# --- the audit chain's payload, written out -------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

_any_text = st.text(max_size=30)


@settings(max_examples=300, deadline=None)
@given(_any_text, st.one_of(st.none(), st.integers(0, 2**62)), _any_text, _any_text, _any_text, _any_text,
       st.dictionaries(_any_text, st.one_of(st.none(), st.booleans(), st.integers(), _any_text), max_size=4))
def test_chain_payload_is_the_encoders_text(at, shop_id, actor, action, entity, entity_id, data):
    """Entries hashed with the written-out payload verify with the encoder (verify_audit, audit exports)."""
    data_text = store._DATA_JSON.encode(data)
    fields = {"at": at, "shop_id": shop_id, "actor": actor, "action": action, "entity": entity,
              "entity_id": entity_id, "data": data_text}
    assert store._chain_payloads(at, shop_id, actor)(action, entity, entity_id, data_text) == \
        store._CHAIN_JSON.encode(fields)


def test_add_reviews_refuses_time_text_that_is_not_in_stored_form(db, shop):
    """created_at may be given as stored text (an import's shortcut); anything else as text is refused."""
    with pytest.raises(ValueError, match="stored form"):
        store.add_reviews(db, shop["id"], [{"rating": 4, "author": "Anna", "created_at": "2024-01-02T03:04:05.000000Z"},
                                           {"rating": 2, "author": "Bram", "created_at": "2024-01-02 03:04"}])
    assert store.summary_for(db, shop["id"])["count"] == 0
    ids = store.add_reviews(db, shop["id"], [{"rating": 4, "author": "Anna", "created_at": "2024-01-02T03:04:05.000000Z"},
                                             {"rating": 2, "author": "Bram"}])
    assert [store.review_row(db, shop["id"], i)["created_at"][:10] for i in ids][0] == "2024-01-02"


def test_review_columns_of_dicts_fill_in_what_is_left_out():
    columns = store.ReviewColumns.of([{"rating": 4, "author": "Anna"},
                                      {"rating": 2, "author": "Bram", "title": "Kapot", "product_sku": "SKU-1"}])
    assert columns.rating == (4, 2) and columns.title == ("", "Kapot") and columns.product_sku == (None, "SKU-1")
    joined = store.ReviewColumns.join([columns, store.ReviewColumns.of([]), store.ReviewColumns.of([{"rating": 5, "author": "C"}])])
    assert list(joined.author) == ["Anna", "Bram", "C"] and list(joined.reply) == [None, None, None]
