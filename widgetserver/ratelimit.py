"""Rate limits and one-use form tokens kept in SQLite, so they hold across workers and restarts.

A limit is (key, most events, window in seconds). Events are counted in buckets of a twentieth of
the window in the `rate_limits` table (migration 5); a check counts the buckets inside the window,
so the window slides in steps of 5 %. Rows expire with their window and are swept at most once a
minute per process. The client a key names is `client_key()`: the peer address, or what a trusted
proxy says it is (TRUSTED_PROXIES, see widgetserver/security.py) — never X-Forwarded-For otherwise.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import sqlite3
from dataclasses import dataclass

from flask import request

from . import store

BUCKETS_PER_WINDOW = 20
SWEEP_EVERY = 60  # seconds between deletions of expired rows, per process
_next_sweep = 0.0


@dataclass(frozen=True)
class Limit:
    """At most `most` events per `window` seconds for `key`."""

    key: str
    most: int
    window: int


def _now() -> float:
    return store.utcnow().timestamp()


def client_key() -> str:
    """The client's address as a limit key; IPv6 clients by their /64 (one subscriber's usual prefix)."""
    address = request.remote_addr or "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _sweep(db, now: float) -> None:
    global _next_sweep
    if now < _next_sweep:
        return
    _next_sweep = now + SWEEP_EVERY
    db.execute("DELETE FROM rate_limits WHERE expires_at <= ?", [int(now)])
    db.execute("DELETE FROM spent_tokens WHERE expires_at <= ?", [int(now)])


def _wait(db, limit: Limit, now: float) -> int:
    """0 when one more event fits `limit` now, else the seconds until it will."""
    rows = db.execute(
        "SELECT bucket, hits FROM rate_limits WHERE key = ? AND bucket > ? ORDER BY bucket",
        [limit.key, now - limit.window],
    ).fetchall()
    total = sum(hits for _, hits in rows)
    if total < limit.most:
        return 0
    for bucket, hits in rows:  # the oldest buckets leave the window first
        total -= hits
        if total < limit.most:
            return max(1, math.ceil(bucket + limit.window - now))
    return limit.window  # most == 0: never


def attempt(db, *limits: Limit) -> int:
    """Count one event against every limit, all or none: 0 when allowed, else seconds to wait (Retry-After).

    A refused attempt is not counted, so a client that waits Retry-After gets through.
    """
    now = _now()
    with store.write(db):
        _sweep(db, now)
        wait = max((_wait(db, limit, now) for limit in limits), default=0)
        if wait:
            return wait
        for limit in limits:
            size = max(1, limit.window // BUCKETS_PER_WINDOW)
            bucket = int(now // size * size)
            db.execute(
                "INSERT INTO rate_limits (key, bucket, hits, expires_at) VALUES (?, ?, 1, ?) "
                "ON CONFLICT (key, bucket) DO UPDATE SET hits = hits + 1, expires_at = max(expires_at, excluded.expires_at)",
                [limit.key, bucket, bucket + size + limit.window],
            )
    return 0


def wait_for(db, *limits: Limit) -> int:
    """0 when one more event fits every limit now, else the seconds to wait; counts nothing (see `attempt`)."""
    now = _now()
    return max((_wait(db, limit, now) for limit in limits), default=0)


def forget(db, key: str) -> None:
    """Drop every event counted for `key` (a login that succeeded forgets that address's failures)."""
    with store.write(db):
        db.execute("DELETE FROM rate_limits WHERE key = ?", [key])


def minutes(wait: int) -> int:
    """A wait in seconds as whole minutes to tell a person (rounded up, at least 1)."""
    return max(1, -(-wait // 60))


class TokenSpent(Exception):
    """A one-use token was used before."""


def spend_token(db, token: str, valid_for: int) -> None:
    """Mark `token` used, inside the caller's write transaction.

    :raise TokenSpent: it was used before (the caller's transaction should roll back).
    """
    digest = hashlib.sha256(token.encode()).hexdigest()
    try:
        db.execute("INSERT INTO spent_tokens (token_hash, expires_at) VALUES (?, ?)",
                   [digest, int(_now()) + valid_for])
    except sqlite3.IntegrityError:
        raise TokenSpent(token) from None


def token_spent(db, token: str) -> bool:
    """True when `token` was spent already."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    return db.execute("SELECT 1 FROM spent_tokens WHERE token_hash = ?", [digest]).fetchone() is not None
