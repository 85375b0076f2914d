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

# Everything is found with str.find on a lower-cased copy (fast literal search), then checked in place.
_RAW_OPEN = ("<!--", "<script", "<style", "<textarea", "<title")  # text inside is never shown as elements
_HIDING_WORDS = ("hidden", "inert", "display", "visibility", "<template", "<noscript")
_TAG = re.compile(r"""<([a-z][a-z0-9-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>""")
_QUOTED = re.compile(r""""[^"]*"|'[^']*'""")
_HIDING_ATTR = re.compile(r'\s(?:hidden|inert)(?=[\s/=]|$)')
_HIDING_VALUE = re.compile(r'\saria-hidden\s*=\s*"true"|\sstyle\s*=\s*"[^"]*(?:display\s*:\s*none|visibility\s*:\s*hidden)')
_ID = re.compile(r'data-review-id\s*=\s*"([^"]*)"')
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
_NEVER_SHOWN = frozenset(("template", "noscript"))
_CLOSERS: dict[str, re.Pattern] = {}


def _raw_spans(low: str) -> list[tuple[int, int]]:
    """Comments and the raw text of script, style, textarea and title elements."""
    spans = []
    for opener in _RAW_OPEN:
        closer = "-->" if opener == "<!--" else "</" + opener[1:]
        i = low.find(opener)
        while i != -1:
            end = low.find(closer, i + len(opener))
            end = len(low) if end == -1 else end + len(closer)
            spans.append((i, end))
            i = low.find(opener, end)
    return spans


def _tag_start(low: str, pos: int) -> int:
    """Start of the tag whose text holds `pos`, or -1 when `pos` is in text between tags."""
    start = low.rfind("<", 0, pos + 1)
    return start if start >= 0 and low.find(">", start, pos) == -1 else -1


def _element_end(low: str, start: int, name: str) -> int:
    """Where the element opened at `start` ends (its matching close tag; the end of the text if none)."""
    if name in _VOID:
        return low.find(">", start) + 1
    closer = _CLOSERS.get(name)
    if closer is None:
        closer = _CLOSERS[name] = re.compile(r"<(/?)" + re.escape(name) + r"\b[^>]*>")
    depth = 0
    for tag in closer.finditer(low, start):
        if not tag.group(1) and tag.group(0).endswith("/>"):
            continue
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            return tag.end()
    return len(low)


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(start <= pos < end for start, end in spans)


def _hidden_spans(low: str, raw: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The elements that hide themselves and their content (attributes hidden, inert, aria-hidden="true",
    style display:none or visibility:hidden; template, noscript)."""
    starts = set()
    for word in _HIDING_WORDS:
        i = low.find(word)
        while i != -1:
            start = _tag_start(low, i)
            if start != -1 and not _inside(start, raw):
                starts.add(start)
            i = low.find(word, i + 1)
    spans = []
    for start in sorted(starts):
        tag = _TAG.match(low, start)
        if tag is None:
            continue
        name, attrs = tag.group(1), tag.group(2)
        if name in _NEVER_SHOWN or _HIDING_ATTR.search(_QUOTED.sub('""', attrs)) or _HIDING_VALUE.search(attrs):
            spans.append((start, _element_end(low, start, name)))
    return spans


def review_ids(html: str) -> tuple[set[str], set[str]]:
    """(ids of every element with data-review-id, ids of those that are visible) in a fragment.

    Visible: the attribute is in an element's opening tag, not inside a comment
    or the raw text of script/style/textarea/title, not inside template or
    noscript, and neither the element nor an ancestor is marked hidden, inert,
    aria-hidden="true" or styled display:none or visibility:hidden. Review text
    cannot forge an id: autoescaping turns its quotes into entities.
    """
    low = html.lower()
    raw = _raw_spans(low)
    hidden = _hidden_spans(low, raw)
    present: set[str] = set()
    visible: set[str] = set()
    for found in _ID.finditer(low):
        pos = found.start()
        if not low[pos - 1:pos].isspace() or _inside(pos, raw):
            continue
        start = _tag_start(low, pos)
        if start == -1 or not _TAG.match(low, start):
            continue
        present.add(found.group(1))
        if not _inside(pos, hidden):
            visible.add(found.group(1))
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
