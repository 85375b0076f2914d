"""The public URLs this server hands out: its base URL and the hosted review pages."""

from __future__ import annotations

from flask import current_app, g, request


def base_url() -> str:
    """This server's public root URL, ending in a slash (PUBLIC_BASE_URL, else the request's, from a trusted host)."""
    if "eerlijk_base_url" not in g:  # once per request: werkzeug rebuilds url_root on every access
        configured = current_app.config.get("PUBLIC_BASE_URL")
        # Without it the Host header names this server: request.url_root checks it against TRUSTED_HOSTS
        # (a 400 otherwise). `serve` refuses to run with neither (docs/operations.md, Security).
        root = configured or request.url_root
        g.eerlijk_base_url = root.rstrip("/") + "/"
    return g.eerlijk_base_url


def hosted_url(shop_slug: str, sku: str | None = None) -> str:
    """The hosted page every badge links to: all reviews, or one product's."""
    url = f"{base_url()}s/{shop_slug}"
    return f"{url}/p/{sku}" if sku else url


def transparency_url(shop_slug: str) -> str:
    """The shop's transparency page: how reviews are collected, moderated and answered."""
    return f"{base_url()}s/{shop_slug}/transparency"
