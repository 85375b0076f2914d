"""A small Flask shop that renders Eerlijk widgets in-process from a widgetserver's JSON API."""

from __future__ import annotations

import json
import os
from urllib.parse import quote, urlencode
from urllib.request import urlopen

from flask import Flask, abort, render_template_string, request, url_for

import widgets

API = os.environ.get("EERLIJK_API", "http://127.0.0.1:8000").rstrip("/")
SHOP = os.environ.get("EERLIJK_SHOP", "demo")

app = Flask(__name__)

PAGE = """<!doctype html>
<html lang="{{ locale }}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>body { font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; }
/* A shop restyles widgets with custom properties, no theme needed: */
.reviews { --eerlijk-accent: #7b2d8e; }</style></head>
<body>
<header><a href="{{ url_for('home') }}">{{ shop.name }}</a> {{ badge }}</header>
<main><h1>{{ title }}</h1>{{ body }}</main>
</body></html>"""


def api(path: str, **query) -> dict:
    """GET a JSON document from the widgetserver's API; :raise 404: when it answers 404."""
    url = f"{API}/api/v1/shops/{quote(SHOP)}{path}"
    if query:
        url += "?" + urlencode({k: v for k, v in query.items() if v is not None})
    try:
        with urlopen(url, timeout=5) as response:
            return json.load(response)
    except OSError as error:
        if getattr(error, "code", None) == 404:
            abort(404)
        raise


def reviews_for(page: widgets.Page, product: str | None = None) -> list[widgets.Review]:
    """The reviews on one page of the list; the API pages by cursor, so walk to page N."""
    query = dict(rating=page.stars, sort=page.sort, limit=page.size, product=product)
    payload = api("/reviews", **query)
    for _ in range(page.number - 1):
        if not payload.get("next_cursor"):
            return []
        payload = api("/reviews", cursor=payload["next_cursor"], **query)
    return [widgets.Review.from_api(item) for item in payload["items"]]


def common():
    """Shop, summary and locale for this request (the `lang` query parameter picks the locale)."""
    shop = widgets.Shop.from_api(api(""))
    summary = widgets.Summary.from_api(api("/summary"))
    return shop, summary, request.args.get("lang") or shop.locale


@app.get("/")
def home():
    """Home page: summary and the newest reviews."""
    shop, summary, locale = common()
    recent = reviews_for(widgets.Page(size=5))
    body = (widgets.render("summary", shop=shop, summary=summary, locale=locale)
            + widgets.render("recent", shop=shop, summary=summary, reviews=recent, locale=locale))
    badge = widgets.render("badge", shop=shop, summary=summary, locale=locale, markup="none")
    return render_template_string(PAGE, title=shop.name, shop=shop, badge=badge, body=body, locale=locale)


@app.get("/reviews")
def all_reviews():
    """Every review, with the visitor's star filter, sort and paging."""
    shop, summary, locale = common()
    page = widgets.Page.from_query(request.args, link=lambda stars=None, sort="newest", page=1: url_for(
        "all_reviews", stars=stars, sort=None if sort == "newest" else sort, page=None if page == 1 else page))
    reviews = reviews_for(page)
    body = widgets.render("list", shop=shop, summary=summary, reviews=reviews, page=page, locale=locale,
                          theme=request.args.get("theme", "default"))
    badge = widgets.render("badge", shop=shop, summary=summary, locale=locale, markup="none")
    return render_template_string(PAGE, title=shop.name, shop=shop, badge=badge, body=body, locale=locale)


@app.get("/products/<sku>")
def product(sku: str):
    """A product page: inline stars plus that product's reviews, with Product JSON-LD.

    :raise 404: when the widgetserver does not know the product.
    """
    shop, shop_summary, locale = common()
    found = [p for p in api("/products")["items"] if p["sku"] == sku]
    if not found:
        abort(404)
    item = widgets.Product.from_api(found[0])
    summary = widgets.Summary.from_api(api("/summary", product=sku))
    page = widgets.Page.from_query(request.args, link=lambda stars=None, sort="newest", page=1: url_for(
        "product", sku=sku, page=None if page == 1 else page))
    reviews = reviews_for(page, product=sku)
    body = widgets.render("product", shop=shop, summary=summary, reviews=reviews, product=item, page=page, locale=locale)
    badge = widgets.render("badge", shop=shop, summary=shop_summary, locale=locale, markup="none")
    return render_template_string(PAGE, title=item.name, shop=shop, badge=badge, body=body, locale=locale)


if __name__ == "__main__":
    app.run(port=int(os.environ.get("PORT", "5000")), debug=True)
