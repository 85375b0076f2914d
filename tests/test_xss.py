"""No request value reaches our HTML except escaped: every query parameter and path segment of the
fragment, hosted-page and form routes is fuzzed with markup-breaking payloads; every HTML answer
carries a Content-Security-Policy and every answer `X-Content-Type-Options: nosniff`."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import html5lib
import pytest
from invitation_helpers import clock, invite, open_form, path_of  # noqa: F401

from widgetserver import store

# Each closes a different context: comment, attribute (both quotes), script, style, CDATA, URL.
PAYLOADS = [
    "---><svg onload=alert(1)>",
    "--!><svg onload=alert(1)>",
    "<!--><svg onload=alert(1)>",
    "\"><img src=x onerror=alert(1)>",
    "'><img src=x onerror=alert(1)>",
    "</script><script>alert(1)</script>",
    "</style><svg onload=alert(1)>",
    "]]><svg onload=alert(1)>",
    "javascript:alert(1)",
    "\" autofocus onfocus=alert(1) x=\"",
    "<iframe srcdoc='<script>alert(1)</script>'>",
]
PARAMS = ("widget", "product", "theme", "locale", "markup", "rating", "stars", "sort", "page", "limit", "lang",
          "saved", "w")
OUR_SCRIPTS = re.compile(r"^(https?://[^/]+)?/embed\.js$")


def injected(html: str) -> list[str]:
    """What in `html` could run script: event-handler attributes, script-ish elements, javascript: URLs."""
    tree = html5lib.parse(html, namespaceHTMLElements=False)
    found = []
    for element in tree.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        tag = tag.rpartition("}")[2].lower()
        for name, value in element.attrib.items():
            name = name.rpartition("}")[2].lower() if isinstance(name, str) else str(name)
            if name.startswith("on") or name in ("srcdoc", "autofocus"):
                found.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action", "formaction") and value.strip().lower().startswith("javascript:"):
                found.append(f"<{tag} {name}={value!r}>")
        if tag in ("iframe", "img", "object", "embed"):
            found.append(f"<{tag}>")
        if tag == "script":
            if element.get("type") == "application/ld+json":
                json.loads(element.text or "null")  # a breakout would leave broken JSON behind
            elif not OUR_SCRIPTS.match(element.get("src", "")):
                found.append(f"<script src={element.get('src')!r}>{(element.text or '')[:40]}")
    return found


@pytest.fixture
def site(db, shop, auth, client, clock):
    """acme with reviews (one with a reply), a product page, open reviews allowed and an invitation."""
    store.update_shop_settings(db, shop["id"], allow_open_reviews=True)
    first = store.add_review(db, shop["id"], rating=1, author="Piet", title="Slecht", body="Nooit geleverd.",
                             product_sku="SKU-1")
    store.add_review(db, shop["id"], rating=5, author="Els", title="Top", body="Prima.")
    invitation = invite(client, auth, skus=["SKU-1"], email=None)
    return {"review": first, "invitation": path_of(invitation["review_url"])}


def routes(site) -> list[str]:
    """URL templates with {} for the fuzzed path segment (query parameters are fuzzed on all of them)."""
    review = site["review"]
    return [
        "/w/{}/badge.html", "/w/acme/{}.html", "/w/acme/list.html", "/w/acme/product.html?product={}",
        "/w/acme/recent.html", "/w/acme/summary.html", "/w/{}/bundle.json",
        "/s/{}", "/s/acme/p/{}", "/s/acme", "/s/acme/p/SKU-1",
        "/s/{}/reviews/%d/report" % review, "/s/acme/reviews/{}/report", "/s/acme/reviews/%d/report" % review,
        "/s/{}/write", "/s/acme/write?product={}", "/r/{}", "/a/{}", site["invitation"],
        "/demo/{}/embed", "/demo/acme/embed", "/{}", "/api/v1/shops/{}/snippet?widget=badge",
    ]


def check(client, url: str, **kwargs):
    response = client.get(url, **kwargs) if "data" not in kwargs else client.post(url, **kwargs)
    assert response.status_code < 500, (url, response.status_code)
    assert response.headers.get("X-Content-Type-Options") == "nosniff", url
    body = response.get_data(as_text=True)
    if response.mimetype == "text/html":
        assert response.headers.get("Content-Security-Policy"), url
        assert injected(body) == [], (url, injected(body))
    else:
        assert response.mimetype in ("application/json", "text/javascript", "image/svg+xml"), (url, response.mimetype)
        if response.mimetype == "application/json" and isinstance(response.get_json(), dict):
            html = response.get_json().get("html")
            if html:
                assert injected(html) == [], (url, injected(html))
            for item in response.get_json().get("widgets", []):
                assert injected(item.get("html", "")) == [], url
    return response


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_payload_in_any_path_segment_or_parameter(client, site, payload):
    for template in routes(site):
        if "{}" in template:
            check(client, template.replace("{}", quote(payload, safe="")))
        base = template.replace("{}", "SKU-1" if "product=" in template or "/p/" in template else "acme")
        sep = "&" if "?" in base else "?"
        for name in PARAMS:
            value = "widget=" + payload if name == "w" else payload
            check(client, f"{base}{sep}{name}={quote(value, safe='')}")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_payload_through_form_fields(client, site, payload):
    """Values posted to the forms come back (with an error) escaped."""
    review_url = "/s/acme/reviews/%d/report" % site["review"]
    form, token = open_form(client, review_url)
    check(client, review_url, data={"csrf_token": token, "reason": payload, "note": payload, "locale": payload})
    form, token = open_form(client, site["invitation"])
    check(client, site["invitation"], data={"csrf_token": token, "product-0-rating": payload, "product-0-title": payload,
                                            "product-0-body": payload, "author": "", "rating": "9", "title": payload})
    form, token = open_form(client, "/s/acme/write")
    check(client, "/s/acme/write", data={"csrf_token": token, "rating": payload, "title": payload, "author": payload})


def test_fragment_error_comment_cannot_be_closed(client, site):
    """The issue's exploit: the rejected theme echoed into an HTML comment closed it with `--->`."""
    response = client.get("/w/acme/badge.html?theme=---%3E%3Csvg%20onload%3Dalert(1)%3E")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert body.startswith("<!-- eerlijk: 400 Unknown theme") and body.rstrip().endswith("-->")
    assert body.count("-->") == 1 and "<svg" not in body
    assert response.headers["X-Eerlijk-Error"].startswith("Unknown theme")


def test_every_html_answer_has_a_policy_and_fragments_allow_no_script(client, site):
    fragment = client.get("/w/acme/list.html")
    policy = fragment.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy and "sandbox" in policy
    for url in ("/s/acme", "/s/acme/p/SKU-1", "/demo", "/nowhere"):
        page = client.get(url)
        assert page.mimetype == "text/html"
        policy = page.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy, url
    embed = client.get("/demo/acme/embed").headers["Content-Security-Policy"]
    assert "script-src 'self'" in embed and "unsafe-inline" not in embed.split("script-src")[1].split(";")[0]


def test_forms_allow_only_their_own_nonced_styles(client, site):
    for url in ("/s/acme/reviews/%d/report" % site["review"], site["invitation"], "/s/acme/write"):
        response = client.get(url)
        policy = response.headers["Content-Security-Policy"]
        nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
        body = response.get_data(as_text=True)
        assert body.count("<style") == body.count(f'<style nonce="{nonce}">') == 1, url
        assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy and "script-src" not in policy
        assert ' style="' not in body, url  # inline style attributes would be blocked
        assert client.get(url).headers["Content-Security-Policy"] != policy  # a fresh nonce per response


def test_nosniff_on_every_kind_of_answer(client, site):
    for url in ("/embed.js", "/api/v1/shops/acme", "/api/v1/openapi.json", "/healthz", "/favicon.ico",
                "/w/acme/badge.html", "/w/acme/bundle.json?w=widget%3Dbadge", "/api/v1/nothing"):
        assert client.get(url).headers["X-Content-Type-Options"] == "nosniff", url
    etag = client.get("/w/acme/badge.html").headers["ETag"]
    assert client.get("/w/acme/badge.html", headers={"If-None-Match": etag}).status_code == 304
