"""Workspace accounts: login, logout, rate limit, password reset by real SMTP, CLI users, sessions."""

from __future__ import annotations

import email
import email.policy
import re
import socket

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from workspace_helpers import PASSWORD, csrf_of, log_in, make_user, post_form

from widgetserver import store
from widgetserver.cli import main
from widgetserver.workspace import users


def test_migration_adds_users_and_reporter(db):
    assert store.schema_version(db) == max(v for v, *_ in store.MIGRATIONS)
    assert "reporter" in db["reports"].columns_dict
    assert db["users"].exists()


def test_password_is_hashed_and_checked(db, shop):
    user = make_user(db, shop)
    assert PASSWORD not in user["password_hash"] and user["password_hash"].startswith(("scrypt:", "pbkdf2:"))
    assert users.authenticate(db, "OWNER@acme.example ", PASSWORD)["id"] == user["id"]
    assert users.authenticate(db, "owner@acme.example", PASSWORD + "x") is None
    assert users.authenticate(db, "nobody@acme.example", PASSWORD) is None


@pytest.mark.parametrize("kwargs, field", [
    ({"email": "not-an-address"}, "email"),
    ({"password": "short"}, "password"),
    ({"role": "admin"}, "role"),
    ({"role": "operator"}, "role"),  # an operator with a shop
])
def test_create_user_refuses_bad_input(db, shop, kwargs, field):
    values = {"shop_id": shop["id"], "email": "a@acme.example", "name": "A", "role": "staff", "password": PASSWORD,
              **kwargs}
    with pytest.raises(store.StoreError) as err:
        users.create_user(db, **values)
    assert err.value.field == field


def test_production_hashing_is_scrypt(db, shop, monkeypatch):
    monkeypatch.setattr(users, "HASH_METHOD", "scrypt")  # undo the tests' cheap hashing
    user = make_user(db, shop)
    assert user["password_hash"].startswith("scrypt:")
    assert users.authenticate(db, "owner@acme.example", PASSWORD)["id"] == user["id"]


def test_duplicate_email_is_refused_case_insensitively(db, shop):
    make_user(db, shop)
    with pytest.raises(store.StoreError) as err:
        make_user(db, shop, email="Owner@Acme.example")
    assert err.value.status == 409


def test_login_page_and_login_lands_in_the_inbox(client, db, shop):
    make_user(db, shop)
    page = client.get("/workspace/login")
    assert page.status_code == 200 and b'autocomplete="current-password"' in page.data
    response = log_in(client)
    assert response.status_code == 302
    home = client.get(response.headers["Location"])
    assert home.status_code == 302 and home.headers["Location"].endswith("/workspace/acme/")
    inbox = client.get("/workspace/acme/")
    assert inbox.status_code == 200 and b"Inbox" in inbox.data
    assert inbox.headers["Cache-Control"] == "no-store"


def test_pages_need_a_login(client, shop):
    for path in ("/workspace/acme/", "/workspace/acme/settings", "/workspace/acme/snippet"):
        response = client.get(path)
        assert response.status_code == 302 and "/workspace/login" in response.headers["Location"]


def test_wrong_password_is_400_with_a_message(client, db, shop):
    make_user(db, shop)
    response = log_in(client, password="wrong password!")
    assert response.status_code == 400
    assert b"do not match an account" in response.data
    assert client.get("/workspace/acme/").status_code == 302


def test_login_without_csrf_token_is_refused(client, db, shop):
    make_user(db, shop)
    response = client.post("/workspace/login", data={"email": "owner@acme.example", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/workspace/acme/").status_code == 302


def test_login_is_rate_limited_per_email_even_with_the_right_password(client, app, db, shop):
    make_user(db, shop)
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        assert log_in(client, password="wrong password!").status_code == 400
    response = log_in(client)
    assert response.status_code == 429
    assert b"Too many failed attempts" in response.data
    # The failures are counted in SQLite under a keyed hash, never the address itself.
    keys = [r[0] for r in db.execute("SELECT key FROM rate_limits WHERE key LIKE 'login-%'")]
    assert keys and not any("acme" in k for k in keys)


def test_rate_limit_window_passes(client, app, db, shop, monkeypatch):
    from datetime import timedelta

    make_user(db, shop)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        log_in(client, password="wrong password!")
    later = store.utcnow() + timedelta(seconds=app.config["LOGIN_FAILURE_WINDOW"] + 1)
    monkeypatch.setattr(store, "utcnow", lambda: later)
    assert log_in(client).status_code == 302


def test_rate_limit_per_client_address_spans_accounts(client, app, db, shop):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    make_user(db, shop)
    for i in range(3):
        log_in(client, email=f"guess{i}@acme.example", password="wrong password!")
    assert log_in(client).status_code == 429


def test_logout_needs_post_with_csrf(client, db, shop):
    make_user(db, shop)
    log_in(client)
    client.get("/workspace/logout", follow_redirects=True)  # a link or image cannot log anyone out
    assert client.post("/workspace/logout").status_code == 400  # no CSRF token
    assert client.get("/workspace/acme/").status_code == 200
    response = post_form(client, "/workspace/logout", {}, form_page="/workspace/acme/")
    assert response.status_code == 302
    assert client.get("/workspace/acme/").status_code == 302


def test_next_only_goes_to_local_paths(client, db, shop):
    make_user(db, shop)
    token = csrf_of(client, "/workspace/login")
    response = client.post("/workspace/login", data={"email": "owner@acme.example", "password": PASSWORD,
                                                     "csrf_token": token, "next": "//evil.example/x"})
    assert response.status_code == 302 and "evil" not in response.headers["Location"]


def test_changing_the_password_ends_other_sessions(app, client, db, shop):
    user = make_user(db, shop)
    log_in(client)
    assert client.get("/workspace/acme/").status_code == 200
    users.set_password(db, user["id"], "another long password", actor="test")
    assert client.get("/workspace/acme/").status_code == 302


def test_disabled_user_cannot_log_in_or_stay(client, db, shop):
    user = make_user(db, shop)
    log_in(client)
    with store.write(db):
        db.execute("UPDATE users SET disabled_at = ? WHERE id = ?", [store.now_text(), user["id"]])
    assert client.get("/workspace/acme/").status_code == 302
    assert log_in(client).status_code == 400


# --- password reset over real SMTP ---------------------------------------------------------


class Recorder:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp(app):
    """A real SMTP server on loopback and the app pointed at it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_HOST="127.0.0.1", MAIL_PORT=port, MAIL_FROM="Eerlijk <noreply@reviews.example>",
                      PUBLIC_BASE_URL="http://reviews.example", MAIL_TIMEOUT=5)
    yield handler
    controller.stop()


def _reset_link(handler) -> str:
    message = email.message_from_bytes(handler.messages[-1].original_content, policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()
    return re.search(r"http://reviews\.example(/workspace/reset/\S+)", text).group(1)


def test_password_reset_by_email_works_once(client, db, shop, smtp):
    make_user(db, shop)
    response = post_form(client, "/workspace/reset", {"email": "owner@acme.example"})
    assert response.status_code == 200 and b"If that address has an account" in response.data
    assert len(smtp.messages) == 1 and smtp.messages[0].rcpt_tos == ["owner@acme.example"]
    path = _reset_link(smtp)
    assert client.get(path).status_code == 200
    mismatch = post_form(client, path, {"password": "a brand new password", "confirm": "something else"})
    assert mismatch.status_code == 400 and b"differ" in mismatch.data
    short = post_form(client, path, {"password": "short", "confirm": "short"})
    assert short.status_code == 400 and b"Use 10 to 200 characters" in short.data
    done = post_form(client, path, {"password": "a brand new password", "confirm": "a brand new password"})
    assert done.status_code == 302
    assert log_in(client, password=PASSWORD).status_code == 400
    assert log_in(client, password="a brand new password").status_code == 302
    # Used: the same link no longer works.
    again = client.get(path)
    assert again.status_code == 400 and b"expired or was used" in again.data


def test_reset_answers_the_same_for_unknown_addresses(client, db, shop, smtp):
    response = post_form(client, "/workspace/reset", {"email": "nobody@acme.example"})
    assert response.status_code == 200 and b"If that address has an account" in response.data
    assert smtp.messages == []


def test_reset_link_expires_and_forgeries_fail(app, client, db, shop, smtp, monkeypatch):
    import time

    make_user(db, shop)
    post_form(client, "/workspace/reset", {"email": "owner@acme.example"})
    path = _reset_link(smtp)
    assert client.get(path[:-3] + "abc").status_code == 400
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + app.config["PASSWORD_RESET_MAX_AGE"] + 5)
    assert client.get(path).status_code == 400


def test_reset_without_mail_server_says_what_to_do(client, db, shop):
    make_user(db, shop)
    response = post_form(client, "/workspace/reset", {"email": "owner@acme.example"})
    assert response.status_code == 400 and b"widgetserver users password" in response.data


# --- CLI ---------------------------------------------------------------------------------


def test_cli_users_create_prompts_and_logs_in(runner, client, db, shop):
    result = runner.invoke(main, ["users", "create", "acme", "staff@acme.example", "--role", "staff",
                                  "--name", "Piet", "--title", "Klantenservice"],
                           input="a fine long password\na fine long password\n")
    assert result.exit_code == 0, result.output
    assert "Created staff staff@acme.example" in result.output
    assert log_in(client, "staff@acme.example", "a fine long password").status_code == 302


def test_cli_users_create_generate_prints_a_working_password(runner, client, db, shop):
    result = runner.invoke(main, ["users", "create", "acme", "boss@acme.example", "--role", "owner", "--generate"])
    assert result.exit_code == 0, result.output
    password = result.output.strip().splitlines()[-1]
    assert log_in(client, "boss@acme.example", password).status_code == 302


def test_cli_users_errors(runner, db, shop):
    unknown = runner.invoke(main, ["users", "create", "nope", "a@b.example", "--generate"])
    assert unknown.exit_code != 0 and "No shop 'nope'" in unknown.output
    short = runner.invoke(main, ["users", "create", "acme", "a@b.example", "--password-stdin"], input="short\n")
    assert short.exit_code != 0 and "at least" in short.output


def test_cli_operator_password_and_list(runner, client, db, shop):
    ok = runner.invoke(main, ["users", "operator", "op@reviews.example", "--generate"])
    assert ok.exit_code == 0, ok.output
    row = users.user_by_email(db, "op@reviews.example")
    assert row["role"] == "operator" and row["shop_id"] is None
    changed = runner.invoke(main, ["users", "password", "op@reviews.example", "--password-stdin"],
                            input="operator long password\n")
    assert changed.exit_code == 0, changed.output
    assert log_in(client, "op@reviews.example", "operator long password").status_code == 302
    # An operator has no shop workspace.
    assert client.get("/workspace/acme/").status_code == 404
    listing = runner.invoke(main, ["users", "list"])
    assert "op@reviews.example\toperator\t-" in listing.output and "password" not in listing.output.lower()


def test_demo_prints_a_working_login(tmp_path):
    from widgetserver import create_app

    path = str(tmp_path / "demo.db")
    result = CliRunner().invoke(main, ["demo", "--no-serve", "--db", path])
    assert result.exit_code == 0, result.output
    match = re.search(r"e-mail (\S+)  password (\S+)", result.output)
    assert match and "/workspace/login" in result.output
    app = create_app({"TESTING": True, "DATABASE": path})
    client = app.test_client()
    assert log_in(client, match.group(1), match.group(2)).status_code == 302
    inbox = client.get("/workspace/demo/")
    assert inbox.status_code == 200 and b"left to reply" in inbox.data
