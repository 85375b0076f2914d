"""Rate limits kept in SQLite (shared by workers, kept over restarts), one-use report forms, X-Forwarded-For
trusted only behind configured proxies."""

from __future__ import annotations

import re

import pytest
from invitation_helpers import clock, invite, open_form, path_of  # noqa: F401

from widgetserver import create_app, ratelimit, store


@pytest.fixture
def review_id(db, shop):
    return store.add_review(db, shop["id"], rating=1, author="Piet", title="Slecht", body="Nooit geleverd.")


def report_url(review_id):
    return f"/s/acme/reviews/{review_id}/report"


def report(client, review_id, **kwargs):
    """Open the report form and send it (a fresh form, so a fresh one-use token, each time)."""
    _, token = open_form(client, report_url(review_id))
    return client.post(report_url(review_id), data={"csrf_token": token, "reason": "spam"}, **kwargs)


def count(db, table="reports"):
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_a_burst_from_one_client_gets_429_with_retry_after(app, client, db, review_id, clock):
    app.config["REPORT_POSTS_PER_IP"] = 3
    codes = [report(client, review_id, headers={"Accept-Language": "en"}).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    refused = report(client, review_id, headers={"Accept-Language": "en"})
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 0 < wait <= 3600
    page = refused.get_data(as_text=True)
    assert "Too many attempts" in page and f"wait {-(-wait // 60)} minutes" in page
    assert refused.headers["Cache-Control"] == "no-store"
    assert count(db) == 3
    # Another client is not affected; after Retry-After this one gets through again.
    assert report(client, review_id, environ_base={"REMOTE_ADDR": "192.0.2.9"}).status_code == 200
    clock.advance(seconds=wait)
    assert report(client, review_id).status_code == 200
    assert count(db) == 5


def test_reports_per_review_are_limited_whoever_sends_them(app, client, db, shop, review_id, clock):
    app.config["REPORT_POSTS_PER_REVIEW"] = 2
    addresses = ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    codes = [report(client, review_id, environ_base={"REMOTE_ADDR": a}).status_code for a in addresses]
    assert codes == [200, 200, 429]
    other = store.add_review(db, shop["id"], rating=2, author="Els", title="Matig", body="Te laat.")
    assert report(client, other, environ_base={"REMOTE_ADDR": "192.0.2.3"}).status_code == 200


def test_invalid_posts_count_too(app, client, db, review_id, clock):
    app.config["REPORT_POSTS_PER_IP"] = 2
    _, token = open_form(client, report_url(review_id))
    codes = [client.post(report_url(review_id), data={"csrf_token": token, "reason": "nonsense"}).status_code
             for _ in range(3)]
    assert codes == [400, 400, 429]
    assert count(db) == 0


def test_the_limit_holds_across_two_app_instances_on_one_file(app, db_path, tmp_path, review_id, clock):
    """Two workers (or a restart) share the counters: they live in the database, not in the process."""
    config = {"TESTING": True, "DATABASE": db_path, "THEME_DIRS": [str(tmp_path / "themes")],
              "REPORT_POSTS_PER_IP": 4}
    first, second = create_app(config).test_client(), create_app(config).test_client()
    codes = [report(c, review_id).status_code for c in (first, second, first, second, second)]
    assert codes == [200, 200, 200, 200, 429]
    restarted = create_app(config).test_client()
    assert report(restarted, review_id).status_code == 429


def test_review_form_limits_hold_across_instances(app, client, db_path, tmp_path, auth, clock):
    config = {"TESTING": True, "DATABASE": db_path, "THEME_DIRS": [str(tmp_path / "themes")],
              "FORM_POSTS_PER_TOKEN": 2}
    app.config["FORM_POSTS_PER_TOKEN"] = 2
    invitation = invite(client, auth, skus=["SKU-1"], email=None)
    url = path_of(invitation["review_url"])
    codes = []
    for worker in (create_app(config).test_client(), create_app(config).test_client(), client):
        _, token = open_form(worker, url)
        codes.append(worker.post(url, data={"csrf_token": token, "author": "S"}).status_code)
    assert codes == [400, 400, 429]


def test_forwarded_for_is_ignored_without_trusted_proxies(app, client, review_id, clock):
    app.config["REPORT_POSTS_PER_IP"] = 2
    codes = [report(client, review_id, headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code for n in range(3)]
    assert codes == [200, 200, 429]  # a client can't pose as many by inventing the header


def test_forwarded_for_names_the_client_behind_a_trusted_proxy(db_path, tmp_path, db, review_id, clock):
    config = {"TESTING": True, "DATABASE": db_path, "THEME_DIRS": [str(tmp_path / "themes")],
              "REPORT_POSTS_PER_IP": 2, "TRUSTED_PROXIES": 1}
    client = create_app(config).test_client()
    same = {"X-Forwarded-For": "203.0.113.5"}
    assert [report(client, review_id, headers=same).status_code for _ in range(3)] == [200, 200, 429]
    # Only the entry our one proxy appended counts: a client-supplied first entry changes nothing.
    spoofed = {"X-Forwarded-For": "10.9.9.9, 203.0.113.5"}
    assert report(client, review_id, headers=spoofed).status_code == 429
    assert report(client, review_id, headers={"X-Forwarded-For": "203.0.113.6"}).status_code == 200


def test_ipv6_clients_are_counted_per_64(app, client, review_id, clock):
    app.config["REPORT_POSTS_PER_IP"] = 1
    assert report(client, review_id, environ_base={"REMOTE_ADDR": "2001:db8:1:2::1"}).status_code == 200
    assert report(client, review_id, environ_base={"REMOTE_ADDR": "2001:db8:1:2::ffff"}).status_code == 429
    assert report(client, review_id, environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"}).status_code == 200


def test_a_report_form_is_single_use(client, db, review_id, clock):
    _, token = open_form(client, report_url(review_id))
    data = {"csrf_token": token, "reason": "spam"}
    cookie = client.get_cookie("session")
    assert client.post(report_url(review_id), data=data).status_code == 200
    # Replaying the same post, with the session cookie as it was, is refused and stores nothing.
    client.set_cookie("session", cookie.value)
    replay = client.post(report_url(review_id), data=data, headers={"Accept-Language": "en"})
    assert replay.status_code == 400 and "This form has expired" in replay.get_data(as_text=True)
    assert count(db) == 1
    # The same browser can report again with a new form (its session got a new token).
    client.delete_cookie("session")
    assert report(client, review_id).status_code == 200
    assert count(db) == 2


def test_expired_rows_are_swept(app, client, db, review_id, clock, monkeypatch):
    monkeypatch.setattr(ratelimit, "_next_sweep", 0.0)
    assert report(client, review_id).status_code == 200
    assert count(db, "rate_limits") == 2 and count(db, "spent_tokens") == 1
    clock.advance(seconds=app.config["REPORT_RATE_WINDOW"] + app.config["WTF_CSRF_TIME_LIMIT"] + 600)
    monkeypatch.setattr(ratelimit, "_next_sweep", 0.0)
    assert report(client, review_id, environ_base={"REMOTE_ADDR": "192.0.2.44"}).status_code == 200
    keys = [k for (k,) in db.execute("SELECT key FROM rate_limits")]
    assert sorted(keys) == sorted(["report-ip:192.0.2.44", f"report-review:{review_id}"])
    assert count(db, "spent_tokens") == 1


def test_the_schema_has_the_tables(db):
    assert {"rate_limits", "spent_tokens"} <= set(db.table_names())
    assert 5 in {v for v, *_ in store.MIGRATIONS}
    assert re.fullmatch(r"\d+", str(store.schema_version(db)))
