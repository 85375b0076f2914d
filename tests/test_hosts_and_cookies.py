"""A forged Host header can't change the links we hand out; `serve` needs a public URL or trusted hosts;
the session cookie is HttpOnly, SameSite=Lax and Secure over https; public reads never open a session."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from widgetserver import store

PUBLIC_READS = ["/w/acme/badge.html", "/w/acme/list.html", "/w/acme/product.html?product=SKU-1",
                "/w/acme/bundle.json?w=widget%3Dbadge", "/api/v1/shops/acme", "/api/v1/shops/acme/reviews",
                "/api/v1/shops/acme/summary", "/api/v1/shops/acme/snippet?widget=badge,list", "/s/acme",
                "/s/acme/p/SKU-1", "/embed.js", "/api/v1/openapi.json"]


@pytest.fixture
def reviewed(db, shop):
    store.add_review(db, shop["id"], rating=2, author="Piet", title="Matig", body="Te laat.", product_sku="SKU-1")
    return shop


def test_a_forged_host_header_changes_no_link(app, client, reviewed):
    app.config["PUBLIC_BASE_URL"] = "https://reviews.acme.example"
    forged = {"Host": "evil.example", "X-Forwarded-Host": "evil2.example", "X-Forwarded-Proto": "http"}
    for url in PUBLIC_READS:
        honest = client.get(url)
        attacked = client.get(url, headers=forged)
        assert attacked.status_code == honest.status_code == 200, url
        body = attacked.get_data(as_text=True)
        assert "evil" not in body, url
        assert body == honest.get_data(as_text=True), url  # byte for byte what everyone gets
    snippet = client.get("/api/v1/shops/acme/snippet?widget=badge", headers=forged).get_json()["html"]
    assert 'src="https://reviews.acme.example/embed.js"' in snippet
    assert 'data-eerlijk-server="https://reviews.acme.example"' in snippet


def test_with_trusted_hosts_any_other_host_is_refused(app, client, reviewed):
    app.config["TRUSTED_HOSTS"] = ["reviews.acme.example"]
    good = client.get("/api/v1/shops/acme/snippet?widget=badge", headers={"Host": "reviews.acme.example"})
    assert good.status_code == 200 and "http://reviews.acme.example/embed.js" in good.get_json()["html"]
    for url in PUBLIC_READS:
        assert client.get(url, headers={"Host": "evil.example"}).status_code == 400, url
    # Without trusted proxies, X-Forwarded-Host is not even read.
    spoofed = client.get("/w/acme/badge.html", headers={"Host": "reviews.acme.example", "X-Forwarded-Host": "evil.example"})
    assert spoofed.status_code == 200 and "evil" not in spoofed.get_data(as_text=True)


def _widgetserver() -> str:
    found = Path(sys.executable).parent / "widgetserver"
    return str(found) if found.exists() else shutil.which("widgetserver")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _forged_get_once_up(server: subprocess.Popen, url: str, seconds: float = 60) -> str:
    """The body of GET `url` with a forged Host, once the server process answers (it must not exit first)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers={"Host": "evil.example"}),
                                        timeout=5) as response:
                return response.read().decode()
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not answer: {server.stdout.read()}")
            time.sleep(0.2)


def test_serve_refuses_without_a_public_url_or_trusted_hosts(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIDGETSERVER_")}
    db = str(tmp_path / "serve.db")
    subprocess.run([_widgetserver(), "init", "--db", db], env=env, check=True, capture_output=True, timeout=60)
    refused = subprocess.run([_widgetserver(), "serve", "--db", db, "--port", str(_free_port())], env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert "--public-url" in refused.stderr and "TRUSTED_HOSTS" in refused.stderr
    bad = subprocess.run([_widgetserver(), "serve", "--db", db, "--public-url", "reviews.example", "--port", "1"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "not a public root URL" in bad.stderr


def test_serve_with_a_public_url_names_it_in_links(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIDGETSERVER_")}
    db = str(tmp_path / "serve.db")
    subprocess.run([_widgetserver(), "init", "--db", db], env=env, check=True, capture_output=True, timeout=60)
    port = _free_port()
    server = subprocess.Popen([_widgetserver(), "serve", "--db", db, "--port", str(port),
                               "--public-url", "https://reviews.acme.example"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert "evil.example" not in _forged_get_once_up(server, f"http://127.0.0.1:{port}/api/v1/openapi.json")
    finally:
        server.terminate()
        server.wait(timeout=10)


def _session_cookie(response) -> str:
    [cookie] = [v for v in response.headers.getlist("Set-Cookie") if v.startswith("session=")]
    return cookie


def test_the_session_cookie_is_httponly_lax_and_secure_over_https(app, client, reviewed, db):
    review_id = db.execute("SELECT id FROM reviews").fetchone()[0]
    form = f"/s/acme/reviews/{review_id}/report"
    app.config["PUBLIC_BASE_URL"] = "http://localhost"
    cookie = _session_cookie(client.get(form))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    app.config["PUBLIC_BASE_URL"] = "https://reviews.acme.example"
    client.delete_cookie("session")
    cookie = _session_cookie(client.get(form, base_url="https://reviews.acme.example"))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_public_reads_open_no_session(app, client, reviewed, db):
    review_id = db.execute("SELECT id FROM reviews").fetchone()[0]
    client.get(f"/s/acme/reviews/{review_id}/report")  # the browser now holds a session cookie
    assert client.get_cookie("session") is not None
    for url in PUBLIC_READS:
        for headers in ({}, {"Cookie": f"session={client.get_cookie('session').value}"}):
            response = client.get(url, headers=headers)
            assert response.status_code == 200, url
            assert "Set-Cookie" not in response.headers, url
            assert "cookie" not in response.headers.get("Vary", "").lower(), url


@pytest.fixture
def no_settings(monkeypatch, tmp_path):
    """No WIDGETSERVER_* environment and an empty instance folder: the factory sees only what a test passes."""
    for name in [n for n in os.environ if n.startswith("WIDGETSERVER_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("WIDGETSERVER_INSTANCE", str(tmp_path / "instance"))
    return {"DATABASE": str(tmp_path / "factory.db")}


def test_the_app_factory_refuses_to_serve_without_a_public_url_or_trusted_hosts(no_settings):
    from widgetserver import create_app
    from widgetserver.security import PublicAddressMissing

    with pytest.raises(PublicAddressMissing) as refused:
        create_app(no_settings)
    message = str(refused.value)
    assert "\n" not in message and "PUBLIC_BASE_URL" in message and "TRUSTED_HOSTS" in message
    with pytest.raises(PublicAddressMissing, match="not a public root URL"):
        create_app({**no_settings, "PUBLIC_BASE_URL": "reviews.acme.example"})
    assert create_app({**no_settings, "PUBLIC_BASE_URL": "https://reviews.acme.example"})
    assert create_app({**no_settings, "TRUSTED_HOSTS": ["reviews.acme.example"]})
    # CLI commands that answer no requests, and tests, build it without either.
    assert create_app(no_settings, serving=False)
    assert create_app({**no_settings, "TESTING": True})


def _gunicorn(env: dict, cwd: Path, port: int) -> subprocess.Popen:
    exe = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or shutil.which("gunicorn")
    if not exe:
        pytest.fail("gunicorn is missing: pip install -e '.[test]'")
    return subprocess.Popen([exe, "--workers", "1", "--bind", f"127.0.0.1:{port}", "widgetserver:create_app()"],
                            env=env, cwd=str(cwd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_gunicorn_on_the_factory_stops_with_the_reason_and_serves_once_configured(tmp_path):
    """The documented production command (docs/operations.md): it halts instead of serving Host-made links."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIDGETSERVER_")}
    env["WIDGETSERVER_DB"] = str(tmp_path / "gunicorn.db")
    env.pop("PYTHONPATH", None)
    server = _gunicorn(env, tmp_path, _free_port())
    try:
        output, _ = server.communicate(timeout=60)  # gunicorn halts: the worker failed to boot
    finally:
        server.kill()
    assert server.returncode != 0
    assert "PublicAddressMissing: Set this server's public address" in output and "TRUSTED_HOSTS" in output

    port = _free_port()
    env["WIDGETSERVER_PUBLIC_BASE_URL"] = "https://reviews.acme.example"
    server = _gunicorn(env, tmp_path, port)
    try:
        assert "evil.example" not in _forged_get_once_up(server, f"http://127.0.0.1:{port}/api/v1/openapi.json")
    finally:
        server.terminate()
        server.wait(timeout=10)
