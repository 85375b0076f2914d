"""Compression and caching of public reads: content codings, Vary, strong ETags per coding, 304s, sessions."""

from __future__ import annotations

import gzip

import brotli
import pytest

from widgetserver import store

READS = ["/w/acme/list.html", "/w/acme/summary.html?locale=nl", "/api/v1/shops/acme/reviews",
         "/api/v1/shops/acme/summary", "/api/v1/shops/acme", "/s/acme", "/s/acme/p/SKU-1",
         "/w/acme/bundle.json?w=widget%3Dbadge&w=widget%3Dlist"]
DECODE = {"br": brotli.decompress, "gzip": gzip.decompress, None: lambda b: b}


@pytest.fixture
def reviews(seven_reviews):
    return seven_reviews


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("accept, coding", [
    ("br, gzip", "br"), ("gzip, deflate", "gzip"), ("gzip;q=1.0, br;q=0", "gzip"), ("*", "br"),
    ("identity", None), (None, None), ("br;q=0, gzip;q=0", None),
])
def test_reads_are_compressed_as_negotiated_with_a_strong_etag_per_coding(client, reviews, path, accept, coding):
    plain = client.get(path)
    assert plain.status_code == 200
    answer = client.get(path, headers={"Accept-Encoding": accept} if accept else {})
    assert answer.status_code == 200
    assert answer.headers.get("Content-Encoding") == coding
    assert DECODE[coding](answer.get_data()) == plain.get_data()
    assert "Accept-Encoding" in answer.headers["Vary"]
    etag, weak = answer.get_etag()
    assert not weak
    assert answer.headers["ETag"] == (plain.headers["ETag"][:-1] + f'-{coding}"' if coding else plain.headers["ETag"])
    if coding:
        assert len(answer.get_data()) < len(plain.get_data()) or len(plain.get_data()) < 200


@pytest.mark.parametrize("path", READS[:4])
def test_revalidation_matches_the_coding_the_client_holds(client, reviews, path):
    br = client.get(path, headers={"Accept-Encoding": "br"})
    same = client.get(path, headers={"Accept-Encoding": "br", "If-None-Match": br.headers["ETag"]})
    assert same.status_code == 304 and same.get_data() == b""
    assert same.headers["ETag"] == br.headers["ETag"] and "Accept-Encoding" in same.headers["Vary"]
    weak = client.get(path, headers={"Accept-Encoding": "br", "If-None-Match": "W/" + br.headers["ETag"]})
    assert weak.status_code == 304  # If-None-Match compares weakly
    # A client holding the Brotli body that now asks for gzip or plain gets the full body, not a 304.
    other = client.get(path, headers={"Accept-Encoding": "gzip", "If-None-Match": br.headers["ETag"]})
    assert other.status_code == 200 and other.headers["Content-Encoding"] == "gzip"
    plain = client.get(path, headers={"If-None-Match": br.headers["ETag"]})
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers


def test_a_write_changes_body_and_etag_in_every_coding(client, db, reviews):
    before = {c: client.get("/api/v1/shops/acme/summary", headers={"Accept-Encoding": c}) for c in ("br", "gzip")}
    store.add_review(db, reviews["id"], rating=1, author="Nieuw")
    for coding, old in before.items():
        new = client.get("/api/v1/shops/acme/summary", headers={"Accept-Encoding": coding,
                                                                 "If-None-Match": old.headers["ETag"]})
        assert new.status_code == 200 and new.headers["ETag"] != old.headers["ETag"]
        assert b'"count": 8' in DECODE[coding](new.get_data()).replace(b'"count":8', b'"count": 8')


def test_head_gives_the_compressed_length(client, reviews):
    get = client.get("/w/acme/list.html", headers={"Accept-Encoding": "gzip"})
    head = client.head("/w/acme/list.html", headers={"Accept-Encoding": "gzip"})
    assert head.status_code == 200 and head.get_data() == b""
    assert head.headers["Content-Length"] == str(len(get.get_data()))
    assert head.headers["ETag"] == get.headers["ETag"]


def test_loader_is_served_compressed_with_its_own_etags(client):
    plain = client.get("/embed.js")
    source = plain.get_data()
    for coding in ("br", "gzip"):
        answer = client.get("/embed.js", headers={"Accept-Encoding": coding})
        assert answer.headers["Content-Encoding"] == coding and DECODE[coding](answer.get_data()) == source
        assert answer.headers["ETag"] == plain.headers["ETag"][:-1] + f'-{coding}"'
        assert answer.headers["Vary"] == "Accept-Encoding"
        again = client.get("/embed.js", headers={"Accept-Encoding": coding, "If-None-Match": answer.headers["ETag"]})
        assert again.status_code == 304 and again.headers["ETag"] == answer.headers["ETag"]
    assert len(gzip.compress(source, 9)) >= len(client.get("/embed.js", headers={"Accept-Encoding": "br"}).get_data())


def test_other_text_answers_are_compressed_on_the_way_out(client, reviews):
    spec = client.get("/api/v1/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert spec.headers["Content-Encoding"] == "gzip" and gzip.decompress(spec.get_data()).startswith(b"{")
    assert "Accept-Encoding" in spec.headers["Vary"]
    page = client.get("/demo", headers={"Accept-Encoding": "br"})
    assert page.headers["Content-Encoding"] == "br" and b"<html" in brotli.decompress(page.get_data()).lower()
    missing = client.get("/api/v1/shops/nope", headers={"Accept-Encoding": "gzip"})
    assert missing.status_code == 404 and "Content-Encoding" not in missing.headers  # small: sent as it is
    assert missing.json["error"]


def test_public_reads_open_no_session_but_forms_do(client, db, reviews):
    client.set_cookie("session", "not-a-valid-session")
    for path in ("/w/acme/list.html", "/api/v1/shops/acme/reviews", "/s/acme", "/s/acme/p/SKU-1", "/embed.js"):
        answer = client.get(path)
        assert "Set-Cookie" not in answer.headers and "Cookie" not in answer.headers.get("Vary", "")
    review_id = db.execute("SELECT max(id) FROM reviews").fetchone()[0]
    form = client.get(f"/s/acme/reviews/{review_id}/report")
    assert form.status_code == 200 and "session=" in form.headers["Set-Cookie"]  # the CSRF token lives there
