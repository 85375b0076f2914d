"""The review store: SQLite through sqlite-utils, migrations, transactional writes, aggregates.

Every write runs in one `BEGIN IMMEDIATE` transaction that also updates the
per-shop and per-product aggregates, bumps the shop's data version (used for
ETags) and appends a hash-chained audit entry. Reads of a summary are one row.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import operator
import re
import secrets
import sqlite3
import threading
from contextlib import contextmanager
from functools import lru_cache
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator, NamedTuple, Sequence

import sqlite_utils

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
STATUSES = ("published", "withdrawn", "removed")
SOURCES = ("import", "invitation", "open")
SHOP_PRODUCT = 0  # aggregates row that covers the whole shop
MAX_ROW_ID = 2**63 - 1  # SQLite's largest integer: ids past it are refused before they reach a query
MAX_PAGE = 100

# Keyset orders: columns and directions; every one is served by an index below.
SORTS = {
    "newest": (("created_at", "DESC"), ("id", "DESC")),
    "oldest": (("created_at", "ASC"), ("id", "ASC")),
    "highest": (("rating", "DESC"), ("created_at", "DESC"), ("id", "DESC")),
    "lowest": (("rating", "ASC"), ("created_at", "DESC"), ("id", "DESC")),
}


class StoreError(Exception):
    """A write the store refuses, with a message that says what to change."""

    def __init__(self, message: str, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


def utcnow() -> datetime:
    """The current time, aware UTC (tests may monkeypatch this)."""
    return datetime.now(timezone.utc)


# Every stored time is this one fixed-width UTC text, so that text order is time order.
TIME_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
EARLIEST = datetime(1995, 1, 1, tzinfo=timezone.utc)  # no web shop review is older (docs/api.md)
REVIEW_AHEAD = timedelta(days=1)  # a review's time may be at most this far ahead (clock skew, time zones)
DELIVERY_AHEAD = timedelta(days=90)  # an (expected) delivery at most this far ahead


def format_time(value: datetime) -> str:
    """Fixed-width UTC text `YYYY-MM-DDTHH:MM:SS.ffffffZ`, so that text order is time order.

    Written field by field: strftime's %Y leaves years before 1000 unpadded on glibc, which
    made such a row unreadable and sorted it out of time order.
    :raise ValueError: for a time that has no UTC equivalent in range (e.g. year 1 at +14:00).
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    try:
        v = value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("Is out of range once converted to UTC.") from None
    return (f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}"
            f".{v.microsecond:06d}Z")


def parse_time(value: str) -> datetime:
    """Read a stored timestamp back as an aware datetime.

    :raise ValueError: for text that is not in the one stored format (see `check_rows`).
    """
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a stored timestamp (YYYY-MM-DDTHH:MM:SS.ffffffZ)")
    return _parse_stored(value)


@lru_cache(maxsize=65536)
def _parse_stored(value: str) -> datetime:
    # Every read of a review parses two to four of these: memoised (a hot page's times repeat),
    # and read with fromisoformat, ~30x cheaper than strptime; the pattern keeps it to the stored form.
    if not TIME_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a stored timestamp (YYYY-MM-DDTHH:MM:SS.ffffffZ)")
    return datetime.fromisoformat(value)


def time_problem(value: datetime, *, ahead: timedelta, now: datetime | None = None) -> str | None:
    """Why `value` cannot be stored as a review or delivery time, or None when it can.

    Bounds: not before 1995-01-01 UTC, not more than `ahead` past now.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    try:
        value = value.astimezone(timezone.utc)
    except OverflowError:
        return "Is out of range once converted to UTC; send a time from 1995 on."
    if value < EARLIEST:
        return "Is before 1995-01-01; send the time it really happened."
    latest = (now or utcnow()) + ahead
    if value > latest:
        if ahead <= REVIEW_AHEAD:
            return "Is in the future; send the time the review was written (at most a day ahead)."
        return f"Is more than {ahead.days} days ahead; send the (expected) delivery time."
    return None


def now_text() -> str:
    """`utcnow()` in stored form."""
    return format_time(utcnow())


# --- connection and migrations -------------------------------------------------


def connect(path: str) -> sqlite_utils.Database:
    """Open the database at `path` in WAL mode with foreign keys, ready for concurrent writers."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    db = sqlite_utils.Database(conn)
    if path != ":memory:" and db.journal_mode != "wal":
        db.enable_wal()
    conn.execute("PRAGMA synchronous = NORMAL")
    return db


def run_script(db: sqlite_utils.Database, script: str) -> None:
    """Run the SQL statements of `script` one by one, inside the caller's transaction.

    sqlite3's own `executescript` COMMITs a pending transaction before it starts, which would make a
    migration not all-or-nothing (half a schema, no record of the version). sqlite-utils' `executescript`
    works around that when a transaction is open; migrations use this function so that their atomicity
    does not rest on another library's workaround (tests/test_migrations_atomic.py checks every step).
    """
    statement = ""
    for part in script.split(";")[:-1]:
        statement += part + ";"
        if sqlite3.complete_statement(statement):  # not inside a string, comment or trigger body
            if statement.strip(" \t\r\n;"):
                db.conn.execute(statement)
            statement = ""
    rest = statement + script.split(";")[-1]
    if rest.strip():
        raise ValueError(f"unfinished SQL statement at the end of a script: {rest.strip()[:80]!r}")


def _m001_initial(db: sqlite_utils.Database) -> None:
    run_script(db,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE shops (
            id INTEGER PRIMARY KEY,
            slug TEXT NOT NULL UNIQUE CHECK (slug GLOB '[a-z0-9]*' AND slug NOT GLOB '*[^a-z0-9-]*'
                                             AND length(slug) BETWEEN 2 AND 64),
            name TEXT NOT NULL,
            url TEXT,
            locale TEXT NOT NULL DEFAULT 'en',
            settings TEXT NOT NULL DEFAULT '{}',
            data_version INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        );
        CREATE TABLE api_keys (
            id INTEGER PRIMARY KEY,
            shop_id INTEGER NOT NULL REFERENCES shops(id),
            key_id TEXT NOT NULL UNIQUE,
            key_hash TEXT NOT NULL,
            label TEXT,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE TABLE products (
            id INTEGER PRIMARY KEY,
            shop_id INTEGER NOT NULL REFERENCES shops(id),
            sku TEXT NOT NULL,
            name TEXT NOT NULL,
            url TEXT,
            image_url TEXT,
            gtin TEXT,
            product_id TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (shop_id, sku)
        );
        CREATE TABLE reviews (
            id INTEGER PRIMARY KEY,
            shop_id INTEGER NOT NULL REFERENCES shops(id),
            product_id INTEGER REFERENCES products(id),
            rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
            title TEXT NOT NULL DEFAULT '',
            body TEXT NOT NULL DEFAULT '',
            author TEXT NOT NULL,
            locale TEXT,
            verified INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
            verification_method TEXT,
            source TEXT NOT NULL CHECK (source IN ('import', 'invitation', 'open')),
            status TEXT NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'withdrawn', 'removed')),
            status_reason TEXT,
            external_id TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            CHECK (verified = 0 OR source = 'invitation')
        );
        CREATE UNIQUE INDEX reviews_external ON reviews (shop_id, external_id) WHERE external_id IS NOT NULL;
        CREATE INDEX reviews_shop_time ON reviews (shop_id, status, created_at, id);
        CREATE INDEX reviews_product_time ON reviews (shop_id, product_id, status, created_at, id);
        CREATE INDEX reviews_shop_rating ON reviews (shop_id, status, rating, created_at, id);
        CREATE INDEX reviews_product_rating ON reviews (shop_id, product_id, status, rating, created_at, id);
        CREATE INDEX reviews_shop_lowest ON reviews (shop_id, status, rating, created_at DESC, id DESC);
        CREATE INDEX reviews_product_lowest
            ON reviews (shop_id, product_id, status, rating, created_at DESC, id DESC);
        CREATE TABLE review_versions (
            id INTEGER PRIMARY KEY,
            review_id INTEGER NOT NULL REFERENCES reviews(id),
            rating INTEGER NOT NULL,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            author TEXT NOT NULL,
            valid_from TEXT NOT NULL,
            valid_to TEXT NOT NULL
        );
        CREATE TABLE replies (
            review_id INTEGER PRIMARY KEY REFERENCES reviews(id),
            body TEXT NOT NULL,
            author TEXT NOT NULL,
            role TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE reply_versions (
            id INTEGER PRIMARY KEY,
            review_id INTEGER NOT NULL REFERENCES replies(review_id),
            body TEXT NOT NULL,
            author TEXT NOT NULL,
            role TEXT NOT NULL,
            valid_from TEXT NOT NULL,
            valid_to TEXT NOT NULL
        );
        CREATE TABLE aggregates (
            shop_id INTEGER NOT NULL REFERENCES shops(id),
            product_id INTEGER NOT NULL,
            count INTEGER NOT NULL DEFAULT 0,
            rating_sum INTEGER NOT NULL DEFAULT 0,
            r1 INTEGER NOT NULL DEFAULT 0,
            r2 INTEGER NOT NULL DEFAULT 0,
            r3 INTEGER NOT NULL DEFAULT 0,
            r4 INTEGER NOT NULL DEFAULT 0,
            r5 INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (shop_id, product_id)
        ) WITHOUT ROWID;
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            shop_id INTEGER,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            entity TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            data TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        """
    )
    # Released with the key in the database; widgetserver/secrets_file.py moves it out at start-up.
    db.execute("INSERT INTO meta (key, value) VALUES ('secret_key', ?)", [secrets.token_hex(32)])


INVITATION_STATUSES = ("pending", "sending", "sent", "failed", "used", "withdrawn", "expired")


def _m002_invitations(db: sqlite_utils.Database) -> None:
    # email is personal data: NULL once sent, used, expired or failed for good (see widgetserver/invitations.py).
    # Only a hash of the review link's token is kept.
    run_script(db,
        """
        CREATE TABLE invitations (
            id INTEGER PRIMARY KEY,
            shop_id INTEGER NOT NULL REFERENCES shops(id),
            order_ref TEXT NOT NULL,
            customer_name TEXT NOT NULL,
            email TEXT,
            locale TEXT NOT NULL,
            skus TEXT NOT NULL DEFAULT '[]',
            delivered_at TEXT NOT NULL,
            send_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            token_hash TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'used', 'withdrawn', 'expired')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,
            claimed_at TEXT,
            last_error TEXT,
            sent_at TEXT,
            used_at TEXT,
            created_at TEXT NOT NULL,
            UNIQUE (shop_id, order_ref)
        );
        CREATE INDEX invitations_due ON invitations (status, send_at);
        CREATE TABLE invitation_reviews (
            invitation_id INTEGER NOT NULL REFERENCES invitations(id),
            review_id INTEGER NOT NULL UNIQUE REFERENCES reviews(id),
            sku TEXT
        );
        CREATE UNIQUE INDEX invitation_reviews_one_per_item ON invitation_reviews (invitation_id, coalesce(sku, ''));
        """
    )


REPORT_REASONS = ("personal_data", "hate", "threats", "spam", "not_genuine", "unrelated")
REPORT_STATUSES = ("open", "upheld", "dismissed")


def _m003_reports(db: sqlite_utils.Database) -> None:
    # A shopper's report of a review (widgetserver/reports.py); only an operator decision changes its status.
    run_script(db,
        """
        CREATE TABLE reports (
            id INTEGER PRIMARY KEY,
            shop_id INTEGER NOT NULL REFERENCES shops(id),
            review_id INTEGER NOT NULL REFERENCES reviews(id),
            reason TEXT NOT NULL CHECK (reason IN ('personal_data', 'hate', 'threats', 'spam', 'not_genuine', 'unrelated')),
            note TEXT NOT NULL DEFAULT '',
            locale TEXT,
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'upheld', 'dismissed')),
            created_at TEXT NOT NULL,
            decided_at TEXT,
            decision_note TEXT
        );
        CREATE INDEX reports_shop_status ON reports (shop_id, status, created_at);
        CREATE INDEX reports_review ON reports (review_id);
        """
    )


# How a verified review was verified (honest disclosure, shown in the API, the export and the transparency page):
# "invitation-email": our server e-mailed the invitation to the address the shop gave for the order, and the
#   shop never received the link; "invitation-link": the shop was handed the link (it may have sent it itself).
VERIFICATION_METHODS = ("invitation-email", "invitation-link")


def _m004_author_tokens(db: sqlite_utils.Database) -> None:
    # Only the author can change a review: editing or withdrawing needs the author token made at submission
    # (widgetserver/authorship.py); only its SHA-256 hash is kept. Reviews of one submission share it.
    # link_disclosed_at: when the shop-facing API or CLI first handed out the invitation's review link.
    run_script(db,
        """
        ALTER TABLE reviews ADD COLUMN author_token_hash TEXT;
        CREATE INDEX reviews_author_token ON reviews (author_token_hash) WHERE author_token_hash IS NOT NULL;
        ALTER TABLE invitations ADD COLUMN link_disclosed_at TEXT;
        -- Before this version every invitation's link was returned to the shop: we cannot prove otherwise.
        UPDATE invitations SET link_disclosed_at = created_at;
        UPDATE reviews SET verification_method = 'invitation-link' WHERE verified = 1;
        UPDATE reviews SET verification_method = NULL WHERE verified = 0;
        CREATE TRIGGER reviews_verification_valid BEFORE INSERT ON reviews
        WHEN (NEW.verified = 1 AND coalesce(NEW.verification_method, '') NOT IN ('invitation-email', 'invitation-link'))
          OR (NEW.verified = 0 AND NEW.verification_method IS NOT NULL)
        BEGIN
            SELECT RAISE(ABORT, 'verification_method: a verified review needs one of invitation-email/invitation-link, others none');
        END;
        CREATE TRIGGER reviews_verification_fixed BEFORE UPDATE OF verified, verification_method, source ON reviews
        WHEN OLD.verified IS NOT NEW.verified OR OLD.verification_method IS NOT NEW.verification_method
          OR OLD.source IS NOT NEW.source
        BEGIN
            SELECT RAISE(ABORT, 'verified, verification_method and source are fixed once a review is stored');
        END;
        """
    )


USER_ROLES = ("owner", "staff", "operator")


def _m008_workspace(db: sqlite_utils.Database) -> None:
    # The shop owner's workspace (widgetserver/workspace/): the people who log in. An operator belongs
    # to no shop; every other user belongs to exactly one. (Failed logins count in rate_limits.)
    run_script(db,
        """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            shop_id INTEGER REFERENCES shops(id),
            email TEXT NOT NULL UNIQUE COLLATE NOCASE,
            name TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            role TEXT NOT NULL CHECK (role IN ('owner', 'staff', 'operator')),
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            last_login_at TEXT,
            disabled_at TEXT,
            CHECK ((role = 'operator') = (shop_id IS NULL))
        );
        CREATE INDEX users_shop ON users (shop_id);
        """
    )


ALERT_MODES = ("immediate", "digest")
OUTBOX_KINDS = ("alert", "digest", "webhook", "followup", "confirmation", "decision")
OUTBOX_STATUSES = ("pending", "sending", "delivered", "failed")
WEBHOOK_EVENTS = ("review.created", "review.updated", "reply.published", "report.decided")
FOLLOWUP_ANSWERS = ("resolved", "not_resolved")


def _m005_rate_limits(db: sqlite_utils.Database) -> None:
    # Rate-limit counters shared by every worker on this file (widgetserver/ratelimit.py): hits per key
    # and time bucket; and one-use form tokens already spent. Rows past expires_at are deleted.
    run_script(db,
        """
        CREATE TABLE rate_limits (
            key TEXT NOT NULL,
            bucket INTEGER NOT NULL,
            hits INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            PRIMARY KEY (key, bucket)
        ) WITHOUT ROWID;
        CREATE INDEX rate_limits_expiry ON rate_limits (expires_at);
        CREATE TABLE spent_tokens (
            token_hash TEXT PRIMARY KEY,
            expires_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX spent_tokens_expiry ON spent_tokens (expires_at);
        """
    )


def _m009_alerts_webhooks_followup(db: sqlite_utils.Database) -> None:
    # Alerts, webhooks and the "resolved" follow-up (widgetserver/alerts.py, webhooks.py, outbox.py, followup.py).
    # The outbox is written in the transaction of the change it announces; delivery happens later, elsewhere.
    run_script(db,
        """
        CREATE TABLE alert_recipients (
            id INTEGER PRIMARY KEY,
            shop_id INTEGER NOT NULL REFERENCES shops(id),
            email TEXT NOT NULL,
            max_rating INTEGER NOT NULL CHECK (max_rating BETWEEN 1 AND 5),
            mode TEXT NOT NULL CHECK (mode IN ('immediate', 'digest')),
            created_at TEXT NOT NULL,
            UNIQUE (shop_id, email)
        );
        CREATE TABLE digests (
            id INTEGER PRIMARY KEY,
            shop_id INTEGER NOT NULL REFERENCES shops(id),
            recipient_id INTEGER NOT NULL,
            email TEXT NOT NULL,
            review_count INTEGER NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE digest_items (
            recipient_id INTEGER NOT NULL,
            review_id INTEGER NOT NULL REFERENCES reviews(id),
            digest_id INTEGER REFERENCES digests(id),
            queued_at TEXT NOT NULL,
            PRIMARY KEY (recipient_id, review_id)
        ) WITHOUT ROWID;
        CREATE INDEX digest_items_pending ON digest_items (digest_id, recipient_id);
        CREATE TABLE webhook_endpoints (
            id INTEGER PRIMARY KEY,
            shop_id INTEGER NOT NULL REFERENCES shops(id),
            url TEXT NOT NULL,
            secret TEXT NOT NULL,
            events TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            removed_at TEXT
        );
        CREATE INDEX webhook_endpoints_shop ON webhook_endpoints (shop_id, removed_at);
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            shop_id INTEGER NOT NULL REFERENCES shops(id),
            kind TEXT NOT NULL CHECK (kind IN ('alert', 'digest', 'webhook', 'followup')),
            target_id INTEGER,
            event TEXT NOT NULL,
            payload TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            claimed_at TEXT,
            last_error TEXT,
            created_at TEXT NOT NULL,
            delivered_at TEXT
        );
        CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
        CREATE INDEX outbox_target ON outbox (kind, target_id, id);
        CREATE TABLE webhook_deliveries (
            id INTEGER PRIMARY KEY,
            outbox_id INTEGER NOT NULL REFERENCES outbox(id),
            endpoint_id INTEGER NOT NULL REFERENCES webhook_endpoints(id),
            attempt INTEGER NOT NULL,
            at TEXT NOT NULL,
            status_code INTEGER,
            error TEXT,
            duration_ms INTEGER NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed'))
        );
        CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
        CREATE TABLE invitation_contacts (
            invitation_id INTEGER PRIMARY KEY REFERENCES invitations(id),
            email TEXT NOT NULL,
            erase_at TEXT NOT NULL
        );
        CREATE TABLE followups (
            review_id INTEGER PRIMARY KEY REFERENCES reviews(id),
            shop_id INTEGER NOT NULL REFERENCES shops(id),
            resolved_at TEXT NOT NULL,
            resolved_by TEXT NOT NULL,
            email_status TEXT NOT NULL CHECK (email_status IN ('queued', 'no_contact')),
            token_nonce TEXT NOT NULL,
            answer TEXT CHECK (answer IS NULL OR answer IN ('resolved', 'not_resolved')),
            answered_at TEXT
        );
        """
    )


REPORTERS = ("shopper", "shop")
DECISION_OUTCOMES = ("keep", "remove")


def _m010_moderation(db: sqlite_utils.Database) -> None:
    # Moderation (widgetserver/moderation.py, docs/moderation.md): who reported, the operator's
    # decision (keep, or remove citing exactly one reason), and erasures of personal data on request.
    run_script(db,
        """
        CREATE TABLE decisions (
            id INTEGER PRIMARY KEY,
            shop_id INTEGER NOT NULL REFERENCES shops(id),
            review_id INTEGER NOT NULL REFERENCES reviews(id),
            outcome TEXT NOT NULL CHECK (outcome IN ('keep', 'remove')),
            reason TEXT CHECK (reason IS NULL OR reason IN ('personal_data', 'hate', 'threats', 'spam', 'not_genuine', 'unrelated')),
            note TEXT NOT NULL DEFAULT '',
            decided_by TEXT NOT NULL,
            decided_at TEXT NOT NULL,
            CHECK (outcome = 'keep' OR reason IS NOT NULL)
        );
        CREATE INDEX decisions_shop_time ON decisions (shop_id, decided_at);
        CREATE INDEX decisions_review ON decisions (review_id);
        CREATE TABLE erasures (
            id INTEGER PRIMARY KEY,
            shop_id INTEGER NOT NULL REFERENCES shops(id),
            review_id INTEGER NOT NULL REFERENCES reviews(id),
            requested_by TEXT NOT NULL,
            erased_by TEXT NOT NULL,
            erased_at TEXT NOT NULL
        );
        CREATE INDEX erasures_shop_time ON erasures (shop_id, erased_at);
        ALTER TABLE reports ADD COLUMN reporter TEXT NOT NULL DEFAULT 'shopper' CHECK (reporter IN ('shopper', 'shop'));
        ALTER TABLE reports ADD COLUMN decision_id INTEGER REFERENCES decisions(id);
        """
    )


def _m011_author_mail(db: sqlite_utils.Database) -> None:
    # The outbox also carries the author's confirmation e-mail (with their private link) and the moderator's
    # decision e-mail (widgetserver/author_mail.py). SQLite cannot widen a CHECK in place, so `outbox` is
    # rebuilt: new table, copy (ids kept, so webhook_deliveries.outbox_id still points at the same rows),
    # drop, rename, indexes again. `migrate` runs this step with foreign keys off and checks them before
    # committing (see FOREIGN_KEYS_OFF). Literal kinds: a released migration never changes meaning.
    columns = ("id, shop_id, kind, target_id, event, payload, status, attempts, next_attempt_at, claimed_at,"
               " last_error, created_at, delivered_at")
    for statement in (
        """CREATE TABLE outbox_new (
            id INTEGER PRIMARY KEY,
            shop_id INTEGER NOT NULL REFERENCES shops(id),
            kind TEXT NOT NULL CHECK (kind IN ('alert', 'digest', 'webhook', 'followup', 'confirmation', 'decision')),
            target_id INTEGER,
            event TEXT NOT NULL,
            payload TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            claimed_at TEXT,
            last_error TEXT,
            created_at TEXT NOT NULL,
            delivered_at TEXT
        )""",
        f"INSERT INTO outbox_new ({columns}) SELECT {columns} FROM outbox",
        "DROP TABLE outbox",
        "ALTER TABLE outbox_new RENAME TO outbox",
        "CREATE INDEX outbox_due ON outbox (status, next_attempt_at)",
        "CREATE INDEX outbox_target ON outbox (kind, target_id, id)",
    ):
        db.execute(statement)  # one by one: executescript would COMMIT the migration's transaction first


# Migrations that rebuild a table others refer to: `migrate` turns foreign keys off around them (SQLite
# ignores the pragma inside a transaction) and refuses to commit if `PRAGMA foreign_key_check` finds a row.
FOREIGN_KEYS_OFF = {11}


# --- stored times: discovery, normalising, checking ------------------------------

_CANONICAL_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z"
_LOOSE_TIME = re.compile(r"^(\d{1,4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?\d*"
                         r"(Z|[+-]\d{2}:?\d{2})?$")
# Upper bounds past now for the times people send us; every other stored time is one the server made.
TIME_AHEAD = {("reviews", "created_at"): REVIEW_AHEAD, ("reviews", "updated_at"): REVIEW_AHEAD,
              ("invitations", "delivered_at"): DELIVERY_AHEAD}


def time_columns(db) -> list[tuple[str, str, list[str]]]:
    """(table, column, key columns) of every stored time: TEXT columns named *_at, valid_from or valid_to.

    audit_log.at is left out: it is covered by the entry hashes and never rewritten.
    """
    found = []
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                               " AND name != 'audit_log' ORDER BY name").fetchall():
        info = db.execute(f"PRAGMA table_info([{table}])").fetchall()  # cid, name, type, notnull, default, pk
        keys = [row[1] for row in sorted(info, key=lambda r: r[5]) if row[5]] or ["rowid"]
        without_rowid = "WITHOUT ROWID" in (db.execute("SELECT sql FROM sqlite_master WHERE name = ?", [table])
                                             .fetchone()[0] or "").upper()
        if keys == ["rowid"] and without_rowid:
            continue
        for _, column, kind, *_ in info:
            if (kind or "").upper() == "TEXT" and (column.endswith("_at") or column in ("valid_from", "valid_to")):
                found.append((table, column, keys))
    return found


def loose_time(text: str) -> datetime | None:
    """Read a timestamp written in an older or unpadded form ("150-01-01T00:00:00.000000Z"), or None."""
    match = _LOOSE_TIME.match(text.strip()) if isinstance(text, str) else None
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        tz = timezone.utc
        if zone and zone != "Z":
            sign = -1 if zone[0] == "-" else 1
            hours, minutes = int(zone[1:3]), int(zone[-2:])
            tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
        value = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                         int((fraction or "0").ljust(6, "0")), tzinfo=tz)
        return value.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None


def _m006_canonical_times(db: sqlite_utils.Database) -> None:
    # Rewrite every stored time in the one canonical form. Before this, format_time wrote years before
    # 1000 unpadded ("150-01-01T..."), which parse_time could not read: such a review made every page
    # that listed it fail. Times that cannot be read at all are left as they are; `widgetserver check`
    # lists them.
    changed = 0
    shops: set = set()
    for table, column, keys in time_columns(db):
        key_sql = ", ".join(keys)
        shop_sql = ", shop_id" if table == "reviews" else ""
        rows = db.execute(f"SELECT {key_sql}, [{column}]{shop_sql} FROM [{table}] WHERE [{column}] IS NOT NULL"
                          f" AND [{column}] NOT GLOB ?", [_CANONICAL_GLOB]).fetchall()
        for row in rows:
            value = loose_time(row[len(keys)])
            if value is None:
                continue
            where = " AND ".join(f"{k} = ?" for k in keys)
            db.execute(f"UPDATE [{table}] SET [{column}] = ? WHERE {where}", [format_time(value), *row[:len(keys)]])
            changed += 1
            if shop_sql:
                shops.add(row[-1])
    for shop_id in shops:
        bump(db, shop_id)  # cached pages that listed those reviews are stale
    if changed:
        audit(db, shop_id=None, actor="migration", action="normalise", entity="database", entity_id="timestamps",
              data={"rewritten": changed})


def check_rows(db, now: datetime | None = None, limit: int = 50) -> list[str]:
    """Stored times that cannot be read or are out of bounds, one line each (at most `limit` per column).

    Bounds: from 1995-01-01; review times at most a day past `now`, deliveries at most 90 days.
    """
    now = now or utcnow()
    earliest = format_time(EARLIEST)
    problems = []
    for table, column, keys in time_columns(db):
        ahead = TIME_AHEAD.get((table, column))
        latest = format_time(now + ahead) if ahead else None
        key_sql = ", ".join(keys)
        sql = (f"SELECT {key_sql}, [{column}] FROM [{table}] WHERE [{column}] IS NOT NULL AND ("
               f"[{column}] NOT GLOB ? OR date(substr([{column}], 1, 10)) IS NULL"
               f" OR time(substr([{column}], 12, 8)) IS NULL OR [{column}] < ?"
               + (f" OR [{column}] > ?" if latest else "") + ")")
        params = [_CANONICAL_GLOB, earliest] + ([latest] if latest else [])
        rows = db.execute(sql + " LIMIT ?", params + [limit + 1]).fetchall()
        for row in rows[:limit]:
            ident = ", ".join(f"{k}={v}" for k, v in zip(keys, row))
            value = row[len(keys)]
            try:
                parse_time(value)
            except ValueError:
                problems.append(f"{table} {ident}: {column} {value!r} is unreadable "
                                "(not YYYY-MM-DDTHH:MM:SS.ffffffZ); pages listing this row fail")
                continue
            if value < earliest:
                problems.append(f"{table} {ident}: {column} {value} is before 1995-01-01")
            else:
                problems.append(f"{table} {ident}: {column} {value} is more than {ahead.days or 1} day(s) ahead")
        if len(rows) > limit:
            more = db.execute(sql.replace(f"SELECT {key_sql}, [{column}]", "SELECT count(*)", 1), params).fetchone()[0]
            problems.append(f"{table}: {column}: {more - limit} more such row(s) not listed")
    return problems


def _m007_review_months(db: sqlite_utils.Database) -> None:
    # How many published reviews each shop has per star and month (of created_at), kept by triggers so
    # that every writer — whichever module — keeps it right. A numbered page far into a shop's list
    # finds its month from these counts and skips only inside that month (see _key_at_position).
    run_script(db,
        """
        CREATE TABLE review_months (
            shop_id INTEGER NOT NULL,
            rating INTEGER NOT NULL,
            month TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (shop_id, rating, month)
        ) WITHOUT ROWID;
        INSERT INTO review_months (shop_id, rating, month, count)
            SELECT shop_id, rating, substr(created_at, 1, 7), count(*) FROM reviews
            WHERE status = 'published' GROUP BY 1, 2, 3;
        CREATE TRIGGER review_months_insert AFTER INSERT ON reviews WHEN NEW.status = 'published' BEGIN
            INSERT INTO review_months (shop_id, rating, month, count)
                VALUES (NEW.shop_id, NEW.rating, substr(NEW.created_at, 1, 7), 1)
                ON CONFLICT (shop_id, rating, month) DO UPDATE SET count = count + 1;
        END;
        CREATE TRIGGER review_months_delete AFTER DELETE ON reviews WHEN OLD.status = 'published' BEGIN
            UPDATE review_months SET count = count - 1
                WHERE shop_id = OLD.shop_id AND rating = OLD.rating AND month = substr(OLD.created_at, 1, 7);
        END;
        CREATE TRIGGER review_months_update_old AFTER UPDATE OF shop_id, rating, status, created_at ON reviews
            WHEN OLD.status = 'published' BEGIN
            UPDATE review_months SET count = count - 1
                WHERE shop_id = OLD.shop_id AND rating = OLD.rating AND month = substr(OLD.created_at, 1, 7);
        END;
        CREATE TRIGGER review_months_update_new AFTER UPDATE OF shop_id, rating, status, created_at ON reviews
            WHEN NEW.status = 'published' BEGIN
            INSERT INTO review_months (shop_id, rating, month, count)
                VALUES (NEW.shop_id, NEW.rating, substr(NEW.created_at, 1, 7), 1)
                ON CONFLICT (shop_id, rating, month) DO UPDATE SET count = count + 1;
        END;
        """
    )


# Append only: a released migration is never edited, a new one is added.

def _m012_review_topics(db: sqlite_utils.Database) -> None:
    # The topics each review complains about (widgetserver/topics.py), stored on first need so the inbox can
    # filter by topic and analytics count them without running the phrase rules over a shop's whole history on
    # every request. `rules` names the rule set that found them (another rule set: found again). A change of
    # a review's text or language deletes its row, by trigger, so every writer keeps it right; the row is
    # found again when next needed.
    run_script(db,
        """
        CREATE TABLE review_topics (
            review_id INTEGER PRIMARY KEY REFERENCES reviews(id) ON DELETE CASCADE,
            rules TEXT NOT NULL,
            topics TEXT NOT NULL
        );
        CREATE TRIGGER review_topics_stale AFTER UPDATE OF title, body, locale ON reviews BEGIN
            DELETE FROM review_topics WHERE review_id = NEW.id;
        END;
        """
    )

MIGRATIONS = [
    (1, "initial schema", _m001_initial),
    (2, "invitations", _m002_invitations),
    (3, "reports", _m003_reports),
    (4, "author tokens and verification methods", _m004_author_tokens),
    (5, "rate limits and spent form tokens", _m005_rate_limits),
    (6, "canonical timestamps", _m006_canonical_times),
    (7, "published reviews per shop, star and month, for deep pages", _m007_review_months),
    (8, "workspace users", _m008_workspace),
    (9, "alerts, webhooks, outbox, resolved follow-up", _m009_alerts_webhooks_followup),
    (10, "moderation decisions and erasures", _m010_moderation),
    (11, "outbox kinds for the author's confirmation and decision e-mails", _m011_author_mail),
    (12, "topics found per review, kept until its text changes", _m012_review_topics),
]


def schema_version(db: sqlite_utils.Database) -> int:
    """The highest migration applied (0 for an empty file)."""
    if not db["migrations"].exists():
        return 0
    return db.execute("SELECT coalesce(max(version), 0) FROM migrations").fetchone()[0]


def migrate(db: sqlite_utils.Database) -> list[int]:
    """Apply pending migrations, each in its own transaction; returns the versions applied."""
    applied = []
    with write(db):
        db.execute(
            "CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
    for version, name, step in MIGRATIONS:
        keys_off = version in FOREIGN_KEYS_OFF and db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        if keys_off:
            db.execute("PRAGMA foreign_keys = OFF")
        try:
            with write(db):
                if db.execute("SELECT 1 FROM migrations WHERE version = ?", [version]).fetchone():
                    continue
                step(db)
                if version in FOREIGN_KEYS_OFF:
                    broken = db.execute("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise sqlite3.IntegrityError(
                            f"migration {version} would leave {len(broken)} broken reference(s), e.g. {tuple(broken[0])}")
                db.execute("INSERT INTO migrations VALUES (?, ?, ?)", [version, name, now_text()])
                applied.append(version)
        finally:
            if keys_off:
                db.execute("PRAGMA foreign_keys = ON")
    return applied


@contextmanager
def write(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One write transaction (`BEGIN IMMEDIATE`, so concurrent writers queue instead of failing).

    Nested use becomes a savepoint of the outer transaction.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        raise
    else:
        db.execute("COMMIT")


# --- audit log -----------------------------------------------------------------


# json.dumps with options builds a new encoder per call; these are built once (same output).
_CHAIN_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
_DATA_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False)


def _entry_hash(prev_hash: str, fields: dict) -> str:
    payload = _CHAIN_JSON.encode(fields)
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def _chain_payloads(at: str, shop_id: int | None, actor: str):
    """`_CHAIN_JSON.encode` of an entry's fields, written out, for entries that share their time, shop and
    actor (one write's): the same text at a third of the cost (an import hashes an entry per review).
    tests/test_store.py checks it against the encoder."""
    middle = f',"actor":{_CHAIN_JSON.encode(actor)},"at":{_CHAIN_JSON.encode(at)},"data":'
    tail = f',"shop_id":{_CHAIN_JSON.encode(shop_id)}}}'

    def payload(action: str, entity: str, entity_id: str, data: str) -> str:  # text fields (else TypeError)
        return (f'{{"action":{_string(action)}{middle}{_string(data)},"entity":{_string(entity)},'
                f'"entity_id":{_string(entity_id)}{tail}')

    return payload


_string = json.encoder.encode_basestring  # a JSON string, as JSONEncoder(ensure_ascii=False) writes it


def audit(db, *, shop_id: int | None, actor: str, action: str, entity: str, entity_id, data: dict) -> None:
    """Append a hash-chained entry; call inside the write it records."""
    audit_many(db, shop_id=shop_id, actor=actor, entries=[(action, entity, entity_id, data)])


def audit_many(db, *, shop_id: int | None, actor: str, entries: list[tuple[str, str, object, dict | str]]) -> None:
    """Append one chained entry per (action, entity, entity_id, data), as `audit` would one by one.

    `data` is a dict, or its JSON text exactly as _DATA_JSON writes it (keys sorted, ", " and ": ")."""
    _insert_audit_rows(db, _audit_rows(_audit_head(db), now_text(), shop_id, actor, entries))


def _audit_head(db) -> str:
    """The newest entry's hash (the chain's head), or the hash an empty chain starts from."""
    row = db.execute("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    return row[0] if row else "0" * 64


def _audit_rows(prev: str, at: str, shop_id: int | None, actor: str,
                entries: list[tuple[str, str, object, dict | str]]) -> list[tuple]:
    """audit_log rows for `entries`, chained on from `prev`: pure Python, no database."""
    rows = []
    sha256, encode, payload = hashlib.sha256, _DATA_JSON.encode, _chain_payloads(at, shop_id, actor)
    for action, entity, entity_id, data in entries:
        entity_id, data = str(entity_id), data if type(data) is str else encode(data)
        digest = sha256((prev + payload(action, entity, entity_id, data)).encode()).hexdigest()
        rows.append((at, shop_id, actor, action, entity, entity_id, data, prev, digest))
        prev = digest
    return rows


def _insert_audit_rows(db, rows: list[tuple]) -> None:
    db.conn.executemany(
        "INSERT INTO audit_log (at, shop_id, actor, action, entity, entity_id, data, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def verify_audit(db) -> tuple[int, list[str]]:
    """Walk the audit chain; returns (entries checked, problems)."""
    problems = []
    prev = "0" * 64
    count = 0
    for row in db.query("SELECT * FROM audit_log ORDER BY id"):
        count += 1
        fields = {k: row[k] for k in ("at", "shop_id", "actor", "action", "entity", "entity_id", "data")}
        if row["prev_hash"] != prev:
            problems.append(f"entry {row['id']}: prev_hash does not match entry before it")
        if row["hash"] != _entry_hash(row["prev_hash"], fields):
            problems.append(f"entry {row['id']}: content does not match its hash (edited?)")
        prev = row["hash"]
    return count, problems


# --- shops and keys ------------------------------------------------------------


def bump(db, shop_id: int) -> None:
    """Move the shop's data version (ETags, caches); call inside the write that changed its data."""
    db.execute("UPDATE shops SET data_version = data_version + 1 WHERE id = ?", [shop_id])


def create_shop(db, slug: str, name: str, url: str | None = None, locale: str = "en") -> dict:
    """Create a shop; its slug is lower-case letters, digits and hyphens."""
    with write(db):
        if db.execute("SELECT 1 FROM shops WHERE slug = ?", [slug]).fetchone():
            raise StoreError(f"A shop with slug {slug!r} exists already; pick another slug.", "slug", 409)
        try:
            shop_id = db.execute(
                "INSERT INTO shops (slug, name, url, locale, created_at) VALUES (?, ?, ?, ?, ?)",
                [slug, name, url, locale, now_text()],
            ).lastrowid
        except sqlite3.IntegrityError:
            raise StoreError(
                "Slug must be 2-64 characters: lower-case letters, digits and hyphens, starting with a letter or digit.",
                "slug",
            ) from None
        db.execute("INSERT INTO aggregates (shop_id, product_id) VALUES (?, ?)", [shop_id, SHOP_PRODUCT])
        audit(db, shop_id=shop_id, actor="cli", action="create", entity="shop", entity_id=slug,
              data={"name": name, "url": url, "locale": locale})
    return get_shop(db, slug)


def get_shop(db, slug: str) -> dict | None:
    """The shop row for `slug`, with settings decoded, or None."""
    cursor = db.execute("SELECT * FROM shops WHERE slug = ?", [slug])
    row = cursor.fetchone()
    if row is None:
        return None
    shop = dict(zip([d[0] for d in cursor.description], row))
    shop["settings"] = json.loads(shop["settings"])
    return shop


def list_shops(db) -> list[dict]:
    """All shops, by slug."""
    return [get_shop(db, r["slug"]) for r in db.query("SELECT slug FROM shops ORDER BY slug")]


def update_shop_settings(db, shop_id: int, actor: str = "cli", **settings) -> None:
    """Merge `settings` into the shop's settings."""
    with write(db):
        current = json.loads(db.execute("SELECT settings FROM shops WHERE id = ?", [shop_id]).fetchone()[0])
        current.update(settings)
        db.execute("UPDATE shops SET settings = ? WHERE id = ?", [json.dumps(current), shop_id])
        bump(db, shop_id)
        audit(db, shop_id=shop_id, actor=actor, action="settings", entity="shop", entity_id=shop_id, data=settings)


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(db, shop_id: int, label: str | None = None, actor: str = "cli") -> str:
    """Make a new API key for the shop and return it; only its hash is stored."""
    key_id = secrets.token_hex(6)
    key = f"eer_{key_id}_{secrets.token_urlsafe(32)}"
    with write(db):
        db.execute(
            "INSERT INTO api_keys (shop_id, key_id, key_hash, label, created_at) VALUES (?, ?, ?, ?, ?)",
            [shop_id, key_id, _hash_key(key), label, now_text()],
        )
        audit(db, shop_id=shop_id, actor=actor, action="create", entity="api_key", entity_id=key_id, data={})
    return key


def revoke_key(db, key_or_id: str, shop_id: int | None = None, actor: str = "cli") -> bool:
    """Revoke a key given whole or by its id (the part after `eer_`); False if none matched.

    With `shop_id`, only a key of that shop matches (the workspace revokes its own keys only).
    """
    key_id = key_or_id.split("_")[1] if key_or_id.startswith("eer_") and "_" in key_or_id[4:] else key_or_id
    with write(db):
        row = db.execute("SELECT shop_id FROM api_keys WHERE key_id = ? AND revoked_at IS NULL", [key_id]).fetchone()
        if row is None or (shop_id is not None and row[0] != shop_id):
            return False
        db.execute("UPDATE api_keys SET revoked_at = ? WHERE key_id = ?", [now_text(), key_id])
        audit(db, shop_id=row[0], actor=actor, action="revoke", entity="api_key", entity_id=key_id, data={})
    return True


def list_keys(db, shop_id: int) -> list[dict]:
    """The shop's API keys (id, label, created, revoked), newest first; never the key or its hash."""
    return list(db.query("SELECT key_id, label, created_at, revoked_at FROM api_keys WHERE shop_id = ?"
                         " ORDER BY id DESC", [shop_id]))


def update_shop_details(db, shop_id: int, *, name: str, url: str | None, locale: str, actor: str) -> None:
    """Change a shop's public name, website and default language."""
    with write(db):
        db.execute("UPDATE shops SET name = ?, url = ?, locale = ? WHERE id = ?", [name, url, locale, shop_id])
        bump(db, shop_id)
        audit(db, shop_id=shop_id, actor=actor, action="update", entity="shop", entity_id=shop_id,
              data={"name": name, "url": url, "locale": locale})


def shop_id_for_key(db, key: str) -> int | None:
    """The shop a live key belongs to, compared in constant time; None for an unknown or revoked key."""
    parts = key.split("_")
    if len(parts) < 3 or parts[0] != "eer":
        return None
    row = db.execute(
        "SELECT shop_id, key_hash FROM api_keys WHERE key_id = ? AND revoked_at IS NULL", [parts[1]]
    ).fetchone()
    if row is None:
        hmac.compare_digest(_hash_key(key), "0" * 64)  # same work whether or not the id exists
        return None
    return row[0] if hmac.compare_digest(_hash_key(key), row[1]) else None


# --- products ------------------------------------------------------------------

PRODUCT_FIELDS = ("name", "url", "image_url", "gtin", "product_id")


def upsert_product(db, shop_id: int, sku: str, actor: str = "api", **fields) -> tuple[dict, bool]:
    """Create or update a product by SKU; returns (product, created)."""
    created = upsert_products(db, shop_id, {sku: fields}, actor=actor)
    return product_by_sku(db, shop_id, sku), bool(created)


def upsert_products(db, shop_id: int, products: dict[str, dict], actor: str = "api") -> list[str]:
    """Create or update many products by SKU ({sku: fields}) in one write, each audited; returns the created SKUs.

    Fields not given are cleared, as a PUT would (name, url, image_url, gtin, product_id).
    """
    if not products:
        return []
    with write(db):
        existing: dict[str, int] = {}
        skus = list(products)
        for chunk in _chunks(skus):
            existing.update(db.execute(
                f"SELECT sku, id FROM products WHERE shop_id = ? AND sku IN ({', '.join('?' * len(chunk))})",
                [shop_id, *chunk]).fetchall())
        now = now_text()
        values = {sku: [products[sku].get(k) for k in PRODUCT_FIELDS] for sku in skus}
        created = [sku for sku in skus if sku not in existing]
        db.conn.executemany(
            "INSERT INTO products (shop_id, sku, name, url, image_url, gtin, product_id, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [(shop_id, sku, *values[sku], now, now) for sku in created])
        db.conn.executemany(
            "INSERT INTO aggregates (shop_id, product_id) SELECT shop_id, id FROM products WHERE shop_id = ? AND sku = ?",
            [(shop_id, sku) for sku in created])
        db.conn.executemany(
            "UPDATE products SET name = ?, url = ?, image_url = ?, gtin = ?, product_id = ?, updated_at = ? WHERE id = ?",
            [(*values[sku], now, existing[sku]) for sku in skus if sku in existing])
        bump(db, shop_id)
        audit_many(db, shop_id=shop_id, actor=actor, entries=[
            ("create" if sku not in existing else "update", "product", sku, dict(zip(PRODUCT_FIELDS, values[sku])))
            for sku in skus])
    return created


def product_by_sku(db, shop_id: int, sku: str) -> dict | None:
    """The product row with this SKU in this shop, or None."""
    rows = list(db.query("SELECT * FROM products WHERE shop_id = ? AND sku = ?", [shop_id, sku]))
    return rows[0] if rows else None


def list_products(db, shop_id: int) -> list[dict]:
    """The shop's products with their review count, rating sum and average, by SKU."""
    products = list(
        db.query(
            "SELECT p.*, a.count AS review_count, a.rating_sum FROM products p"
            " JOIN aggregates a ON a.shop_id = p.shop_id AND a.product_id = p.id"
            " WHERE p.shop_id = ? ORDER BY p.sku",
            [shop_id],
        )
    )
    for product in products:
        product["average"] = average(product["rating_sum"], product["review_count"])
    return products


# --- aggregates ----------------------------------------------------------------


def _adjust(db, shop_id: int, product_id: int | None, rating: int, delta: int) -> None:
    """Move one review of `rating` in (+1) or out (-1) of the shop's and product's aggregates."""
    keys = [SHOP_PRODUCT] + ([product_id] if product_id else [])
    for key in keys:
        db.execute(
            f"UPDATE aggregates SET count = count + ?, rating_sum = rating_sum + ?, r{rating} = r{rating} + ?"
            " WHERE shop_id = ? AND product_id = ?",
            [delta, delta * rating, delta, shop_id, key],
        )


def average(rating_sum: int, count: int) -> float | None:
    """Mean rating rounded to 2 decimals, or None with no reviews (the API's `average`)."""
    return round(rating_sum / count, 2) if count else None


def summary_for(db, shop_id: int, product_id: int | None = None) -> dict:
    """Count, sum, average and per-star counts of published reviews: one indexed row."""
    row = db.execute(
        "SELECT count, rating_sum, r1, r2, r3, r4, r5 FROM aggregates WHERE shop_id = ? AND product_id = ?",
        [shop_id, product_id or SHOP_PRODUCT],
    ).fetchone()
    count, total, *per_star = row if row else (0, 0, 0, 0, 0, 0, 0)
    return {
        "count": count,
        "rating_sum": total,
        "average": average(total, count),
        "distribution": {str(star): n for star, n in zip(range(1, 6), per_star)},
    }


def recompute(db, fix: bool = False) -> list[str]:
    """Compare every aggregate row with a full scan; returns the differences (and mends them with fix)."""
    problems = []
    scan_sql = (
        "SELECT count(*), coalesce(sum(rating), 0),"
        + ", ".join(f"coalesce(sum(rating = {r}), 0)" for r in range(1, 6))
        + " FROM reviews WHERE shop_id = ? AND status = 'published'"
    )
    with write(db):
        rows = list(db.query("SELECT * FROM aggregates ORDER BY shop_id, product_id"))
        for agg in rows:
            if agg["product_id"] == SHOP_PRODUCT:
                scanned = db.execute(scan_sql, [agg["shop_id"]]).fetchone()
            else:
                scanned = db.execute(scan_sql + " AND product_id = ?", [agg["shop_id"], agg["product_id"]]).fetchone()
            stored = (agg["count"], agg["rating_sum"], agg["r1"], agg["r2"], agg["r3"], agg["r4"], agg["r5"])
            if tuple(scanned) != stored:
                problems.append(
                    f"shop {agg['shop_id']} product {agg['product_id'] or '(shop)'}: stored {stored}, scanned {tuple(scanned)}"
                )
                if fix:
                    db.execute(
                        "UPDATE aggregates SET count=?, rating_sum=?, r1=?, r2=?, r3=?, r4=?, r5=?"
                        " WHERE shop_id = ? AND product_id = ?",
                        [*scanned, agg["shop_id"], agg["product_id"]],
                    )
    return problems


# --- reviews and replies -------------------------------------------------------


def add_review(
    db,
    shop_id: int,
    *,
    rating: int,
    author: str,
    title: str = "",
    body: str = "",
    locale: str | None = None,
    product_sku: str | None = None,
    source: str = "import",
    verified: bool = False,
    verification_method: str | None = None,
    created_at: datetime | None = None,
    external_id: str | None = None,
    author_token_hash: str | None = None,
    actor: str = "api",
) -> int:
    """Store a published review and count it in the aggregates, in one transaction.

    :raise StoreError: for an unknown product SKU, a duplicate external id, or a time out of bounds
        (before 1995, or more than a day ahead: see `time_problem`).
    """
    if created_at is not None:
        problem = time_problem(created_at, ahead=REVIEW_AHEAD)
        if problem:
            raise StoreError(problem, "created_at")
    created = format_time(created_at or utcnow())
    with write(db):
        product_id = None
        if product_sku:
            product = product_by_sku(db, shop_id, product_sku)
            if product is None:
                raise StoreError(
                    f"No product with SKU {product_sku!r} in this shop; create it first (POST .../products).",
                    "product",
                )
            product_id = product["id"]
        if external_id and db.execute(
            "SELECT 1 FROM reviews WHERE shop_id = ? AND external_id = ?", [shop_id, external_id]
        ).fetchone():
            raise StoreError(f"A review with external id {external_id!r} was imported already.", "external_id", 409)
        review_id = db.execute(
            "INSERT INTO reviews (shop_id, product_id, rating, title, body, author, locale, verified,"
            " verification_method, source, external_id, author_token_hash, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [shop_id, product_id, rating, title, body, author, locale, int(verified), verification_method,
             source, external_id, author_token_hash, created, created],
        ).lastrowid
        _adjust(db, shop_id, product_id, rating, +1)
        bump(db, shop_id)
        audit(db, shop_id=shop_id, actor=actor, action="create", entity="review", entity_id=review_id,
              data={"rating": rating, "source": source, "verified": verified,
                    "verification_method": verification_method, "product": product_sku})
        from . import events  # late: events imports the modules that import the store

        events.review_created(db, shop_id, review_id, rating, source)
    return review_id


class ReviewColumns(NamedTuple):
    """Reviews for `add_reviews`, field by field: equal-length sequences, item i of each is review i.

    An import checks and hands over a block of CSV records this way (`schemas.plain_import_chunk`):
    no dict per review to build and take apart again.
    """

    rating: Sequence[int]
    title: Sequence[str]
    body: Sequence[str]
    author: Sequence[str]
    locale: Sequence[str | None]
    product_sku: Sequence[str | None]
    created_at: Sequence[datetime | str | None]
    external_id: Sequence[str | None]
    reply: Sequence[dict | None]

    @classmethod
    def of(cls, reviews: list[dict]) -> ReviewColumns:
        """The columns of reviews given one dict each (`add_review`'s keyword arguments and `reply`)."""
        if not reviews:
            return cls(*([()] * len(cls._fields)))
        try:
            return cls(*zip(*map(_REVIEW_FIELDS, reviews)))
        except KeyError:  # an item leaves out optional fields
            return cls(*zip(*(_REVIEW_FIELDS({**_REVIEW_DEFAULTS, **r}) for r in reviews)))

    @classmethod
    def join(cls, parts: list[ReviewColumns]) -> ReviewColumns:
        """One after the other."""
        if len(parts) == 1:
            return parts[0]
        return cls(*(list(itertools.chain.from_iterable(column)) for column in zip(*parts)))


_REVIEW_FIELDS = operator.itemgetter(*ReviewColumns._fields)
_REVIEW_DEFAULTS = {"title": "", "body": "", "locale": None, "product_sku": None, "created_at": None,
                    "external_id": None, "reply": None}


def add_reviews(db, shop_id: int, reviews: list[dict] | ReviewColumns, *, source: str = "import",
                actor: str = "import") -> list[int]:
    """Store many published reviews as `add_review` would, in one transaction and a few statements.

    `reviews`: one dict each with `add_review`'s keyword arguments (rating, author, title, body, locale,
    product_sku, created_at, external_id) and optionally `reply` (body, author, role), or the same as
    `ReviewColumns`; created_at may also be text in stored form (`format_time`'s), as an import's
    shortcut writes it. Every review and reply still gets its own hash-chained audit entry; the
    aggregates move once per (product, rating) and the data version once. Returns the new ids in order.

    :raise StoreError: for an unknown product SKU or an external id already used (nothing is stored).
    """
    columns = reviews if isinstance(reviews, ReviewColumns) else ReviewColumns.of(reviews)
    count = len(columns.rating)
    if not count:
        return []
    with write(db), _cache_pages(db, count):
        skus = sorted(set(filter(None, columns.product_sku)))
        product_ids: dict[str, int] = {}
        for chunk in _chunks(skus):
            product_ids.update(db.execute(
                f"SELECT sku, id FROM products WHERE shop_id = ? AND sku IN ({', '.join('?' * len(chunk))})",
                [shop_id, *chunk]).fetchall())
        for sku in skus:
            if sku not in product_ids:
                raise StoreError(f"No product with SKU {sku!r} in this shop; create it first (POST .../products).",
                                 "product")
        external = list(filter(None, columns.external_id))
        if len(set(external)) != len(external):
            raise StoreError("The same external id appears twice; each review needs its own.", "external_id", 409)
        for chunk in _chunks(external):
            taken = db.execute(f"SELECT external_id FROM reviews WHERE shop_id = ? AND external_id IN"
                               f" ({', '.join('?' * len(chunk))}) LIMIT 1", [shop_id, *chunk]).fetchone()
            if taken:
                raise StoreError(f"A review with external id {taken[0]!r} was imported already.", "external_id", 409)
        # Inside BEGIN IMMEDIATE no other writer can take ids, so they are assigned here. They follow
        # the reviews' times: every index on reviews is keyed by created_at, and inserting in that
        # order appends to each index instead of touching pages all over it (~2x faster at 100k).
        first = db.execute("SELECT coalesce(max(id), 0) + 1 FROM reviews").fetchone()[0]
        now = now_text()
        created = [c if type(c) is str else format_time(c) if c else now for c in columns.created_at]
        if not all(map(TIME_PATTERN.match, created)):
            unreadable = next(c for c in created if not TIME_PATTERN.match(c))
            raise ValueError(f"{unreadable!r} is not a time in stored form (YYYY-MM-DDTHH:MM:SS.ffffffZ)")
        order = sorted(range(count), key=created.__getitem__)
        in_order = operator.itemgetter(*order) if count > 1 else (lambda column: (column[order[0]],))
        new_ids = range(first, first + count)
        ids = [0] * count
        for review_id, index in zip(new_ids, order):
            ids[index] = review_id
        skus_in_order = [sku or None for sku in in_order(columns.product_sku)]
        ratings, created = in_order(columns.rating), in_order(created)
        rows = list(zip(new_ids, itertools.repeat(shop_id), [product_ids[sku] if sku else None for sku in skus_in_order],
                        ratings, in_order(columns.title), in_order(columns.body), in_order(columns.author),
                        in_order(columns.locale), itertools.repeat(source), in_order(columns.external_id),
                        created, created))
        replies = [(review_id, reply["body"], reply["author"], reply["role"], now, now)
                   for review_id, reply in zip(new_ids, in_order(columns.reply)) if reply]
        # {"rating": .., "source": .., "verified": false, "product": ..} as _DATA_JSON writes it, written out
        sku_json = {sku: _string(sku) for sku in skus} | {None: "null"}
        data = map(f'{{{{"product": {{}}, "rating": {{}}, "source": {_string(source)}, "verified": false}}}}'.format,
                   map(sku_json.__getitem__, skus_in_order), ratings)
        entries = list(zip(itertools.repeat("create"), itertools.repeat("review"), new_ids, data))
        entries += [("create", "reply", reply[0], {"author": reply[2], "role": reply[3]}) for reply in replies]
        head, at, audit_rows = _audit_head(db), now_text(), []

        def chain_audit_entries():  # pure Python: runs while SQLite builds the indexes (see below)
            audit_rows.extend(_audit_rows(head, at, shop_id, actor, entries))

        # Imported reviews never have an author token: that partial index stays as it is.
        with _indexes_rebuilt_after(db, "reviews", bulk=len(rows) >= max(BULK_MIN_ROWS, first - 1),
                                    keep=("reviews_author_token",), meanwhile=chain_audit_entries) as bulk:
            db.conn.executemany(
                "INSERT INTO reviews (id, shop_id, product_id, rating, title, body, author, locale, source,"
                " external_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            if bulk:  # what review_months_insert would have done row by row
                db.execute(
                    "INSERT INTO review_months (shop_id, rating, month, count)"
                    " SELECT shop_id, rating, substr(created_at, 1, 7), count(*) FROM reviews"
                    " WHERE id >= ? AND status = 'published' GROUP BY 1, 2, 3"
                    " ON CONFLICT (shop_id, rating, month) DO UPDATE SET count = count + excluded.count", [first])
        db.conn.executemany(
            "INSERT INTO replies (review_id, body, author, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            replies)
        deltas: dict[int, list[int]] = {}  # aggregates key -> [count, rating_sum, r1..r5], counted by SQLite
        for product_id, rating, n in db.execute("SELECT product_id, rating, count(*) FROM reviews WHERE id >= ?"
                                                " GROUP BY product_id, rating", [first]):
            for key in (SHOP_PRODUCT, product_id) if product_id else (SHOP_PRODUCT,):
                delta = deltas.setdefault(key, [0] * 7)
                delta[0] += n
                delta[1] += n * rating
                delta[rating + 1] += n
        db.conn.executemany(
            "UPDATE aggregates SET count = count + ?, rating_sum = rating_sum + ?, r1 = r1 + ?, r2 = r2 + ?,"
            " r3 = r3 + ?, r4 = r4 + ?, r5 = r5 + ? WHERE shop_id = ? AND product_id = ?",
            [(*delta, shop_id, key) for key, delta in deltas.items()])
        bump(db, shop_id)
        _insert_audit_rows(db, audit_rows)
        from . import events  # late: events imports the modules that import the store

        for review_id, rating in zip(new_ids, ratings):
            events.review_created(db, shop_id, review_id, rating, source)
        for reply in replies:
            events.reply_published(db, shop_id, reply[0], True)
    return ids


# An insert of at least this many rows, and at least as many as the table holds, drops the table's
# indexes first and builds them again before its transaction commits (`_indexes_rebuilt_after`).
BULK_MIN_ROWS = 10_000
# Triggers a bulk insert replaces by one statement after it (see add_reviews); dropped with the indexes.
_BULK_REPLACED_TRIGGERS = {"reviews": ("review_months_insert",)}


@contextmanager
def _indexes_rebuilt_after(db, table: str, *, bulk: bool, keep: tuple[str, ...] = (),
                           meanwhile: Callable[[], None] | None = None) -> Iterator[bool]:
    """With `bulk`, drop `table`'s indexes but those named in `keep` (and the triggers in
    _BULK_REPLACED_TRIGGERS) for the body and create them again, from their own stored SQL, before the
    caller's transaction commits. `meanwhile`: pure-Python work that must not touch `db`, done while
    the indexes are built, or after the body when there is nothing to build.

    Inserting 100k rows into seven indexes costs ~3x more than inserting them into the bare table and
    sorting each index once at the end. It only pays when the insert outweighs the table: rebuilding
    reads every row, old ones too. Inside the transaction, the drop is invisible to other connections
    (they read the last committed schema) and a failure anywhere rolls it back with the rows.
    Yields whether it dropped them; the caller replays what the named triggers would have done.
    """
    if not bulk:
        yield False
        if meanwhile is not None:
            meanwhile()
        return
    if not db.conn.in_transaction:
        raise RuntimeError("_indexes_rebuilt_after must run inside the write it speeds up")
    replaced = _BULK_REPLACED_TRIGGERS.get(table, ())
    saved = db.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL"
        f" AND (type = 'index' OR (type = 'trigger' AND name IN ({', '.join('?' * len(replaced)) or 'NULL'})))"
        " ORDER BY rowid", [table, *replaced]).fetchall()
    saved = [(kind, name, sql) for kind, name, sql in saved if name not in keep]
    for kind, name, _ in saved:
        db.execute(f"DROP {kind.upper()} [{name}]")
    yield True
    _execute_beside(db, [sql for _, _, sql in saved], meanwhile)


def _execute_beside(db, statements: list[str], work: Callable[[], None] | None) -> None:
    """Execute `statements` on `db` in a helper thread while `work()` runs in this one.

    SQLite releases the GIL while it executes a statement, so a long one (CREATE INDEX over 100k
    rows) and Python work proceed on two cores at once. `work` must not use `db`: the connection is
    the helper's until it is done. The statements' error, if any, is raised here.
    """
    if work is None:
        for sql in statements:
            db.execute(sql)
        return
    failed: list[BaseException] = []

    def execute():
        try:
            for sql in statements:
                db.conn.execute(sql)
        except BaseException as exc:  # noqa: BLE001  (raised again in the calling thread)
            failed.append(exc)

    helper = threading.Thread(target=execute, name="eerlijk-index-build")
    helper.start()
    try:
        work()
    finally:
        interrupted = False
        while helper.is_alive():  # never hand the connection back (for a rollback) while it is in use
            try:
                helper.join()
            except KeyboardInterrupt:
                interrupted = True
        if interrupted:
            raise KeyboardInterrupt
    if failed:
        raise failed[0]


@contextmanager
def _cache_pages(db, rows: int) -> Iterator[None]:
    """A page cache that holds a large insert's dirty pages (~2 KiB a review, up to 512 MiB) for its duration.

    With SQLite's default 2 MiB cache, a transaction writing 100k reviews into seven indexes spills
    pages to the WAL and reads them back over and over: 3x the time.
    """
    previous = db.execute("PRAGMA cache_size").fetchone()[0]
    wanted = min(512 * 1024, max(2048, 2 * rows))  # KiB
    if -previous >= wanted:
        yield
        return
    db.execute(f"PRAGMA cache_size = -{wanted}")
    try:
        yield
    finally:
        db.execute(f"PRAGMA cache_size = {previous}")


def _chunks(values: list, size: int = 500) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def update_review(db, shop_id: int, review_id: int, *, rating: int, title: str, body: str, author: str,
                  actor: str = "author") -> None:
    """The author's edit: keeps the previous version and moves the aggregates."""
    with write(db):
        old = review_row(db, shop_id, review_id)
        if old is None or old["status"] != "published":
            raise StoreError("That review is not published; it cannot be edited.", "review", 409)
        now = now_text()
        db.execute(
            "INSERT INTO review_versions (review_id, rating, title, body, author, valid_from, valid_to)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [review_id, old["rating"], old["title"], old["body"], old["author"], old["updated_at"], now],
        )
        db.execute(
            "UPDATE reviews SET rating = ?, title = ?, body = ?, author = ?, updated_at = ? WHERE id = ?",
            [rating, title, body, author, now, review_id],
        )
        _adjust(db, shop_id, old["product_id"], old["rating"], -1)
        _adjust(db, shop_id, old["product_id"], rating, +1)
        bump(db, shop_id)
        audit(db, shop_id=shop_id, actor=actor, action="update", entity="review", entity_id=review_id,
              data={"rating": rating, "previous_rating": old["rating"]})
        from . import events

        events.review_updated(db, shop_id, review_id, old["rating"])


def set_review_status(db, shop_id: int, review_id: int, status: str, reason: str | None = None,
                      actor: str = "operator") -> None:
    """Withdraw, remove or republish a review; aggregates follow the published state."""
    if status not in STATUSES:
        raise StoreError(f"Status must be one of {', '.join(STATUSES)}.", "status")
    with write(db):
        old = review_row(db, shop_id, review_id)
        if old is None:
            raise StoreError("No such review in this shop.", "review", 404)
        if old["status"] == status:
            return
        db.execute("UPDATE reviews SET status = ?, status_reason = ? WHERE id = ?", [status, reason, review_id])
        if old["status"] == "published":
            _adjust(db, shop_id, old["product_id"], old["rating"], -1)
        elif status == "published":
            _adjust(db, shop_id, old["product_id"], old["rating"], +1)
        bump(db, shop_id)
        audit(db, shop_id=shop_id, actor=actor, action=status, entity="review", entity_id=review_id,
              data={"reason": reason, "previous_status": old["status"]})


def review_row(db, shop_id: int, review_id: int) -> dict | None:
    """The raw review row, only if it belongs to this shop."""
    rows = list(db.query("SELECT * FROM reviews WHERE id = ? AND shop_id = ?", [review_id, shop_id]))
    return rows[0] if rows else None


def set_reply(db, shop_id: int, review_id: int, *, body: str, author: str, role: str,
              actor: str = "api") -> bool:
    """Create or replace the one public reply; the replaced text goes to its history. True if created."""
    with write(db):
        review = review_row(db, shop_id, review_id)
        if review is None or review["status"] != "published":
            raise StoreError(f"No published review {review_id} in this shop.", "review", 404)
        old = db.execute("SELECT body, author, role, updated_at FROM replies WHERE review_id = ?", [review_id]).fetchone()
        now = now_text()
        if old is None:
            db.execute(
                "INSERT INTO replies (review_id, body, author, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                [review_id, body, author, role, now, now],
            )
        else:
            db.execute(
                "INSERT INTO reply_versions (review_id, body, author, role, valid_from, valid_to) VALUES (?, ?, ?, ?, ?, ?)",
                [review_id, *old, now],
            )
            db.execute(
                "UPDATE replies SET body = ?, author = ?, role = ?, updated_at = ? WHERE review_id = ?",
                [body, author, role, now, review_id],
            )
        bump(db, shop_id)
        audit(db, shop_id=shop_id, actor=actor, action="create" if old is None else "update", entity="reply",
              entity_id=review_id, data={"author": author, "role": role})
        from . import events

        events.reply_published(db, shop_id, review_id, old is None)
    return old is None


def recent_reply_texts(db, shop_id: int, exclude_review: int | None = None, limit: int = 50) -> list[str]:
    """The shop's latest reply texts (other reviews' only), newest first: what a new reply must not copy."""
    return [r[0] for r in db.execute(
        "SELECT rp.body FROM replies rp JOIN reviews r ON r.id = rp.review_id"
        " WHERE r.shop_id = ? AND rp.review_id != ? ORDER BY rp.updated_at DESC LIMIT ?",
        [shop_id, exclude_review or 0, limit])]


REVIEW_SELECT = (
    "SELECT r.id, r.rating, r.title, r.body, r.author, r.locale, r.verified, r.verification_method, r.source, r.status,"
    " r.created_at, r.updated_at, p.sku AS product, p.name AS product_name,"
    " rp.body AS reply_body, rp.author AS reply_author, rp.role AS reply_role,"
    " rp.created_at AS reply_created_at, rp.updated_at AS reply_updated_at,"
    " fu.answer AS reply_outcome, fu.answered_at AS reply_outcome_at"
    " FROM reviews r LEFT JOIN products p ON p.id = r.product_id LEFT JOIN replies rp ON rp.review_id = r.id"
    " LEFT JOIN followups fu ON fu.review_id = r.id"
)


def shape_review(row: dict) -> dict:
    """A joined review row as the API and widgets see it (times as datetimes, reply nested)."""
    reply = None
    if row["reply_body"] is not None:
        reply = {
            "body": row["reply_body"],
            "author": row["reply_author"],
            "role": row["reply_role"],
            "created_at": parse_time(row["reply_created_at"]),
            "updated_at": parse_time(row["reply_updated_at"]),
            # The customer's answer to the shop's "resolved" follow-up (widgetserver/followup.py), or None.
            "outcome": row["reply_outcome"],
            "outcome_at": parse_time(row["reply_outcome_at"]) if row["reply_outcome_at"] else None,
        }
    return {
        "id": row["id"],
        "rating": row["rating"],
        "title": row["title"],
        "body": row["body"],
        "author": row["author"],
        "locale": row["locale"],
        "verified": bool(row["verified"]),
        "verification_method": row["verification_method"],
        "source": row["source"],
        "status": row["status"],
        "product": row["product"],
        "product_name": row["product_name"],
        "created_at": parse_time(row["created_at"]),
        "updated_at": parse_time(row["updated_at"]),
        "reply": reply,
    }


def get_review(db, shop_id: int, review_id: int) -> dict | None:
    """One review of this shop, shaped, whatever its status."""
    rows = list(db.query(REVIEW_SELECT + " WHERE r.id = ? AND r.shop_id = ?", [review_id, shop_id]))
    return shape_review(rows[0]) if rows else None


def list_reviews(
    db,
    shop_id: int,
    *,
    product_id: int | None = None,
    rating: int | None = None,
    verified: bool | None = None,
    sort: str = "newest",
    limit: int = 20,
    after: list | None = None,
    offset: int = 0,
) -> tuple[list[dict], list | None]:
    """One page of published reviews in keyset order; returns (reviews, key of the last one or None).

    `after` is the key returned for the previous page. Keys are the sort
    columns' values, so reviews that arrive meanwhile never shift a page.
    `offset` skips that many rows instead (numbered pages in widgets); the
    ORDER BY, and so the index serving it, is the same.
    """
    order = SORTS[sort]
    if rating is not None:
        # One star only: the rating column is constant, so it leaves the order and the key; otherwise
        # SQLite serves the keyset range with the other rating index and sorts the rest.
        order = tuple(part for part in order if part[0] != "rating")
    where = ["r.shop_id = ?", "r.status = 'published'"]
    params: list = [shop_id]
    if product_id is not None:
        where.append("r.product_id = ?")
        params.append(product_id)
    if rating is not None:
        where.append("r.rating = ?")
        params.append(rating)
    if verified is not None:
        where.append("r.verified = ?")
        params.append(int(verified))
    select = REVIEW_SELECT + " WHERE " + " AND ".join(where)

    def fetch(extra: list[str], values: list, part_order, count: int) -> list[dict]:
        sql = (
            select + "".join(f" AND {clause}" for clause in extra)
            + " ORDER BY " + ", ".join(f"r.{col} {direction}" for col, direction in part_order)
            + " LIMIT ? OFFSET ?"
        )
        return list(db.query(sql, params + values + [count, 0]))

    if after is None and offset > 0 and product_id is None and verified is None:
        # A numbered page of the shop's list: the key of the review just before it, found through
        # the per-month counts, turns it into a keyset page (as cheap deep down as on page 2).
        before = _key_at_position(db, shop_id, rating, sort, order, int(offset) - 1)
        if before is None:
            return [], None
        return list_reviews(db, shop_id, rating=rating, sort=sort, limit=limit, after=before)
    if after is None and offset > 0:
        rows = _deep_page(db, where, params, order, limit + 1, int(offset))
    elif after is None:
        rows = fetch([], [], order, limit + 1)
    elif len({direction for _, direction in order}) == 1:
        rows = fetch([_keyset(order, len(after))], list(after), order, limit + 1)
    else:
        # Mixed directions (lowest: rating up, newest first within a rating): the rest of the
        # cursor's star group, then the higher stars. Each part is one index range, so a deep
        # page costs what a first page does (an OR of both would scan from the group's start).
        (lead, lead_dir), rest = order[0], order[1:]
        rows = fetch([f"r.{lead} = ?", _keyset(rest, len(rest))], [after[0], *after[1:]], rest, limit + 1)
        if len(rows) <= limit:
            rows += fetch([f"r.{lead} {'<' if lead_dir == 'DESC' else '>'} ?"], [after[0]], order,
                          limit + 1 - len(rows))
    more = len(rows) > limit
    rows = rows[:limit]
    key = [rows[-1][col] for col, _ in order] if more and rows else None
    return [shape_review(r) for r in rows], key


def _key_at_position(db, shop_id: int, rating: int | None, sort: str, order, position: int) -> list | None:
    """The sort key of the published review at `position` (0-based) of the shop's list, or None past its end.

    review_months says how many reviews each (star, month) holds, so whole months (and, sorted by
    stars, whole star groups) are skipped by arithmetic; only the skip inside one month walks an
    index: at most a month of reviews instead of everything before the page.
    """
    counts = db.execute(
        "SELECT rating, month, count FROM review_months WHERE shop_id = ? AND count > 0"
        + (" AND rating = ?" if rating is not None else ""), [shop_id] + ([rating] if rating is not None else [])
    ).fetchall()
    by_star = sort in ("highest", "lowest") and rating is None
    newest_first = dict(order)["created_at"] == "DESC"
    groups: dict = {}
    for star, month, n in counts:
        key = (star if by_star else None, month)
        groups[key] = groups.get(key, 0) + n

    def place(group):  # stars in the sort's order, then months in created_at's direction
        star, month = group
        return (0 if not by_star else -star if sort == "highest" else star,
                _Reverse(month) if newest_first else month)

    for star, month in sorted(groups, key=place):
        n = groups[star, month]
        if position >= n:
            position -= n
            continue
        where = ["r.shop_id = ?", "r.status = 'published'", "r.created_at >= ?", "r.created_at < ?"]
        params: list = [shop_id, month, month + "~"]  # "~" sorts after every "-DDT..." of the month
        fixed = star if by_star else rating
        if fixed is not None:
            where.append("r.rating = ?")
            params.append(fixed)
        inner = [part for part in order if part[0] != "rating"]
        row = db.execute(
            "SELECT " + ", ".join(f"r.{col}" for col, _ in order) + " FROM reviews r WHERE " + " AND ".join(where)
            + " ORDER BY " + ", ".join(f"r.{col} {direction}" for col, direction in inner) + " LIMIT 1 OFFSET ?",
            params + [position]).fetchone()
        return list(row) if row else None
    return None


class _Reverse(str):
    """A string that sorts in reverse (months newest first inside ascending star groups)."""

    def __lt__(self, other):
        return str.__gt__(self, other)


def _deep_page(db, where: list[str], params: list, order, count: int, offset: int) -> list[dict]:
    """Rows `offset` to `offset + count` in `order`: the ids first, skipping through the index alone.

    OFFSET makes SQLite produce and drop every row before the page; over the joined SELECT that
    means reading each skipped review, its product and its reply (0.5 s for page 10,000 of a 1M
    review shop). Selecting only ids, the skipping walks one covering index (shop, status,
    [product,] [rating,] created_at, id): a few milliseconds; then the page's rows are read by id.
    """
    sql = ("SELECT r.id FROM reviews r WHERE " + " AND ".join(where) + " ORDER BY "
           + ", ".join(f"r.{col} {direction}" for col, direction in order) + " LIMIT ? OFFSET ?")
    ids = [row[0] for row in db.execute(sql, params + [count, offset])]
    if not ids:
        return []
    position = {review_id: i for i, review_id in enumerate(ids)}
    rows = list(db.query(REVIEW_SELECT + f" WHERE r.id IN ({', '.join('?' * len(ids))})", ids))
    return sorted(rows, key=lambda row: position[row["id"]])


def _keyset(order, size: int) -> str:
    """WHERE clause for "strictly after" a key of `size` values in a one-direction `order`."""
    op = "<" if order[0][1] == "DESC" else ">"
    cols = ", ".join(f"r.{c}" for c, _ in order)
    return f"({cols}) {op} ({', '.join('?' * size)})"


def export_rows(db, shop_id: int) -> Iterator[dict]:
    """Everything the shop's reviews hold, every status, oldest first, with reply and history."""
    for row in db.query(REVIEW_SELECT.replace("SELECT r.id", "SELECT r.external_id, r.status_reason, r.id") + " WHERE r.shop_id = ? ORDER BY r.id",
                        [shop_id]):
        review = shape_review(row)
        review.update(status=row["status"], external_id=row["external_id"],
                      status_reason=row["status_reason"])
        review["versions"] = list(db.query(
            "SELECT rating, title, body, author, valid_from, valid_to FROM review_versions WHERE review_id = ? ORDER BY id",
            [row["id"]]))
        review["reply_versions"] = list(db.query(
            "SELECT body, author, role, valid_from, valid_to FROM reply_versions WHERE review_id = ? ORDER BY id",
            [row["id"]]))
        yield review


def verification_counts(db, shop_id: int) -> dict[str, int]:
    """Published reviews of the shop by how they came in, for the transparency page.

    Keys: each of VERIFICATION_METHODS (verified reviews), "import" (the shop's
    earlier reviews, unverified), "open" (written without an invitation,
    unverified), and "total".
    """
    counts = {key: 0 for key in (*VERIFICATION_METHODS, "import", "open")}
    for method, source, n in db.execute(
        "SELECT verification_method, source, count(*) FROM reviews WHERE shop_id = ? AND status = 'published'"
        " GROUP BY verification_method, source", [shop_id]):
        counts[method if method else source] = counts.get(method if method else source, 0) + n
    counts["total"] = sum(counts.values())
    return counts
