"""The template context of each widget (context version 1): what a theme template may use, built in one place."""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import urlencode

from markupsafe import Markup

from . import structured_data
from .data import RATINGS, SORTS, Page, Summary
from .i18n import Formatter

CONTEXT_VERSION = 1

WIDGETS = ("badge", "summary", "list", "product", "recent")

COMMON_VARIABLES = (
    "widget", "context_version", "locale", "theme", "variant", "shop", "summary", "score",
    "reviews_url", "options", "schema", "json_ld", "theme_css", "now",
)
PAGED_VARIABLES = ("reviews", "page", "pages", "total", "prev_url", "next_url", "report_url", "products")

#: Every variable each widget's template receives; docs/themes.md documents each one (a test checks).
CONTEXT_VARIABLES = {
    "badge": COMMON_VARIABLES,
    "summary": COMMON_VARIABLES + ("distribution", "replies"),
    "list": COMMON_VARIABLES + PAGED_VARIABLES + ("filters", "sorts"),
    "product": COMMON_VARIABLES + PAGED_VARIABLES + ("product",),
    "recent": COMMON_VARIABLES + ("reviews", "report_url", "products"),
}

#: Options a shop may pass; none of them can hide or down-rank low ratings (honesty rule 1).
OPTIONS = {
    "limit": 5,  # recent: how many of the newest reviews to show (1-50)
    "variant": None,  # "light", "dark" or "auto" (follow prefers-color-scheme); default: the theme's
    "report_url": "{base_url}/s/{shop}/reviews/{id}/report",  # where the report link goes
}


@dataclass(frozen=True)
class Link:
    """A filter, sort or paging link: its label, URL and whether it is the current view."""

    label: str
    url: str
    current: bool = False


@dataclass(frozen=True)
class ReplyLine:
    """The shop's public reply accountability: share of 1-2 star reviews answered and the usual delay."""

    rate: float
    percent: str
    median_hours: float | None
    duration: str | None
    text: str


def reply_line(summary: Summary, fmt: Formatter) -> ReplyLine | None:
    """`Replies to 92% of negative reviews, usually within 6 hours`, or None without negative reviews."""
    stats = summary.replies
    if stats is None or not stats.reviews:
        return None
    percent = fmt.percent(stats.rate)
    if stats.median_hours is None:
        text = fmt.gettext("Replies to %(percent)s of negative reviews") % {"percent": percent}
        duration = None
    else:
        duration = fmt.duration(stats.median_hours)
        text = fmt.gettext("Replies to %(percent)s of negative reviews, usually within %(duration)s") % {
            "percent": percent, "duration": duration}
    return ReplyLine(stats.rate, percent, stats.median_hours, duration, text)


@dataclass(frozen=True)
class Bar:
    """One row of the star distribution: stars, count, percentage, filtered-list URL and a spoken label."""

    stars: int
    count: int
    percent: int
    url: str
    label: str


def check_options(options: dict | None, variant: str) -> dict:
    """Merge the shop's options over the defaults; unknown keys or bad values raise ValueError."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValueError(f"options: unknown key(s) {', '.join(unknown)}; known keys are {', '.join(OPTIONS)}")
    merged = {**OPTIONS, "variant": variant, **{k: v for k, v in options.items() if v is not None}}
    if not isinstance(merged["limit"], int) or not 1 <= merged["limit"] <= 50:
        raise ValueError(f"options.limit: {merged['limit']!r} is not a whole number from 1 to 50")
    if merged["variant"] not in ("light", "dark", "auto"):
        raise ValueError(f"options.variant: {merged['variant']!r} is unknown; use light, dark or auto")
    return merged


def list_link(shop, page: Page):
    """The link builder for filter/sort/paging URLs: `page.link`, else a query on `shop.reviews_url`."""
    if page.link is not None:
        return page.link

    def link(stars=None, sort="newest", page=1):
        query = {"stars": stars, "sort": None if sort == "newest" else sort, "page": None if page == 1 else page}
        query = urlencode({k: v for k, v in query.items() if v is not None})
        if shop.reviews_url:
            return shop.reviews_url + ("?" + query if query else "")
        return "?" + query  # a query-only URL: the current page with this view

    return link


def _order(reviews, sort: str):
    keys = {
        "newest": (lambda r: r.created_at, True),
        "oldest": (lambda r: r.created_at, False),
        "highest": (lambda r: (r.rating, r.created_at), True),
        "lowest": (lambda r: (-r.rating, r.created_at), True),
    }
    key, reverse = keys[sort]
    return sorted(reviews, key=key, reverse=reverse)


def build_context(widget, *, shop, summary, reviews, product, page, products=(), theme_name, css, markup, base_url, options, fmt: Formatter):
    """Build the documented context for one widget (see CONTEXT_VARIABLES and docs/themes.md)."""
    _ = fmt.gettext
    summary = summary or Summary()
    page = page or Page()
    reviews = list(reviews)
    if widget == "recent":
        reviews = _order(reviews, "newest")[: options["limit"]]
    elif widget in ("list", "product"):
        reviews = _order(reviews, page.sort)
    shows_aggregate = widget != "recent"
    anonymous = _("Anonymous")
    markup_reviews = reviews if widget in ("list", "product", "recent") else []
    node = None
    if markup == "jsonld":
        node = structured_data.json_ld(
            widget, shop=shop, summary=summary, reviews=markup_reviews, product=product,
            show_aggregate=shows_aggregate, anonymous=anonymous,
        )
    schema = structured_data.Microdata(
        markup == "microdata",
        structured_data.subject_type(widget),
        structured_data.has_subject(widget, summary),
        structured_data.has_ratings(widget, shop, summary),
        product.product_id if product else structured_data.organization_id(shop),
    )
    context = {
        "widget": widget,
        "context_version": CONTEXT_VERSION,
        "locale": fmt.locale,
        "theme": theme_name,
        "variant": options["variant"],
        "shop": shop,
        "summary": summary,
        "score": fmt.score(summary.score_value),
        "reviews_url": shop.reviews_url,
        "options": options,
        "schema": schema,
        "json_ld": structured_data.script_tag(node),
        "theme_css": Markup(css),
        "now": fmt.now,
    }
    link = list_link(shop, page)

    def star_count(stars: int) -> str:
        return fmt.translations.ungettext("%(num)s star", "%(num)s stars", stars) % {"num": stars}

    def review_count(count: int) -> str:
        return fmt.translations.ungettext("%(num)s review", "%(num)s reviews", count) % {"num": fmt.number(count)}

    def report_url(review) -> str:
        return options["report_url"].format(base_url=base_url.rstrip("/"), shop=shop.slug, id=review.id)

    if widget == "summary":
        context["distribution"] = [
            Bar(
                stars=stars,
                count=summary.distribution.get(stars, 0),
                percent=round(100 * summary.distribution.get(stars, 0) / summary.count) if summary.count else 0,
                url=link(stars=stars),
                label=star_count(stars) + ": " + review_count(summary.distribution.get(stars, 0)),
            )
            for stars in reversed(RATINGS)
        ]
        context["replies"] = reply_line(summary, fmt)
    if widget in ("list", "product"):
        total = summary.distribution.get(page.stars, 0) if page.stars else summary.count
        pages = max(1, math.ceil(total / page.size))
        context.update(
            reviews=reviews,
            page=page,
            pages=pages,
            total=total,
            prev_url=link(stars=page.stars, sort=page.sort, page=page.number - 1) if page.number > 1 else None,
            next_url=link(stars=page.stars, sort=page.sort, page=page.number + 1) if page.number < pages else None,
            report_url=report_url,
        )
    if widget == "list":
        sort_labels = {"newest": _("Newest"), "oldest": _("Oldest"), "highest": _("Highest rating"), "lowest": _("Lowest rating")}
        context["filters"] = [Link(_("All"), link(sort=page.sort), page.stars is None)] + [
            Link(star_count(s), link(stars=s, sort=page.sort), page.stars == s)
            for s in reversed(RATINGS)
        ]
        context["sorts"] = [Link(sort_labels[s], link(stars=page.stars, sort=s), page.sort == s) for s in SORTS]
    if widget == "product":
        context["product"] = product
    if widget == "recent":
        context.update(reviews=reviews, report_url=report_url)
    if widget in ("list", "product", "recent"):
        known = dict(products) if isinstance(products, dict) else {p.sku: p for p in products}
        if product is not None:
            known.setdefault(product.sku, product)
        context["products"] = known
    assert set(context) == set(CONTEXT_VARIABLES[widget]), f"context of {widget} drifted from CONTEXT_VARIABLES"
    return context
