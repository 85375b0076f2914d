"""widgets.layout: the height estimate the embed snippet reserves (its accuracy is measured in Chromium by
tests/test_layout_browser.py and benchmarks/widget_heights.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import widgets
from widgets import WIDGETS, layout
from widgets.fixtures import NOW, PRODUCT, SHOP, cases, review, summary_of

THEMES = ("default", "minimal", "dark")


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("widget", WIDGETS)
def test_every_widget_has_a_height_that_shrinks_as_it_widens(theme, widget):
    for name, data in cases().items():
        for locale in ("nl", "de"):
            html = widgets.render(widget, theme=theme, locale=locale, now=NOW, **data)
            steps = layout.heights(html, (theme,))
            assert steps and all(h > 0 for h in steps.values()), (name, locale)
            values = [steps[w] for w in sorted(steps)]
            assert values == sorted(values, reverse=True), (name, locale, steps)


def test_more_text_is_never_shorter():
    short = [review(1, 3, body="Goed.")]
    long = [review(1, 3, body="Goed. " * 200)]
    for widget in ("list", "recent", "product"):
        a = widgets.render(widget, shop=SHOP, summary=summary_of(short), reviews=short, product=PRODUCT, now=NOW)
        b = widgets.render(widget, shop=SHOP, summary=summary_of(long), reviews=long, product=PRODUCT, now=NOW)
        for width in (300, 600, 1200):
            assert layout.estimate(b, width) > layout.estimate(a, width) + 100


def test_text_width_follows_the_font_metrics():
    assert layout.text_width("iii", 16) < layout.text_width("mmm", 16)
    assert layout.text_width("Abc", 16, bold=True) > layout.text_width("Abc", 16)
    assert layout.text_width("Abc", 32) == pytest.approx(2 * layout.text_width("Abc", 16))


def test_not_a_widget_estimates_nothing():
    assert layout.estimate("<p>hello</p>", 400) == 0 and layout.heights("") == {}


@settings(max_examples=60, deadline=None)
@given(author=st.text(max_size=80), title=st.text(max_size=120), body=st.text(min_size=1, max_size=600),
       rating=st.integers(1, 5), width=st.integers(1, 2000))
def test_any_review_text_gets_a_finite_positive_estimate(author, title, body, rating, width):
    reviews = [review(1, rating, author=author, title=title, body=body)]
    html = widgets.render("list", shop=SHOP, summary=summary_of(reviews), reviews=reviews, now=NOW)
    height = layout.estimate(html, width)
    assert 0 < height < 10_000_000
