"""Documentation stays complete: every setting of ours is in docs/operations.md, every CLI command in the docs."""

from pathlib import Path

from flask import Flask

from widgetserver.cli import main

DOCS = Path(__file__).resolve().parent.parent / "docs"


def our_settings(app) -> set[str]:
    """Config keys the app adds on top of Flask's own defaults."""
    return set(app.config) - set(Flask.default_config) - {"TESTING", "DB", "SETTINGS"}


def test_every_setting_is_documented(app):
    text = (DOCS / "operations.md").read_text()
    missing = sorted(k for k in our_settings(app) if f"`{k}`" not in text)
    assert missing == [], f"settings not documented in docs/operations.md: {missing}"


def test_every_cli_command_is_documented():
    text = "\n".join(p.read_text() for p in DOCS.glob("*.md")) + (DOCS.parent / "README.md").read_text()

    def walk(group, prefix):
        for name, command in group.commands.items():
            path = f"{prefix} {name}"
            if hasattr(command, "commands"):
                yield from walk(command, path)
            else:
                yield path

    missing = [path for path in walk(main, "widgetserver") if path not in text]
    assert missing == [], f"CLI commands without docs: {missing}"
