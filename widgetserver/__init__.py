"""Eerlijk widget server: the Flask app factory."""

from __future__ import annotations

import os

from flask import Flask, g

from . import secrets_file, store


def instance_path() -> str:
    """The instance folder: `WIDGETSERVER_INSTANCE`, else `instance/` in the current directory.

    It holds the default database (`instance/widgetserver.db`), `config.py` and user themes. Flask's
    own default depends on how the package was installed (the checkout for `pip install -e .`,
    `<prefix>/var/widgetserver-instance` for `pip install .`), so `--help`, the docs and the file
    actually used disagreed; the current directory is the same for every install.
    """
    return os.path.abspath(os.environ.get("WIDGETSERVER_INSTANCE") or "instance")


def create_app(test_config: dict | None = None, *, serving: bool = True, views: bool = True) -> Flask:
    """Build the app: defaults, then the instance config or WIDGETSERVER_SETTINGS, then env vars, then `test_config`.

    An app that will serve HTTP (`serving`, the default: gunicorn's `widgetserver:create_app()`,
    `flask run`) needs `PUBLIC_BASE_URL` or `TRUSTED_HOSTS`, so no link in a cacheable answer follows
    a client's Host header; only tests (`TESTING`) may leave both out. CLI commands that answer no
    requests pass `serving=False`; `widgetserver serve` checks after applying `--public-url`.

    `views=False` (with serving=False) stops once the configuration is read and the schema is ready: an
    app for CLI commands that only use the database (`widgetserver import`), ~0.25 s quicker to build.

    :raise security.PublicAddressMissing: serving without a public URL or trusted hosts (one-line message).
    """
    if views is False and serving:
        raise ValueError("an app that serves needs its views")
    app = Flask(__name__, instance_path=instance_path(), instance_relative_config=True)
    app.config.from_mapping(
        DATABASE=os.path.join(app.instance_path, "widgetserver.db"),
        MAX_CONTENT_LENGTH=64 * 1024,
        CORS_MAX_AGE=86400,
        CACHE_MAX_AGE=60,
        CACHE_STALE_WHILE_REVALIDATE=600,
        THEME_DIRS=[os.path.join(app.instance_path, "themes")],
        # Invitations and their e-mail (docs/invitations.md). No MAIL_HOST: nothing is sent.
        INVITATION_VALID_DAYS=60,
        MAIL_HOST=None,
        MAIL_PORT=None,  # default: 465 with MAIL_USE_SSL, 587 with MAIL_USE_TLS, else 25
        MAIL_USE_TLS=False,
        MAIL_USE_SSL=False,
        MAIL_USERNAME=None,
        MAIL_PASSWORD=None,
        MAIL_FROM=None,
        MAIL_TIMEOUT=30,
        MAIL_MAX_ATTEMPTS=8,
        MAIL_RETRY_SECONDS=300,  # first retry after this, doubling each time
        # Webhooks (docs/api.md#webhooks): attempts per call, first retry delay (doubling), timeout per call.
        WEBHOOK_MAX_ATTEMPTS=8,
        WEBHOOK_RETRY_SECONDS=60,
        WEBHOOK_TIMEOUT=10,
        WEBHOOK_ALLOW_PRIVATE_ADDRESSES=False,  # True only for receivers on your own network (SSRF risk)
        # Rate limits, kept in the database so every worker shares them (widgetserver/ratelimit.py).
        # The review form: posts per link and per client within the window (seconds).
        FORM_POSTS_PER_TOKEN=10,
        FORM_POSTS_PER_IP=30,
        FORM_RATE_WINDOW=3600,
        # The report form: reports per client and per review within the window.
        REPORT_POSTS_PER_IP=10,
        REPORT_POSTS_PER_REVIEW=30,
        REPORT_RATE_WINDOW=3600,
        # Proxies in front of this server that set X-Forwarded-For/-Proto (0: none; trust no such header).
        TRUSTED_PROXIES=0,
        WTF_CSRF_TIME_LIMIT=6 * 3600,
        # The owner's workspace (docs/owners.md): failed logins allowed per e-mail address and per
        # client address within the window (seconds), and how long a password-reset link works.
        LOGIN_MAX_FAILURES=5,
        LOGIN_MAX_FAILURES_PER_ADDRESS=30,
        LOGIN_FAILURE_WINDOW=900,
        PASSWORD_RESET_MAX_AGE=3600,
        TEAM_INVITE_MAX_AGE=7 * 86400,  # the same link, for a member invited by an owner who has no password yet
    )
    # The signing key's file when SECRET_KEY is not configured (widgetserver/secrets_file.py).
    app.config.setdefault("SECRET_KEY_FILE", os.path.join(app.instance_path, "secret_key"))
    app.config.from_pyfile("config.py", silent=True)
    if os.environ.get("WIDGETSERVER_SETTINGS"):
        app.config.from_envvar("WIDGETSERVER_SETTINGS")
    if os.environ.get("WIDGETSERVER_DB"):
        app.config["DATABASE"] = os.environ["WIDGETSERVER_DB"]
    app.config.from_prefixed_env("WIDGETSERVER")
    if test_config:
        app.config.from_mapping(test_config)

    os.makedirs(app.instance_path, exist_ok=True)
    db_dir = os.path.dirname(os.path.abspath(app.config["DATABASE"]))
    os.makedirs(db_dir, exist_ok=True)

    # Create or upgrade the schema once per process, so every request finds it ready.
    db = store.connect(app.config["DATABASE"])
    store.migrate(db)
    secrets_file.load(app, db)  # SECRET_KEY from config/env or the 0600 key file, never the database
    db.conn.close()
    if not views:
        return app

    from flask import request
    from flask_wtf.csrf import CSRFProtect

    from . import (api, collect, embed, errors, followup_pages, http_cache, i18n, meta, owner_api, pages, reports,
                   routing, security, transparency, workspace)

    routing.init_app(app)  # <row_id:...> in routes: ASCII digits, a huge id is a 404
    i18n.init_app(app)  # every server text is a gettext msgid (docs/translating.md)
    http_cache.init_app(app)  # compression of text answers (after the hooks registered below it run)
    errors.register(app)
    security.init_app(app)
    # CSRF on every HTML form post; the JSON API is key-authenticated and JSON-only instead.
    # Checked only for unsafe methods: Flask-WTF's default hook costs ~25 us on every GET,
    # a third of a cached fragment's time.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    csrf = CSRFProtect(app)
    csrf.exempt(api.bp)
    csrf.exempt(owner_api.bp)

    @app.before_request
    def check_csrf():
        if request.method in app.config["WTF_CSRF_METHODS"]:
            csrf.protect(apply_exemptions=True)

    app.register_blueprint(meta.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(owner_api.bp)  # alerts, webhooks, resolved: under /api/v1, key only
    app.register_blueprint(embed.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(collect.bp)
    app.register_blueprint(reports.bp)  # public report form under /s/<shop>/reviews/<id>/report
    app.register_blueprint(transparency.blueprint())  # /s/<shop>/transparency: how reviews work, live figures
    workspace.init_app(app)  # the owner's workspace under /workspace (login, inbox, replies, settings)
    app.register_blueprint(followup_pages.bp)  # the customer's answer to "is it resolved?" under /f/<token>
    if serving and not app.testing:
        security.require_public_url(app)

    @app.teardown_appcontext
    def close_db(exc):  # noqa: ARG001
        db = g.pop("db", None)
        if db is not None:
            db.conn.close()

    return app


def get_db():
    """The request's database connection, opened on first use and closed at teardown."""
    from flask import current_app

    if "db" not in g:
        g.db = store.connect(current_app.config["DATABASE"])
    return g.db
