"""HTTP caching and compression of public reads: strong ETags per content coding, 304s, Cache-Control, surrogate keys.

Every cacheable read goes through `cached()`:

- its ETag is strong, made of the shop's data version and what selects the representation (path, query,
  the parts a view adds), and — as RFC 9110 (8.8.3) asks of strong validators — differs per content
  coding: `"demo-42-1f0c…"` plain, `"demo-42-1f0c…-br"` and `"demo-42-1f0c…-gzip"` compressed;
- a client that names the one of the coding it now accepts in If-None-Match gets a 304 without the
  view running;
- the body is built once per representation and kept, with its compressed forms, in a bounded
  in-process cache, so repeated reads cost neither rendering nor compression;
- text is sent Brotli-compressed when the client accepts `br`, else gzip when it accepts `gzip`, with
  `Vary: Accept-Encoding`.

`init_app` compresses the other text answers (the loader, the OpenAPI document, pages, errors) on
the way out, with a weak ETag if they had a strong one.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections import OrderedDict
from functools import lru_cache

import brotli
from flask import Flask, Response, current_app, request
from werkzeug.http import unquote_etag

CODE_VERSION = "2"  # bump when a response's shape changes without a data change (2: product_name in reviews)

CODINGS = ("br", "gzip")  # in order of preference
COMPRESSIBLE = ("text/", "application/json", "application/javascript", "application/xml", "image/svg+xml",
                "application/ld+json", "application/problem+json")
MIN_SIZE = 512  # bytes; below this the other answers are sent as they are (cached() compresses all)


def negotiate() -> str | None:
    """The content coding to send: "br" or "gzip" when the client accepts it (q > 0), else None."""
    header = request.headers.get("Accept-Encoding")
    if not header:
        return None
    return _negotiate(header)


@lru_cache(maxsize=256)
def _negotiate(header: str) -> str | None:
    accepted = {}
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        quality = 1.0
        params = params.strip().replace(" ", "")
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        accepted[name.strip().lower()] = quality
    wildcard = accepted.get("*", 0.0)
    for coding in CODINGS:
        if accepted.get(coding, wildcard) > 0:
            return coding
    return None


def encode(body: bytes, coding: str | None, *, quality: str = "cached") -> bytes:
    """`body` in `coding` (None: as it is). Cached bodies get more effort than one-off answers."""
    if coding == "br":
        return brotli.compress(body, quality=9 if quality == "cached" else 4)
    if coding == "gzip":
        return gzip.compress(body, compresslevel=6 if quality == "cached" else 5, mtime=0)
    return body


def etag_for(shop: dict, *parts: str) -> str:
    """A strong ETag of the uncompressed representation: the shop's data version plus what selects it."""
    # request.path and the raw query string: request.full_path re-encodes the URL on every access.
    return f'"{shop["slug"]}-{shop["data_version"]}-{_digest(request.path, request.query_string, parts)}"'


@lru_cache(maxsize=4096)
def _digest(path: str, query: bytes, parts: tuple) -> str:
    # Memoised: the same few URLs are asked for over and over, and the data version is outside it.
    key = "\x1f".join((CODE_VERSION, path, query.decode("latin-1"), *parts))
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def coded_etag(etag: str, coding: str | None) -> str:
    """The strong ETag of `etag`'s representation in `coding`."""
    return f'{etag[:-1]}-{coding}"' if coding else etag


def not_modified(etag: str) -> bool:
    """True when If-None-Match names `etag` (weak comparison, as RFC 9110 13.1.2 says).

    Pass the ETag of the representation this request selects (`coded_etag`): a client holding
    the gzip body does not get a 304 for the Brotli one.
    """
    if not request.headers.get("If-None-Match"):
        return False
    # werkzeug's ETags holds unquoted values: `'"x"' in request.if_none_match` is never true.
    return request.if_none_match.contains_weak(unquote_etag(etag)[0])


def public_headers(response: Response, shop: dict, etag: str) -> Response:
    """Mark a public read cacheable by browsers and shared caches, purgeable per shop."""
    config = current_app.config
    headers = [
        ("ETag", etag),
        ("Cache-Control", f"public, max-age={config['CACHE_MAX_AGE']}, "
                          f"stale-while-revalidate={config['CACHE_STALE_WHILE_REVALIDATE']}"),
        ("Surrogate-Key", f"shop-{shop['slug']}"),
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Expose-Headers", "ETag"),
    ]
    # Added one by one, replacing any of these the response already had. (Headers.__contains__ and
    # __setitem__ build an exception per miss; on this hot path a plain scan is several times cheaper.)
    present = {name.lower() for name, _ in response.headers.items()}
    if "vary" not in present:
        headers.append(("Vary", "Accept-Encoding"))
    for name, _ in headers:
        if name.lower() in present:
            response.headers.remove(name)
    for name, value in headers:
        response.headers.add(name, value)
    return response


class ResponseCache:
    """A bounded, thread-safe LRU of built public reads: status, headers and body per content coding.

    Keyed by the ETag, which names the shop's data version (a write makes old entries unreachable),
    the database file (one process may serve several, as tests do), the base URL (links in the body), the visitor's language (server texts) and an hourly bucket
    (relative dates such as "3 days ago" in pages and fragments).
    """

    def __init__(self, size: int = 1024):
        self.size = size
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            entry = self.items.get(key)
            if entry is not None:
                self.items.move_to_end(key)
            return entry

    def put(self, key, entry) -> None:
        with self.lock:
            self.items[key] = entry
            while len(self.items) > self.size:
                self.items.popitem(last=False)


responses = ResponseCache()


class _Entry:
    """One built representation: status, mimetype, extra headers, and the body per coding (filled lazily)."""

    __slots__ = ("status", "mimetype", "headers", "bodies")

    def __init__(self, status: int, mimetype: str, headers: list, body: bytes):
        self.status, self.mimetype, self.headers, self.bodies = status, mimetype, headers, {None: body}

    def body(self, coding: str | None) -> bytes:
        body = self.bodies.get(coding)
        if body is None:
            body = self.bodies[coding] = encode(self.bodies[None], coding)
        return body


def _cache_key(etag: str):
    from .links import base_url

    # Server texts follow Accept-Language (i18n.select_locale); the supported language it picks is enough.
    language = request.accept_languages.best_match(("nl", "en", "de", "fr")) if request.headers.get(
        "Accept-Language") else None
    return etag, current_app.config["DATABASE"], base_url(), language, int(time.time() // 3600)


def cached(shop: dict, build, *parts: str) -> Response:
    """Answer 304 when the client is current, otherwise the built (and kept) body, compressed if accepted."""
    etag = etag_for(shop, *parts)
    coding = negotiate()
    if not_modified(coded_etag(etag, coding)):
        response = Response(status=304)
        return public_headers(response, shop, coded_etag(etag, coding))
    use_cache = current_app.config.get("RESPONSE_CACHE", current_app.config.get("FRAGMENT_CACHE", True))
    key = _cache_key(etag) if use_cache else None
    entry = responses.get(key) if use_cache else None
    if entry is None:
        built = current_app.make_response(build())
        if built.status_code != 200 or built.direct_passthrough or built.is_streamed:
            return public_headers(built, shop, etag)
        keep = [(k, v) for k, v in built.headers.items() if k.lower() not in ("content-type", "content-length")]
        entry = _Entry(built.status_code, built.content_type, keep, built.get_data())
        if use_cache:
            responses.put(key, entry)
    response = Response(entry.body(coding), status=entry.status, content_type=entry.mimetype, headers=entry.headers)
    if use_cache:
        request.environ[FRONT_MARK] = (shop["slug"], shop["data_version"])  # the front cache may keep the answer
    if coding:
        response.headers.add("Content-Encoding", coding)
    return public_headers(response, shop, coded_etag(etag, coding))


# --- every other text answer ----------------------------------------------------


def compressible(response: Response) -> bool:
    """A text answer worth compressing that nothing compressed yet."""
    mimetype = response.mimetype or ""
    return (response.status_code == 200 and not response.direct_passthrough and not response.is_streamed
            and mimetype.startswith(COMPRESSIBLE) and "Content-Encoding" not in response.headers
            and (response.content_length or 0) >= MIN_SIZE)


def add_vary(response: Response, name: str = "Accept-Encoding") -> None:
    """Add `name` to the response's Vary header unless it is there already."""
    current = [v.strip() for v in response.headers.get("Vary", "").split(",") if v.strip()]
    if name.lower() not in (v.lower() for v in current) and "*" not in current:
        response.headers["Vary"] = ", ".join(current + [name])


def init_app(app: Flask) -> None:
    """Compress text answers that did not go through `cached()` (done already there: Content-Encoding set).

    And put the front cache in front of the app (before any ProxyFix, which must see requests first).
    """
    app.wsgi_app = FrontCache(app.wsgi_app, app)

    @app.after_request
    def compress(response: Response) -> Response:
        mimetype = response.mimetype or ""
        if not mimetype.startswith(COMPRESSIBLE) or "Content-Encoding" in response.headers:
            return response
        add_vary(response)  # the answer could have been compressed for another client
        if not compressible(response):
            return response
        coding = negotiate()
        if coding is None:
            return response
        response.set_data(encode(response.get_data(), coding, quality="once"))
        response.headers["Content-Encoding"] = coding
        etag, weak = response.get_etag()
        if etag and not weak:
            # The compressed bytes differ from the ones this strong ETag named: a weak one still says
            # "same content" for revalidation (what nginx does too).
            response.set_etag(etag, weak=True)
        return response


@lru_cache(maxsize=64)
def _static_entry(body: bytes, mimetype: str) -> _Entry:
    return _Entry(200, mimetype, [], body)


def static_answer(body: bytes, mimetype: str, cache_control: str) -> Response:
    """A static text file (the embed loader): strong ETag per coding, 304s, compressed once per process."""
    etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
    coding = negotiate()
    entry = _static_entry(body, mimetype)
    if not_modified(coded_etag(etag, coding)):
        response = Response(status=304)
    else:
        response = Response(entry.body(coding), content_type=mimetype)
        if coding:
            response.headers["Content-Encoding"] = coding
    response.headers["ETag"] = coded_etag(etag, coding)
    response.headers["Cache-Control"] = cache_control
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


# --- the front cache: repeated public reads answered before Flask ------------------


FRONT_MARK = "eerlijk.front_cache"  # environ key: cached() puts (slug, data version) here for a storable answer


class _FrontEntry:
    __slots__ = ("status", "headers", "body", "database", "slug", "version")

    def __init__(self, status, headers, body, database, slug, version):
        self.status, self.headers, self.body = status, headers, body
        self.database, self.slug, self.version = database, slug, version


class FrontCache:
    """WSGI middleware: a repeated public read is answered from the final bytes and headers kept from the first.

    A shared cache inside the process that follows the rules Varnish follows (docs/operations.md,
    Caching), and is stricter: an answer is kept only when `cached()` served it (a public read, built
    from one shop's data), with status 200, `Cache-Control: public`, no `Set-Cookie`, and a `Vary` of
    nothing but Accept-Encoding and Accept-Language; it is found again only by the same method, path,
    query string, host, scheme, script root, the raw Accept-Encoding and Accept-Language headers, the
    same hour (relative dates) and the same settings that shape links and cache headers; and every hit
    first checks that the shop's data version is still the one the answer was built from, so a write
    is visible on the very next request (no max-age staleness). Requests with If-None-Match go
    through the app (304s are made in one place). A hit skips Flask's request context, routing and
    hooks: the headers they added are part of what was kept.
    """

    STORABLE_VARY = {"accept-encoding", "accept-language"}

    def __init__(self, wsgi_app, app: Flask, size: int = 1024):
        self.wsgi_app, self.app = wsgi_app, app
        self.entries = ResponseCache(size)

    def _key(self, environ):
        config = self.app.config
        return (environ.get("PATH_INFO"), environ.get("QUERY_STRING"), environ.get("HTTP_HOST"),
                environ.get("SERVER_NAME"), environ.get("SERVER_PORT"), environ.get("wsgi.url_scheme"),
                environ.get("SCRIPT_NAME"), environ.get("HTTP_ACCEPT_ENCODING"), environ.get("HTTP_ACCEPT_LANGUAGE"),
                int(time.time() // 3600), config["DATABASE"], config.get("PUBLIC_BASE_URL"),
                config.get("CACHE_MAX_AGE"), config.get("CACHE_STALE_WHILE_REVALIDATE"))

    def __call__(self, environ, start_response):
        config = self.app.config
        if (environ.get("REQUEST_METHOD") != "GET" or "HTTP_IF_NONE_MATCH" in environ
                or not config.get("RESPONSE_CACHE", config.get("FRAGMENT_CACHE", True))):
            return self.wsgi_app(environ, start_response)
        key = self._key(environ)
        entry = self.entries.get(key)
        if entry is not None:
            from .reads import shop_at

            shop = shop_at(entry.database, entry.slug)
            if shop is not None and shop["data_version"] == entry.version:
                start_response(entry.status, list(entry.headers))
                return [entry.body]
        captured = []

        def capture(status, headers, exc_info=None):
            captured[:] = [status, headers]
            return start_response(status, headers, exc_info)

        environ.pop(FRONT_MARK, None)
        answer = self.wsgi_app(environ, capture)
        mark = environ.get(FRONT_MARK)
        if mark is None or not captured or not self._storable(*captured):
            return answer
        try:
            body = b"".join(answer)
        finally:
            if hasattr(answer, "close"):
                answer.close()
        self.entries.put(key, _FrontEntry(captured[0], list(captured[1]), body, config["DATABASE"], *mark))
        return [body]

    def _storable(self, status: str, headers) -> bool:
        if not status.startswith("200 "):
            return False
        public = False
        for name, value in headers:
            name = name.lower()
            if name == "set-cookie":
                return False
            if name == "cache-control":
                public = "public" in value and "no-store" not in value and "private" not in value
            elif name == "vary":
                if any(v.strip().lower() not in self.STORABLE_VARY for v in value.split(",")):
                    return False
        return public
