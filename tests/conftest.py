"""Shared fixtures: an app on a real SQLite file, its client and CLI runner, the store, a shop with a key."""

from __future__ import annotations

import pytest

from widgetserver import create_app, store


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Workspace passwords hashed with a cheap PBKDF2 in tests (production: scrypt); checks stay real."""
    from widgetserver.workspace import users

    monkeypatch.setattr(users, "HASH_METHOD", "pbkdf2:sha256:1000")


@pytest.fixture
def db_path(tmp_path):
    """Path of a fresh SQLite file for this test."""
    return str(tmp_path / "test.db")


@pytest.fixture
def app(db_path, tmp_path):
    """The app on a fresh database file."""
    app = create_app({"TESTING": True, "DATABASE": db_path, "THEME_DIRS": [str(tmp_path / "themes")]})
    yield app


@pytest.fixture
def client(app):
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner bound to the app (commands without --db use its database)."""
    return app.test_cli_runner()


@pytest.fixture
def db(app):
    """A store connection to the app's database."""
    conn = store.connect(app.config["DATABASE"])
    yield conn
    conn.conn.close()


@pytest.fixture
def shop(db):
    """A shop 'acme' with two products."""
    row = store.create_shop(db, "acme", "Acme Kleding", "https://acme.example", "nl")
    store.upsert_product(db, row["id"], "SKU-1", name="Jurk Linde", url="https://acme.example/jurk")
    store.upsert_product(db, row["id"], "SKU-2", name="Trui Noor")
    return store.get_shop(db, "acme")


@pytest.fixture
def seven_reviews(db, shop):
    """Acme with seven reviews of every rating (three about SKU-1), a day apart in January 2025; returns the shop."""
    from datetime import datetime, timezone

    for i, rating in enumerate([5, 1, 4, 2, 3, 5, 5]):
        store.add_review(db, shop["id"], rating=rating, author=f"Klant {i}", title=f"Titel {i}",
                         body="Snel geleverd en goed verpakt. " * 6, product_sku="SKU-1" if i % 2 else None,
                         created_at=datetime(2025, 1, 1 + i, tzinfo=timezone.utc))
    return shop


@pytest.fixture
def key(db, shop):
    """A live API key of shop 'acme'."""
    return store.create_key(db, shop["id"])


@pytest.fixture
def auth(key):
    """Headers for an authorised JSON write to 'acme'."""
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def other_shop_key(db):
    """A key of another shop, 'beta'."""
    other = store.create_shop(db, "beta", "Beta Shop")
    return store.create_key(db, other["id"])


# --- live server and headless Chromium (browser tests) ---------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


class LiveServer:
    """A real threaded HTTP server running a WSGI app on a free loopback port."""

    def __init__(self, wsgi_app, host: str = "127.0.0.1"):
        import threading

        from werkzeug.serving import make_server

        self.server = make_server(host, 0, wsgi_app, threaded=True)
        self.url = f"http://{host}:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        """Shut the server down."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def live_server(app):
    """The app served over real HTTP on 127.0.0.1 (a free port); `.url` is its base URL."""
    server = LiveServer(app)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright (never a downloaded browser)."""
    import os

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium), as .ci/run does.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    """A fresh browser page; console errors are collected in `page.console_errors`."""
    context = browser.new_context()
    new_page = context.new_page()
    new_page.console_errors = []
    new_page.on("console", lambda msg: msg.type == "error" and new_page.console_errors.append(msg.text))
    new_page.on("pageerror", lambda exc: new_page.console_errors.append(str(exc)))
    yield new_page
    context.close()
