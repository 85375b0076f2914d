"""The shop owner's workspace under /workspace: login, inbox, replies, reports, settings, snippet builder.

One blueprint, `workspace`, whose views live in this package's modules:
`auth` (login, logout, password reset), `inbox` (inbox, reply composer,
reports by the shop), `settings` (shop details, reply target, API keys),
`team` (owners invite, re-role and remove members) and `snippets` (the
snippet builder). Accounts are Flask-Login sessions over the
`users` table (`users`); every form is CSRF-protected by the app's CSRFProtect.

Access: a user of shop A gets 404 for every page of shop B (as if it did not
exist); staff can read, reply and report, only owners change settings and
keys. An operator belongs to no shop and has no shop workspace: moderation
(another blueprint) is built on `operator_required`.

Hooks for other features:
- `SETTINGS_SECTIONS`: append `(endpoint, label)` to add a page to the
  settings navigation (e-mail alerts, webhooks...). The endpoint takes `shop`.
- `NAV_ITEMS`: the same for the main navigation.

A shop can never edit, hide or remove a review here: there is no such route.
"""

from __future__ import annotations

import functools

from flask import Blueprint, abort, current_app, g, redirect, url_for
from flask_login import LoginManager, UserMixin, current_user

from .. import get_db, store
from ..i18n import _  # noqa: F401  (the workspace's modules import it from here)
from . import users

bp = Blueprint("workspace", __name__, url_prefix="/workspace")

# (endpoint, label): extra settings pages; each endpoint takes the `shop` slug.
SETTINGS_SECTIONS: list[tuple[str, str]] = []
# (endpoint, label): extra entries of the main navigation; each endpoint takes the `shop` slug.
NAV_ITEMS: list[tuple[str, str]] = []



class User(UserMixin):
    """A logged-in person: a row of `users`, with the session id tied to the current password."""

    def __init__(self, row: dict):
        self.row = row
        self.id = row["id"]
        self.email = row["email"]
        self.name = row["name"]
        self.title = row["title"]
        self.role = row["role"]
        self.shop_id = row["shop_id"]

    def get_id(self) -> str:
        """User id plus password fingerprint: changing the password ends every other session."""
        return f"{self.id}:{users.password_fingerprint(self.row)}"

    @property
    def is_operator(self) -> bool:
        """True for an operator (moderates every shop, belongs to none)."""
        return self.role == "operator"

    @property
    def is_owner(self) -> bool:
        """True for a shop owner (may change settings and keys)."""
        return self.role == "owner"

    @property
    def actor(self) -> str:
        """How this user appears in the audit log."""
        return f"user:{self.id}"


login_manager = LoginManager()
login_manager.login_view = "workspace.login"
login_manager.login_message = None
login_manager.session_protection = "basic"


@login_manager.user_loader
def load_user(session_id: str):
    """The session's user, if the account still exists, is active and kept the password it logged in with."""
    user_id, _sep, fingerprint = (session_id or "").partition(":")
    if not user_id.isdigit():
        return None
    row = users.get_user(get_db(), int(user_id))
    if row is None or row["disabled_at"] or users.password_fingerprint(row) != fingerprint:
        return None
    return User(row)


def init_app(app) -> None:
    """Install Flask-Login and the workspace blueprint."""
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    # Not `login_manager.init_app(app)`: its app-wide after-request hook and context processor touch
    # the session on every answer (Flask then adds `Vary: Cookie`, and public reads must stay
    # cacheable and sessionless). The hook runs for workspace pages only; templates get
    # `current_user` from `workspace_globals`.
    app.login_manager = login_manager
    from . import auth, inbox, insight, notifications, settings, snippets, team  # noqa: F401  (their views register on bp)

    app.register_blueprint(bp)
    insight.init_app(app)  # the operator's moderation queue (its own blueprint)


def shop_for_user(slug: str) -> dict:
    """The shop `slug`, when the logged-in user belongs to it.

    :raise 404: unknown shop, or a shop the user does not belong to (operators included:
        they moderate, they do not act as a shop).
    """
    shop = store.get_shop(get_db(), slug)
    if shop is None or current_user.is_operator or current_user.shop_id != shop["id"]:
        abort(404)
    g.workspace_shop = shop
    return shop


def member_required(view):
    """Log in first; then the view gets `shop` (the dict) for its `shop` slug, or 404 for another shop."""

    @functools.wraps(view)
    def wrapper(shop, **kwargs):
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        return view(shop=shop_for_user(shop), **kwargs)

    return wrapper


def owner_required(view):
    """Like `member_required`, and the user must be the shop's owner (403 for staff)."""

    @functools.wraps(view)
    def wrapper(shop, **kwargs):
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        row = shop_for_user(shop)
        if not current_user.is_owner:
            abort(403, description="Only the shop's owner can change this.")
        return view(shop=row, **kwargs)

    return wrapper


def operator_required(view):
    """Log in first; then only operators (403 for shop users)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if not current_user.is_operator:
            abort(403, description="Only an operator can do this.")
        return view(*args, **kwargs)

    return wrapper


def safe_next(target: str | None) -> str | None:
    """A local path to continue to after login, or None (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


@bp.get("/")
def home():
    """Where a user lands: their shop's inbox (operators: the moderation queue once it exists)."""
    if not current_user.is_authenticated:
        return redirect(url_for("workspace.login"))
    if current_user.is_operator:
        if "moderation.queue" in current_app.view_functions:
            return redirect(url_for("moderation.queue"))
        from flask import render_template

        return render_template("workspace/operator.html", shops=store.list_shops(get_db()))
    row = get_db().execute("SELECT slug FROM shops WHERE id = ?", [current_user.shop_id]).fetchone()
    return redirect(url_for("workspace.inbox", shop=row[0]))


bp.after_request(login_manager._update_remember_cookie)


@bp.after_request
def private_headers(response):
    """Workspace pages are private: never cached, never framed by another site (the CSP is security.py's)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


@bp.app_context_processor
def workspace_globals():
    """Template helpers for workspace pages (and other blueprints' pages on workspace/base.html): the
    logged-in user and the navigation hooks. `current_user` is Flask-Login's lazy proxy, so pages that
    never mention it never open the session."""
    return {"current_user": current_user, "SETTINGS_SECTIONS": SETTINGS_SECTIONS, "NAV_ITEMS": NAV_ITEMS}

