"""In headless Chromium: a script payload in a fragment parameter or in a stored review never runs."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from widgetserver import store

pytestmark = pytest.mark.browser

PAYLOADS = ["---><svg onload=alert(1)>", "--!><img src=x onerror=alert(2)>", "\"><svg onload=alert(3)>",
            "</script><script>alert(4)</script>"]


def test_payloads_do_not_execute(app, db, shop, live_server, page):
    app.config["PUBLIC_BASE_URL"] = live_server.url
    store.add_review(db, shop["id"], rating=1, author=PAYLOADS[3], title=PAYLOADS[0], body=PAYLOADS[1],
                     product_sku="SKU-1")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    urls = []
    for payload in PAYLOADS:
        value = quote(payload, safe="")
        urls += [f"/w/acme/badge.html?theme={value}", f"/w/acme/list.html?sort={value}",
                 f"/w/{value}/badge.html", f"/s/acme?locale={value}", f"/s/acme/p/{value}"]
    urls += ["/w/acme/list.html", "/s/acme", "/s/acme/p/SKU-1"]
    for url in urls:
        page.goto(live_server.url + url)
        page.wait_for_timeout(50)
        assert dialogs == [], url
    # The stored payload is shown as text.
    page.goto(live_server.url + "/s/acme")
    assert PAYLOADS[0] in page.inner_text("body") and PAYLOADS[3] in page.inner_text("body")


def test_payload_through_the_loader_does_not_execute(app, client, live_server, page):
    """The loader puts fragments (and error fragments) into a shadow root: a rejected value stays text."""
    app.config["PUBLIC_BASE_URL"] = live_server.url
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(live_server.url + "/demo/acme/embed")
    attribute = PAYLOADS[0].replace('"', "&quot;")
    page.set_content(
        f'<div data-eerlijk="badge" data-eerlijk-shop="acme" data-eerlijk-server="{live_server.url}" '
        f'data-eerlijk-theme="{attribute}"></div>'
        f'<div data-eerlijk="list" data-eerlijk-shop="acme" data-eerlijk-server="{live_server.url}" '
        f'data-eerlijk-sort="{attribute}"></div>'
        f'<script src="{live_server.url}/embed.js"></script>')
    page.wait_for_function("() => [...document.querySelectorAll('[data-eerlijk]')].every(e => e.getAttribute('data-eerlijk-state'))",
                           timeout=15000)
    page.wait_for_timeout(200)
    assert dialogs == []
