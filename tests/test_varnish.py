"""A real varnishd with examples/varnish/default.vcl in front of the app: caching, revalidation, ESI."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from werkzeug.wrappers import Request, Response

from conftest import LiveServer
from widgetserver import store

pytestmark = pytest.mark.load

VARNISHD = "/usr/sbin/varnishd"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "varnish"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, headers: dict | None = None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


@pytest.fixture
def varnish(tmp_path, live_server, db, shop):
    """varnishd on a free port with the example VCL: the shop backend serves page.html, /w/ goes to the app."""
    if not Path(VARNISHD).exists() or not shutil.which("cc"):
        pytest.fail(f"{VARNISHD} and a C compiler are needed: apt-get install varnish (as .ci/run does).")
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for i, rating in enumerate([5, 4, 2, 5, 1]):
        store.add_review(db, shop["id"], rating=rating, author=f"Klant {i}", body=f"Tekst {i}",
                         created_at=start + timedelta(days=i))
    page = (EXAMPLE / "page.html").read_text().replace("/w/demo/", "/w/acme/")

    @Request.application
    def shop_site(request):
        if request.path == "/page.html":
            return Response(page, mimetype="text/html")
        return Response("not found", 404)

    shop_server = LiveServer(shop_site)
    app_port = int(live_server.url.rsplit(":", 1)[1])
    shop_port = int(shop_server.url.rsplit(":", 1)[1])
    vcl = (EXAMPLE / "default.vcl").read_text()
    vcl = re.sub(r'(backend shop \{[^}]*\.port = )"\d+"', rf'\g<1>"{shop_port}"', vcl)
    vcl = re.sub(r'(backend eerlijk \{[^}]*\.port = )"\d+"', rf'\g<1>"{app_port}"', vcl)
    (tmp_path / "test.vcl").write_text(vcl)
    port = free_port()
    # -j none: no privilege separation, so it runs as any user; -n: a private, writable work dir.
    proc = subprocess.Popen(
        [VARNISHD, "-F", "-j", "none", "-n", str(tmp_path / "varnish"), "-a", f"127.0.0.1:{port}",
         "-f", str(tmp_path / "test.vcl"), "-s", "malloc,64m", "-p", "feature=+esi_ignore_https",
         "-t", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    pytest.fail("varnishd did not start:\n" + proc.stdout.read().decode(errors="replace"))
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shop_server.stop()


def test_fragment_is_cached(varnish):
    status, first, body = get(varnish + "/w/acme/badge.html")
    assert status == 200 and first["X-Cache"] == "MISS" and 'data-eerlijk-widget="badge"' in body
    status, second, again = get(varnish + "/w/acme/badge.html")
    assert status == 200 and second["X-Cache"] == "HIT" and again == body
    assert len(second["X-Varnish"].split()) == 2  # this request's id and the one that filled the cache
    assert second["ETag"] == first["ETag"]


def test_revalidation_answers_304(varnish):
    _, first, _ = get(varnish + "/w/acme/list.html?rating=5")
    status, headers, body = get(varnish + "/w/acme/list.html?rating=5", {"If-None-Match": first["ETag"]})
    assert status == 304 and body == ""


def test_ban_by_surrogate_key_after_a_write(varnish, db, shop):
    _, first, _ = get(varnish + "/w/acme/badge.html")
    store.add_review(db, shop["id"], rating=3, author="Nieuw")
    req = urllib.request.Request(varnish + "/", method="BAN", headers={"Surrogate-Key": "shop-acme"})
    with urllib.request.urlopen(req, timeout=10) as response:
        assert response.status == 200
    _, after, body = get(varnish + "/w/acme/badge.html")
    assert after["X-Cache"] == "MISS" and after["ETag"] != first["ETag"]


def test_esi_page_assembles_the_fragments(varnish):
    status, headers, body = get(varnish + "/page.html")
    assert status == 200
    assert "<esi:include" not in body
    for widget in ("badge", "summary", "list"):
        assert f'data-eerlijk-widget="{widget}"' in body
    assert '<script type="application/ld+json">' in body
    # The fragments now come from the cache.
    assert get(varnish + "/w/acme/list.html")[1]["X-Cache"] == "HIT"


def get_bytes(url: str, headers: dict | None = None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:  # urllib raises for 304 too
        return exc.code, dict(exc.headers), exc.read()


def test_compressed_fragments_through_varnish(varnish):
    """The app answers Varnish's gzip request; Varnish serves gzip to clients that take it, plain to others."""
    import gzip

    status, plain_headers, plain = get_bytes(varnish + "/w/acme/list.html?sort=oldest")
    assert status == 200 and "Content-Encoding" not in plain_headers and b'data-eerlijk-widget="list"' in plain
    status, headers, body = get_bytes(varnish + "/w/acme/list.html?sort=oldest", {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip" and headers["X-Cache"] == "HIT"
    assert gzip.decompress(body) == plain and len(body) < len(plain)
    assert "Accept-Encoding" in headers["Vary"]
    # The ETag Varnish stored is the app's gzip one (weakened when Varnish gunzips for a plain client).
    assert headers["ETag"].endswith('-gzip"')
    status, _, again = get_bytes(varnish + "/w/acme/list.html?sort=oldest",
                                 {"Accept-Encoding": "gzip", "If-None-Match": headers["ETag"]})
    assert status == 304 and again == b""


def test_esi_page_assembles_compressed_fragments(varnish):
    import gzip

    status, headers, body = get_bytes(varnish + "/page.html", {"Accept-Encoding": "gzip"})
    text = (gzip.decompress(body) if headers.get("Content-Encoding") == "gzip" else body).decode()
    assert status == 200 and "<esi:include" not in text
    for widget in ("badge", "summary", "list"):
        assert f'data-eerlijk-widget="{widget}"' in text
