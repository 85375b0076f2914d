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
    fragment = re.sub(r"</?bdi>", "", fragment)  # inline isolation, not a word break
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
    make_theme(tmp_path, "default", "default",
               {"badge.html": '{% extends "default:badge.html" %}{% block subject %}<i>own</i>{% endblock %}'})
    out = render("badge", theme="default", theme_dirs=[tmp_path], **data(sample()))
    assert "<i>own</i>" in out and 'role="img"' in out


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


# --- look and feel: relative times, avatars, products, bidi isolation -------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_relative_times_are_never_later_than_the_truth_nor_finer_than_an_hour(locale):
    from datetime import timedelta

    from babel.dates import format_timedelta

    from widgets.i18n import Formatter

    fmt = Formatter(locale, NOW)
    within = fmt.gettext("in the last hour")
    assert within != "in the last hour" or locale == "en"
    for seconds in (0, 1, 58, 59 * 60 + 59, -5, -7200):  # the future (clock skew) too
        assert fmt.ago(NOW - timedelta(seconds=seconds)) == within
    cases = {timedelta(hours=1): (1, "hour"), timedelta(hours=23, minutes=59): (23, "hour"),
             timedelta(days=1, hours=23): (1, "day"), timedelta(days=13): (1, "week"),
             timedelta(days=59): (1, "month"), timedelta(days=364): (12, "month"),
             timedelta(days=365 * 2 - 1): (1, "year")}
    sizes = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 30 * 86400, "year": 365 * 86400}
    for delta, (count, unit) in cases.items():
        expected = format_timedelta(timedelta(seconds=-count * sizes[unit]), add_direction=True, threshold=1, locale=locale)
        assert fmt.ago(NOW - delta) == expected, (delta, fmt.ago(NOW - delta), expected)


def test_fresh_replies_say_in_the_last_hour_never_seconds():
    reviews = [review(1, 1, days=0, reply=Reply("Sorry!", "Eva", "owner", NOW - __import__("datetime").timedelta(seconds=58)))]
    out = render("list", locale="en", **data(reviews))
    assert "in the last hour" in text(out) and "second" not in text(out) and "minute" not in text(out)


def test_avatars_show_initials_in_a_stable_colour_with_enough_contrast():
    from widgets import avatar

    assert avatar.initials("Anna de Vries") == "AV" and avatar.initials("mark") == "M"
    assert avatar.initials("محمد عبد الله") == "م" and avatar.initials("  ") == "?"
    assert avatar.color("Anna de Vries") == avatar.color(" anna  DE vries ")
    assert len({avatar.color(f"Klant {i}") for i in range(200)}) == len(avatar.PALETTE)  # all colours in use
    assert [avatar.PALETTE.index(avatar.color(f"Klant {i}")) for i in range(50)] == \
        [avatar.DARK_PALETTE.index(avatar.color(f"Klant {i}", "dark")) for i in range(50)]  # same hue in both
    out = render("list", locale="nl", **data([review(1, 4, author="Anna de Vries")]))
    (tag,) = re.findall(r'<span class="eerlijk-avatar"[^>]*>[^<]*</span>', out)
    assert 'aria-hidden="true"' in tag and ">AV<" in tag
    assert f"--_avatar: {avatar.color('Anna de Vries')}; --_avatar-dark: {avatar.color('Anna de Vries', 'dark')}" in tag


def _theme_css(name: str) -> str:
    from widgets.theme import shipped_themes_dir  # the installed package's themes (widgets.themes), as served

    return (shipped_themes_dir() / name / "theme.css").read_text()


def _css_value(css: str, selector: str, prop: str) -> str:
    """The `#rrggbb` a rule of `selector` gives `prop` (directly, or as the fallback of var(--eerlijk-..., #...))."""
    block = css[css.index(selector):].split("}", 1)[0]
    value = re.search(rf"(?:^|[;{{\s]){re.escape(prop)}:\s*([^;]+);", block).group(1)
    return re.search(r"#[0-9a-fA-F]{6}", value).group(0).lower()


@pytest.mark.parametrize("variant", ["light", "dark"])
def test_every_avatar_colour_meets_wcag_aa_in_its_theme(variant):
    """The whole palette, not a sample, against the colours the theme CSS really uses: initials on the disc at
    4.5:1 (WCAG 1.4.3: 0.9em bold is not large text), the disc on the widget background at 3:1 (1.4.11)."""
    from widgets import avatar

    default, dark = _theme_css("default"), _theme_css("dark")
    if variant == "light":
        background = _css_value(default, ":where(.eerlijk) {", "--_bg")
        initials = _css_value(default, ".eerlijk .eerlijk-avatar {", "color")
        assert "background-color: var(--_avatar)" in default
    else:
        background = _css_value(dark, ':where(.eerlijk[data-eerlijk-variant="dark"]) {', "--_bg")
        initials = _css_value(dark, '.eerlijk[data-eerlijk-variant="dark"] .eerlijk-avatar {', "color")
        assert _css_value(dark, '.eerlijk[data-eerlijk-variant="auto"] .eerlijk-avatar {', "color") == initials
        assert "background-color: var(--_avatar-dark)" in dark
    assert initials == {"light": avatar.TEXT_COLOR, "dark": avatar.DARK_TEXT_COLOR}[variant]
    palette = avatar.PALETTES[variant]
    assert len(palette) == len(set(palette)) == len(avatar.PALETTE)
    failing = {colour: (round(avatar.contrast(initials, colour), 2), round(avatar.contrast(colour, background), 2))
               for colour in palette
               if avatar.contrast(initials, colour) < 4.5 or avatar.contrast(colour, background) < 3}
    assert not failing, f"(initials, disc on {background}) contrast below 4.5 / 3: {failing}"


def test_shop_wide_widgets_name_and_link_each_reviews_product():
    from widgets import Product

    other = Product(sku="LAMP-2", name="Lamp <Noor>", url="https://shop.example/p/lamp-2")
    reviews = [review(1, 5, product="BIKE-1"), review(2, 1, product="LAMP-2"), review(3, 3, product="GONE"), review(4, 4)]
    for widget in ("list", "recent"):
        out = render(widget, locale="nl", products=[PRODUCT, other], **data(reviews))
        assert out.count('part="review-product"') == 2
        assert f'Over <a href="{PRODUCT.url}"><bdi>{PRODUCT.name}</bdi></a>' in out
        assert '<a href="https://shop.example/p/lamp-2"><bdi>Lamp &lt;Noor&gt;</bdi></a>' in out
    # The product widget's reviews are all about its product: no line per review.
    assert 'part="review-product"' not in render("product", locale="nl", **data(reviews))
    # A dict by SKU works too.
    assert "Lamp &lt;Noor&gt;" in render("list", locale="nl", products={"LAMP-2": other}, **data(reviews))


def test_user_text_is_isolated_for_right_to_left_names():
    reviews = [review(1, 2, author="محمد", title="سيء", body="لم يصل", reply=Reply("תודה", "דוד", "בעלים", NOW))]
    out = render("list", locale="nl", **data(reviews))
    assert "<bdi>محمد</bdi>" in out and "<bdi>דוד</bdi>" in out and "<bdi>בעלים</bdi>" in out
    for part in ("review-title", "review-body", "reply-body"):
        assert re.search(rf'part="{part}" dir="auto"', out), part
