"""Regenerate docs/screenshots/<theme>-<widget>.png: every widget in every shipped theme, from fixture data.

    /work/venv/bin/python docs/screenshots/make.py

Renders each widget with `widgets.render` (a realistic shop: several reviews of
every kind, a 1-star review with the shop's reply), puts one theme's widgets on
a page, opens it in Debian's headless Chromium through Playwright (never a
downloaded browser) and saves an element screenshot of each widget.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright

import widgets
from widgets import WIDGETS, Page, Reply
from widgets.fixtures import NOW, PRODUCT, SHOP, review, summary_of

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "tests"))
from conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (the same browser and flags as the tests)

THEMES = ("default", "minimal", "dark")
WIDTH = 520  # px: a typical sidebar/column width


def sample():
    """A realistic shop: mixed ratings, a 1-star review with a reply, verified and unverified, an edit."""
    reviews = [
        review(11, 5, days=1, author="Anna de Vries", title="Top fiets", body="Snel geleverd en goed afgesteld. "
               "Rijdt heerlijk licht.", product="BIKE-1"),
        review(12, 1, days=2, author="Mark", title="Kapot aangekomen", body="Het achterspatbord was gebroken "
               "en de bel ontbrak.", product="BIKE-1",
               reply=Reply("Wat vervelend, Mark. We sturen vandaag een nieuw spatbord en een bel mee.",
                           "Sanne", "klantenservice", NOW - timedelta(days=1))),
        review(13, 4, days=4, author="Ilse", title="Prima", body="Goede fiets, alleen het zadel is wat hard.",
               product="BIKE-1", edited=True),
        review(14, 3, days=6, author="Johan", title="Gaat wel", body="Levering duurde een week.", verified=False,
               product="BIKE-1"),
        review(15, 5, days=9, author="Fatima", title="Aanrader", body="Tweede fiets hier gekocht.", product="BIKE-1"),
    ]
    return dict(shop=SHOP, summary=summary_of(reviews), reviews=reviews, product=PRODUCT,
                page=Page(size=5), now=NOW, base_url="https://reviews.example", options={"limit": 3})


def page_for(theme: str) -> str:
    """One HTML page holding every widget of `theme` (one theme per page: their stylesheets share selectors)."""
    data = sample()
    sections = []
    for widget in WIDGETS:
        html = widgets.render(widget, theme=theme, locale="nl", **data)
        sections.append(f'<section id="shot-{widget}" style="width:{WIDTH}px;padding:12px">{html}</section>')
    background = "#1b1d21" if theme == "dark" else "#ffffff"
    return (f'<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>{theme}</title></head>'
            f'<body style="margin:0;font:16px/1.5 system-ui,sans-serif;background:{background}">' + "\n".join(sections) + "</body></html>")


def main() -> list[Path]:
    written = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": WIDTH + 40, "height": 900}, device_scale_factor=1)
        for theme in THEMES:
            page.set_content(page_for(theme), wait_until="load")
            for widget in WIDGETS:
                path = HERE / f"{theme}-{widget}.png"
                page.locator(f"#shot-{widget}").screenshot(path=str(path), animations="disabled")
                written.append(path)
        browser.close()
    return written


if __name__ == "__main__":
    paths = main()
    total = sum(p.stat().st_size for p in paths)
    for p in paths:
        print(f"{p.relative_to(HERE.parent.parent)}\t{p.stat().st_size // 1024} KB")
    print(f"{len(paths)} screenshots, {total / 1024:.0f} KB in all")
