"""Widget fragments over HTTP: /w/<shop>/<widget>.html, the one-request bundle, the embed loader and the snippet."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from urllib.parse import parse_qs, parse_qsl, urlencode

import widgets
import widgets.i18n
import widgets.theme
from widgets import layout
from widgets.i18n import language_of
from flask import Blueprint, Response, current_app, jsonify, render_template, request
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from . import api, schemas, store, transparency
from .errors import APIError, error_response
from .http_cache import cached, static_answer
from .links import base_url, hosted_url, transparency_url
from .reads import read_db, shop_row
from .sanitize import whole_number

bp = Blueprint("embed", __name__)

PAGE_SIZE = 10
MAX_BUNDLE = 20  # widget specs per bundle request
SPEC_KEYS = ("widget", "product", "theme", "locale", "markup", "rating", "sort", "page", "limit")


class WidgetError(Exception):
    """A widget request this server refuses: status, a message that says what to change, and the field."""

    def __init__(self, status: int, message: str, field: str):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


@dataclass(frozen=True)
class WidgetSpec:
    """What selects one rendered fragment: the widget, its product and the visitor's view (normalized)."""

    widget: str
    product: str | None = None
    theme: str = "default"
    locale: str | None = None
    markup: str = "jsonld"
    rating: int | None = None
    sort: str = "newest"
    page: int = 1
    limit: int | None = None

    def query(self) -> dict:
        """The non-default fields as query parameters (for links, snippets and the loader)."""
        defaults = WidgetSpec(self.widget)
        return {k: getattr(self, k) for k in SPEC_KEYS[1:] if getattr(self, k) != getattr(defaults, k)}


_themes: dict = {}


def themes() -> list[str]:
    """Installed theme names, rescanned at most every 10 seconds (a new theme shows up without a restart)."""
    dirs = tuple(current_app.config["THEME_DIRS"])
    found = _themes.get(dirs)
    if found is None or found[0] < time.monotonic():
        found = _themes[dirs] = (time.monotonic() + 10, widgets.available_themes(dirs))
    return found[1]


def _int(args, key: str, low: int, high: int, what: str) -> int | None:
    value = (args.get(key) or "").strip()
    if not value:
        return None
    number = whole_number(value)
    if number is None or not low <= number <= high:
        raise WidgetError(400, f"{key}={value[:20]!r} is not {what}.", key)
    return number


def parse_spec(args, widget: str | None = None) -> WidgetSpec:
    """Validate widget parameters (`rating`, or `stars` as widget links from the library write it).

    :raise WidgetError: unknown widget, theme, locale, markup or sort; a bad number.
    """
    # A plain dict: werkzeug's MultiDict.get builds an HTTPException for every missing key.
    args = args.to_dict() if hasattr(args, "to_dict") else dict(args)
    if any("\x00" in str(v) for v in args.values()):
        raise WidgetError(400, "Parameters must not contain NUL bytes.", "_query")
    widget = widget or (args.get("widget") or "").strip()
    if widget not in widgets.WIDGETS:
        raise WidgetError(404 if widget else 400, f"Unknown widget {widget[:40]!r}; use one of {', '.join(widgets.WIDGETS)}.",
                          "widget")
    product = (args.get("product") or "").strip() or None
    if widget == "product" and not product:
        raise WidgetError(400, "The product widget needs product=<SKU> (one of the shop's products).", "product")
    if product and widget != "product":
        raise WidgetError(400, f"product= applies to the product widget only, not {widget!r}.", "product")
    theme = (args.get("theme") or "").strip() or "default"
    if theme not in themes():
        raise WidgetError(400, f"Unknown theme {theme[:40]!r}; use one of {', '.join(themes())}.", "theme")
    locale = (args.get("locale") or "").strip() or None
    if locale is not None and locale not in widgets.LOCALES:
        raise WidgetError(400, f"Unknown locale {locale[:20]!r}; use one of {', '.join(widgets.LOCALES)}.", "locale")
    # lang= is the host page's language, sent by the loader as a hint: used when supported
    # (nl-BE -> nl), otherwise the shop's default applies.
    locale = locale or language_of(args.get("lang"))
    markup = (args.get("markup") or "").strip() or "jsonld"
    if markup not in widgets.MARKUPS:
        raise WidgetError(400, f"Unknown markup {markup[:20]!r}; use one of {', '.join(widgets.MARKUPS)}.", "markup")
    sort = (args.get("sort") or "").strip() or "newest"
    if sort not in widgets.SORTS:
        raise WidgetError(400, f"Unknown sort {sort[:20]!r}; use one of {', '.join(widgets.SORTS)}.", "sort")
    rating = _int(args, "rating", 1, 5, "a rating from 1 to 5") if args.get("rating") else \
        _int(args, "stars", 1, 5, "a rating from 1 to 5")
    page = _int(args, "page", 1, 100000, "a page number (1 or more)") or 1
    limit = _int(args, "limit", 1, 50, "a number from 1 to 50") if widget == "recent" else None
    return WidgetSpec(widget, product, theme, locale, markup, rating, sort, page, limit)


@lru_cache(maxsize=2048)
def _spec_for(widget: str, query_string: bytes, installed: tuple) -> WidgetSpec:  # noqa: ARG001 (cache key)
    """parse_spec for one fragment URL, memoised: the same few URLs are asked for over and over."""
    return parse_spec(MultiDict(parse_qsl(query_string.decode("utf-8", "replace"), keep_blank_values=True)), widget)


def widget_data(shop: dict, summary: dict, reviews=(), product: dict | None = None) -> dict:
    """Store rows as the widgets library's data types: shop, summary, reviews (with replies) and product."""
    return {
        "shop": widgets.Shop(
            slug=shop["slug"], name=shop["name"], url=shop["url"], locale=shop["locale"] or "en",
            reviews_url=hosted_url(shop["slug"]),
            organization_rating=bool(shop["settings"].get("organization_rating", False)),
            transparency_url=transparency_url(shop["slug"]),
        ),
        "summary": widgets.Summary.from_api(summary),
        "reviews": [widgets.Review.from_api(r) for r in reviews],
        "product": widgets.Product.from_api(product) if product else None,
    }


def view_link(shop_slug: str, spec: WidgetSpec):
    """Page.link for a fragment: filter, sort and paging links open the hosted page with that view.

    The loader reads `rating`, `sort` and `page` back from these URLs and re-fetches in place.
    """
    target = hosted_url(shop_slug, spec.product if spec.widget == "product" else None)
    extra = {"locale": spec.locale} if spec.locale else {}

    def link(stars=None, sort="newest", page=1):
        query = {"rating": stars, "sort": None if sort == "newest" else sort, "page": None if page == 1 else page}
        query = urlencode({**{k: v for k, v in query.items() if v is not None}, **extra})
        return target + ("?" + query if query else "")

    return link


def render_widget(shop: dict, spec: WidgetSpec) -> str:
    """Render one widget for a shop row from the store (uncached).

    :raise WidgetError: unknown product.
    """
    db = read_db()
    product = None
    if spec.product:
        product = store.product_by_sku(db, shop["id"], spec.product)
        if product is None:
            raise WidgetError(404, f"No product with SKU {spec.product[:64]!r} in shop {shop['slug']!r}; "
                                   f"list them at /api/v1/shops/{shop['slug']}/products.", "product")
    summary = store.summary_for(db, shop["id"], product["id"] if product else None)
    if spec.widget == "summary":  # the shop's reply accountability line (shop-wide, also on a product's summary)
        summary["replies"] = transparency.cached_reply_stats(db, shop, current_app.config["DATABASE"])
    page = widgets.Page(stars=spec.rating, sort=spec.sort, number=spec.page, size=PAGE_SIZE,
                        link=view_link(shop["slug"], spec))
    reviews: list = []
    options = {}
    if spec.widget in ("list", "product"):
        reviews, _ = store.list_reviews(db, shop["id"], product_id=product["id"] if product else None,
                                        rating=spec.rating, sort=spec.sort, limit=PAGE_SIZE,
                                        offset=(spec.page - 1) * PAGE_SIZE)
    elif spec.widget == "recent":
        options["limit"] = spec.limit or widgets.OPTIONS["limit"]
        reviews, _ = store.list_reviews(db, shop["id"], limit=options["limit"])
    data = widget_data(shop, summary, reviews, product)
    skus = sorted({r["product"] for r in reviews if r.get("product")} - {spec.product})
    products = [widgets.Product.from_api(row) for row in map(lambda sku: store.product_by_sku(db, shop["id"], sku), skus) if row]
    args = dict(**data, products=products, page=page, locale=spec.locale, markup=spec.markup,
                base_url=base_url().rstrip("/"), options=options, theme_dirs=current_app.config["THEME_DIRS"])
    try:
        return str(widgets.render(spec.widget, theme=spec.theme, **args))
    except widgets.ThemeRefused as refused:
        if spec.theme == "default":
            raise  # never serve a render that hides reviews, not even our own
        # The theme left out or hid reviews: show them all in the default theme, and say so in the log.
        current_app.logger.warning("shop %s: %s Served the default theme instead.", shop["slug"], refused)
        return str(widgets.render(spec.widget, theme="default", **args))


class FragmentCache:
    """A bounded, thread-safe LRU of rendered fragments.

    Keys hold the shop's data version, so a write makes old entries unreachable
    (they age out); an hourly bucket keeps relative dates ("3 days ago") fresh.
    """

    def __init__(self, size: int = 512):
        self.size = size
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get_or_render(self, shop: dict, spec: WidgetSpec) -> tuple[str, bytes]:
        """The cached fragment as text and as UTF-8 bytes (encoded once), rendering it on a miss."""
        key = (current_app.config["DATABASE"], base_url(), shop["slug"], shop["data_version"], spec,
               int(time.time() // 3600))
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        html = render_widget(shop, spec)
        entry = (html, html.encode())
        with self.lock:
            self.items[key] = entry
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return entry


fragments = FragmentCache()


def fragment_entry(shop: dict, spec: WidgetSpec) -> tuple[str, bytes]:
    """The rendered fragment as (text, UTF-8 bytes), from the in-process cache unless FRAGMENT_CACHE is False."""
    if current_app.config.get("FRAGMENT_CACHE", True):
        return fragments.get_or_render(shop, spec)
    html = render_widget(shop, spec)
    return html, html.encode()


def fragment(shop: dict, spec: WidgetSpec) -> str:
    """The rendered fragment's HTML."""
    return fragment_entry(shop, spec)[0]


def shop_or_error(slug: str) -> dict:
    """The shop row.

    :raise WidgetError: 404 for an unknown shop.
    """
    shop = shop_row(slug)
    if shop is None:
        raise WidgetError(404, f"No shop with slug {slug[:64]!r}; check the data-eerlijk-shop attribute or URL.", "shop")
    return shop


def _error_html(exc: WidgetError) -> Response:
    if request.accept_mimetypes.best == "application/json":
        return error_response(exc.status, exc.message, {exc.field: [exc.message]})
    # A comment, so a failing server-side include leaves the shop's page intact; the header says why too.
    # The message quotes the rejected value: rendered by Jinja with autoescape, so `<`, `>`, `&` and quotes
    # are entities and nothing in it can close the comment.
    html = render_template("fragment_error.html", status=exc.status, message=exc.message)
    response = Response(html, exc.status, mimetype="text/html")
    response.headers["X-Eerlijk-Error"] = exc.message.encode("ascii", "replace").decode()
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


# --- routes ----------------------------------------------------------------------


@bp.get("/w/<shop>/<widget>.html")
def widget_html(shop, widget):
    """One widget as a server-rendered HTML fragment (for fetch, SSI or ESI).

    :raise 404: unknown shop, widget or product. :raise 400: bad theme, locale, rating, sort or page.
    """
    try:
        row = shop_or_error(shop)
        spec = _spec_for(widget, request.query_string, tuple(themes()))

        def build():
            return Response(fragment_entry(row, spec)[1], mimetype="text/html")

        return cached(row, build, repr(spec))
    except WidgetError as exc:
        return _error_html(exc)


@bp.get("/w/<shop>/bundle.json")
def bundle(shop):
    """Several widgets in one response: `w` repeats, each a URL-encoded widget query (`widget=list&rating=5`).

    Items are `{"html": ...}`, or `{"error": ..., "status": ...}` for a spec this server refuses.
    :raise 404: unknown shop. :raise 400: no or too many `w`.
    """
    try:
        row = shop_or_error(shop)
    except WidgetError as exc:
        raise APIError(exc.status, exc.message, {exc.field: [exc.message]}) from None
    raw = request.args.getlist("w")
    if not raw or len(raw) > MAX_BUNDLE:
        raise APIError(400, f"Pass 1 to {MAX_BUNDLE} widget specs as w=<url-encoded query>, e.g. w=widget%3Dbadge.",
                       {"w": ["Missing or too many widget specs."]})
    specs = []
    for text in raw:
        args = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
        try:
            specs.append(parse_spec(args))
        except WidgetError as exc:
            specs.append(exc)

    def build():
        items = []
        for spec in specs:
            if isinstance(spec, WidgetError):
                items.append({"error": spec.message, "status": spec.status})
                continue
            try:
                items.append({"html": fragment(row, spec)})
            except WidgetError as exc:
                items.append({"error": exc.message, "status": exc.status})
        return jsonify({"widgets": items})

    return cached(row, build, *map(repr, specs))


_COMMENT_AFTER_CODE = re.compile(r"([;{}]) // [^\"'/]*$")


def minify(source: str) -> str:
    """The loader as served: without comment lines, indentation and trailing `// comments` (code unchanged)."""
    lines = []
    for line in source.splitlines():
        text = line.strip()
        if not text or text.startswith("//") or (text.startswith("/*") and text.endswith("*/")):
            continue
        lines.append(_COMMENT_AFTER_CODE.sub(r"\1", text))
    return "\n".join(lines) + "\n"


@lru_cache(maxsize=1)
def loader() -> bytes:
    """The served loader: widgets/static/embed.js minified (once per process)."""
    return minify(resources.files("widgets").joinpath("static/embed.js").read_text(encoding="utf-8")).encode()


@bp.get("/embed.js")
def embed_js():
    """The embed loader script (minified), cacheable for an hour, revalidated by ETag, compressed when the client accepts it."""
    return static_answer(loader(), "text/javascript; charset=utf-8", "public, max-age=3600, stale-while-revalidate=86400")


# --- the snippet a shop owner pastes --------------------------------------------


def _reserve_rules(selector: str, heights: dict[int, int]) -> str:
    """CSS giving `selector` a min-height per container width: a base rule, then `@container` steps."""
    return "".join(f"{selector}{{min-height:{h}px}}" if not low else
                   f"@container (min-width:{low}px){{{selector}{{min-height:{h}px}}}}"
                   for low, h in sorted(heights.items()))


def reserved_heights(shop: dict, spec: WidgetSpec) -> dict[str | None, dict[int, int]]:
    """Estimated heights of a widget per container width, by locale.

    Key None: the locale the widget gets without a language hint (the spec's, else the shop's). When
    the spec has no locale, the loader sends the host page's language, so every supported locale that
    lays out differently gets its own entry too.

    :raise WidgetError: unknown product.
    """
    chain = tuple(t.name for t in widgets.theme.theme_chain(spec.theme, tuple(current_app.config["THEME_DIRS"])))

    def estimate(one: WidgetSpec) -> dict[int, int]:
        html = fragment(shop, one)
        if spec.widget == "badge":
            # The badge is as wide as its content, not its container: one height (that of a roomy
            # container), and no size container that would collapse it in a flex row or inline context.
            return {0: layout.estimate(html, 600, chain)}
        return layout.heights(html, chain)

    out = {None: estimate(spec)}
    if spec.locale is None:
        own = language_of(shop["locale"]) or widgets.i18n.FALLBACK_LOCALE
        for locale in widgets.LOCALES:
            if locale != own:
                heights = estimate(replace(spec, locale=locale))
                if heights != out[None]:
                    out[locale] = heights
    return out


def placeholder(shop: dict, spec: WidgetSpec, server: str) -> str:
    """The placeholder div for one widget: data attributes, the reserved height and a no-script link.

    The reserve is a light-DOM child holding the link, with a `min-height` per container width from
    `widgets.layout` (`@container` rules on the placeholder; `:lang()` variants for the host page's
    language, which the loader passes on). Once the loader attaches the widget's shadow root that
    child no longer renders, so the widget takes exactly its own height: no inner scrolling, nothing
    cut off, and the page moves only by the estimate's error.

    :raise WidgetError: unknown product.
    """
    attrs = {"data-eerlijk": spec.widget, "data-eerlijk-shop": shop["slug"], "data-eerlijk-server": server}
    for key, value in spec.query().items():
        attrs[f"data-eerlijk-{key}"] = str(value)
    by_locale = reserved_heights(shop, spec)
    link = hosted_url(shop["slug"], spec.product if spec.widget == "product" else None)
    key = "er" + hashlib.sha256(repr(sorted(by_locale.items(), key=str)).encode()).hexdigest()[:8]
    selector = "." + key
    # A custom element, shown as a block by our own rule: the host page's div/span rules don't reach it.
    css = selector + "{display:block!important}" + _reserve_rules(selector, by_locale[None])
    css += "".join(_reserve_rules(f"{selector}:lang({locale})", heights)
                   for locale, heights in by_locale.items() if locale)
    if any(len(set(h.values())) > 1 for h in by_locale.values()):
        attrs["style"] = "container-type:inline-size"
    attr_text = Markup("").join(Markup(' {}="{}"').format(k, v) for k, v in attrs.items())
    # css holds only our own class name and integers.
    return Markup('<div{}><style>{}</style><eerlijk-reserve class="{}"><a href="{}">{}</a></eerlijk-reserve></div>').format(
        attr_text, Markup(css), key, link, shop["name"])


@bp.get("/api/v1/shops/<shop>/snippet")
def snippet(shop):
    """The HTML a shop owner pastes: placeholder div(s) with a reserved height, and the loader script.

    :raise 404: unknown shop or product. :raise 400: unknown widget, theme or locale.
    """
    row = api.shop_or_404(shop)
    args = api.query_args(schemas.SnippetQuerySchema())
    names = [w.strip() for w in args["widget"].split(",") if w.strip()]
    if not names:
        raise APIError(400, "Name at least one widget.", {"widget": [f"Use one of {', '.join(widgets.WIDGETS)}."]})
    specs = []
    for name in names:
        query = {k: v for k, v in args.items() if v is not None and k != "widget"}
        if name != "product":
            query.pop("product", None)
        try:
            specs.append(parse_spec(query, name))
        except WidgetError as exc:
            raise APIError(exc.status if exc.field != "widget" else 400, exc.message, {exc.field: [exc.message]}) from None
    server = base_url().rstrip("/")

    def build():
        parts = []
        for spec in specs:
            try:
                parts.append(placeholder(row, spec, server))
            except WidgetError as exc:
                raise APIError(exc.status, exc.message, {exc.field: [exc.message]}) from None
        parts.append(Markup('<script async src="{}/embed.js"></script>').format(server))
        return schemas.SnippetSchema().dump({"html": str(Markup("\n").join(parts)) + "\n"})

    return cached(row, build)


api.EXTRA_ROUTES.append(
    ("/shops/{shop}/snippet", "get", "embed.snippet", "SnippetQuerySchema", None, "SnippetSchema", 200)
)
