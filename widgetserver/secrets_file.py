"""The signing key, kept outside the database: `SECRET_KEY` from the environment or config, else a 0600 key file.

The key signs invitation links, API cursors, the session cookie and CSRF tokens. It never lives in the
database, so a leaked backup of the data cannot mint review links. Where it comes from, first found:

1. `SECRET_KEY` in the config (`WIDGETSERVER_SECRET_KEY` in the environment, or a config file), with
   `SECRET_KEY_FALLBACKS` (a list) for keys still accepted after a rotation;
2. the key file `SECRET_KEY_FILE` (default `instance/secret_key`): the first line is the key, every
   further line an older key still accepted. Created with mode 0600 on first start.

Databases made before the key moved out kept it in `meta.secret_key`: it is moved to the key file (or
kept as an accepted old key, if the file already holds another one) and then deleted from the
database, so links already sent keep working.
"""

from __future__ import annotations

import os
import secrets

from flask import Flask

from . import store


class SecretKeyError(Exception):
    """The key file can't be read or written; the message says what to do."""


def _read(path: str) -> list[str]:
    with open(path, encoding="ascii") as file:
        keys = [line.strip() for line in file if line.strip()]
    if not keys:
        raise SecretKeyError(f"The key file {path} is empty; delete it to have a new key made, or put the key in it.")
    return keys


def _write_new(path: str, keys: list[str]) -> list[str]:
    """Create the key file with mode 0600 holding `keys`; if another process made it first, read theirs."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write("\n".join(keys) + "\n")
        file.flush()
        os.fsync(file.fileno())
    return keys


def _append(path: str, key: str) -> None:
    with open(path, "a", encoding="ascii") as file:
        file.write(key + "\n")
        file.flush()
        os.fsync(file.fileno())


def load(app: Flask, db) -> None:
    """Set `SECRET_KEY` and `SECRET_KEY_FALLBACKS`, moving a key stored in the database out of it.

    :raise SecretKeyError: the key file can't be created or read (with what to do).
    """
    stored = db.execute("SELECT value FROM meta WHERE key = 'secret_key'").fetchone()
    stored = stored[0] if stored else None
    fallbacks = list(app.config.get("SECRET_KEY_FALLBACKS") or [])
    if app.config.get("SECRET_KEY"):
        key = app.config["SECRET_KEY"]  # configured keys always won: a stored one was never used, just drop it
    else:
        path = app.config["SECRET_KEY_FILE"]
        try:
            keys = _read(path) if os.path.exists(path) else _write_new(path, [stored or secrets.token_hex(32)])
            if stored and stored not in keys and _signed_anything(db):
                _append(path, stored)  # this database's links were signed with it: keep accepting them
                keys.append(stored)
        except OSError as exc:
            raise SecretKeyError(
                f"Can't use the key file {path} ({exc.strerror}). Make its folder writable by this server, set "
                "SECRET_KEY_FILE to a writable path, or set WIDGETSERVER_SECRET_KEY in the environment."
            ) from None
        key, fallbacks = keys[0], fallbacks + keys[1:]
    if stored is not None:
        with store.write(db):
            db.execute("DELETE FROM meta WHERE key = 'secret_key'")
    app.config["SECRET_KEY"] = key
    app.config["SECRET_KEY_FALLBACKS"] = fallbacks


def _signed_anything(db) -> bool:
    """Whether links signed with this database's stored key may be out there (it has invitations)."""
    return db.execute("SELECT 1 FROM invitations LIMIT 1").fetchone() is not None


def signing_keys(app: Flask) -> list[str]:
    """Every accepted key, the current one last (itsdangerous signs with the last, verifies with all)."""
    return [*app.config.get("SECRET_KEY_FALLBACKS", []), app.config["SECRET_KEY"]]
