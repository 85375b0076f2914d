"""Migration 11 rebuilds `outbox` with a wider kind CHECK: every row, id and webhook delivery survives."""

from __future__ import annotations

import sqlite3

import pytest

from widgetserver import store


def _at_version(path: str, last: int):
    """A database migrated up to and including `last`, as an older release left it."""
    db = store.connect(path)
    db.execute("CREATE TABLE migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
    for version, name, step in store.MIGRATIONS:
        if version <= last:
            with store.write(db):
                step(db)
                db.execute("INSERT INTO migrations VALUES (?, ?, ?)", [version, name, store.now_text()])
    return db


def _outbox(db, kind, status="pending", payload="{}"):
    now = store.now_text()
    return db.execute(
        "INSERT INTO outbox (shop_id, kind, target_id, event, payload, status, attempts, next_attempt_at,"
        " last_error, created_at) VALUES (1, ?, 7, ?, ?, ?, 2, ?, 'x', ?)",
        [kind, f"ev-{kind}", payload, status, now, now]).lastrowid


def test_migration_11_keeps_every_outbox_row_and_delivery_and_accepts_the_new_kinds(tmp_path):
    db = _at_version(str(tmp_path / "v10.db"), 10)
    assert store.schema_version(db) == 10
    now = store.now_text()
    db.execute("INSERT INTO shops (slug, name, created_at) VALUES ('old', 'Old', ?)", [now])
    db.execute("INSERT INTO webhook_endpoints (shop_id, url, secret, events, created_at)"
               " VALUES (1, 'https://hook.example/x', 's', '[]', ?)", [now])
    with pytest.raises(sqlite3.IntegrityError):  # version 10 refuses the new kinds
        _outbox(db, "confirmation")
    ids = [_outbox(db, "alert", "delivered"), _outbox(db, "webhook", "failed", '{"é": "ü"}'),
           _outbox(db, "followup"), _outbox(db, "digest", "sending"), _outbox(db, "webhook")]
    for outbox_id in (ids[1], ids[1], ids[4]):
        db.execute("INSERT INTO webhook_deliveries (outbox_id, endpoint_id, attempt, at, status_code, duration_ms,"
                   " outcome) VALUES (?, 1, 1, ?, 500, 12, 'retry')", [outbox_id, now])
    before = db.execute("SELECT * FROM outbox ORDER BY id").fetchall()
    deliveries = db.execute("SELECT * FROM webhook_deliveries ORDER BY id").fetchall()

    applied = store.migrate(db)
    assert 11 in applied and store.schema_version(db) == max(v for v, *_ in store.MIGRATIONS)
    assert db.execute("SELECT * FROM outbox ORDER BY id").fetchall() == before
    assert db.execute("SELECT * FROM webhook_deliveries ORDER BY id").fetchall() == deliveries
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1  # back on after the rebuild
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # The deliveries still point at the outbox (the reference was not renamed away), and foreign keys hold.
    fk = db.execute("PRAGMA foreign_key_list(webhook_deliveries)").fetchall()
    assert ("outbox", "outbox_id") in {(row[2], row[3]) for row in fk}
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO webhook_deliveries (outbox_id, endpoint_id, attempt, at, duration_ms, outcome)"
                   " VALUES (9999, 1, 1, ?, 1, 'retry')", [now])
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("DELETE FROM outbox WHERE id = ?", [ids[1]])
    # Every kind the code knows is accepted, and only those.
    for kind in store.OUTBOX_KINDS:
        _outbox(db, kind)
    with pytest.raises(sqlite3.IntegrityError):
        _outbox(db, "nonsense")
    with pytest.raises(sqlite3.IntegrityError):
        _outbox(db, "alert", status="nonsense")
    # The table and its indexes are what a fresh database has.
    fresh = store.connect(str(tmp_path / "fresh.db"))
    store.migrate(fresh)

    def shape(d):
        return ([tuple(r) for r in d.execute("PRAGMA table_info(outbox)")],
                sorted(tuple(r[1:3]) for r in d.execute("PRAGMA index_list(outbox)")),
                [tuple(r) for r in d.execute("PRAGMA foreign_key_list(outbox)")])

    assert shape(db) == shape(fresh)
    assert {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE name LIKE 'outbox%'")} == {
        "outbox", "outbox_due", "outbox_target"}
    assert store.migrate(db) == []


def test_migration_11_refuses_to_commit_broken_references_and_leaves_version_10(tmp_path, monkeypatch):
    db = _at_version(str(tmp_path / "broken.db"), 10)
    now = store.now_text()
    db.execute("INSERT INTO shops (slug, name, created_at) VALUES ('old', 'Old', ?)", [now])
    db.execute("INSERT INTO webhook_endpoints (shop_id, url, secret, events, created_at)"
               " VALUES (1, 'https://hook.example/x', 's', '[]', ?)", [now])
    kept = _outbox(db, "webhook")
    db.execute("INSERT INTO webhook_deliveries (outbox_id, endpoint_id, attempt, at, duration_ms, outcome)"
               " VALUES (?, 1, 1, ?, 1, 'retry')", [kept, now])
    original = store._m011_author_mail

    def losing_rows(d):  # a faulty rebuild that drops a referenced row must not be committed
        original(d)
        d.execute("DELETE FROM outbox")

    monkeypatch.setattr(store, "MIGRATIONS", [m if m[0] != 11 else (11, m[1], losing_rows) for m in store.MIGRATIONS])
    with pytest.raises(sqlite3.IntegrityError, match="broken reference"):
        store.migrate(db)
    assert store.schema_version(db) == 10
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    with pytest.raises(sqlite3.IntegrityError):
        _outbox(db, "decision")  # still the old table
