"""Rendering a widget: the sandboxed Jinja environment per theme and locale, and `render()`."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from jinja2 import StrictUndefined, pass_context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from . import avatar
from . import honesty
from .context import WIDGETS, build_context, check_options
from .i18n import Formatter, resolve_locale, rounded, translations
from .structured_data import MARKUPS, author_name
from .theme import ThemeLoader, theme_chain, theme_css

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def strip_control(value):
    """Drop control characters (keeping tab and newlines) from text output; Markup stays Markup."""
    if isinstance(value, Markup):
        return Markup(_CONTROL.sub("", value))
    if isinstance(value, str):
        return _CONTROL.sub("", value)
    return value


def nl2br(text) -> Markup:
    """Escape plain text first, then turn its line breaks into `<br>` (review text is never HTML)."""
    lines = strip_control(str(text)).splitlines()
    return Markup("<br>\n").join(escape(line) for line in lines)


def bdi(text) -> Markup:
    """User text (a name, a product) as an isolated `<bdi>`: right-to-left names can't reorder the text around them."""
    return Markup("<bdi>%s</bdi>") % strip_control(str(text))


def star_fill(value) -> int:
    """Percentage of the five stars to fill for a rating (4.3 -> 86)."""
    return 0 if value is None else max(0, min(100, round(float(value) * 20)))


@lru_cache(maxsize=64)
def environment(theme: str, locale: str, theme_dirs: tuple = ()) -> ImmutableSandboxedEnvironment:
    """The sandboxed, autoescaping Jinja environment for a theme chain and locale (cached)."""
    chain = theme_chain(theme, theme_dirs)
    env = ImmutableSandboxedEnvironment(
        loader=ThemeLoader(chain, theme_dirs),
        autoescape=True,
        undefined=StrictUndefined,
        finalize=strip_control,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(locale), newstyle=True)
    fmt = Formatter(locale)
    anonymous = fmt.gettext("Anonymous")
    env.filters.update(
        nl2br=nl2br,
        star_fill=star_fill,
        rating_value=rounded,
        score=fmt.score,
        number=fmt.number,
        stars_label=fmt.stars_label,
        date=fmt.date,
        isodate=lambda value: value.date().isoformat(),
        author=lambda name: author_name(name, anonymous),
        ago=pass_context(lambda context, value: fmt.ago(value, now=context["now"])),
        initials=avatar.initials,
        avatar_color=avatar.color,
    )
    env.globals["bdi"] = bdi
    env.eerlijk_chain = chain  # for css and debug output
    return env


def render(
    name: str,
    *,
    shop,
    summary=None,
    reviews=(),
    product=None,
    products=(),
    page=None,
    theme: str = "default",
    locale: str | None = None,
    markup: str = "jsonld",
    base_url: str = "",
    options: dict | None = None,
    debug: bool = False,
    theme_dirs=(),
    now: datetime | None = None,
) -> Markup:
    """Render widget `name` as an HTML fragment (root element, scoped <style>, content, structured data).

    `products`: the `Product`s the reviews are about (any iterable, or a dict by SKU), so the shop-wide
    list and recent widgets can name and link each review's product; reviews of unknown SKUs show none.

    :raise honesty.ThemeRefused: the theme left out or hid a review of a list, product or recent widget.
    """
    if name not in WIDGETS:
        raise ValueError(f"widget {name!r} is unknown; use one of {', '.join(WIDGETS)}")
    if markup not in MARKUPS:
        raise ValueError(f"markup {markup!r} is unknown; use one of {', '.join(MARKUPS)}")
    if name == "product" and product is None:
        raise ValueError("product widget: pass product=Product(...) (the product whose reviews these are)")
    theme_dirs = tuple(str(d) for d in theme_dirs)
    locale = resolve_locale(locale, shop.locale)
    if debug:
        environment.cache_clear()
    env = environment(theme, locale, theme_dirs)
    chain = env.eerlijk_chain
    fmt = Formatter(locale, now)
    options = check_options(options, chain[0].variant)
    context = build_context(
        name, shop=shop, summary=summary, reviews=reviews, product=product, products=products, page=page,
        theme_name=theme, css=theme_css(chain), markup=markup, base_url=base_url, options=options, fmt=fmt,
    )
    template_name = f"{name}.html"
    template = env.get_template(template_name)
    html = Markup(template.render(context))
    honesty.verify(name, theme, html, context.get("reviews", ()))
    if debug:
        html = debug_comment(env.loader, template_name, template.filename) + html
    return html


def debug_comment(loader: ThemeLoader, template_name: str, used: str) -> Markup:
    """An HTML comment naming the candidate templates considered and the one used."""
    lines = []
    for label, path in loader.candidates(template_name):
        state = "used" if str(path) == used else ("found" if path.is_file() else "not found")
        lines.append(f"  {label} ({state})")
    text = "\n".join(lines).replace("--", "- -")
    return Markup(f"<!-- eerlijk templates considered for {template_name}, most specific first:\n{text}\n-->\n")
