"""Signed webhooks: per-shop endpoints, events queued in the outbox, HMAC-SHA256 signatures, a delivery log.

Events: `review.created`, `review.updated`, `reply.published`,
`report.decided`. `emit(db, shop_id, event, data)` queues one call per
endpoint of the shop that subscribed to the event, inside the caller's
transaction; `widgetserver deliver` sends them (see outbox.py for retries).

Each call is a POST of a JSON body with the headers

    Eerlijk-Event: review.created
    Eerlijk-Delivery: 42                       (the same on every retry: deduplicate on it)
    Eerlijk-Signature: t=1700000000,v1=<hex>   (HMAC-SHA256 of "<t>.<body>" with the endpoint's secret)

The secret is shown once, when the endpoint is created; it is stored (it has
to sign every call) but no command or API answer shows it again. Only http
and https URLs are accepted, redirects are not followed, and unless
WEBHOOK_ALLOW_PRIVATE_ADDRESSES is set a URL whose host is (or resolves to)
a loopback, private, link-local or otherwise non-public address is refused,
checked again at every delivery against the address actually connected to.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import ssl
import time
from urllib.parse import urlsplit

from . import store
from .mail import PermanentFailure, TemporaryFailure

EVENTS = store.WEBHOOK_EVENTS
MAX_ENDPOINTS = 10
MAX_URL_LENGTH = 2000
SIGNATURE_HEADER = "Eerlijk-Signature"
RETRY_STATUSES = {408, 425, 429}  # and every 5xx
USER_AGENT = "Eerlijk-Webhooks/1"


class WebhookError(store.StoreError):
    """An endpoint the store refuses, with the field and what to change."""


# --- signing -------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `Eerlijk-Signature` header value for `body` sent at `timestamp` (Unix seconds)."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, tolerance: int = 300, now: float | None = None) -> bool:
    """True if `header` is a valid signature of `body` made less than `tolerance` seconds ago (the receiver's check)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).partition(",v1=")[2]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# --- URLs and addresses --------------------------------------------------------


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str, allow_private: bool = False) -> str:
    """`url` if it can be an endpoint: http(s), a host, no user:password, not a non-public IP literal.

    :raise WebhookError: says what is wrong (field `url`).
    """
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise WebhookError(f"Give the endpoint's URL (at most {MAX_URL_LENGTH} characters).", "url")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise WebhookError("The URL must not contain spaces or control characters.", "url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookError(f"Not a valid URL: {exc}.", "url") from None
    if parts.scheme not in ("http", "https"):
        raise WebhookError("Only http:// and https:// URLs can receive webhooks.", "url")
    if not parts.hostname:
        raise WebhookError("The URL has no host name.", "url")
    if parts.username is not None or parts.password is not None:
        raise WebhookError("Leave user:password out of the URL; check the Eerlijk-Signature header instead.", "url")
    if port == 0:
        raise WebhookError("Port 0 is not a valid port.", "url")
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        literal = None
    if literal is not None and not allow_private and not _public(str(literal)):
        raise WebhookError(f"{parts.hostname} is not a public address; webhooks only go to public hosts.", "url")
    return url


def resolve_public(host: str, port: int, allow_private: bool) -> str:
    """One address of `host` to connect to; every address must be public unless allowed.

    :raise TemporaryFailure: the name does not resolve now. :raise PermanentFailure: a non-public address.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TemporaryFailure(f"cannot resolve {host}: {exc.strerror or exc}") from None
    addresses = [info[4][0] for info in infos]
    if not allow_private:
        private = [a for a in addresses if not _public(a)]
        if private:
            raise PermanentFailure(f"refused: {host} resolves to non-public address {private[0]} "
                                   "(set WEBHOOK_ALLOW_PRIVATE_ADDRESSES to allow it)")
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, not to whatever the name resolves to a moment later."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self):
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout, context):
        super().__init__(host, port, timeout=timeout, context=context)
        self.address = address

    def connect(self):
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict, timeout: float, allow_private: bool) -> int:
    """POST `body` to `url` without following redirects; returns the status code.

    :raise TemporaryFailure: network trouble. :raise PermanentFailure: a refused address.
    """
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve_public(parts.hostname, port, allow_private)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == "https":
        conn = _PinnedHTTPSConnection(parts.hostname, port, address, timeout, ssl.create_default_context())
    else:
        conn = _PinnedHTTPConnection(parts.hostname, port, address, timeout)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(65536)
        return response.status
    except (OSError, http.client.HTTPException) as exc:
        raise TemporaryFailure(f"{type(exc).__name__}: {exc}".rstrip(": ")) from None
    finally:
        conn.close()


# --- endpoints -----------------------------------------------------------------


def _events(events) -> list[str]:
    events = list(dict.fromkeys(events or EVENTS))
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise WebhookError(f"Unknown event {unknown[0]!r}; choose from {', '.join(EVENTS)}.", "events")
    return events


def _shape(row: dict) -> dict:
    return {"id": row["id"], "url": row["url"], "events": json.loads(row["events"]),
            "description": row["description"], "secret_hint": row["secret"][:10] + "...",
            "created_at": store.parse_time(row["created_at"])}


def add_endpoint(db, shop_id: int, url: str, events=None, description: str = "", *, allow_private: bool = False,
                 actor: str = "api") -> tuple[dict, str]:
    """Register an endpoint; returns (endpoint, secret). The secret is returned here only.

    :raise WebhookError: bad URL or event, or too many endpoints.
    """
    check_url(url, allow_private)
    events = _events(events)
    secret = "whsec_" + secrets.token_urlsafe(32)
    with store.write(db):
        count = db.execute("SELECT count(*) FROM webhook_endpoints WHERE shop_id = ? AND removed_at IS NULL",
                           [shop_id]).fetchone()[0]
        if count >= MAX_ENDPOINTS:
            raise WebhookError(f"A shop can have at most {MAX_ENDPOINTS} webhook endpoints; remove one first.",
                               "url", 409)
        endpoint_id = db.execute(
            "INSERT INTO webhook_endpoints (shop_id, url, secret, events, description, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)", [shop_id, url, secret, json.dumps(events), description, store.now_text()],
        ).lastrowid
        store.audit(db, shop_id=shop_id, actor=actor, action="create", entity="webhook", entity_id=endpoint_id,
                    data={"url": url, "events": events})
    return get_endpoint(db, shop_id, endpoint_id), secret


def get_endpoint(db, shop_id: int, endpoint_id: int) -> dict | None:
    """A live endpoint of this shop (never its secret), or None."""
    rows = list(db.query("SELECT * FROM webhook_endpoints WHERE id = ? AND shop_id = ? AND removed_at IS NULL",
                         [endpoint_id, shop_id]))
    return _shape(rows[0]) if rows else None


def list_endpoints(db, shop_id: int) -> list[dict]:
    """The shop's live endpoints, oldest first, with delivery figures; never their secrets."""
    endpoints = []
    for row in db.query("SELECT * FROM webhook_endpoints WHERE shop_id = ? AND removed_at IS NULL ORDER BY id",
                        [shop_id]):
        endpoint = _shape(row)
        figures = db.execute(
            "SELECT sum(status = 'pending' OR status = 'sending'), sum(status = 'delivered'), sum(status = 'failed')"
            " FROM outbox WHERE kind = 'webhook' AND target_id = ?", [row["id"]]).fetchone()
        endpoint.update(pending=figures[0] or 0, delivered=figures[1] or 0, failed=figures[2] or 0)
        endpoints.append(endpoint)
    return endpoints


def remove_endpoint(db, shop_id: int, endpoint_id: int, actor: str = "api") -> bool:
    """Stop an endpoint: no new calls, queued ones fail; its log stays. False if it is not a live one of this shop."""
    with store.write(db):
        changed = db.execute("UPDATE webhook_endpoints SET removed_at = ? WHERE id = ? AND shop_id = ?"
                             " AND removed_at IS NULL", [store.now_text(), endpoint_id, shop_id]).rowcount
        if not changed:
            return False
        db.execute("UPDATE outbox SET status = 'failed', last_error = 'endpoint removed'"
                   " WHERE kind = 'webhook' AND target_id = ? AND status = 'pending'", [endpoint_id])
        # The secret has no use any more: overwrite it.
        db.execute("UPDATE webhook_endpoints SET secret = 'removed' WHERE id = ?", [endpoint_id])
        store.audit(db, shop_id=shop_id, actor=actor, action="remove", entity="webhook", entity_id=endpoint_id,
                    data={})
    return True


def delivery_log(db, shop_id: int, endpoint_id: int, limit: int = 50) -> list[dict] | None:
    """The endpoint's attempts, newest first (event, delivery id, attempt, time, status code, error); None if unknown."""
    owner = db.execute("SELECT 1 FROM webhook_endpoints WHERE id = ? AND shop_id = ?", [endpoint_id, shop_id]).fetchone()
    if owner is None:
        return None
    rows = db.query(
        "SELECT d.outbox_id, o.event, d.attempt, d.at, d.status_code, d.error, d.duration_ms, d.outcome,"
        " o.status AS delivery_status, o.next_attempt_at"
        " FROM webhook_deliveries d JOIN outbox o ON o.id = d.outbox_id"
        " WHERE d.endpoint_id = ? ORDER BY d.id DESC LIMIT ?", [endpoint_id, limit])
    return [{"delivery": r["outbox_id"], "event": r["event"], "attempt": r["attempt"],
             "at": store.parse_time(r["at"]), "status_code": r["status_code"], "error": r["error"],
             "duration_ms": r["duration_ms"], "outcome": r["outcome"],
             "next_attempt_at": store.parse_time(r["next_attempt_at"]) if r["delivery_status"] == "pending" else None}
            for r in rows]


# --- events --------------------------------------------------------------------


def emit(db, shop_id: int, event: str, data: dict) -> int:
    """Queue `event` with `data` for every endpoint of the shop subscribed to it; returns how many.

    Call it inside the transaction of the change it announces: the calls exist if and only if that commits.
    `data` must be JSON-serialisable (datetimes become ISO 8601 text).
    """
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    with store.write(db):
        endpoints = [row for row in db.query(
            "SELECT id, events FROM webhook_endpoints WHERE shop_id = ? AND removed_at IS NULL", [shop_id])
            if event in json.loads(row["events"])]
        if not endpoints:
            return 0
        slug = db.execute("SELECT slug FROM shops WHERE id = ?", [shop_id]).fetchone()[0]
        body = json.dumps({"id": "evt_" + secrets.token_hex(12), "event": event, "created_at": store.now_text(),
                           "shop": slug, "data": data}, ensure_ascii=False, sort_keys=True, default=_json_default)
        from .outbox import enqueue

        for endpoint in endpoints:
            enqueue(db, shop_id=shop_id, kind="webhook", target_id=endpoint["id"], event=event, payload=body)
    return len(endpoints)


def _json_default(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def deliver(app, db, message: dict, connection) -> None:  # noqa: ARG001  (the SMTP connection is for e-mails)
    """Send one queued call, signed now, and log the attempt.

    :raise TemporaryFailure: network trouble, 5xx, 408, 425, 429. :raise PermanentFailure: other answers, removed endpoint.
    """
    config = app.config
    row = db.execute("SELECT url, secret, removed_at FROM webhook_endpoints WHERE id = ?",
                     [message["target_id"]]).fetchone()
    if row is None or row[2] is not None:
        raise PermanentFailure("endpoint removed")
    url, secret = row[0], row[1]
    body = message["payload"].encode()
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "Eerlijk-Event": message["event"],
               "Eerlijk-Delivery": str(message["id"]), SIGNATURE_HEADER: sign(secret, int(time.time()), body)}
    started = time.monotonic()
    status_code, error, failure = None, None, None
    try:
        status_code = post(url, body, headers, config["WEBHOOK_TIMEOUT"], config["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"])
    except (TemporaryFailure, PermanentFailure) as exc:
        error, failure = str(exc), exc
    duration = int((time.monotonic() - started) * 1000)
    if failure is None and not 200 <= status_code < 300:
        error = f"HTTP {status_code}" + (" (redirects are not followed: register the final URL)"
                                         if 300 <= status_code < 400 else "")
        retry = status_code >= 500 or status_code in RETRY_STATUSES
        failure = TemporaryFailure(error) if retry else PermanentFailure(error)
    max_attempts = config["WEBHOOK_MAX_ATTEMPTS"]
    if failure is None:
        outcome = "delivered"
    elif isinstance(failure, TemporaryFailure) and message["attempts"] < max_attempts:
        outcome = "retry"
    else:
        outcome = "failed"
    with store.write(db):
        db.execute("INSERT INTO webhook_deliveries (outbox_id, endpoint_id, attempt, at, status_code, error,"
                   " duration_ms, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   [message["id"], message["target_id"], message["attempts"], store.now_text(), status_code, error,
                    duration, outcome])
    if failure is not None:
        raise failure
