"""Widget fragments, the bundle, the snippet, the loader's budget, HTTP caching and the hosted pages."""

from __future__ import annotations

import gzip
import json
import re
from datetime import datetime, timedelta, timezone
from importlib import resources
from urllib.parse import quote

import pytest
from lxml import html as lxml_html

import widgets
from widgets import layout
from widgetserver import store

HOSTILE = [
    "<script>alert(1)</script><b onmouseover=x>bold</b>",
    "end </script><script>alert(2)</script>",
    "{{7*7}} {% raw %} ${7*7}",
    "bell\x07 and \x1b[31m escape",
]


@pytest.fixture
def reviews(db, shop):
    """23 reviews: every rating, some of SKU-1, one with a reply."""
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    ids = [store.add_review(db, shop["id"], rating=1 + i % 5, author=f"Klant {i}", title=f"Titel {i}", body=f"Tekst {i}",
                            product_sku="SKU-1" if i % 2 else None, created_at=start + timedelta(hours=i))
           for i in range(23)]
    store.set_reply(db, shop["id"], ids[0], body="Dank je wel!", author="Eva", role="eigenaar")
    return ids


def fragment_root(text: str):
    tree = lxml_html.fragment_fromstring(text, create_parent="wrap")
    return tree.xpath("//div[@data-eerlijk-widget]")[0]


def json_ld(text: str) -> list:
    return [json.loads(m) for m in re.findall(r'<script type="application/ld\+json">(.*?)</script>', text, re.S)]


# --- fragments -------------------------------------------------------------------


@pytest.mark.parametrize("widget", widgets.WIDGETS)
def test_every_widget_renders_a_fragment(client, reviews, widget):
    query = "?product=SKU-1" if widget == "product" else ""
    response = client.get(f"/w/acme/{widget}.html{query}")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    root = fragment_root(response.get_data(as_text=True))
    assert root.get("data-eerlijk-widget") == widget
    assert root.get("lang") == "nl"  # the shop's locale
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_fragment_params_locale_theme_rating_sort_page(client, reviews):
    en = client.get("/w/acme/badge.html?locale=en").get_data(as_text=True)
    assert 'lang="en"' in en and "reviews" in en
    assert 'data-eerlijk-theme="minimal"' in client.get("/w/acme/list.html?theme=minimal").get_data(as_text=True)
    text = client.get("/w/acme/list.html?rating=2").get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'data-review-id="(\d+)"', text)]
    assert len(ids) == 5 and all((i - reviews[0]) % 5 == 1 for i in ids)  # ratings cycle 1..5 from the first id
    page1 = re.findall(r'data-review-id="(\d+)"', client.get("/w/acme/list.html").get_data(as_text=True))
    page3 = re.findall(r'data-review-id="(\d+)"', client.get("/w/acme/list.html?page=3").get_data(as_text=True))
    assert len(page1) == 10 and len(page3) == 3 and not set(page1) & set(page3)
    assert page1[0] == str(reviews[-1])  # newest first
    oldest = re.findall(r'data-review-id="(\d+)"', client.get("/w/acme/list.html?sort=oldest").get_data(as_text=True))
    assert oldest[0] == str(reviews[0])
    lowest = client.get("/w/acme/list.html?sort=lowest").get_data(as_text=True)
    ratings = [1 + (int(i) - reviews[0]) % 5 for i in re.findall(r'data-review-id="(\d+)"', lowest)]
    assert ratings == [1] * 5 + [2] * 5
    # Filter and paging links open the hosted page with the view; the loader re-fetches from them.
    assert 'href="http://localhost/s/acme?rating=1"' in text
    assert 'href="http://localhost/s/acme?page=2"' in client.get("/w/acme/list.html").get_data(as_text=True)


def test_product_widget_pages_its_own_reviews(client, reviews):
    text = client.get("/w/acme/product.html?product=SKU-1").get_data(as_text=True)
    assert len(re.findall(r"data-review-id=", text)) == 10
    assert "http://localhost/s/acme/p/SKU-1?page=2" in text
    node = [n for n in json_ld(text) if n.get("@type") == "Product"][0]
    assert node["aggregateRating"]["reviewCount"] == 11


@pytest.mark.parametrize("url, status, words", [
    ("/w/acme/carousel.html", 404, "Unknown widget"),
    ("/w/nope/badge.html", 404, "No shop"),
    ("/w/acme/product.html", 400, "needs product="),
    ("/w/acme/product.html?product=NOPE", 404, "No product"),
    ("/w/acme/badge.html?product=SKU-1", 400, "product widget only"),
    ("/w/acme/list.html?theme=neon", 400, "Unknown theme"),
    ("/w/acme/list.html?locale=xx", 400, "Unknown locale"),
    ("/w/acme/list.html?rating=6", 400, "rating from 1 to 5"),
    ("/w/acme/list.html?sort=best", 400, "Unknown sort"),
    ("/w/acme/list.html?page=0", 400, "page number"),
    ("/w/acme/list.html?markup=rdfa", 400, "Unknown markup"),
    ("/w/acme/list.html?locale=%00", 400, "NUL"),
])
def test_bad_requests_are_clear_4xx(client, shop, url, status, words):
    response = client.get(url)
    assert response.status_code == status
    assert words in response.get_data(as_text=True) and words in response.headers["X-Eerlijk-Error"]
    assert response.get_data(as_text=True).startswith("<!--")  # harmless inside a server-side include
    as_json = client.get(url, headers={"Accept": "application/json"})
    assert as_json.status_code == status and words in as_json.get_json()["error"]


# --- bundle ----------------------------------------------------------------------


def test_bundle_returns_every_widget_in_order(client, reviews):
    specs = ["widget=badge", "widget=list&rating=5", "widget=product&product=SKU-1&locale=en", "widget=nope"]
    response = client.get("/w/acme/bundle.json?" + "&".join("w=" + quote(s) for s in specs))
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*" and response.headers["ETag"]
    items = response.get_json()["widgets"]
    assert [fragment_root(i["html"]).get("data-eerlijk-widget") for i in items[:3]] == ["badge", "list", "product"]
    assert items[0]["html"] == client.get("/w/acme/badge.html").get_data(as_text=True)
    assert 'lang="en"' in items[2]["html"]
    assert items[3]["status"] == 404 and "Unknown widget" in items[3]["error"]


def test_bundle_errors(client, shop):
    assert client.get("/w/acme/bundle.json").status_code == 400
    assert client.get("/w/acme/bundle.json?" + "&".join(["w=widget%3Dbadge"] * 21)).status_code == 400
    response = client.get("/w/nope/bundle.json?w=widget%3Dbadge")
    assert response.status_code == 404 and "No shop" in response.get_json()["error"]


# --- snippet ---------------------------------------------------------------------


def reserved(placeholder) -> dict:
    """{locale or None: {from container width: min-height}} that a pasted placeholder reserves."""
    (reserve,) = placeholder.xpath("eerlijk-reserve")
    key = reserve.get("class")
    css = placeholder.xpath("style/text()")[0]
    assert f".{key}{{display:block!important}}" in css
    out: dict = {}
    for low, lang, h in re.findall(r"(?:@container \(min-width:(\d+)px\)\{)?\." + key + r"(?::lang\((\w+)\))?\{min-height:(\d+)px\}", css):
        out.setdefault(lang or None, {})[int(low or 0)] = int(h)
    return out


def test_snippet_is_placeholders_plus_loader(client, reviews):
    response = client.get("/api/v1/shops/acme/snippet?widget=badge,product&product=SKU-1&theme=dark&locale=de")
    assert response.status_code == 200 and response.headers["ETag"]
    text = response.get_json()["html"]
    tree = lxml_html.fragment_fromstring(text, create_parent="wrap")
    badge, product = tree.xpath("//div[@data-eerlijk]")
    assert badge.get("data-eerlijk") == "badge" and badge.get("data-eerlijk-shop") == "acme"
    assert badge.get("data-eerlijk-server") == "http://localhost"
    assert badge.get("data-eerlijk-theme") == "dark" and badge.get("data-eerlijk-locale") == "de"
    assert badge.get("data-eerlijk-product") is None and product.get("data-eerlijk-product") == "SKU-1"
    # The reserved height is the layout estimate of the rendered fragment, per container width, on a
    # light-DOM child (not rendered once the loader attaches the shadow root): never a fixed height
    # or an inner scroll box on the placeholder itself.
    fragment = client.get("/w/acme/product.html?product=SKU-1&theme=dark&locale=de").get_data(as_text=True)
    assert reserved(product) == {None: layout.heights(fragment, ("dark", "default"))}
    assert len(reserved(product)[None]) > 1 and product.get("style") == "container-type:inline-size"
    fragment = client.get("/w/acme/badge.html?theme=dark&locale=de").get_data(as_text=True)
    assert reserved(badge) == {None: {0: layout.estimate(fragment, 600, ("dark", "default"))}}
    assert badge.get("style") is None  # the badge is as wide as its content: no size container
    assert not re.search(r"(?<!min-)height\s*:|overflow", text)
    # Without JavaScript the placeholder is a link to the hosted page.
    assert product.xpath("eerlijk-reserve/a/@href") == ["http://localhost/s/acme/p/SKU-1"]
    scripts = tree.xpath("//script")
    assert len(scripts) == 1 and scripts[0].get("src") == "http://localhost/embed.js" and scripts[0].get("async") is not None


def test_snippet_without_locale_reserves_for_each_host_page_language(client, reviews):
    """The loader sends the host page's language: each locale that lays out differently gets :lang() rules."""
    text = client.get("/api/v1/shops/acme/snippet?widget=list").get_json()["html"]
    (placeholder,) = lxml_html.fragment_fromstring(text, create_parent="wrap").xpath("//div[@data-eerlijk]")
    rules = reserved(placeholder)
    for locale in widgets.LOCALES:
        expected = layout.heights(client.get(f"/w/acme/list.html?locale={locale}").get_data(as_text=True))
        assert rules.get(locale if locale != "nl" else None, rules[None]) == expected, locale
    assert len(rules) > 1  # the labels differ between languages, and so does the layout


@pytest.mark.parametrize("query, status, field", [
    ("", 400, "widget"), ("widget=nope", 400, "widget"), ("widget=product", 400, "product"),
    ("widget=product&product=NOPE", 404, "product"), ("widget=badge&theme=neon", 400, "theme"),
    ("widget=badge&locale=xx", 400, "locale"),
])
def test_snippet_errors_name_the_field(client, shop, query, status, field):
    response = client.get(f"/api/v1/shops/acme/snippet?{query}")
    assert response.status_code == status
    assert field in response.get_json()["errors"]


def test_snippet_is_in_the_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "/shops/{shop}/snippet" in doc["paths"] and "Snippet" in doc["components"]["schemas"]


# --- HTTP caching ----------------------------------------------------------------


def test_fragment_etag_304_cache_control_cors(client, reviews):
    first = client.get("/w/acme/list.html?rating=5")
    etag = first.headers["ETag"]
    assert etag.startswith('"acme-') and not etag.startswith("W/")
    assert "public" in first.headers["Cache-Control"] and "stale-while-revalidate" in first.headers["Cache-Control"]
    assert first.headers["Surrogate-Key"] == "shop-acme"
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    again = client.get("/w/acme/list.html?rating=5", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    # The ETag names the widget's parameters too.
    assert client.get("/w/acme/list.html?rating=4").headers["ETag"] != etag
    assert client.get("/w/acme/badge.html").headers["ETag"] != etag


@pytest.mark.parametrize("write", ["review", "reply", "product", "withdraw"])
def test_any_write_bumps_the_etag(client, db, shop, reviews, write):
    before = client.get("/w/acme/badge.html")
    if write == "review":
        store.add_review(db, shop["id"], rating=2, author="Nieuw")
    elif write == "reply":
        store.set_reply(db, shop["id"], reviews[3], body="Bedankt", author="Eva", role="eigenaar")
    elif write == "product":
        store.upsert_product(db, shop["id"], "SKU-9", name="Sjaal")
    else:
        store.set_review_status(db, shop["id"], reviews[4], "withdrawn")
    after = client.get("/w/acme/badge.html", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    if write in ("review", "withdraw"):
        assert after.get_data() != before.get_data()  # the in-process cache did not serve the old fragment


def test_embed_js_is_cacheable_with_an_etag(client):
    response = client.get("/embed.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert "max-age=" in response.headers["Cache-Control"] and response.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get("/embed.js", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_embed_js_is_served_gzipped_within_its_1800_byte_budget(client):
    zipped = client.get("/embed.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    size = len(zipped.get_data())
    assert size <= 1800, f"embed.js is {size} bytes gzipped on the wire; the budget is 1,800 (docs/embedding.md)"
    plain = client.get("/embed.js", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and gzip.decompress(zipped.get_data()) == plain.get_data()
    assert zipped.headers["ETag"] != plain.headers["ETag"]  # two representations, two validators
    assert client.get("/embed.js", headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]}).status_code == 304
    # Served minified: the same statements as the commented source, without comments or indentation.
    source = resources.files("widgets").joinpath("static/embed.js").read_text(encoding="utf-8")
    served = plain.get_data(as_text=True)
    assert len(served) < len(source) and not any(line.startswith(("//", "/*")) for line in served.splitlines())
    assert all(line in source for line in served.splitlines())


# --- hostile review text ---------------------------------------------------------


def test_hostile_review_text_is_inert_in_fragments_and_json_ld(client, db, shop):
    for i, text in enumerate(HOSTILE):
        # Stored raw, as if it slipped past cleaning on the way in: escaping on the way out must hold alone.
        db.execute("INSERT INTO reviews (shop_id, product_id, rating, title, body, author, source, created_at, updated_at)"
                   " VALUES (?, (SELECT id FROM products WHERE sku = 'SKU-1'), 3, ?, ?, ?, 'import', ?, ?)",
                   [shop["id"], text[:60], text, text[:40], f"2026-01-0{i + 1}T00:00:00.000000Z", f"2026-01-0{i + 1}T00:00:00.000000Z"])
    store.recompute(db, fix=True)
    for url in ("/w/acme/list.html", "/w/acme/product.html?product=SKU-1", "/w/acme/recent.html", "/s/acme",
                "/s/acme/p/SKU-1"):
        text = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in text and "<b onmouseover" not in text, url
        assert "49" not in re.sub(r"<script type=\"application/ld\+json\">.*?</script>", "", text, flags=re.S) \
            or "{{7*7}}" in text, url
        assert "{{7*7}}" in text.replace("&#123;", "{").replace("&#125;", "}"), url
        assert "\x07" not in text and "\x1b" not in text, url
        scripts = re.findall(r"<script\b[^>]*>", text)
        assert all('type="application/ld+json"' in s for s in scripts), (url, scripts)
        for node in json_ld(text):
            blob = json.dumps(node, ensure_ascii=False)
            if url.endswith("SKU-1"):
                bodies = [r["reviewBody"] for r in node.get("review", [])]
                assert HOSTILE[1] in bodies and HOSTILE[0] in bodies, bodies
                assert HOSTILE[2] in bodies
            assert "\x07" not in blob


# --- hosted pages ----------------------------------------------------------------


def test_hosted_shop_page_matches_the_api(client, reviews):
    response = client.get("/s/acme")
    assert response.status_code == 200 and response.headers["ETag"]
    text = response.get_data(as_text=True)
    doc = lxml_html.fromstring(text)
    assert doc.get("lang") == "nl" and "Acme Kleding" in doc.findtext(".//title")
    summary = client.get("/api/v1/shops/acme/summary").get_json()
    counts = [int(re.sub(r"\D", "", e.text_content())) for e in doc.xpath("//*[contains(@class, 'eerlijk-count')]")]
    assert counts and set(counts) == {summary["count"]}
    score = doc.xpath("//*[contains(@class, 'eerlijk-score')]")[0].text_content()
    assert abs(float(score.replace(",", ".")) - summary["average"]) <= 0.05 + 1e-9
    bars = [int(e.text_content()) for e in doc.xpath("//*[contains(@class, 'eerlijk-bar-count')]")]
    assert bars == [summary["distribution"][str(s)] for s in (5, 4, 3, 2, 1)]
    assert "Dank je wel!" in client.get("/s/acme?sort=oldest").get_data(as_text=True)  # replies show
    assert json_ld(text)  # structured data rendered on the server
    assert len(doc.xpath("//*[@data-review-id]")) == 10
    assert len(lxml_html.fromstring(client.get("/s/acme?rating=1&page=1").data).xpath("//*[@data-review-id]")) == 5
    assert client.get("/s/acme?rating=9").status_code == 400
    assert client.get("/s/nope").status_code == 404


def test_hosted_product_page_matches_the_api(client, reviews):
    text = client.get("/s/acme/p/SKU-1").get_data(as_text=True)
    doc = lxml_html.fromstring(text)
    assert "Jurk Linde" in doc.findtext(".//title")
    summary = client.get("/api/v1/shops/acme/summary?product=SKU-1").get_json()
    count = doc.xpath("//*[contains(@class, 'eerlijk-count')]")[0].text_content()
    assert int(re.sub(r"\D", "", count)) == summary["count"]
    node = [n for n in json_ld(text) if n["@type"] == "Product"][0]
    assert node["aggregateRating"]["reviewCount"] == summary["count"]
    assert client.get("/s/acme/p/NOPE").status_code == 404


def test_badge_links_to_the_hosted_page(client, reviews):
    text = client.get("/w/acme/badge.html").get_data(as_text=True)
    assert 'href="http://localhost/s/acme"' in text
    assert client.get("/s/acme").status_code == 200


def test_demo_pages(client, reviews):
    assert "/s/acme" in client.get("/demo").get_data(as_text=True)
    text = client.get("/demo/acme/embed").get_data(as_text=True)
    assert 'data-eerlijk="list"' in text and "/embed.js" in text


def test_host_page_language_hint_picks_a_supported_locale(client, shop):
    """lang= (the host page's language, sent by the loader) is used when supported, else the shop's locale."""
    assert 'lang="de"' in client.get("/w/acme/badge.html?lang=de-AT").get_data(as_text=True)
    assert 'lang="nl"' in client.get("/w/acme/badge.html?lang=es").get_data(as_text=True)  # shop default
    assert 'lang="fr"' in client.get("/w/acme/badge.html?lang=de&locale=fr").get_data(as_text=True)


def test_fragment_cache_is_per_database(tmp_path):
    """Two apps in one process with the same shop slug and data version never see each other's fragments."""
    from widgetserver import create_app

    bodies = []
    for name, author in (("one", "Alice Cachetest"), ("two", "Bob Cachetest")):
        app = create_app({"TESTING": True, "DATABASE": str(tmp_path / f"{name}.db")})
        db = store.connect(app.config["DATABASE"])
        shop = store.create_shop(db, "same", "Same Shop")
        store.add_review(db, shop["id"], rating=4, author=author, title="t", body="b")
        bodies.append(app.test_client().get("/w/same/list.html").get_data(as_text=True))
    assert "Alice Cachetest" in bodies[0] and "Bob Cachetest" in bodies[1]
