"""Settings → Team: owners list, invite (a set-your-password link over real SMTP), re-role and remove members;
the last owner stays, your own access needs a tick, staff get 403, another shop's members are not found."""

from __future__ import annotations

import re
import time
from urllib.parse import quote

import pytest
from notify_helpers import smtp  # noqa: F401
from workspace_helpers import PASSWORD, csrf_of, log_in, make_user, post_form

from widgetserver import store
from widgetserver.workspace import users

TEAM = "/workspace/acme/settings/team"


@pytest.fixture
def owner(client, db, shop):
    row = make_user(db, shop, email="owner@acme.example", name="Sanne de Vries", role="owner")
    assert log_in(client).status_code == 302
    return row


def member_ids(db, shop) -> dict:
    return {row["email"]: row for row in users.shop_users(db, shop["id"])}


def invite_link(smtp, to: str) -> str:
    [message] = [m for e, m in zip(smtp.envelopes, smtp.messages) if to in e.rcpt_tos]
    text = message.get_content()
    return re.search(r"http://reviews\.acme\.example(/workspace/reset/\S+)", text).group(1)


def test_owner_sees_members_with_role_and_last_login(client, db, shop, owner):
    make_user(db, shop, email="staff@acme.example", name="Piet Staf", role="staff")
    html = client.get(TEAM).get_data(as_text=True)
    assert "owner@acme.example" in html and "staff@acme.example" in html and "Piet Staf" in html
    assert "last login" in html and "never logged in" in html
    assert html.index("Sanne de Vries") < html.index("Piet Staf")  # owners first


def test_invite_emails_a_set_your_password_link_that_works_once(app, client, db, shop, owner, smtp):
    response = post_form(client, TEAM, {"email": " New@Acme.example ", "name": "Noor Nieuw", "role": "staff"})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    member = member_ids(db, shop)["new@acme.example"]
    assert member["role"] == "staff" and member["pending"] and member["name"] == "Noor Nieuw"
    assert "no password chosen yet" in client.get(TEAM).get_data(as_text=True)
    [message] = smtp.messages
    assert message["Subject"] == "You are invited to the Acme Kleding workspace"
    assert "Sanne de Vries added you" in message.get_content() and "7 days" in message.get_content()
    # Nobody can log in as an invited member before they choose a password.
    other = app.test_client()
    for guess in ("", PASSWORD, users.get_user(db, member["id"])["password_hash"]):
        assert log_in(other, "new@acme.example", guess).status_code == 400
    path = invite_link(smtp, "new@acme.example")
    page = other.get(path).get_data(as_text=True)
    assert "Welcome! Choose your password" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    done = other.post(path, data={"csrf_token": token, "password": "een nieuw wachtwoord", "confirm": "een nieuw wachtwoord"})
    assert done.status_code == 302
    assert other.get(path).status_code == 400  # used
    assert log_in(other, "new@acme.example", "een nieuw wachtwoord").status_code == 302
    assert other.get("/workspace/acme/").status_code == 200
    assert other.get(TEAM).status_code == 403  # staff
    audit = db.execute("SELECT action, data FROM audit_log WHERE entity = 'user' AND entity_id = ?",
                       [member["id"]]).fetchall()
    assert ("invite", '{"role": "staff"}') in [tuple(a) for a in audit]
    assert all("acme.example" not in (data or "") for _, data in audit)  # no addresses in the audit log


def test_an_invitation_link_lasts_longer_than_a_reset_link_but_not_forever(app, client, db, shop, owner, smtp,
                                                                          monkeypatch):
    post_form(client, TEAM, {"email": "new@acme.example", "role": "owner"})
    path = invite_link(smtp, "new@acme.example")
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 2 * 86400)
    assert app.test_client().get(path).status_code == 200  # two days later: still fine while no password is set
    monkeypatch.setattr(time, "time", lambda: real_time() + app.config["TEAM_INVITE_MAX_AGE"] + 5)
    assert app.test_client().get(path).status_code == 400


@pytest.mark.parametrize("form, field", [
    ({"email": "not an address", "role": "staff"}, "email"),
    ({"email": "a@acme.example", "role": "operator"}, "role"),
    ({"email": "a@acme.example", "role": ""}, "role"),
    ({"email": "a@acme.example", "role": "staff", "name": "x" * 101}, "name"),
    ({"email": "a@" + "x" * 260 + ".example", "role": "staff"}, "email"),
])
def test_invite_errors_name_the_field_and_store_nothing(client, db, shop, owner, smtp, form, field):
    response = post_form(client, TEAM, form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html and 'class="error-box"' in html
    assert list(member_ids(db, shop)) == ["owner@acme.example"] and smtp.envelopes == []


def test_an_address_of_another_shop_is_refused(client, db, shop, owner, smtp):
    other = store.create_shop(db, "beta", "Beta")
    make_user(db, other, email="taken@beta.example")
    response = post_form(client, TEAM, {"email": "TAKEN@beta.example", "role": "staff"})
    assert response.status_code == 400 and "already has an Eerlijk account" in response.get_data(as_text=True)
    assert users.user_by_email(db, "taken@beta.example")["shop_id"] == other["id"] and smtp.envelopes == []


def test_without_a_mail_server_nobody_is_invited(client, db, shop, owner):
    html = client.get(TEAM).get_data(as_text=True)
    assert "cannot send e-mail" in html and "widgetserver users create acme EMAIL" in html
    response = post_form(client, TEAM, {"email": "new@acme.example", "role": "staff"})
    assert response.status_code == 400 and list(member_ids(db, shop)) == ["owner@acme.example"]


def test_a_refused_invitation_email_adds_nobody(client, db, shop, owner, smtp):
    smtp.answers = ["550 mailbox unavailable"]
    response = post_form(client, TEAM, {"email": "new@acme.example", "role": "staff"})
    assert response.status_code == 400 and "could not be sent" in response.get_data(as_text=True)
    assert users.user_by_email(db, "new@acme.example") is None
    # Trying again once mail works adds them.
    assert post_form(client, TEAM, {"email": "new@acme.example", "role": "staff"}).status_code == 303
    assert len(smtp.envelopes) == 1


def test_send_the_link_again_only_while_no_password_is_set(client, db, shop, owner, smtp):
    post_form(client, TEAM, {"email": "new@acme.example", "role": "staff"})
    member = member_ids(db, shop)["new@acme.example"]
    assert post_form(client, f"{TEAM}/{member['id']}/resend", {}, TEAM).status_code == 303
    assert len(smtp.envelopes) == 2
    response = post_form(client, f"{TEAM}/{owner['id']}/resend", {}, TEAM)
    assert response.status_code == 400 and "chosen a password already" in response.get_data(as_text=True)
    assert len(smtp.envelopes) == 2


def test_change_role_both_ways_and_audited(client, db, shop, owner):
    staff = make_user(db, shop, email="staff@acme.example", name="Piet", role="staff")
    assert post_form(client, f"{TEAM}/{staff['id']}/role", {"role": "owner"}, TEAM).status_code == 303
    assert users.get_user(db, staff["id"])["role"] == "owner"
    assert post_form(client, f"{TEAM}/{staff['id']}/role", {"role": "staff"}, TEAM).status_code == 303
    assert users.get_user(db, staff["id"])["role"] == "staff"
    response = post_form(client, f"{TEAM}/{staff['id']}/role", {"role": "operator"}, TEAM)
    assert response.status_code == 400 and users.get_user(db, staff["id"])["role"] == "staff"
    actions = db.execute("SELECT actor, action, data FROM audit_log WHERE entity = 'user' AND entity_id = ? "
                         "AND action = 'role' ORDER BY id", [staff["id"]]).fetchall()
    assert [tuple(a) for a in actions] == [(f"user:{owner['id']}", "role", '{"from": "staff", "role": "owner"}'),
                                          (f"user:{owner['id']}", "role", '{"from": "owner", "role": "staff"}')]


def test_your_own_access_needs_the_tick_and_the_last_owner_stays(client, db, shop, owner):
    me = f"{TEAM}/{owner['id']}"
    response = post_form(client, f"{me}/role", {"role": "staff"}, TEAM)
    assert response.status_code == 400 and "your own access" in response.get_data(as_text=True)
    response = post_form(client, f"{me}/revoke", {}, TEAM)
    assert response.status_code == 400 and "your own access" in response.get_data(as_text=True)
    # Ticked, but the only owner who can log in: refused with a clear message.
    for action, form in (("role", {"role": "staff"}), ("revoke", {})):
        response = post_form(client, f"{me}/{action}", {**form, "confirm_self": "yes"}, TEAM)
        assert response.status_code == 409, action
        assert "at least one owner who can log in" in response.get_data(as_text=True)
    # An invited owner without a password does not count: they cannot log in yet.
    make_user(db, shop, email="pending@acme.example", role="owner")
    db.execute("UPDATE users SET password_hash = ? WHERE email = 'pending@acme.example'", [users.UNSET + "x"])
    db.conn.commit()
    assert post_form(client, f"{me}/role", {"role": "staff", "confirm_self": "yes"}, TEAM).status_code == 409
    assert users.get_user(db, owner["id"])["role"] == "owner"
    # With a second owner who can log in, the tick hands over: the team page is then closed to you.
    make_user(db, shop, email="second@acme.example", role="owner")
    response = post_form(client, f"{me}/role", {"role": "staff", "confirm_self": "yes"}, TEAM)
    assert response.status_code == 303 and response.headers["Location"].endswith("/workspace/acme/settings")
    assert users.get_user(db, owner["id"])["role"] == "staff" and client.get(TEAM).status_code == 403


def test_remove_a_member_ends_their_sessions(app, client, db, shop, owner):
    staff = make_user(db, shop, email="staff@acme.example", name="Piet", role="staff")
    theirs = app.test_client()
    assert log_in(theirs, "staff@acme.example").status_code == 302
    assert theirs.get("/workspace/acme/").status_code == 200
    assert post_form(client, f"{TEAM}/{staff['id']}/revoke", {}, TEAM).status_code == 303
    assert users.get_user(db, staff["id"]) is None
    assert theirs.get("/workspace/acme/").status_code == 302  # logged out
    assert post_form(client, f"{TEAM}/{staff['id']}/revoke", {}, TEAM).status_code == 404
    assert ("delete", '{"role": "staff"}') in [tuple(a) for a in db.execute(
        "SELECT action, data FROM audit_log WHERE entity = 'user' AND entity_id = ?", [staff["id"]]).fetchall()]


def test_removing_yourself_with_the_tick_logs_you_out(client, db, shop, owner):
    make_user(db, shop, email="second@acme.example", role="owner")
    response = post_form(client, f"{TEAM}/{owner['id']}/revoke", {"confirm_self": "yes"}, TEAM)
    assert response.status_code == 303 and response.headers["Location"].endswith("/workspace/login")
    assert users.get_user(db, owner["id"]) is None and client.get(TEAM).status_code == 302


def test_every_team_form_needs_the_csrf_token(client, db, shop, owner, smtp):
    staff = make_user(db, shop, email="staff@acme.example", role="staff")
    for path, form in [(TEAM, {"email": "new@acme.example", "role": "staff"}),
                       (f"{TEAM}/{staff['id']}/role", {"role": "owner"}),
                       (f"{TEAM}/{staff['id']}/revoke", {}), (f"{TEAM}/{staff['id']}/resend", {})]:
        assert client.post(path, data=form).status_code == 400, path
    assert sorted(member_ids(db, shop)) == ["owner@acme.example", "staff@acme.example"]
    assert users.get_user(db, staff["id"])["role"] == "staff" and smtp.envelopes == []


def test_staff_get_403_everywhere_on_the_team_page(client, db, shop, smtp):
    owner = make_user(db, shop, email="owner@acme.example", role="owner")
    make_user(db, shop, email="staff@acme.example", role="staff")
    log_in(client, "staff@acme.example")
    assert client.get(TEAM).status_code == 403
    token = csrf_of(client, "/workspace/acme/settings")
    for path, form in [(TEAM, {"email": "new@acme.example", "role": "owner"}),
                       (f"{TEAM}/{owner['id']}/role", {"role": "staff"}),
                       (f"{TEAM}/{owner['id']}/revoke", {}), (f"{TEAM}/{owner['id']}/resend", {})]:
        assert client.post(path, data={**form, "csrf_token": token}).status_code == 403, path
    assert users.get_user(db, owner["id"])["role"] == "owner" and smtp.envelopes == []
    assert "Owners invite and remove members." in client.get("/workspace/acme/settings").get_data(as_text=True)


def test_an_owner_of_another_shop_cannot_touch_this_shops_members(app, client, db, shop, owner, smtp):
    beta = store.create_shop(db, "beta", "Beta")
    beta_staff = make_user(db, beta, email="staff@beta.example", role="staff")
    beta_owner = make_user(db, beta, email="owner@beta.example", role="owner")
    # acme's owner, with beta's member ids on acme's routes: not found, nothing changes.
    for path, form in [(f"{TEAM}/{beta_staff['id']}/role", {"role": "owner"}),
                       (f"{TEAM}/{beta_staff['id']}/revoke", {}), (f"{TEAM}/{beta_staff['id']}/resend", {})]:
        assert post_form(client, path, form, TEAM).status_code == 404, path
    # ... and on beta's routes: beta is not their shop.
    assert client.get("/workspace/beta/settings/team").status_code == 404
    token = csrf_of(client, TEAM)
    for path in ("/workspace/beta/settings/team", f"/workspace/beta/settings/team/{beta_staff['id']}/revoke",
                 f"/workspace/beta/settings/team/{beta_owner['id']}/role"):
        assert client.post(path, data={"csrf_token": token, "role": "staff", "email": "x@beta.example"}
                           ).status_code == 404, path
    assert users.get_user(db, beta_staff["id"])["role"] == "staff"
    assert users.get_user(db, beta_owner["id"])["role"] == "owner"
    assert "staff@beta.example" not in client.get(TEAM).get_data(as_text=True)
    assert smtp.envelopes == []


def test_store_keeps_the_last_owner_and_ignores_other_shops(db, shop):
    owner = make_user(db, shop, email="owner@acme.example", role="owner")
    with pytest.raises(store.StoreError) as raised:
        users.change_role(db, shop["id"], owner["id"], "staff", actor="test")
    assert raised.value.status == 409
    with pytest.raises(store.StoreError):
        users.remove_user(db, shop["id"], owner["id"], actor="test")
    other = store.create_shop(db, "beta", "Beta")
    assert users.change_role(db, other["id"], owner["id"], "staff", actor="test") is None
    assert users.remove_user(db, other["id"], owner["id"], actor="test") is False
    assert users.get_user(db, owner["id"])["role"] == "owner"


TRICKY = ["", " ", "\x00", "a\x00@acme.example", "\ud800@acme.example", "x@acme.example\n", "<b>x</b>@acme.example",
          "٣", "²", "1e3", "-1", "A" * 5000, "\u202e", "owner", "staff ", "OWNER", "&lt;b&gt;", "\ufffe"]


def test_tricky_values_in_every_team_field_are_4xx_never_5xx(app, client, db, shop, owner, smtp):
    staff = make_user(db, shop, email="staff@acme.example", role="staff")
    token = csrf_of(client, TEAM)
    for value in TRICKY:
        for path, field, base in [(TEAM, "email", {"role": "staff"}), (TEAM, "name", {"email": "n@acme.example",
                                                                                     "role": "staff"}),
                                  (TEAM, "role", {"email": "r@acme.example"}),
                                  (f"{TEAM}/{staff['id']}/role", "role", {}),
                                  (f"{TEAM}/{owner['id']}/revoke", "confirm_self", {})]:
            form = {**base, field: value, "csrf_token": token}  # encoded by hand: a lone surrogate as its bytes
            body = "&".join(f"{k}={quote(v, safe='', errors='surrogatepass')}" for k, v in form.items())
            response = client.post(path, data=body, content_type="application/x-www-form-urlencoded")
            assert response.status_code < 500, (path, field, value, response.status_code)
    for row in users.shop_users(db, shop["id"]):
        assert users.EMAIL_RE.match(row["email"]) and row["email"].isprintable(), row["email"]
        assert "<" not in row["name"] and "\x00" not in row["name"]
    # "owner" is a valid role (the one value that changes something); nothing else got through.
    assert users.get_user(db, owner["id"]) is not None and users.get_user(db, staff["id"])["role"] == "owner"
    assert all(users.valid_email(r["email"]) for r in users.shop_users(db, shop["id"]))
    for bad_id in ("٣", "9" * 30, "-1", "1e3"):
        assert client.post(f"{TEAM}/{bad_id}/role", data={"role": "owner", "csrf_token": token}).status_code == 404


def test_the_cli_refuses_an_address_with_control_characters(db, shop):
    with pytest.raises(store.StoreError):
        users.create_user(db, shop_id=shop["id"], email="a\x07b@acme.example", name="x", role="staff", password=PASSWORD)
