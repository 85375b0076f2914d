"""Public reads' database access: one read connection per thread, and shop rows reused until the data changes.

Fragments, hosted pages and the JSON API's reads share these: opening a connection (WAL check,
pragmas) and closing it cost more than the read itself. Writes keep `get_db()`, the request's
own connection with its transactions.
"""

from __future__ import annotations

import threading

from flask import current_app

from . import store

_local = threading.local()


def read_db():
    """A read connection kept per thread and database file.

    Connections run in autocommit mode and never hold a transaction open, so each read sees the latest write.
    """
    path = current_app.config["DATABASE"]
    conns = _local.__dict__.setdefault("conns", {})
    if path not in conns:
        conns[path] = store.connect(path)
    return conns[path]


def shop_row(slug: str) -> dict | None:
    """The shop row for `slug` (settings decoded), or None; shared between requests, so never change it."""
    return shop_at(current_app.config["DATABASE"], slug)


def shop_at(path: str, slug: str) -> dict | None:
    """`shop_row` for the database file `path`, outside a request too (the front cache checks versions with it)."""
    conns = _local.__dict__.setdefault("conns", {})
    db = conns.get(path)
    if db is None:
        db = conns[path] = store.connect(path)
    # This connection only reads, so SQLite's data_version changes exactly when another
    # connection committed: until then the shop row read before is still current.
    version = db.conn.execute("PRAGMA data_version").fetchone()[0]
    rows = _local.__dict__.setdefault("shops", {})
    key = (path, slug)
    hit = rows.get(key)
    if hit is not None and hit[0] == version:
        return hit[1]
    shop = store.get_shop(db, slug)
    if shop is not None:
        rows[key] = (version, shop)
    return shop
