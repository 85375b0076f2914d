"""Helpers for workspace tests: users, logging in through the real form with its CSRF token."""

from __future__ import annotations

import re

from widgetserver.workspace import users

PASSWORD = "correct horse battery"


def make_user(db, shop, email="owner@acme.example", role="owner", name="Sanne de Vries", title=""):
    """A user of `shop` (None for an operator) with PASSWORD."""
    return users.create_user(db, shop_id=shop["id"] if shop else None, email=email, name=name, role=role,
                             password=PASSWORD, title=title)


def csrf_of(client, path: str) -> str:
    """The CSRF token of the form on `path` (the session keeps it valid)."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def log_in(client, email="owner@acme.example", password=PASSWORD):
    """Log in through the form; returns the response (302 on success)."""
    token = csrf_of(client, "/workspace/login")
    return client.post("/workspace/login", data={"email": email, "password": password, "csrf_token": token})


def post_form(client, path: str, data: dict, form_page: str | None = None):
    """POST a workspace form with a valid CSRF token taken from `form_page` (default: `path`)."""
    token = csrf_of(client, form_page or path)
    return client.post(path, data={**data, "csrf_token": token})
