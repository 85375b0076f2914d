"""Every migration is all-or-nothing: a failure anywhere in a step leaves the schema and the version as they were."""

from __future__ import annotations

import inspect

import pytest

from widgetserver import store


_ORIGINAL = list(store.MIGRATIONS)


def _schema(db):
    return db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()


@pytest.mark.parametrize("version", [v for v, *_ in store.MIGRATIONS])
def test_a_step_that_fails_at_its_end_leaves_nothing_behind(tmp_path, monkeypatch, version):
    db = store.connect(str(tmp_path / "m.db"))
    earlier = [m for m in store.MIGRATIONS if m[0] < version]
    monkeypatch.setattr(store, "MIGRATIONS", earlier)
    store.migrate(db)
    before = _schema(db)
    _, name, step = next(m for m in _ORIGINAL if m[0] == version)

    def failing(db_):
        step(db_)
        raise RuntimeError("power cut at the end of the step")

    monkeypatch.setattr(store, "MIGRATIONS", earlier + [(version, name, failing)])
    with pytest.raises(RuntimeError):
        store.migrate(db)
    assert _schema(db) == before
    assert not db.execute("SELECT 1 FROM migrations WHERE version = ?", [version]).fetchone()
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    monkeypatch.setattr(store, "MIGRATIONS", earlier + [(version, name, step)])
    assert store.migrate(db) == [version]  # and it applies cleanly afterwards


def test_no_migration_uses_executescript():
    # sqlite3's executescript COMMITs the migration's transaction before running (sqlite-utils' works
    # around it); migrations use store.run_script, whose atomicity this file checks.
    for version, _, step in store.MIGRATIONS:
        assert ".executescript(" not in inspect.getsource(step), f"migration {version}"


def test_run_script_runs_triggers_strings_and_several_statements_per_line(tmp_path):
    db = store.connect(str(tmp_path / "s.db"))
    with store.write(db):
        store.run_script(db, """
            CREATE TABLE a (x TEXT); CREATE TABLE b (y INTEGER);
            INSERT INTO a VALUES ('semi;colon'); -- a comment; with a semicolon
            CREATE TRIGGER t AFTER INSERT ON a BEGIN INSERT INTO b VALUES (1); INSERT INTO b VALUES (2); END;
            INSERT INTO a VALUES ('x');
        """)
    assert db.execute("SELECT x FROM a ORDER BY rowid").fetchall() == [("semi;colon",), ("x",)]
    assert db.execute("SELECT y FROM b ORDER BY rowid").fetchall() == [(1,), (2,)]
    with pytest.raises(ValueError, match="unfinished"):
        store.run_script(db, "CREATE TABLE c (z TEXT)")


def test_no_migration_reads_a_live_constant():
    # A released migration must create the same schema forever: a value list it interpolated from a constant
    # would widen a fresh database's CHECK while existing databases keep the old one.
    for version, _, step in store.MIGRATIONS:
        source = inspect.getsource(step)
        assert "!r}" not in source and 'f"""' not in source, f"migration {version} interpolates a value"


# Each value list the code checks against, and the table whose CHECK (in the latest schema) must allow exactly it.
CHECKED = [("SOURCES", "reviews"), ("STATUSES", "reviews"), ("INVITATION_STATUSES", "invitations"),
           ("REPORT_REASONS", "reports"), ("REPORT_STATUSES", "reports"), ("REPORTERS", "reports"),
           ("VERIFICATION_METHODS", "reviews_verification_valid"), ("USER_ROLES", "users"),
           ("ALERT_MODES", "alert_recipients"), ("OUTBOX_KINDS", "outbox"), ("OUTBOX_STATUSES", "outbox"),
           ("FOLLOWUP_ANSWERS", "followups"), ("DECISION_OUTCOMES", "decisions")]


@pytest.mark.parametrize("constant, name", CHECKED)
def test_every_value_list_in_the_code_matches_the_latest_schema(tmp_path, constant, name):
    db = store.connect(str(tmp_path / "c.db"))
    store.migrate(db)
    sql = " ".join(row[0] for row in db.execute("SELECT sql FROM sqlite_master WHERE name = ? OR tbl_name = ?",
                                                [name, name]) if row[0])
    values = getattr(store, constant)
    assert f"IN {values!r}" in sql, f"{constant} {values} is not what {name} allows: add a migration"
