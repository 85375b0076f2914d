"""The front cache (http_cache.FrontCache): repeated public reads answered before Flask, never stale, never mixed up."""

from __future__ import annotations

import gzip
import re

import brotli
import pytest

from widgetserver import create_app, store

READS = ["/w/acme/list.html", "/w/acme/summary.html?locale=nl", "/w/acme/badge.html?theme=dark",
         "/api/v1/shops/acme/reviews", "/api/v1/shops/acme/reviews?sort=lowest&page=2&per_page=2",
         "/api/v1/shops/acme/summary", "/api/v1/shops/acme", "/s/acme", "/s/acme/p/SKU-1",
         "/w/acme/bundle.json?w=widget%3Dbadge&w=widget%3Dlist"]
NONCE = re.compile(rb' nonce="[^"]*"')
DECODE = {"br": brotli.decompress, "gzip": gzip.decompress, None: lambda b: b}
HEADER_SETS = [{}, {"Accept-Encoding": "br, gzip"}, {"Accept-Encoding": "gzip"},
               {"Accept-Language": "de-DE,de;q=0.9"}, {"Accept-Language": "fr", "Accept-Encoding": "gzip"}]


@pytest.fixture
def reviews(seven_reviews):
    return seven_reviews


@pytest.fixture
def reached(app):
    """How many requests reached Flask (the front cache answers the others)."""
    count = {"n": 0}

    @app.before_request
    def counting():
        count["n"] += 1

    return count


def _same(a, b):
    assert a.status_code == b.status_code
    # Hosted pages render a <style nonce> (unused by their policy, which allows inline styles): random per build.
    assert a.headers.get("Content-Encoding") == b.headers.get("Content-Encoding")
    decode = DECODE[a.headers.get("Content-Encoding")]
    assert NONCE.sub(b"", decode(a.get_data())) == NONCE.sub(b"", decode(b.get_data()))
    if a.headers["Content-Type"].startswith("text/html") and a.request.path.startswith("/s/"):
        for headers in (a.headers, b.headers):
            headers.pop("Content-Length", None)  # compressed, random nonces may differ in length
    assert sorted(a.headers.items()) == sorted(b.headers.items())


@pytest.mark.parametrize("path", READS)
def test_a_hit_is_byte_for_byte_what_the_app_answers(app, client, reviews, reached, path, db_path, tmp_path):
    uncached = create_app({"TESTING": True, "DATABASE": db_path, "THEME_DIRS": [str(tmp_path / "themes")],
                           "RESPONSE_CACHE": False}).test_client()
    for headers in HEADER_SETS:
        first = client.get(path, headers=headers)
        assert first.status_code == 200, (path, first.get_data()[:300])
        before = reached["n"]
        again = client.get(path, headers=headers)
        assert reached["n"] == before, f"{path} {headers}: the repeat went through Flask"
        _same(again, first)
        _same(again, uncached.get(path, headers=headers))


def test_a_write_is_visible_on_the_next_request(client, db, reviews, reached):
    paths = ["/api/v1/shops/acme/summary", "/w/acme/list.html", "/s/acme"]
    before = {p: client.get(p) for p in paths}
    for p in paths:
        client.get(p)
    store.add_review(db, reviews["id"], rating=1, author="Nieuwe Klant", title="Kapot aangekomen",
                     body="De jurk was gescheurd.")
    n = reached["n"]
    for p in paths:
        after = client.get(p)
        assert after.status_code == 200
        assert after.headers["ETag"] != before[p].headers["ETag"]
        assert after.get_data() != before[p].get_data()
    assert reached["n"] == n + len(paths)  # every one rebuilt
    assert b"Nieuwe Klant" in client.get("/w/acme/list.html").get_data()
    assert b'"count":8' in client.get("/api/v1/shops/acme/summary").get_data().replace(b" ", b"")


def test_a_write_in_another_shop_leaves_this_shop_cached(client, db, reviews, reached):
    other = store.create_shop(db, "beta", "Beta")
    client.get("/w/acme/list.html")
    store.add_review(db, other["id"], rating=2, author="B")
    n = reached["n"]
    client.get("/w/acme/list.html")
    assert reached["n"] == n


def test_revalidation_goes_through_the_app(client, reviews, reached):
    first = client.get("/w/acme/list.html")
    n = reached["n"]
    again = client.get("/w/acme/list.html", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and reached["n"] == n + 1


@pytest.mark.parametrize("method", ["post", "put", "delete", "head", "options"])
def test_only_gets_are_answered_from_it(client, reviews, reached, method):
    client.get("/api/v1/shops/acme/reviews")
    n = reached["n"]
    getattr(client, method)("/api/v1/shops/acme/reviews")
    assert reached["n"] == n + 1


@pytest.mark.parametrize("path", ["/w/acme/nope.html", "/w/nope/list.html", "/api/v1/shops/acme/reviews?sort=bogus",
                                  "/workspace/login", "/embed.js", "/api/v1/openapi.json",
                                  "/r/not-a-token", "/s/acme/reviews/1/report"])
def test_errors_forms_and_other_answers_are_not_kept(client, reviews, reached, path):
    client.get(path)
    n = reached["n"]
    client.get(path)
    assert reached["n"] == n + 1


def test_hosts_never_share_an_answer(db_path, tmp_path, reviews):
    app = create_app({"TESTING": True, "DATABASE": db_path, "THEME_DIRS": [str(tmp_path / "themes")],
                      "TRUSTED_HOSTS": ["a.example", "b.example"]})
    client = app.test_client()
    for _ in range(2):
        a = client.get("/w/acme/list.html", base_url="http://a.example")
        b = client.get("/w/acme/list.html", base_url="https://b.example")
        assert b"http://a.example/s/acme" in a.get_data() and b"b.example" not in a.get_data()
        assert b"https://b.example/s/acme" in b.get_data() and b"a.example" not in b.get_data()
    bad = client.get("/w/acme/list.html", base_url="http://evil.example")
    assert bad.status_code == 400 and b"evil.example/s/acme" not in bad.get_data()


def test_settings_that_shape_answers_are_part_of_the_key(app, client, reviews):
    app.config["PUBLIC_BASE_URL"] = "https://one.example"
    assert b"https://one.example/s/acme" in client.get("/w/acme/list.html").get_data()
    app.config["PUBLIC_BASE_URL"] = "https://two.example"
    assert b"https://two.example/s/acme" in client.get("/w/acme/list.html").get_data()
    app.config["CACHE_MAX_AGE"] = 5
    assert "max-age=5," in client.get("/w/acme/list.html").headers["Cache-Control"]


def test_switching_the_cache_off_sends_everything_through_the_app(app, client, reviews, reached):
    app.config["RESPONSE_CACHE"] = False
    client.get("/w/acme/list.html")
    n = reached["n"]
    client.get("/w/acme/list.html")
    assert reached["n"] == n + 1


def test_answers_with_cookies_or_private_caching_are_never_kept(app):
    from widgetserver.http_cache import FrontCache

    front = FrontCache(lambda environ, start: [], app)
    public = [("Cache-Control", "public, max-age=60"), ("Vary", "Accept-Encoding")]
    assert front._storable("200 OK", public)
    assert not front._storable("200 OK", public + [("Set-Cookie", "session=x")])
    assert not front._storable("200 OK", [("Cache-Control", "private, max-age=60")])
    assert not front._storable("200 OK", [("Cache-Control", "no-store")])
    assert not front._storable("200 OK", [])
    assert not front._storable("200 OK", [("Cache-Control", "public"), ("Vary", "Accept-Encoding, Cookie")])
    assert not front._storable("404 NOT FOUND", public)
