"""Themes: finding them, following `extends`, loading their templates and CSS, scaffolding and checking."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from jinja2 import BaseLoader, TemplateNotFound

DEFAULT_THEME = "default"
VARIANTS = ("light", "dark", "auto")


class ThemeError(LookupError):
    """A theme is missing, malformed or extends itself."""


@dataclass(frozen=True)
class Theme:
    """One theme folder: its theme.toml settings and where it lives."""

    name: str
    path: Path
    description: str = ""
    extends: str | None = None
    variant: str = "light"
    shipped: bool = False

    @property
    def templates(self) -> Path:
        """The folder holding this theme's templates."""
        return self.path / "templates"

    @property
    def css(self) -> Path:
        """This theme's stylesheet (may be absent)."""
        return self.path / "theme.css"


def shipped_themes_dir() -> Path:
    """Folder of the themes installed with the package (`widgets.themes`).

    Installed, `themes/` is mapped into the package as `widgets.themes`. Run from a source
    checkout (`python -m pytest`, an editable install) the `widgets` package on `sys.path` is
    the source folder, which has no `themes` inside: the themes are then its sibling folder.
    """
    try:
        return Path(str(files("widgets.themes")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "themes"


def _read_theme(path: Path, shipped: bool) -> Theme:
    try:
        settings = tomllib.loads((path / "theme.toml").read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ThemeError(f"{path / 'theme.toml'}: not valid TOML ({error}); fix the syntax") from error
    name = settings.get("name", path.name)
    if name != path.name:
        raise ThemeError(f"{path / 'theme.toml'}: name {name!r} differs from the folder name {path.name!r}; make them equal")
    variant = settings.get("variant", "light")
    if variant not in VARIANTS:
        raise ThemeError(f"{path / 'theme.toml'}: variant {variant!r} is unknown; use one of {', '.join(VARIANTS)}")
    extends = settings.get("extends") or None
    if extends is None and name != DEFAULT_THEME:
        extends = DEFAULT_THEME
    return Theme(name, path, settings.get("description", ""), extends, variant, shipped)


def _search_dirs(theme_dirs) -> list[tuple[Path, bool]]:
    return [(Path(d), False) for d in theme_dirs] + [(shipped_themes_dir(), True)]


def find_theme(name: str, theme_dirs=(), *, skip: Path | None = None) -> Theme:
    """Find a theme by name in the user theme dirs, then among the shipped themes."""
    for folder, shipped in _search_dirs(theme_dirs):
        path = folder / name
        if (path / "theme.toml").is_file() and path != skip:
            return _read_theme(path, shipped)
    known = ", ".join(available_themes(theme_dirs)) or "none"
    raise ThemeError(f"theme {name!r} not found; available themes: {known}")


def theme_chain(name: str, theme_dirs=()) -> list[Theme]:
    """The theme and its ancestors along `extends`, most specific first."""
    chain = [find_theme(name, theme_dirs)]
    while chain[-1].extends:
        parent = chain[-1].extends
        # A user theme may share a shipped theme's name and extend it.
        skip = chain[-1].path if parent == chain[-1].name else None
        theme = find_theme(parent, theme_dirs, skip=skip)
        if any(t.path == theme.path for t in chain):
            raise ThemeError(f"theme {name!r}: `extends` loops through {theme.name!r}; break the cycle")
        chain.append(theme)
    return chain


def available_themes(theme_dirs=()) -> list[str]:
    """Names of every theme found in the user theme dirs and the shipped themes, sorted."""
    names = set()
    for folder, _ in _search_dirs(theme_dirs):
        if folder.is_dir():
            names.update(p.name for p in folder.iterdir() if (p / "theme.toml").is_file())
    return sorted(names)


def theme_css(chain: list[Theme]) -> str:
    """The stylesheets of the chain, least specific first, so a child theme's rules win."""
    parts = []
    for theme in reversed(chain):
        if theme.css.is_file():
            parts.append(f"/* theme: {theme.name} */\n" + theme.css.read_text(encoding="utf-8"))
    # A stylesheet sits in a <style> element: never let it close that element.
    return "\n".join(parts).replace("</", "<\\/")


class ThemeLoader(BaseLoader):
    """Jinja loader searching a theme chain, most specific first; `theme:name.html` picks a theme's own version."""

    def __init__(self, chain: list[Theme], theme_dirs=()):
        self.chain = chain
        self.theme_dirs = tuple(theme_dirs)

    def candidates(self, template: str) -> list[tuple[str, Path]]:
        """The (label, path) pairs searched for a template name, in order."""
        if ":" in template:
            prefix, _, template = template.partition(":")
            # A prefix names a theme of this chain (the least specific of that name,
            # so a user "default" can extend the shipped one) or any other theme.
            positions = [i for i, t in enumerate(self.chain) if t.name == prefix]
            chain = self.chain[positions[-1]:] if positions else theme_chain(prefix, self.theme_dirs)
        else:
            chain = self.chain
        return [(f"{t.name}:{template}", t.templates / template) for t in chain]

    def get_source(self, environment, template):
        """Return the first existing candidate's source, filename and up-to-date check."""
        if ".." in template.split("/") or template.startswith("/"):
            raise TemplateNotFound(template)
        try:
            candidates = self.candidates(template)
        except ThemeError as error:
            raise TemplateNotFound(template, str(error)) from error
        for _, path in candidates:
            if path.is_file():
                mtime = path.stat().st_mtime
                source = path.read_text(encoding="utf-8")
                return source, str(path), lambda: path.is_file() and path.stat().st_mtime == mtime
        raise TemplateNotFound(template)


def scaffold(name: str, dest_dir, extends: str = DEFAULT_THEME) -> Path:
    """Write a new theme folder (theme.toml, an example list.html override, theme.css) and return it."""
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ThemeError(f"theme name {name!r}: use letters, digits, '-' or '_' only")
    path = Path(dest_dir) / name
    if path.exists():
        raise ThemeError(f"{path} already exists; pick another name or remove it")
    (path / "templates").mkdir(parents=True)
    (path / "theme.toml").write_text(
        f'name = "{name}"\ndescription = "My Eerlijk theme"\nextends = "{extends}"\n', encoding="utf-8"
    )
    (path / "templates" / "list.html").write_text(
        f'{{% extends "{extends}:list.html" %}}\n'
        "{# Override one block; everything else comes from the parent theme. #}\n"
        "{% block heading %}\n"
        '  <h2 class="eerlijk-heading" part="heading">{{ _("Reviews of %(shop)s", shop=shop.name) }}</h2>\n'
        "{% endblock %}\n",
        encoding="utf-8",
    )
    (path / "theme.css").write_text(
        "/* Set custom properties on the widget root; see docs/themes.md for the full list. */\n"
        ":host, .eerlijk {\n  --eerlijk-radius: 12px;\n}\n",
        encoding="utf-8",
    )
    return path


def check(name: str, theme_dirs=()) -> list[str]:
    """Render every widget in every locale with fixture data; return the problems found (empty when fine)."""
    from . import fixtures
    from .i18n import LOCALES
    from .rendering import WIDGETS, render

    from .honesty import ThemeRefused

    problems = []
    refused = set()  # (widget, case): an honesty refusal is reported once, not once per locale
    try:
        theme_chain(name, theme_dirs)
    except ThemeError as error:
        return [str(error)]
    for case, data in fixtures.cases().items():
        for widget in WIDGETS:
            for locale in LOCALES:
                where = f"{name}: {widget} widget, {locale}, {case}"
                try:
                    html = render(widget, theme=name, locale=locale, theme_dirs=theme_dirs, now=fixtures.NOW, **data)
                except ThemeRefused as error:
                    if (widget, case) not in refused:
                        refused.add((widget, case))
                        problems.append(f"{name}: {widget} widget, {case}: REFUSED: {error}")
                    continue
                except Exception as error:  # report every template failure, whatever its kind
                    problems.append(f"{where}: {type(error).__name__}: {error}")
                    continue
                problems.extend(f"{where}: {p}" for p in fixtures.problems_in(html, widget))
    return problems
