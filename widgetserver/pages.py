"""Hosted review pages per shop (/s/<shop>, /s/<shop>/p/<sku>) and the /demo landing page."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, abort, render_template, request
from markupsafe import Markup


from . import get_db, store
from .embed import WidgetError, WidgetSpec, fragment, parse_spec, placeholder, _height
from .links import base_url, hosted_url
from .http_cache import cached
from .reads import read_db, shop_row
from .i18n import current_locale, use_shop_locale

bp = Blueprint("pages", __name__)


def _shop(slug: str) -> dict:
    shop = shop_row(slug)
    if shop is None:
        abort(404, description=f"No shop with slug {slug[:64]!r}.")
    use_shop_locale(shop)
    return shop


def _localized(response):
    """Hosted pages follow Accept-Language when no ?locale= is given: caches must key on it."""
    response.vary.add("Accept-Language")
    return response


def _spec(widget: str, product: str | None = None) -> WidgetSpec:
    args = {k: v for k, v in request.args.items() if k != "product"}
    if product:
        args["product"] = product
    try:
        return parse_spec(args, widget)
    except WidgetError as exc:
        abort(exc.status, description=exc.message)


def _render(shop: dict, spec: WidgetSpec) -> Markup:
    try:
        return Markup(fragment(shop, spec))
    except WidgetError as exc:
        abort(exc.status, description=exc.message)


@bp.get("/s/<shop>")
def shop_reviews(shop):
    """All reviews of a shop: the summary and the full list with filters, sort, paging and replies.

    :raise 404: unknown shop. :raise 400: bad rating, sort, page, theme or locale.
    """
    row = _shop(shop)
    spec = replace(_spec("list"), locale=current_locale())
    summary_spec = WidgetSpec("summary", theme=spec.theme, locale=spec.locale, markup=spec.markup)

    def build():
        locale = spec.locale
        products = [p for p in store.list_products(read_db(), row["id"]) if p["review_count"]]
        return render_template(
            "pages/shop.html", shop=row, locale=locale,
            summary=_render(row, summary_spec), listing=_render(row, spec),
            products=[(p, hosted_url(row["slug"], p["sku"])) for p in products],
            tombstones=_tombstones(row, locale),
        )

    return _localized(cached(row, build, repr(spec)))


def _tombstones(shop: dict, locale: str) -> list[str]:
    """"Removed on DATE by the moderator: REASON" for each review the moderator removed (moderation.py)."""
    from babel.dates import format_date

    from .i18n import _
    from .moderation import tombstones
    from .reports import REASON_LABELS

    return [
        _("Removed on %(date)s by the moderator: %(reason)s", date=format_date(t["removed_at"].date(), "long",
                                                                                  locale=locale),
          reason=str(REASON_LABELS[t["reason"]]))
        for t in tombstones(get_db(), shop["id"])
    ]


@bp.get("/s/<shop>/p/<sku>")
def product_reviews(shop, sku):
    """One product's reviews: inline stars, reviews and paging, with Product markup.

    :raise 404: unknown shop or product.
    """
    row = _shop(shop)
    product = store.product_by_sku(read_db(), row["id"], sku)
    if product is None:
        abort(404, description=f"No product with SKU {sku[:64]!r} in shop {shop!r}.")
    spec = replace(_spec("product", sku), locale=current_locale())

    def build():
        return render_template("pages/product.html", shop=row, product=product, locale=spec.locale,
                               widget=_render(row, spec), shop_url=hosted_url(row["slug"]))

    return _localized(cached(row, build, repr(spec)))


@bp.get("/demo")
def demo():
    """A landing page: every shop's hosted pages and an embed example."""
    db = get_db()
    shops = [{**shop, "products": store.list_products(db, shop["id"])} for shop in store.list_shops(db)]
    return render_template("pages/demo.html", shops=shops, locale=current_locale())


@bp.get("/demo/<shop>/embed")
def demo_embed(shop):
    """An example page embedding every widget with the pasted snippet (same origin, for a quick look).

    :raise 404: unknown shop.
    """
    row = _shop(shop)
    products = store.list_products(get_db(), row["id"])
    specs = [WidgetSpec("badge"), WidgetSpec("summary"), WidgetSpec("list")]
    if products:
        specs.append(WidgetSpec("product", product=products[0]["sku"]))
    server = base_url().rstrip("/")
    snippets = [Markup(placeholder(row, s, _height(_render(row, s)), server)) for s in specs]
    return render_template("pages/demo_embed.html", shop=row, locale=current_locale(), snippets=snippets, server=server)
