"""HTTP caching of public reads: strong ETags from the shop's data version, 304s, Cache-Control, surrogate keys."""

from __future__ import annotations

import hashlib

from flask import Response, current_app, request
from werkzeug.http import unquote_etag


CODE_VERSION = "1"  # bump when a response's shape changes without a data change


def etag_for(shop: dict, *parts: str) -> str:
    """A strong ETag: the shop's data version plus what else selects the representation."""
    # request.path and the raw query string: request.full_path re-encodes the URL on every access.
    key = "\x1f".join((CODE_VERSION, request.path, request.query_string.decode("latin-1"), *parts))
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f'"{shop["slug"]}-{shop["data_version"]}-{digest}"'


def not_modified(etag: str) -> bool:
    """True when the client's If-None-Match already names `etag` (weak comparison, as RFC 9110 says)."""
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


def cached(shop: dict, build, *parts: str) -> Response:
    """Answer 304 when the client is current, otherwise call `build()` and add caching headers."""
    etag = etag_for(shop, *parts)
    if not_modified(etag):
        response = Response(status=304)
    else:
        response = current_app.make_response(build())
    return public_headers(response, shop, etag)
