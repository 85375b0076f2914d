"""Helpers for the invitation tests: a controllable clock, an invitation via the API, the form's CSRF token."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest

from widgetserver import store

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
EMAIL = "sanne.private@example.org"


class Clock:
    """Stands in for store.utcnow; `advance(**timedelta_args)` moves it."""

    def __init__(self, now: datetime = T0):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """Time as the store sees it, starting at T0 (2025-03-01 12:00 UTC)."""
    c = Clock()
    monkeypatch.setattr(store, "utcnow", c)
    return c


def invite(client, auth, **overrides) -> dict:
    """Create an invitation for order A-1 of 'acme' through the API; returns the JSON answer."""
    body = {"order_ref": "A-1", "name": "Sanne de Vries", "email": EMAIL, "skus": ["SKU-1"],
            "delivered_at": T0.isoformat(), "locale": "nl", **overrides}
    response = client.post("/api/v1/shops/acme/invitations", json=body, headers=auth)
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def path_of(url: str) -> str:
    """The path (and query) of an absolute URL, for the test client."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on the page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no csrf_token field in the form"
    return match.group(1)


def open_form(client, url: str) -> tuple[str, str]:
    """GET the review form; returns (html, csrf token)."""
    response = client.get(path_of(url))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    html = response.get_data(as_text=True)
    return html, csrf_token(html)


def mailed_link(app, db, invitation_id: int) -> str:
    """The link our invitation e-mail carries: what a customer we e-mail gets (the shop never does)."""
    from widgetserver import invitations

    return invitations.review_url("http://localhost/", app.config["SECRET_KEY"],
                                  invitations.get_invitation(db, invitation_id))


def submit_first(client, url: str, **fields) -> str:
    """Open the invitation form at `url`, publish `fields`; returns the path of the author's private page."""
    _, token = open_form(client, url)
    response = client.post(path_of(url), data={"csrf_token": token, **fields})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    location = response.headers["Location"]
    assert "/a/" in location and "saved=created" in location
    return path_of(location).split("?")[0]
