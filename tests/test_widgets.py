"""Widget rendering: every widget x locale x theme, figures, escaping, sandbox, themes, debug output."""

import html
import re
import pytest
from jinja2.exceptions import SecurityError

import widgets
from widgets import LOCALES, WIDGETS, Page, Reply, Shop, Summary, available_themes, render
from widgets import theme
from widgets.fixtures import NOW, PRODUCT, SHOP, review, summary_of

SHIPPED = ("default", "minimal", "dark")


def data(reviews, **extra):
    return dict(shop=SHOP, summary=summary_of(reviews), reviews=reviews, product=PRODUCT, now=NOW, **extra)


def sample():
    return [review(1, 5, days=1), review(2, 4, days=2), review(3, 4, days=3), review(4, 1, days=4, verified=False)]


def text(fragment):
    """Visible text without tags, unescaped, whitespace collapsed."""
    fragment = re.sub(r"<style>.*?</style>|<script.*?</script>", "", fragment, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def test_shipped_themes_are_found():
    assert set(SHIPPED) <= set(available_themes())


@pytest.mark.parametrize("theme_name", SHIPPED)
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("widget", WIDGETS)
def test_every_widget_renders(widget, locale, theme_name):
    out = render(widget, theme=theme_name, locale=locale, **data(sample()))
    assert f'data-eerlijk-widget="{widget}"' in out
    assert f'lang="{locale}"' in out
    assert 'role="img" aria-label="' in out
    assert out.lstrip().startswith('<div class="eerlijk ')


@pytest.mark.parametrize("theme_name", SHIPPED)
def test_theme_check_passes_for_shipped_themes(theme_name):
    assert theme.check(theme_name) == []


@pytest.mark.parametrize("locale, score, stars", [
    ("nl", "3,5", "3,5 van 5 sterren"), ("en", "3.5", "3.5 out of 5 stars"),
    ("de", "3,5", "3,5 von 5 Sternen"), ("fr", "3,5", "3,5 sur 5 étoiles"),
])
def test_badge_shows_score_count_and_star_text(locale, score, stars):
    out = render("badge", locale=locale, **data(sample()))
    assert f">{score}<" in out
    assert f'aria-label="{stars}"' in out
    assert "4" in text(out)
    assert 'href="https://reviews.example/s/demo"' in out


def test_average_rounds_half_up_and_counts_are_localized():
    summary = Summary(count=1234, rating_sum=1234 * 4 + 617, distribution={1: 0, 2: 0, 3: 0, 4: 617, 5: 617})
    assert summary.average == 4.5
    summary = Summary(count=4, rating_sum=17, distribution={1: 0, 2: 0, 3: 0, 4: 3, 5: 1})  # 4.25
    assert ">4,3<" in render("badge", shop=SHOP, summary=summary, locale="nl", now=NOW)
    big = Summary(count=1234, rating_sum=4936, distribution={1: 0, 2: 0, 3: 0, 4: 1234, 5: 0})
    assert "1.234 reviews" in text(render("badge", shop=SHOP, summary=big, locale="nl", now=NOW))
    assert "1,234 reviews" in text(render("badge", shop=SHOP, summary=big, locale="en", now=NOW))
    assert "1 Bewertung" in text(render("badge", locale="de", **data([review(1, 3)])))


def test_summary_distribution_matches_data_and_links_to_filtered_list():
    out = render("summary", locale="en", **data(sample()))
    assert 'aria-label="5 stars: 1 review"' in out
    assert 'aria-label="4 stars: 2 reviews"' in out
    assert 'aria-label="1 star: 1 review"' in out
    assert 'aria-label="3 stars: 0 reviews"' in out
    assert 'href="https://reviews.example/s/demo?stars=4"' in out
    assert "width: 50%" in out  # 2 of 4 reviews have four stars


def test_list_filters_sorts_paging_and_marks():
    reviews = sample()
    reviews[0] = review(1, 5, days=1, edited=True, reply=Reply("Dank je!", "Sanne", "eigenaar", NOW))
    out = render("list", locale="nl", page=Page(stars=None, sort="newest", number=1, size=2), **data(reviews))
    visible = text(out)
    for label in ("Alle", "5 sterren", "1 ster", "Nieuwste", "Oudste", "Hoogste score", "Laagste score"):
        assert label in visible
    assert "Geverifieerde aankoop" in visible and "Niet geverifieerd" in visible
    assert "Bijgewerkt" in visible
    assert "Reactie van Sanne, eigenaar" in visible
    assert "Pagina 1 van 2" in visible and "Volgende pagina" in visible
    assert 'href="https://reviews.example/s/demo?page=2"' in out
    assert 'href="https://reviews.example/s/demo?stars=1"' in out
    assert 'href="/s/demo/reviews/4/report"' in out
    assert "3 dagen geleden" in visible
    assert visible.index("Anna") < visible.index("Reactie van Sanne")
    assert 'aria-current="true"' in out


def test_list_uses_shop_link_builder_and_current_filter():
    page = Page(stars=4, sort="lowest", number=2, size=1, link=lambda stars=None, sort="newest", page=1: f"/r/{stars}/{sort}/{page}")
    out = render("list", locale="en", page=page, **data(sample()))
    assert 'href="/r/4/lowest/1"' in out  # previous page keeps filter and sort
    assert 'href="/r/4/lowest/3"' not in out  # two 4-star reviews, page size 1: no page 3
    assert re.search(r'aria-current="true">4 stars<', out)


def test_page_from_query_ignores_bad_values():
    page = Page.from_query({"stars": "9", "sort": "evil", "page": "-3"})
    assert (page.stars, page.sort, page.number) == (None, "newest", 1)
    assert Page.from_query({"stars": "2", "sort": "lowest", "page": "3"}).stars == 2
    with pytest.raises(ValueError, match="Page.sort"):
        Page(sort="best")


def test_recent_shows_newest_of_every_rating():
    reviews = [review(i, rating, days=i) for i, rating in enumerate((1, 5, 2, 4, 3, 5, 1), start=1)]
    out = render("recent", locale="en", options={"limit": 3}, **data(reviews))
    assert re.findall(r'data-review-id="(\d+)"', out) == ["1", "2", "3"]
    assert 'aria-label="1 out of 5 stars"' in out


def test_no_option_can_hide_low_ratings():
    with pytest.raises(ValueError, match="unknown key"):
        render("list", options={"min_rating": 4}, **data(sample()))
    assert set(widgets.OPTIONS) == {"limit", "variant", "report_url"}


def test_unknown_locale_falls_back_to_shop_locale_then_english():
    assert 'lang="nl"' in render("badge", locale="xx", **data(sample()))
    assert 'lang="de"' in render("badge", locale="de_AT", **data(sample()))
    english = Shop(slug="s", name="S", locale="pt")
    assert 'lang="en"' in render("badge", shop=english, locale="zz", now=NOW)


HOSTILE = "<script>alert(1)</script></script><img src=x onerror=alert(1)> {{7*7}} {% raw %}\x00\x07\x1b\u2028&amp;"


@pytest.mark.parametrize("widget", ["list", "product", "recent"])
def test_hostile_text_is_inert(widget):
    bad = review(1, 1, author=HOSTILE, title=HOSTILE, body=HOSTILE + "\nline",
                 reply=Reply(HOSTILE, HOSTILE, HOSTILE, NOW))
    out = render(widget, locale="en", **data([bad]))
    body = out.split("</style>", 1)[1]
    assert "<script>alert" not in body
    assert "<img" not in body
    assert "49" not in body
    assert "{{7*7}}" in html.unescape(body)
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", out)
    assert "&lt;script&gt;" in body
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", out, flags=re.S)
    assert len(scripts) == 1  # only the JSON-LD; the hostile </script> never closed it
    assert "<" not in scripts[0] and "\u2028" not in scripts[0]


def test_body_newlines_become_line_breaks_after_escaping():
    out = render("list", locale="en", **data([review(1, 3, body="a <b>\nc")]))
    assert "a &lt;b&gt;<br>\nc" in out


def test_sandbox_blocks_python_internals(tmp_path):
    evil = tmp_path / "evil" / "templates"
    evil.mkdir(parents=True)
    (tmp_path / "evil" / "theme.toml").write_text('name = "evil"\nextends = "default"\n')
    (evil / "badge.html").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(SecurityError):
        render("badge", theme="evil", theme_dirs=[tmp_path], **data(sample()))
    (evil / "badge.html").write_text("{{ shop.__class__ }}")
    with pytest.raises(SecurityError):
        render("badge", theme="evil", theme_dirs=[tmp_path], **data(sample()))
    (evil / "badge.html").write_text("{{ summary.distribution.clear() }}")
    with pytest.raises(SecurityError):
        render("badge", theme="evil", theme_dirs=[tmp_path], **data(sample()))


def make_theme(root, name, extends, templates, css=""):
    folder = root / name
    (folder / "templates").mkdir(parents=True)
    (folder / "theme.toml").write_text(f'name = "{name}"\ndescription = "test"\nextends = "{extends}"\n')
    (folder / "theme.css").write_text(css)
    for file, source in templates.items():
        (folder / "templates" / file).write_text(source)


def test_theme_inheritance_default_prefix_and_debug_comment(tmp_path):
    make_theme(tmp_path, "shopa", "minimal", {
        "list.html": '{% extends "default:list.html" %}{% block heading %}<h2 part="heading">OURS</h2>{% endblock %}',
    }, css=".eerlijk { --eerlijk-radius: 0; }")
    out = render("list", theme="shopa", theme_dirs=[tmp_path], debug=True, locale="en", **data(sample()))
    assert out.startswith("<!--")
    comment = out[: out.index("-->")]
    assert "shopa:list.html (used)" in comment
    assert "minimal:list.html (found)" in comment and "default:list.html (found)" in comment
    assert "OURS" in out and "Filter by rating" in out
    # CSS of the whole chain, least specific first
    assert out.index("/* theme: default */") < out.index("/* theme: minimal */") < out.index("/* theme: shopa */")
    # badge is not overridden in shopa: minimal's version is used
    badge = render("badge", theme="shopa", theme_dirs=[tmp_path], debug=True, **data(sample()))
    assert "shopa:badge.html (not found)" in badge and "minimal:badge.html (used)" in badge


def test_user_theme_may_shadow_and_extend_shipped_theme(tmp_path):
    make_theme(tmp_path, "default", "default", {"badge.html": '{% extends "default:badge.html" %}{% block height %}99{% endblock %}'})
    out = render("badge", theme="default", theme_dirs=[tmp_path], **data(sample()))
    assert 'data-eerlijk-height="99"' in out and 'role="img"' in out


def test_unknown_theme_names_available_ones():
    with pytest.raises(widgets.ThemeError, match="available themes: .*default"):
        render("badge", theme="nope", **data(sample()))


def test_scaffold_writes_a_working_theme(tmp_path):
    path = theme.scaffold("myshop", tmp_path, extends="dark")
    assert {p.name for p in path.iterdir()} == {"theme.toml", "templates", "theme.css"}
    assert theme.check("myshop", theme_dirs=[tmp_path]) == []
    out = render("list", theme="myshop", theme_dirs=[tmp_path], locale="de", **data(sample()))
    assert "Bewertungen von Fietsenwinkel De Ketting" in out
    assert 'data-eerlijk-variant="dark"' in out
    with pytest.raises(widgets.ThemeError):
        theme.scaffold("myshop", tmp_path)


def test_check_reports_template_errors_and_missing_star_text(tmp_path):
    make_theme(tmp_path, "broken", "default", {
        "badge.html": '{% extends "base.html" %}{% block content %}{{ no_such_variable }}{% endblock %}',
        "recent.html": '{% extends "base.html" %}{% block content %}<span class="eerlijk-stars"></span>{% endblock %}',
    })
    problems = theme.check("broken", theme_dirs=[tmp_path])
    assert any("badge widget" in p and "no_such_variable" in p for p in problems)
    assert any("recent widget" in p and "text alternative" in p for p in problems)


def test_dark_theme_follows_color_scheme_with_auto_variant():
    out = render("badge", theme="dark", options={"variant": "auto"}, **data(sample()))
    assert 'data-eerlijk-variant="auto"' in out
    assert "prefers-color-scheme: dark" in out
    assert 'data-eerlijk-variant="dark"' in render("badge", theme="dark", **data(sample()))


def test_css_is_scoped_to_the_widget():
    out = render("list", theme="dark", **data(sample()))
    css = re.search(r"<style>(.*?)</style>", out, flags=re.S).group(1)
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = re.sub(r"@media[^{]*\{", "", css)
    for selector_group in re.findall(r"([^{}]+)\{", css):
        for selector in selector_group.split(","):
            selector = selector.strip()
            assert selector.startswith((":host", ".eerlijk", ":where(.eerlijk")), selector
    for prop in ("--eerlijk-star-color", "--eerlijk-font", "--eerlijk-radius", "--eerlijk-bg", "--eerlijk-fg", "--eerlijk-accent"):
        assert prop in css
    assert ":focus-visible" in css


def test_relative_dates_are_localized():
    reviews = [review(1, 4, days=3)]
    assert "3 days ago" in render("recent", locale="en", **data(reviews))
    assert "il y a 3 jours" in render("recent", locale="fr", **data(reviews))
    assert "vor 3 Tagen" in render("recent", locale="de", **data(reviews))


def test_bad_arguments_say_what_to_do():
    with pytest.raises(ValueError, match="use one of"):
        render("carousel", shop=SHOP)
    with pytest.raises(ValueError, match="product="):
        render("product", shop=SHOP)
    with pytest.raises(ValueError, match="markup"):
        render("badge", shop=SHOP, markup="rdfa")
