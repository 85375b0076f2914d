"""A theme can never hide low ratings: every list, product and recent render must show each of its reviews."""

from __future__ import annotations

import logging
import re

import pytest

import widgets
from widgets import fixtures
from widgets.honesty import ThemeRefused, verify
from widgets.theme import check, scaffold
from widgetserver import store
from widgetserver.cli import main

HIDE_LOW = """{% extends "default:WIDGET.html" %}
{% from "_review.html" import review_item with context %}
{% block reviews %}{% for review in reviews if review.rating >= 4 %}{{ review_item(review) }}{% endfor %}{% endblock %}
"""
MARK_HIDDEN = """{% extends "default:WIDGET.html" %}
{% from "_review.html" import review_item with context %}
{% block reviews %}{% for review in reviews %}{% if review.rating < 3 %}<div hidden>{% endif %}
{{ review_item(review)|replace('data-review-id=', 'hidden data-review-id=' if review.rating < 3 else 'data-review-id=') }}
{% if review.rating < 3 %}</div>{% endif %}{% endfor %}{% endblock %}
"""


def dishonest_theme(dest, name="rosy", template=HIDE_LOW, widgets_=("list", "product", "recent")):
    path = scaffold(name, dest)
    for widget in widgets_:
        (path / "templates" / f"{widget}.html").write_text(template.replace("WIDGET", widget))
    return path


def every_rating():
    return fixtures.cases()["every rating"]


@pytest.mark.parametrize("widget", ["list", "product", "recent"])
def test_library_refuses_a_theme_that_skips_low_ratings(tmp_path, widget):
    dishonest_theme(tmp_path)
    with pytest.raises(ThemeRefused) as refused:
        widgets.render(widget, theme="rosy", theme_dirs=[tmp_path], now=fixtures.NOW, **every_rating())
    message = str(refused.value)
    assert "theme 'rosy' left out these reviews" in message and f"{widget} widget" in message
    assert "11 (1 star), 12 (2 stars), 13 (3 stars)" in message and "data-review-id" in message
    assert refused.value.missing == [(11, 1), (12, 2), (13, 3)]


def test_library_refuses_reviews_marked_hidden(tmp_path):
    dishonest_theme(tmp_path, template=MARK_HIDDEN, widgets_=("list",))
    with pytest.raises(ThemeRefused) as refused:
        widgets.render("list", theme="rosy", theme_dirs=[tmp_path], now=fixtures.NOW, **every_rating())
    assert "marks these reviews hidden" in str(refused.value)
    assert refused.value.missing == [(11, 1), (12, 2)]


@pytest.mark.parametrize("theme", ["default", "minimal", "dark"])
def test_shipped_themes_show_every_review_and_pass_the_check(theme):
    assert check(theme) == []
    for widget in ("list", "product", "recent"):
        html = str(widgets.render(widget, theme=theme, now=fixtures.NOW, **every_rating()))
        assert sorted(map(int, re.findall(r'data-review-id="(\d+)"', html))) == [11, 12, 13, 14, 15]


@pytest.mark.parametrize("threshold", [2, 3, 4, 5])
@pytest.mark.parametrize("widget", ["list", "product", "recent"])
def test_any_rating_filter_is_caught(threshold, widget):
    reviews = every_rating()["reviews"]
    honest = "".join(f'<article data-review-id="{r.id}">{r.rating}</article>' for r in reviews)
    verify(widget, "t", honest, reviews)  # all there: fine
    filtered = "".join(f'<article data-review-id="{r.id}">{r.rating}</article>' for r in reviews
                       if r.rating >= threshold)
    with pytest.raises(ThemeRefused) as refused:
        verify(widget, "t", filtered, reviews)
    assert [rating for _, rating in refused.value.missing] == list(range(1, threshold))


@pytest.mark.parametrize("tag", [
    '<article hidden data-review-id="11">', '<article data-review-id="11" hidden>',
    '<article data-review-id="11" aria-hidden="true">', '<article data-review-id="11" inert>',
    '<article data-review-id="11" style="display: none">', '<article style="visibility:hidden" data-review-id="11">',
])
def test_hidden_markers_on_the_review_element_are_refused(tag):
    reviews = every_rating()["reviews"][:1]
    with pytest.raises(ThemeRefused):
        verify("list", "t", tag + "x</article>", reviews)
    verify("list", "t", '<article data-review-id="11" data-hidden-note="no">x</article>', reviews)


def test_badge_and_summary_are_not_checked():
    verify("badge", "t", "<div></div>", every_rating()["reviews"])
    verify("summary", "t", "<div></div>", every_rating()["reviews"])


def test_theme_check_fails_a_dishonest_theme_with_a_clear_message(runner, app):
    dishonest_theme(app.config["THEME_DIRS"][0])
    result = runner.invoke(main, ["theme", "check", "rosy"])
    assert result.exit_code == 1
    assert "rosy: list widget, every rating: REFUSED: theme 'rosy' left out these reviews" in result.output
    assert "11 (1 star)" in result.output and "never which are shown" in result.output
    assert result.output.count("list widget, every rating: REFUSED") == 1  # once, not once per locale
    assert "problem(s)" in result.output


def test_server_never_serves_the_dishonest_render(app, client, db, shop, caplog):
    dishonest_theme(app.config["THEME_DIRS"][0])
    ids = [store.add_review(db, shop["id"], rating=r, author=f"A{r}", body=f"{r} stars", product_sku="SKU-1")
           for r in range(1, 6)]
    for path in ("/w/acme/list.html?theme=rosy", "/w/acme/product.html?product=SKU-1&theme=rosy",
                 "/w/acme/recent.html?theme=rosy", "/s/acme?theme=rosy"):
        with caplog.at_level(logging.WARNING):
            response = client.get(path)
        assert response.status_code == 200, path
        shown = sorted(map(int, re.findall(r'data-review-id="(\d+)"', response.get_data(as_text=True))))
        assert shown == ids, path
    assert any("theme 'rosy' left out these reviews" in r.getMessage() and "default theme instead" in r.getMessage()
               for r in caplog.records)
    # An honest page of the same theme (badge, summary) still renders with it.
    assert client.get("/w/acme/badge.html?theme=rosy").status_code == 200


@pytest.mark.parametrize("wrapper", [
    ('<div hidden>', '</div>'), ('<section aria-hidden="true"><div>', '</div></section>'),
    ('<div style="display:none"><p>', '</p></div>'), ('<template>', '</template>'), ('<noscript>', '</noscript>'),
    ('<!-- ', ' -->'), ('<style>/* ', ' */</style>'), ('<textarea>', '</textarea>'),
])
def test_reviews_inside_hidden_ancestors_comments_or_raw_text_are_refused(wrapper):
    reviews = every_rating()["reviews"]
    low, rest = reviews[0], reviews[1:]
    html = ("<div>" + wrapper[0] + f'<article data-review-id="{low.id}">1</article>' + wrapper[1]
            + "".join(f'<article data-review-id="{r.id}"><img src="x"><br/>{r.rating}</article>' for r in rest)
            + "</div>")
    with pytest.raises(ThemeRefused) as refused:
        verify("list", "t", html, reviews)
    assert refused.value.missing == [(low.id, low.rating)]


def test_review_text_cannot_forge_an_id(tmp_path):
    """A review whose text imitates another review's attribute does not stand in for it (autoescape)."""
    data = every_rating()
    forged = fixtures.review(99, 5, body='<article data-review-id="11">', title='x" data-review-id="11')
    reviews = [r for r in data["reviews"] if r.id != 11] + [forged]
    path = scaffold("skip11", tmp_path)
    (path / "templates" / "list.html").write_text(HIDE_LOW.replace("WIDGET", "list").replace(
        "review.rating >= 4", "review.id != 11"))
    with pytest.raises(ThemeRefused):
        widgets.render("list", theme="skip11", theme_dirs=[tmp_path], now=fixtures.NOW,
                       **{**data, "reviews": data["reviews"] + [forged]})
    assert str(widgets.render("list", now=fixtures.NOW, **{**data, "reviews": reviews}))
