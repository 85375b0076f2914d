"""`widgetserver theme new / check / list / preview` and the preview app."""

from pathlib import Path

import pytest

from widgets import LOCALES, WIDGETS, fixtures
from widgetserver.cli import main
from widgetserver.preview import create_preview_app

SHIPPED = ("default", "minimal", "dark")


def invoke(runner, *args):
    return runner.invoke(main, ["theme", *args])


def test_new_scaffolds_into_the_first_theme_dir_and_check_passes(runner, app):
    result = invoke(runner, "new", "myshop", "--extends", "minimal")
    assert result.exit_code == 0, result.output
    path = Path(app.config["THEME_DIRS"][0]) / "myshop"
    assert (path / "theme.toml").read_text().count('extends = "minimal"') == 1
    assert (path / "templates" / "list.html").is_file() and (path / "theme.css").is_file()
    assert "widgetserver theme check myshop" in result.output
    assert "widgetserver theme preview myshop" in result.output

    result = invoke(runner, "check", "myshop")
    assert result.exit_code == 0, result.output
    assert "theme 'myshop': OK" in result.output

    listed = invoke(runner, "list")
    assert listed.exit_code == 0
    line = next(line for line in listed.output.splitlines() if line.startswith("myshop\t"))
    assert "extends minimal" in line and str(path) in line


def test_new_refuses_to_overwrite(runner, app):
    assert invoke(runner, "new", "myshop").exit_code == 0
    css = Path(app.config["THEME_DIRS"][0]) / "myshop" / "theme.css"
    css.write_text("/* mine */")
    result = invoke(runner, "new", "myshop")
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert css.read_text() == "/* mine */"


def test_new_with_unknown_parent_or_bad_name_fails(runner):
    result = invoke(runner, "new", "myshop", "--extends", "nope")
    assert result.exit_code == 1 and "theme 'nope' not found" in result.output
    result = invoke(runner, "new", "my shop!")
    assert result.exit_code == 1 and "letters, digits" in result.output


def test_new_into_another_dir(runner, tmp_path):
    other = tmp_path / "elsewhere"
    result = invoke(runner, "new", "side", "--dir", str(other))
    assert result.exit_code == 0, result.output
    assert (other / "side" / "theme.toml").is_file()
    assert "THEME_DIRS" in result.output  # says how to make the server find it
    assert invoke(runner, "check", "side").exit_code == 1  # not in THEME_DIRS
    assert invoke(runner, "check", "side", "--dir", str(other)).exit_code == 0


def test_broken_template_fails_check_with_a_clear_message(runner, app):
    assert invoke(runner, "new", "broken").exit_code == 0
    assert invoke(runner, "check", "broken").exit_code == 0
    template = Path(app.config["THEME_DIRS"][0]) / "broken" / "templates" / "list.html"
    template.write_text(template.read_text().replace("{% endblock %}", "{{ review.nope( }}{% endblock %}"))

    result = invoke(runner, "check", "broken")
    assert result.exit_code == 1
    assert "broken: list widget, nl, empty shop: TemplateSyntaxError" in result.output
    assert "problem(s); fix them" in result.output
    assert "badge widget" not in result.output  # only the broken template is reported


def test_missing_star_text_alternative_fails_check(runner, app):
    assert invoke(runner, "new", "nostars").exit_code == 0
    templates = Path(app.config["THEME_DIRS"][0]) / "nostars" / "templates"
    (templates / "badge.html").write_text(
        '{% extends "default:badge.html" %}{% block content %}<span class="eerlijk-stars">*****</span>{% endblock %}'
    )
    result = invoke(runner, "check", "nostars")
    assert result.exit_code == 1
    assert "nostars: badge widget, en, one review: stars without role=img and an aria-label" in result.output


@pytest.mark.parametrize("name", SHIPPED)
def test_check_passes_for_shipped_themes(runner, name):
    result = invoke(runner, "check", name)
    assert result.exit_code == 0, result.output
    assert f"theme {name!r}: OK" in result.output


def test_check_unknown_theme(runner):
    result = invoke(runner, "check", "nope")
    assert result.exit_code == 1
    assert "theme 'nope' not found; available themes: dark, default, minimal" in result.output


def test_list_shows_shipped_themes(runner):
    result = invoke(runner, "list")
    assert result.exit_code == 0
    names = [line.split("\t")[0] for line in result.output.splitlines()]
    assert names == ["dark", "default", "minimal"]
    assert "default\tbase theme\tshipped" in result.output


def test_preview_of_unknown_theme_fails_before_serving(runner):
    result = invoke(runner, "preview", "nope")
    assert result.exit_code == 1 and "not found" in result.output


@pytest.mark.parametrize("name", SHIPPED)
def test_preview_page_shows_every_widget_in_every_case(name):
    client = create_preview_app().test_client()
    response = client.get(f"/_preview/{name}")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "preview-error" not in page.split("</style>", 1)[1]
    for widget in WIDGETS:
        rendered = page.count(f'data-eerlijk-widget="{widget}" data-eerlijk-theme="{name}"')
        assert rendered == len(fixtures.cases()), widget
    for case in fixtures.cases():
        assert f'data-case="{case}"' in page
    for locale in LOCALES:
        assert f"locale={locale}" in page  # a link to each locale
    assert 'lang="nl"' in page


def test_preview_locale_and_case_choice():
    client = create_preview_app().test_client()
    page = client.get("/_preview/minimal?locale=de&case=one+review").get_data(as_text=True)
    assert page.count("data-eerlijk-widget=") == len(WIDGETS)
    assert 'lang="de"' in page and 'lang="nl" dir' not in page
    assert client.get("/_preview/minimal?case=nope").status_code == 404
    assert client.get("/_preview/nope").status_code == 404
    index = client.get("/").get_data(as_text=True)
    assert all(f"/_preview/{n}" in index for n in SHIPPED)


def test_preview_shows_user_themes_and_errors_in_place(runner, app):
    assert invoke(runner, "new", "mine").exit_code == 0
    dirs = app.config["THEME_DIRS"]
    client = create_preview_app(dirs).test_client()
    page = client.get("/_preview/mine").get_data(as_text=True)
    assert page.count('data-eerlijk-widget="list" data-eerlijk-theme="mine"') == len(fixtures.cases())

    template = Path(dirs[0]) / "mine" / "templates" / "list.html"
    template.write_text("{% extends 'default:list.html' %}{% block heading %}{{ nope }}{% endblock %}")
    page = client.get("/_preview/mine").get_data(as_text=True)  # re-read on each load
    assert '<pre class="preview-error">UndefinedError' in page
    assert page.count('data-eerlijk-widget="badge" data-eerlijk-theme="mine"') == len(fixtures.cases())
