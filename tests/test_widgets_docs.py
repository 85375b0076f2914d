"""docs/themes.md documents every template context variable, block of base.html and widget."""

import re
from pathlib import Path

import pytest

from widgets import CONTEXT_VARIABLES, OPTIONS, WIDGETS

DOCS = Path(__file__).resolve().parent.parent / "docs" / "themes.md"


def section(widget):
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(rf"^### {widget}\n(.*?)(?=^### |^## )", text, flags=re.S | re.M)
    return match.group(1) if match else ""


def documented_everywhere():
    return section("Every widget")


@pytest.mark.parametrize("widget", WIDGETS)
def test_every_context_variable_is_documented(widget):
    text = documented_everywhere() + section(widget)
    assert section(widget), f"docs/themes.md lacks a '### {widget}' section"
    missing = [name for name in CONTEXT_VARIABLES[widget] if f"`{name}`" not in text]
    assert not missing, f"docs/themes.md does not document {widget} context variables: {missing}"


def test_context_version_and_options_are_documented():
    text = DOCS.read_text(encoding="utf-8")
    assert "context version 1" in text
    for option in OPTIONS:
        assert f"`{option}`" in text


@pytest.mark.parametrize("cls", ["Review", "Reply"])
def test_every_field_of_the_review_objects_is_documented(cls):
    """Fields added to Review or Reply (e.g. reply.outcome) reach the theme docs too."""
    import dataclasses

    import widgets

    text = section("list")
    missing = [f.name for f in dataclasses.fields(getattr(widgets, cls)) if f"`{f.name}`" not in text]
    assert not missing, f"docs/themes.md (### list) does not document {cls} fields: {missing}"
