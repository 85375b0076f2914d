"""The server's one translation mechanism: Flask-Babel over gettext catalogs in widgetserver/translations.

Every text a person reads from the server (page templates, form and error
messages, e-mails) is a gettext msgid in English, translated by
`translations/<locale>/LC_MESSAGES/messages.po` (nl, en, de, fr; docs/translating.md).

- In Python: `from .i18n import _` (Flask-Babel's `gettext`), `_("Hello %(name)s", name=...)`.
- In templates: `{{ _("Hello %(name)s", name=...) }}` (Jinja's i18n extension, new-style
  gettext: autoescaped, `%(name)s` placeholders, a literal percent sign is `%%`).

The .po files are the only source: they are compiled in memory at first use per
process (as the widgets' catalogs are), so a stale .mo can never be served and
no build step is needed. `current_locale()` is the locale of the current request.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

from babel.support import NullTranslations, Translations
from flask import Flask, g, has_request_context, request, url_for
from widgets.i18n import LOCALES, compile_po, language_of
from flask_babel import Babel, Domain, force_locale, get_locale, gettext, lazy_gettext, ngettext, refresh

__all__ = ["LOCALES", "DEFAULT_LOCALE", "DOMAIN", "current_locale", "use_locale", "use_shop_locale",
           "catalog_translations", "init_app", "force_locale", "gettext", "_", "lazy_gettext",
           "ngettext"]

# LOCALES: the widgets' (nl, en, de, fr); the server speaks the same ones.
DEFAULT_LOCALE = "en"
DOMAIN = "messages"
_ = gettext


@lru_cache(maxsize=None)
def catalog_translations(locale: str) -> Translations:
    """The locale's messages.po compiled in memory (cached per process)."""
    return compile_po(files("widgetserver") / "translations" / locale / "LC_MESSAGES" / f"{DOMAIN}.po", locale, DOMAIN)


class CatalogDomain(Domain):
    """Flask-Babel's domain, reading our .po catalogs instead of compiled .mo files."""

    def get_translations(self):
        locale = get_locale()
        if locale is None:  # outside an app context
            return NullTranslations()
        return catalog_translations(language_of(str(locale)) or DEFAULT_LOCALE)


def select_locale() -> str:
    """Flask-Babel's locale selector; see `current_locale`."""
    chosen = g.get("eerlijk_locale")
    if chosen:
        return chosen
    if has_request_context():
        explicit = language_of(request.args.get("locale"))
        if explicit:
            return explicit
        visitor = request.accept_languages.best_match(LOCALES)
        if visitor:
            return visitor
    return g.get("eerlijk_shop_locale") or DEFAULT_LOCALE


def current_locale() -> str:
    """The locale of the current request or e-mail: `nl`, `en`, `de` or `fr`.

    In order: a locale a view fixed with `use_locale` (an invitation's language)
    or `force_locale`; an explicit `?locale=`; the visitor's `Accept-Language`
    (Werkzeug's `best_match`); the shop's default (`use_shop_locale`); English.
    """
    locale = get_locale()
    return (language_of(str(locale)) if locale is not None else None) or DEFAULT_LOCALE


def use_locale(locale: str | None) -> str:
    """Fix the rest of this request to `locale` (when supported); returns the locale now in force."""
    language = language_of(locale)
    if language:
        g.eerlijk_locale = language
        refresh()
    return current_locale()


def use_shop_locale(shop: dict | None) -> str:
    """Use `shop`'s default locale when neither `?locale=` nor Accept-Language picks one."""
    language = language_of((shop or {}).get("locale"))
    if language and g.get("eerlijk_shop_locale") != language:
        g.eerlijk_shop_locale = language
        refresh()
    return current_locale()


LANGUAGE_NAMES = {"nl": "Nederlands", "en": "English", "de": "Deutsch", "fr": "Français"}


def language_links() -> list[dict]:
    """Links to this page in each language (`?locale=`), for a language switch; empty off a GET route."""
    if not has_request_context() or request.method != "GET" or request.endpoint is None:
        return []
    current = current_locale()
    args = {k: v for k, v in request.args.items() if k not in ("locale", "page")}
    links = []
    for code in LOCALES:
        try:
            url = url_for(request.endpoint, **(request.view_args or {}), **args, locale=code)
        except Exception:  # noqa: BLE001 - a route that cannot be rebuilt simply gets no switch
            return []
        links.append({"code": code, "name": LANGUAGE_NAMES[code], "url": url, "current": code == current})
    return links


def init_app(app: Flask) -> Babel:
    """Install Flask-Babel with our selector and catalogs.

    Templates get `_`, `gettext`, `ngettext`, Flask-Babel's filters (`decimalformat`, `numberformat`,
    `dateformat`...), `current_locale()` and `language_links()`.
    """
    babel = Babel(app, locale_selector=select_locale, default_domain=DOMAIN)
    babel.domain_instance = CatalogDomain(domain=DOMAIN)
    app.jinja_env.globals["current_locale"] = current_locale
    app.jinja_env.globals["language_links"] = language_links
    return babel
