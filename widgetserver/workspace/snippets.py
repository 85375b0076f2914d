"""The snippet builder: pick widgets, product, theme, language and colours; see them live; copy the code.

The code is the same snippet `GET /api/v1/shops/<shop>/snippet` returns
(`embed.placeholder` plus the loader), with a `<style>` rule for the chosen
CSS custom properties in front; or one SSI / ESI include line per widget.
The preview is a page of this server that pastes exactly that code, shown
in an iframe, so it looks as it will on the shop's site.
"""

from __future__ import annotations

import re
from html import escape
from urllib.parse import urlencode

import widgets
from flask import abort, jsonify, render_template, request, url_for

from .. import get_db, store
from ..embed import WidgetError, parse_spec, placeholder, themes
from ..links import base_url
from . import _, bp, member_required
from .inbox import inbox_counts, target_hours

COLOUR_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
# Builder field -> CSS custom property (docs/themes.md lists them all).
COLOURS = {"accent": "--eerlijk-accent", "star": "--eerlijk-star-color", "fg": "--eerlijk-fg", "bg": "--eerlijk-bg"}
FONTS = {"": None, "inherit": "inherit", "system": "system-ui, sans-serif", "serif": "Georgia, serif"}


def builder_choices(shop: dict, args) -> tuple[dict, list, dict, dict]:
    """(values, specs, css variables, errors) from the builder's query parameters."""
    errors: dict = {}
    chosen = [w for w in args.getlist("widget") if w in widgets.WIDGETS] or ["summary", "list"]
    values = {
        "widget": chosen, "product": (args.get("product") or "").strip(), "theme": args.get("theme") or "default",
        "locale": args.get("locale") or "", "font": args.get("font") or "",
        "radius": (args.get("radius") or "").strip(),
        **{name: (args.get(name) or "").strip() for name in COLOURS},
    }
    css: dict = {}
    for name, prop in COLOURS.items():
        if values[name]:
            if COLOUR_RE.match(values[name]):
                css[prop] = values[name]
            else:
                errors[name] = _("Use a colour like #1a5fb4.")
    if values["font"] not in FONTS:
        errors["font"] = _("Choose one of the fonts.")
    elif FONTS[values["font"]]:
        css["--eerlijk-font"] = FONTS[values["font"]]
    if values["radius"]:
        if values["radius"].isdigit() and int(values["radius"]) <= 32:
            css["--eerlijk-radius"] = f"{int(values['radius'])}px"
        else:
            errors["radius"] = _("Corner rounding is a number of pixels from 0 to 32.")
    if "product" in chosen and not values["product"]:
        errors["product"] = _("The product widget needs a product: choose one.")
    specs = []
    for name in chosen:
        query = {"theme": values["theme"], "locale": values["locale"]}
        if name == "product":
            if not values["product"]:
                continue
            query["product"] = values["product"]
        try:
            specs.append(parse_spec(query, name))
        except WidgetError as exc:
            errors[exc.field] = exc.message
    return values, specs, css, errors


def style_rule(css: dict) -> str:
    """The `<style>` a shop pastes above the widgets for its colours (empty when none are chosen)."""
    if not css:
        return ""
    body = " ".join(f"{prop}: {value};" for prop, value in css.items())
    return f"<style>[data-eerlijk] {{ {body} }}</style>"


def snippet_code(shop: dict, specs: list, css: dict, server: str) -> str:
    """The HTML to paste: optional style rule, one placeholder per widget, the loader script."""
    parts = [style_rule(css)] if css else []
    for spec in specs:
        parts.append(placeholder(shop, spec, server))
    parts.append(f'<script async src="{escape(server)}/embed.js"></script>')
    return "\n".join(parts) + "\n"


def include_lines(shop: dict, specs: list, server: str) -> dict:
    """Server-side include lines per widget: SSI (nginx) and ESI (Varnish, CDNs)."""
    ssi, esi = [], []
    for spec in specs:
        query = urlencode(spec.query())
        path = f"/w/{shop['slug']}/{spec.widget}.html" + (f"?{query}" if query else "")
        ssi.append(f'<!--# include virtual="{escape(path)}" -->')
        esi.append(f'<esi:include src="{escape(server + path)}"/>')
    return {"ssi": "\n".join(ssi), "esi": "\n".join(esi)}


def _build(shop: dict):
    try:
        values, specs, css, errors = builder_choices(shop, request.args)
        server = base_url().rstrip("/")
        code = snippet_code(shop, specs, css, server) if specs else ""
    except WidgetError as exc:
        abort(exc.status, description=exc.message)
    return values, specs, css, errors, code, include_lines(shop, specs, server)


@bp.get("/<shop>/snippet")
@member_required
def snippet(shop):
    """The builder page (JSON of the code and preview address with `Accept: application/json`)."""
    values, specs, css, errors, code, includes = _build(shop)
    preview = url_for("workspace.snippet_preview", shop=shop["slug"]) + "?" + request.query_string.decode()
    if request.accept_mimetypes.best == "application/json":
        return jsonify({"snippet": code, **includes, "preview_url": preview, "errors": errors})
    db = get_db()
    return render_template(
        "workspace/snippet.html", shop=shop, values=values, errors=errors, code=code, includes=includes,
        preview_url=preview, widget_names=widgets.WIDGETS, themes=themes(), locales=widgets.LOCALES,
        products=store.list_products(db, shop["id"]), fonts=[f for f in FONTS if f],
        counts=inbox_counts(db, shop["id"], target_hours(shop)),
    ), 400 if errors else 200


@bp.get("/<shop>/snippet/preview")
@member_required
def snippet_preview(shop):
    """A plain page that pastes the chosen snippet, as a shop's page would (for the builder's iframe)."""
    _values, specs, css, _errors = builder_choices(shop, request.args)
    # This server, by path: the frame is same-origin (the workspace's CSP allows scripts from 'self' only),
    # whichever address the owner uses, and the answer never repeats the request's Host header.
    server = request.script_root
    try:
        code = snippet_code(shop, specs, css, server) if specs else ""
    except WidgetError as exc:
        abort(exc.status, description=exc.message)
    return render_template("workspace/snippet_preview.html", shop=shop, code=code)
