"""The signing key lives outside the database: a 0600 key file or the environment; an old stored key moves out
without breaking the links it signed; rotation keeps old keys accepted."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest

from widgetserver import create_app, invitations, secrets_file, store


def legacy_database(path: str, key: str | None = None) -> tuple[str, str]:
    """A database as made before the key moved out (key in meta), with one invitation; returns (key, link path)."""
    db = store.connect(path)
    store.migrate(db)
    if key is not None:
        with store.write(db):
            db.execute("UPDATE meta SET value = ? WHERE key = 'secret_key'", [key])
    key = db.execute("SELECT value FROM meta WHERE key = 'secret_key'").fetchone()[0]
    shop = store.create_shop(db, "acme", "Acme")
    store.upsert_product(db, shop["id"], "SKU-1", name="Jurk")
    invitation, _ = invitations.create_invitation(db, shop, key, order_ref="A-1", name="Sanne", email=None,
                                                  skus=["SKU-1"], delivered_at=datetime.now(timezone.utc))
    link = invitations.review_url("http://localhost/", key, invitation)
    db.conn.close()
    return key, urlsplit(link).path


def stored_key(path: str):
    db = store.connect(path)
    try:
        return db.execute("SELECT value FROM meta WHERE key = 'secret_key'").fetchone()
    finally:
        db.conn.close()


def make_app(tmp_path, db_path, **config):
    return create_app({"TESTING": True, "DATABASE": db_path, "SECRET_KEY_FILE": str(tmp_path / "keys" / "secret_key"),
                       **config})


def test_a_new_server_keeps_its_key_in_a_0600_file_not_in_the_database(tmp_path):
    db_path = str(tmp_path / "new.db")
    app = make_app(tmp_path, db_path)
    key_file = tmp_path / "keys" / "secret_key"
    assert key_file.read_text().strip() == app.config["SECRET_KEY"] and len(app.config["SECRET_KEY"]) >= 32
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert stored_key(db_path) is None
    for name in os.listdir(tmp_path):  # not in the database, its WAL or anything next to it
        if name.startswith("new.db"):
            assert app.config["SECRET_KEY"].encode() not in (tmp_path / name).read_bytes()
    assert make_app(tmp_path, db_path).config["SECRET_KEY"] == app.config["SECRET_KEY"]  # a restart agrees


def test_the_environment_wins_and_no_file_is_made(tmp_path, monkeypatch):
    monkeypatch.setenv("WIDGETSERVER_SECRET_KEY", "from-the-environment-" + "x" * 20)
    db_path = str(tmp_path / "env.db")
    app = make_app(tmp_path, db_path)
    assert app.config["SECRET_KEY"] == "from-the-environment-" + "x" * 20
    assert not (tmp_path / "keys" / "secret_key").exists()
    assert stored_key(db_path) is None


def test_a_stored_key_moves_out_and_its_links_keep_working(tmp_path):
    db_path = str(tmp_path / "old.db")
    key, link = legacy_database(db_path)
    app = make_app(tmp_path, db_path)
    assert stored_key(db_path) is None
    assert (tmp_path / "keys" / "secret_key").read_text().split() == [key]
    assert app.config["SECRET_KEY"] == key
    assert app.test_client().get(link).status_code == 200


def test_a_stored_key_that_differs_from_the_file_stays_accepted(tmp_path):
    """Two databases that shared one instance folder each had their own key: the second one's links still open."""
    first_key, first_link = legacy_database(str(tmp_path / "first.db"))
    second_key, second_link = legacy_database(str(tmp_path / "second.db"))
    assert first_key != second_key
    assert make_app(tmp_path, str(tmp_path / "first.db")).test_client().get(first_link).status_code == 200
    app = make_app(tmp_path, str(tmp_path / "second.db"))
    assert app.config["SECRET_KEY"] == first_key and app.config["SECRET_KEY_FALLBACKS"] == [second_key]
    assert stored_key(str(tmp_path / "second.db")) is None
    assert app.test_client().get(second_link).status_code == 200
    restarted = make_app(tmp_path, str(tmp_path / "second.db"))  # the old key is in the file now
    assert restarted.test_client().get(second_link).status_code == 200


def test_rotation_keeps_old_links_and_signs_with_the_new_key(tmp_path):
    db_path = str(tmp_path / "rotate.db")
    old_key, link = legacy_database(db_path)
    make_app(tmp_path, db_path)
    key_file = tmp_path / "keys" / "secret_key"
    key_file.write_text("a-brand-new-key-" + "y" * 30 + "\n" + old_key + "\n")
    app = make_app(tmp_path, db_path)
    assert app.config["SECRET_KEY"].startswith("a-brand-new-key-")
    client = app.test_client()
    assert client.get(link).status_code == 200
    assert secrets_file.signing_keys(app)[-1] == app.config["SECRET_KEY"]  # new signatures use the new key
    key_file.write_text(app.config["SECRET_KEY"] + "\n")  # old key retired: its links stop working
    assert make_app(tmp_path, db_path).test_client().get(link).status_code == 404


def test_an_unwritable_key_folder_is_a_clear_error(tmp_path):
    # A "folder" that is a plain file can't hold the key, for root too (a read-only folder can't stop root).
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder")
    with pytest.raises(secrets_file.SecretKeyError, match="WIDGETSERVER_SECRET_KEY"):
        create_app({"TESTING": True, "DATABASE": str(tmp_path / "x.db"), "SECRET_KEY_FILE": str(blocked / "k" / "key")})
    if os.geteuid() != 0:  # and, where permissions bind, a read-only folder
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(secrets_file.SecretKeyError, match="WIDGETSERVER_SECRET_KEY"):
            create_app({"TESTING": True, "DATABASE": str(tmp_path / "y.db"),
                        "SECRET_KEY_FILE": str(locked / "k" / "key")})
