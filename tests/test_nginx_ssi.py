"""A real nginx with examples/nginx-ssi.conf in front of the app: the shop's page includes a fragment (SSI)."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from test_varnish import free_port, get
from widgetserver import store

pytestmark = pytest.mark.load

NGINX = "/usr/sbin/nginx"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "nginx-ssi.conf"

SHOP_PAGE = """<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>Acme</title></head>
<body><h1>Acme</h1>
<!--# include virtual="/w/acme/summary.html?locale=nl" -->
</body></html>
"""


@pytest.fixture
def nginx(tmp_path, live_server, db, shop):
    """nginx on a free port running the example's server block, the app as its upstream."""
    if not Path(NGINX).exists():
        pytest.fail(f"{NGINX} is missing: apt-get install nginx-light (as .ci/run does).")
    for i, rating in enumerate([5, 1, 4]):
        store.add_review(db, shop["id"], rating=rating, author=f"Klant {i}", body=f"Tekst {i}")
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text(SHOP_PAGE)
    port = free_port()
    # The example as shipped, with this test's ports and folders in place of its placeholders.
    server_block = (
        EXAMPLE.read_text()
        .replace("127.0.0.1:5000", live_server.url.removeprefix("http://"))
        .replace("listen 8080;", f"listen 127.0.0.1:{port};")
        .replace("/var/cache/nginx/eerlijk", str(tmp_path / "cache"))
        .replace("/var/www/shop", str(www))
    )
    temp = {name: tmp_path / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        ""
        # As root, nginx's workers would drop to a user that cannot enter pytest's private tmp folders.
        + ("user root;\n" if os.geteuid() == 0 else "")
        + f"daemon off;\nworker_processes 1;\npid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        f"  access_log off;\n  default_type text/html;\n"
        + "".join(f"  {name}_temp_path {path};\n" for name, path in temp.items())
        + server_block
        + "\n}\n"
    )
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp_path)], stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/index.html", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"nginx exited: {proc.stderr.read().decode()}")
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_shop_page_includes_the_fragment_server_side(nginx, db, shop):
    status, _, body = get(nginx + "/index.html")
    assert status == 200
    assert "<!--# include" not in body  # nginx replaced the include
    assert 'data-eerlijk-widget="summary"' in body and 'lang="nl"' in body
    assert "3 reviews" in body
    assert '"@type": "Organization"' in body or '"@type":"Organization"' in body


def test_fragments_pass_through_with_their_cache_headers(nginx):
    status, headers, body = get(nginx + "/w/acme/badge.html")
    assert status == 200 and 'data-eerlijk-widget="badge"' in body
    assert headers["ETag"].startswith('"acme-') and "stale-while-revalidate" in headers["Cache-Control"]
    status, _, _ = get(nginx + "/w/acme/badge.html", {"If-None-Match": headers["ETag"]})
    assert status == 304
