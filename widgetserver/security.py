"""HTTP hardening for every response: Content-Security-Policy per kind of page, nosniff, proxies, cookies, hosts.

Policies (docs/operations.md, "Security"):

- widget fragments (`/w/...html`): no script, no plugins, no forms, sandboxed when opened on their own;
  inline `<style>` and `style=""` are allowed because themes use them (bar and star widths).
- hosted pages (`/s/...`, `/demo`, error pages): no script at all, except `/demo/<shop>/embed`, which loads
  this server's `embed.js` and fetches fragments from it; inline styles as for fragments.
- forms (review form, report form, follow-up answer): no script; styles only in `<style nonce=...>` elements of this response.
- the owner's workspace (`/workspace/...`): scripts, styles, fetches and frames from this server only.
- `widgetserver theme preview` (its own small app, widgetserver/preview.py): as hosted pages, no forms, no framing.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from flask import Flask, g, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix
from widgets.rendering import bdi

FRAGMENT_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
                   "form-action 'none'; sandbox allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation")
PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'self'"
EMBED_PAGE_POLICY = PAGE_POLICY + "; script-src {origins}; connect-src {origins}"
FORM_POLICY = "default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self' data:; base-uri 'none'; " \
              "form-action 'self'; frame-ancestors 'none'"

# The owner's workspace (widgetserver/workspace): its own script and stylesheet, JSON fetches to itself,
# the snippet builder's same-origin preview frame (which runs embed.js and whose widgets use inline styles).
WORKSPACE_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
                    "connect-src 'self'; frame-src 'self'; frame-ancestors 'self'; form-action 'self'; "
                    "base-uri 'none'; object-src 'none'")
# The theme developer's preview app: widgets with their inline styles, links between previews, nothing else.
PREVIEW_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
                  "form-action 'none'; frame-ancestors 'none'")
FORM_BLUEPRINTS = ("collect", "reports", "followup_pages")
EMBED_PAGES = ("pages.demo_embed",)


def csp_nonce() -> str:
    """This response's nonce for inline `<style>` elements of form pages (a Jinja global)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def policy_for(app: Flask) -> str | None:
    """The Content-Security-Policy of the current request's HTML answer."""
    endpoint = request.endpoint or ""
    blueprint = endpoint.partition(".")[0] if "." in endpoint else ""
    if blueprint == "embed":
        return FRAGMENT_POLICY
    if blueprint in ("workspace", "moderation"):
        return WORKSPACE_POLICY
    if blueprint in FORM_BLUEPRINTS:
        return FORM_POLICY.format(nonce=csp_nonce())
    if endpoint in EMBED_PAGES:
        origins = "'self'"
        configured = app.config.get("PUBLIC_BASE_URL")
        if configured:
            parts = urlsplit(configured)
            origins += f" {parts.scheme}://{parts.netloc}"
        return EMBED_PAGE_POLICY.format(origins=origins)
    return PAGE_POLICY


def trust_proxies(app: Flask, proxies: int) -> None:
    """Believe X-Forwarded-For/-Proto/-Host/-Prefix from `proxies` proxies in front of this server (0: none).

    Only then is X-Forwarded-For (the client address rate limits use) read, and only its last
    `proxies` entries: the ones our own proxies appended, not what a client sent.
    """
    app.config["TRUSTED_PROXIES"] = proxies
    if isinstance(app.wsgi_app, ProxyFix):
        app.wsgi_app = app.wsgi_app.app
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_prefix=proxies)


class PublicAddressMissing(RuntimeError):
    """The app would answer the public with links taken from the Host header (see `check_public_url`)."""


def require_public_url(app: Flask) -> None:
    """Refuse to build an app that serves HTTP without a public URL or trusted hosts.

    Every entry point that hands the app to a server goes through here: the app factory (gunicorn's
    `widgetserver:create_app()`, `flask run`), `widgetserver serve` (after applying `--public-url`).

    :raise PublicAddressMissing: with a one-line message saying what to set.
    """
    problem = check_public_url(app)
    if problem:
        raise PublicAddressMissing(problem)


def check_public_url(app: Flask) -> str | None:
    """Why this app must not serve the public as configured (no public URL and no trusted hosts), or None."""
    url = app.config.get("PUBLIC_BASE_URL")
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            return (f"PUBLIC_BASE_URL {url!r} is not a public root URL; use e.g. https://reviews.shop.example "
                    "(scheme, host, optional port and path).")
        return None
    if app.config.get("TRUSTED_HOSTS"):
        return None
    return ("Set this server's public address, e.g. https://reviews.shop.example: the PUBLIC_BASE_URL setting "
            "(environment WIDGETSERVER_PUBLIC_BASE_URL, or serve --public-url), or list the host names it answers "
            "to in TRUSTED_HOSTS (WIDGETSERVER_TRUSTED_HOSTS='[\"reviews.shop.example\"]'). Without either, links in "
            "cacheable answers would follow the Host header of whoever asks (docs/operations.md, Security).")


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session; the cookie is Secure whenever the public URL is https.

    Not opened for public reads (fragments, the loader, the JSON API, hosted pages): those answers
    are the same for every visitor and never use a session (no forms, no CSRF token). Skipping it
    saves building a signer and verifying a cookie on each of the most frequent requests, and keeps
    `Set-Cookie` and `Vary: Cookie` off answers that shared caches should share. Form pages (the
    review and report forms, the workspace) keep their sessions.
    """

    def open_session(self, app: Flask, request):
        if request.method in ("GET", "HEAD", "OPTIONS") and SESSIONLESS.match(request.path):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or \
            str(app.config.get("PUBLIC_BASE_URL") or "").startswith("https://")


SESSIONLESS = re.compile(r"/w/|/api/|/embed\.js$|/s/[^/]+/?$|/s/[^/]+/p/[^/]+$")


def init_app(app: Flask) -> None:
    """Install the header hook, the CSP nonce for templates, trusted proxies and the session cookie settings."""
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.filters["bdi"] = bdi  # isolate user text: {{ name|bdi }} (see widgets.rendering.bdi)
    # The session only carries the forms' CSRF token: script never needs it, other sites never send it.
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if app.config.get("SESSION_COOKIE_SAMESITE") not in ("Strict", "Lax"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.session_interface = SessionInterface()
    trust_proxies(app, int(app.config.get("TRUSTED_PROXIES") or 0))

    @app.after_request
    def security_headers(response):
        # Plain adds: this runs on the cached-fragment hot path, where Headers.__setitem__ costs more.
        headers = response.headers
        headers.add("X-Content-Type-Options", "nosniff")
        if response.mimetype == "text/html":
            headers.remove("Content-Security-Policy")
            headers.add("Content-Security-Policy", policy_for(app))
        return response
