"""Public pages: the landing page (/), hosted review pages per shop (/s/<shop>, /s/<shop>/p/<sku>), the /demo pages."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, abort, current_app, render_template, request, url_for
from markupsafe import Markup


from . import get_db, invitations, store
from .embed import WidgetError, WidgetSpec, fragment, parse_spec, placeholder, view_link
from .links import base_url, hosted_url
from .http_cache import cached
from .reads import read_db, shop_row
from .i18n import _, current_locale, ngettext, use_shop_locale

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


def _write_url(shop: dict, sku: str | None = None) -> str | None:
    """The open review form, when the shop accepts reviews without an invitation."""
    if not invitations.allows_open_reviews(shop):
        return None
    return url_for("collect.open_form", shop=shop["slug"], product=sku)


def _histogram(summary: dict, link, spec: WidgetSpec) -> list[dict]:
    """Bars from 5 to 1 stars: count, width, a link that filters on that rating (or back to all)."""
    bars = []
    for stars in range(5, 0, -1):
        count = summary["distribution"][str(stars)]
        bars.append({
            "stars": stars, "count": count,
            "percent": round(100 * count / summary["count"], 1) if summary["count"] else 0,
            "current": spec.rating == stars,
            "url": link(None if spec.rating == stars else stars, spec.sort) if count or spec.rating == stars else None,
            "label": ngettext("%(stars)s stars: %(num)s review", "%(stars)s stars: %(num)s reviews", count,
                              stars=stars),
        })
    return bars


def _sort_chips(link, spec: WidgetSpec) -> list[dict]:
    labels = {"newest": _("Newest"), "oldest": _("Oldest"), "highest": _("Highest rating"),
              "lowest": _("Lowest rating")}
    return [{"label": label, "url": link(spec.rating, sort), "current": spec.sort == sort}
            for sort, label in labels.items()]


def _filter_chips(summary: dict, link, spec: WidgetSpec) -> list[dict]:
    chips = [{"label": _("All"), "url": link(None, spec.sort), "current": spec.rating is None}]
    for stars in range(5, 0, -1):
        if summary["distribution"][str(stars)] or spec.rating == stars:
            chips.append({"label": ngettext("%(num)s star", "%(num)s stars", stars),
                          "url": link(stars, spec.sort), "current": spec.rating == stars})
    return chips


@bp.get("/s/<shop>")
def shop_reviews(shop):
    """All reviews of a shop: the summary and the full list with filters, sort, paging and replies.

    The page speaks ?locale=, else the browser's Accept-Language, else the shop's language.
    :raise 404: unknown shop. :raise 400: bad rating, sort, page, theme or locale.
    """
    row = _shop(shop)
    spec = replace(_spec("list"), locale=current_locale())
    summary_spec = WidgetSpec("summary", theme=spec.theme, locale=spec.locale, markup=spec.markup)

    def build():
        db = read_db()
        products = [p for p in store.list_products(db, row["id"]) if p["review_count"]]
        return render_template(
            "pages/shop.html", shop=row, locale=spec.locale, totals=store.summary_for(db, row["id"]),
            summary=_render(row, summary_spec), listing=_render(row, spec), write_url=_write_url(row),
            products=[(p, hosted_url(row["slug"], p["sku"]) + _locale_query(spec)) for p in products],
            tombstones=_tombstones(row, spec.locale),
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


def _locale_query(spec: WidgetSpec) -> str:
    """Keep an explicit ?locale= on links between hosted pages."""
    return f"?locale={spec.locale}" if request.args.get("locale") else ""


@bp.get("/s/<shop>/p/<sku>")
def product_reviews(shop, sku):
    """One product's reviews: its own rating histogram, filters by stars, sort, paging, with Product markup.

    :raise 404: unknown shop or product. :raise 400: bad rating, sort, page, theme or locale.
    """
    row = _shop(shop)
    product = store.product_by_sku(read_db(), row["id"], sku)
    if product is None:
        abort(404, description=f"No product with SKU {sku[:64]!r} in shop {shop!r}.")
    spec = replace(_spec("product", sku), locale=current_locale())

    def build():
        totals = store.summary_for(read_db(), row["id"], product["id"])
        # Links keep ?locale= only when the visitor chose one; otherwise the browser's language applies.
        link = view_link(row["slug"], spec if request.args.get("locale") else replace(spec, locale=None))
        return render_template(
            "pages/product.html", shop=row, product=product, locale=spec.locale, totals=totals,
            widget=_render(row, spec), shop_url=hosted_url(row["slug"]) + _locale_query(spec),
            rating=spec.rating, bars=_histogram(totals, link, spec), all_url=link(None, spec.sort),
            filters=_filter_chips(totals, link, spec), sorts=_sort_chips(link, spec),
            write_url=_write_url(row, sku),
        )

    return _localized(cached(row, build, repr(spec)))


@bp.get("/")
def landing():
    """What Eerlijk is, with links to every shop's hosted page, its products, the API and the docs."""
    db = read_db()
    shops = []
    for shop in store.list_shops(db):
        products = [p for p in store.list_products(db, shop["id"]) if p["review_count"]]
        shops.append({**shop, "summary": store.summary_for(db, shop["id"]), "products": products,
                      "url": hosted_url(shop["slug"])})
    docs = [("README.md", _("what it is, the demo, the first steps")),
            ("docs/getting-started.md", _("install, first shop, import")),
            ("docs/embedding.md", _("the snippet, server-side includes, caching")),
            ("docs/api.md", _("the JSON API")), ("docs/themes.md", _("themes and their templates")),
            ("docs/operations.md", _("running it in production")),
            ("docs/translating.md", _("adding a string or a language"))]
    response = current_app.make_response(render_template("pages/landing.html", shops=shops, docs=docs,
                                                          locale=current_locale()))
    response.vary.add("Accept-Language")
    return response


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
    snippets = [placeholder(row, s, server) for s in specs]
    return render_template("pages/demo_embed.html", shop=row, locale=current_locale(), snippets=snippets, server=server)
