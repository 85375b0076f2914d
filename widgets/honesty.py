"""The honesty check: a rendered list, product or recent widget shows every review it was given, whatever the theme.

Themes are templates written by shops and their developers. A template can
loop `{% for review in reviews if review.rating >= 4 %}` and so hide every low
rating without anyone noticing in review. The check makes that impossible by
construction instead: `widgets.render` hands each rendered list, product and
recent fragment to `verify`, which requires one element with
`data-review-id="<id>"` for every review in the widget's context, outside
comments, `<template>` and `<noscript>`, with neither it nor an ancestor
marked `hidden`, `inert`, `aria-hidden="true"` or styled `display: none` /
`visibility: hidden`. A theme that fails is refused with `ThemeRefused`
(never rendered output); the server then renders the default theme instead
and logs the refusal, and `widgetserver theme check` fails the theme with the
same message. See docs/themes.md ("Every review is shown").
"""

from __future__ import annotations

import re

CHECKED_WIDGETS = ("list", "product", "recent")

# Text that is never shown as elements: comments and the raw text of script, style, textarea and title.
_RAW = re.compile(r"<!--.*?(?:-->|$)|<(script|style|textarea|title)\b[^>]*>.*?(?:</\1\s*>|$)", re.S | re.I)
_TAG = re.compile(r"""<(/?)([A-Za-z][A-Za-z0-9-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>""")
_ID = re.compile(r'\sdata-review-id\s*=\s*"([^"]*)"')
_HIDDEN = re.compile(
    r'\s(?:hidden|inert)(?=[\s/=]|$)|\saria-hidden\s*=\s*"true"'
    r'|\sstyle\s*=\s*"[^"]*(?:display\s*:\s*none|visibility\s*:\s*hidden)', re.IGNORECASE)
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
_NEVER_SHOWN = frozenset(("template", "noscript"))


def review_ids(html: str) -> tuple[set[str], set[str]]:
    """(ids of every element with data-review-id, ids of those that are visible) in a fragment.

    Visible: not inside a comment, template or noscript, and neither it nor an
    ancestor is marked hidden, inert, aria-hidden="true" or styled display:none
    or visibility:hidden. Review text cannot forge an id: autoescaping turns its
    quotes into entities.
    """
    present: set[str] = set()
    visible: set[str] = set()
    stack: list[tuple[str, bool]] = []  # open elements: (name, hidden)
    for match in _TAG.finditer(_RAW.sub("", html)):
        closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3)
        if closing:
            for depth in range(len(stack) - 1, -1, -1):  # close up to the matching element
                if stack[depth][0] == name:
                    del stack[depth:]
                    break
            continue
        hidden = (stack[-1][1] if stack else False) or name in _NEVER_SHOWN or bool(_HIDDEN.search(attrs))
        if "data-review-id" in attrs:
            found = _ID.search(attrs)
            if found:
                present.add(found.group(1))
                if not hidden:
                    visible.add(found.group(1))
        if name not in _VOID and not attrs.rstrip().endswith("/"):
            stack.append((name, hidden))
    return present, visible


class ThemeRefused(Exception):
    """A theme rendered a widget without some of its reviews; `missing` holds (id, rating) of each."""

    def __init__(self, theme: str, widget: str, missing: list[tuple[int, int]], hidden: bool = False):
        self.theme = theme
        self.widget = widget
        self.missing = missing
        listed = ", ".join(f"{review_id} ({rating} star{'s' if rating != 1 else ''})" for review_id, rating in missing)
        how = "marks these reviews hidden" if hidden else "left out these reviews"
        super().__init__(
            f"theme {theme!r} {how} in the {widget} widget: {listed}. A list, product or recent widget must show "
            f"every review it is given, each in a visible element with data-review-id=\"<id>\" (the default "
            f"theme's _review.html does this); themes may change how reviews look, never which are shown. "
            f"See docs/themes.md, \"Every review is shown\".")


def verify(widget: str, theme: str, html: str, reviews) -> None:
    """Check a rendered fragment shows every review of its context.

    :raise ThemeRefused: a review has no element with its data-review-id, or only hidden ones.
    """
    if widget not in CHECKED_WIDGETS or not reviews:
        return
    present, visible = review_ids(html)
    absent = [(r.id, r.rating) for r in reviews if str(r.id) not in present]
    if absent:
        raise ThemeRefused(theme, widget, absent)
    hidden = [(r.id, r.rating) for r in reviews if str(r.id) not in visible]
    if hidden:
        raise ThemeRefused(theme, widget, hidden, hidden=True)
