"""HTTP caching of public reads: strong ETags from the shop's data version, 304s, Cache-Control, surrogate keys."""

from __future__ import annotations

import hashlib

from flask import Response, current_app, request
from werkzeug.http import unquote_etag


CODE_VERSION = "1"  # bump when a response's shape changes without a data change


def etag_for(shop: dict, *parts: str) -> str:
    """A strong ETag: the shop's data version plus what else selects the representation."""
    digest = hashlib.sha256("\x1f".join((CODE_VERSION, request.full_path, *parts)).encode()).hexdigest()[:16]
    return f'"{shop["slug"]}-{shop["data_version"]}-{digest}"'


def not_modified(etag: str) -> bool:
    """True when the client's If-None-Match already names `etag` (weak comparison, as RFC 9110 says)."""
    # werkzeug's ETags holds unquoted values: `'"x"' in request.if_none_match` is never true.
    return request.if_none_match.contains_weak(unquote_etag(etag)[0])


def public_headers(response: Response, shop: dict, etag: str) -> Response:
    """Mark a public read cacheable by browsers and shared caches, purgeable per shop."""
    config = current_app.config
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = (
        f"public, max-age={config['CACHE_MAX_AGE']}, "
        f"stale-while-revalidate={config['CACHE_STALE_WHILE_REVALIDATE']}"
    )
    response.headers["Surrogate-Key"] = f"shop-{shop['slug']}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "ETag"
    response.vary.add("Accept-Encoding")
    return response


def cached(shop: dict, build, *parts: str) -> Response:
    """Answer 304 when the client is current, otherwise call `build()` and add caching headers."""
    etag = etag_for(shop, *parts)
    if not_modified(etag):
        response = Response(status=304)
    else:
        response = current_app.make_response(build())
    return public_headers(response, shop, etag)
