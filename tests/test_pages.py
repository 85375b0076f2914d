"""Public pages: the landing page, hosted shop and product pages, and styled error pages in the visitor's language."""

from __future__ import annotations

import lxml.html
import pytest

from widgetserver import create_app, store


@pytest.fixture
def reviewed(db, shop):
    """Shop 'acme' (nl) with reviews of SKU-1 (ratings 5, 4, 1), one of the shop and one of SKU-2."""
    for rating, sku in ((5, "SKU-1"), (4, "SKU-1"), (1, "SKU-1"), (3, None), (2, "SKU-2")):
        store.add_review(db, shop["id"], rating=rating, title=f"T{rating}", body=f"Body {rating}.", author="Ann",
                         product_sku=sku)
    return store.get_shop(db, "acme")


def page(client, path, language="nl", status=200):
    response = client.get(path, headers={"Accept-Language": language})
    assert response.status_code == status, (path, response.status_code)
    return response, lxml.html.fromstring(response.get_data(as_text=True))


def test_landing_page_links_the_hosted_pages_products_api_and_docs(client, reviewed):
    response, doc = page(client, "/", "en")
    assert doc.get("lang") == "en"
    assert "The bad ones too" in doc.findtext(".//h1")
    hrefs = doc.xpath("//a/@href")
    assert "http://localhost/s/acme" in hrefs
    assert "/s/acme/p/SKU-1" in hrefs and "/s/acme/p/SKU-2" in hrefs
    assert "/api/v1/openapi.json" in hrefs and "/demo" in hrefs
    assert "docs/getting-started.md" in doc.text_content()
    assert "Accept-Language" in response.headers["Vary"]
    _, dutch = page(client, "/", "nl-NL")
    assert "Ook de slechte" in dutch.findtext(".//h1")


def test_landing_page_without_shops_says_how_to_start(client):
    _, doc = page(client, "/", "en")
    assert "widgetserver demo" in doc.text_content()


def test_shop_page_has_summary_products_and_the_full_list(client, reviewed):
    _, doc = page(client, "/s/acme", "en")
    assert doc.findtext(".//h1") == "Reviews of Acme Kleding"
    products = doc.xpath("//nav[contains(@class, 'products')]//a")
    assert [a.xpath("string(.//span[@class='name'])") for a in products] == ["Jurk Linde", "Trui Noor"]
    assert products[0].get("href") == "http://localhost/s/acme/p/SKU-1"
    assert len(doc.xpath("//article[contains(@class, 'eerlijk-review')]")) == 5
    # The language switch keeps the page and sets ?locale=.
    switch = {a.get("hreflang"): a.get("href") for a in doc.xpath("//nav[@class='langs']/a")}
    assert switch["de"] == "/s/acme?locale=de"
    assert doc.xpath("//nav[@class='langs']/a[@aria-current='true']/@hreflang") == ["en"]


def test_product_page_has_its_own_histogram_filters_and_sort(client, reviewed):
    _, doc = page(client, "/s/acme/p/SKU-1", "en")
    assert doc.findtext(".//h1") == "Jurk Linde"
    bars = doc.xpath("//div[@class='histogram']/*")
    assert [b.get("aria-label") or b.xpath("string(span[@class='vh'])") for b in bars] == ["5 stars: 1 review", "4 stars: 1 review", "3 stars: 0 reviews",
                                                   "2 stars: 0 reviews", "1 stars: 1 review"]
    # Bars with reviews filter the list; empty ones are not links.
    assert [b.tag for b in bars] == ["a", "a", "div", "div", "a"]
    assert bars[4].get("href") == "http://localhost/s/acme/p/SKU-1?rating=1"
    chips = doc.xpath("//ul[@class='chips'][1]//a/text()")
    assert chips == ["All", "5 stars", "4 stars", "1 star"]
    sorts = doc.xpath("//ul[@class='chips'][2]//a")
    assert [a.text for a in sorts] == ["Newest", "Oldest", "Highest rating", "Lowest rating"]
    assert len(doc.xpath("//article[contains(@class, 'eerlijk-review')]")) == 3

    _, one = page(client, bars[4].get("href").replace("http://localhost", ""), "en")
    assert one.xpath("//div[@class='histogram']/a[@aria-current='true']/@aria-label") == ["1 stars: 1 review"]
    assert [a.xpath("string(.//h3)") for a in one.xpath("//article")] == ["T1"]
    assert one.findtext(".//h2[@id='reviews-heading']") == "Reviews with 1 star"
    # Lowest first keeps the filter; the current sort is marked.
    _, lowest = page(client, "/s/acme/p/SKU-1?sort=lowest", "en")
    assert [a.xpath("string(.//h3)") for a in lowest.xpath("//article")] == ["T1", "T4", "T5"]
    assert lowest.xpath("//ul[@class='chips'][2]//a[@aria-current='true']/text()") == ["Lowest rating"]


def test_product_page_speaks_the_visitors_language(client, reviewed):
    _, doc = page(client, "/s/acme/p/SKU-1", "de")
    assert doc.get("lang") == "de"
    assert "Bewertungen dieses Produkts" in doc.text_content()
    assert doc.xpath("//div[@class='histogram']/a[1]/@aria-label") == ["5 Sterne: 1 Bewertung"]


@pytest.mark.parametrize("language, title", [("nl", "Pagina niet gevonden"), ("en", "Page not found"),
                                             ("de", "Seite nicht gefunden"), ("fr", "Page introuvable")])
def test_404_is_a_styled_page_in_the_visitors_language(client, reviewed, language, title):
    response, doc = page(client, "/no/such/page", language, status=404)
    assert response.mimetype == "text/html"
    assert doc.get("lang") == language and doc.findtext(".//h1") == title
    assert doc.xpath("//a[@href='/']")
    assert "Werkzeug" not in response.get_data(as_text=True)


def test_404_under_a_shop_speaks_its_language_and_links_back(client, reviewed):
    # A browser language we do not speak: the shop's (nl).
    _, doc = page(client, "/s/acme/p/NOPE", "ja", status=404)
    assert doc.get("lang") == "nl" and doc.findtext(".//h1") == "Pagina niet gevonden"
    assert doc.xpath("//a[@href='/s/acme']/text()") == ["Terug naar de reviews van Acme Kleding"]
    _, unknown_shop = page(client, "/s/nobody", "fr", status=404)
    assert unknown_shop.findtext(".//h1") == "Page introuvable"


def test_bad_parameters_give_a_400_page_with_the_detail(client, reviewed):
    response, doc = page(client, "/s/acme?rating=9", "en", status=400)
    assert doc.findtext(".//h1") == "This address is not valid"
    assert "rating" in doc.xpath("string(//details)")


def test_405_page_keeps_the_allow_header(client):
    response = client.delete("/", headers={"Accept-Language": "en"})
    assert response.status_code == 405 and "GET" in response.headers["Allow"]
    assert "This is not possible here" in response.get_data(as_text=True)


def test_api_errors_keep_their_json_shape(client, reviewed):
    response = client.get("/api/v1/shops/nobody/summary", headers={"Accept-Language": "nl"})
    assert response.status_code == 404 and response.is_json
    assert set(response.get_json()) == {"error", "errors"}
    response = client.get("/api/v1/no-such-endpoint")
    assert response.status_code == 404 and response.get_json()["error"].startswith("Not found")


def test_500_is_a_styled_page_and_json_on_the_api(db_path, tmp_path):
    app = create_app({"DATABASE": db_path, "THEME_DIRS": [str(tmp_path / "themes")], "PROPAGATE_EXCEPTIONS": False,
                      "TRUSTED_HOSTS": ["localhost"]})

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    @app.get("/api/v1/boom")
    def api_boom():
        raise RuntimeError("boom")

    client = app.test_client()
    response = client.get("/boom", headers={"Accept-Language": "de"})
    assert response.status_code == 500
    assert "Bei uns ist etwas schiefgelaufen" in response.get_data(as_text=True)
    assert "RuntimeError" not in response.get_data(as_text=True)
    api = client.get("/api/v1/boom")
    assert api.status_code == 500 and api.is_json and "error" in api.get_json()


def test_error_pages_survive_an_untrusted_host(app, client, reviewed):
    """The 400 for a Host outside TRUSTED_HOSTS is itself an error page: it must not build absolute links."""
    app.config["TRUSTED_HOSTS"] = ["reviews.acme.example"]
    for path in ("/s/acme", "/s/acme/p/NOPE", "/"):
        response = client.get(path, headers={"Host": "evil.example", "Accept-Language": "de"})
        assert response.status_code == 400, path
        assert "Diese Adresse ist ungültig" in response.get_data(as_text=True)
        assert "//evil.example" not in response.get_data(as_text=True)  # no link built from the forged Host
