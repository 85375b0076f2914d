"""The server's one translation mechanism: complete catalogs, no hand-written text, locale selection per request."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from widgetserver import i18n, store

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "widgetserver" / "translations"
TEMPLATES = ROOT / "widgetserver" / "templates"


def extracted_msgids() -> set:
    """What `pybabel extract -F babel.cfg` finds in the source today (singular msgid, or (singular, plural))."""
    with open(ROOT / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {**DEFAULT_KEYWORDS, "lazy_gettext": None}
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def catalog(locale: str):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=locale)


def test_extraction_finds_the_server_texts():
    msgids = extracted_msgids()
    assert len(msgids) > 100
    assert "Publish my reviews" in msgids  # review form template
    assert "%(shop)s: how was your order?" in msgids  # e-mail (Python)
    assert "Hate or discrimination" in msgids  # report reasons (lazy_gettext)


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_every_catalog_translates_every_msgid(locale):
    """A string added to the code without `pybabel update` and a translation fails here, per language."""
    po = catalog(locale)
    translated = {}
    for message in po:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else tuple(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        translated[key] = all(s.strip() for s in strings) and not message.fuzzy
    msgids = extracted_msgids()
    missing = sorted(map(str, msgids - set(translated)))
    assert not missing, f"{locale}: not in the catalog (run pybabel update): {missing}"
    untranslated = sorted(str(k) for k in msgids if not translated[k])
    assert not untranslated, f"{locale}: empty or fuzzy: {untranslated}"
    obsolete = sorted(map(str, set(translated) - msgids))
    assert not obsolete, f"{locale}: msgids no longer in the code: {obsolete}"
    # Placeholders (%(name)s) agree between msgid and msgstr: Babel's own python-format checker.
    problems = [(m.id, [str(e) for e in errs]) for m, errs in po.check()]
    assert not problems, problems


def _text_outside_jinja(source: str) -> list[str]:
    """Words a template shows that are not inside a Jinja expression (so not translatable)."""
    source = re.sub(r"\{#.*?#\}", " ", source, flags=re.S)
    source = re.sub(r"<(style|script)\b.*?</\1>", " ", source, flags=re.S | re.I)
    source = re.sub(r"\{%-?\s*block styles\s*-?%\}.*?\{%-?\s*endblock", " ", source, flags=re.S)  # CSS
    source = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", source, flags=re.S)
    words = []
    # Attributes people read (screen readers, tooltips) count as text.
    for attr in re.findall(r'\b(?:aria-label|title|alt|placeholder)="([^"]*)"', source):
        words += re.findall(r"[A-Za-zÀ-ÿ]{2,}", attr)
    text = re.sub(r"<[^>]*>", " ", source)
    text = re.sub(r'[\w-]+="[^"]*"', " ", text)  # attributes a macro writes between Jinja tags
    text = re.sub(r"&[a-z]+;|&#\d+;", " ", text)
    words += re.findall(r"[A-Za-zÀ-ÿ]{2,}", text)
    return words


@pytest.mark.parametrize("template", sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html")))
def test_templates_have_no_hand_written_text(template):
    """Every word a server page shows goes through gettext; only the product's name is written as is."""
    words = _text_outside_jinja((TEMPLATES / template).read_text())
    assert [w for w in words if w not in {"Eerlijk"}] == [], template


def test_no_module_keeps_its_own_message_dict():
    from widgetserver import collect, mail, reports

    for module in (collect, mail, reports):
        assert not hasattr(module, "MESSAGES"), module.__name__


@pytest.mark.parametrize("locale, word", [("nl", "Alle reviews"), ("de", "Alle Bewertungen"),
                                          ("fr", "Tous les avis"), ("en", "All reviews")])
def test_catalogs_are_compiled_from_the_po_files(app, locale, word):
    with app.test_request_context(f"/?locale={locale}"):
        assert i18n.current_locale() == locale
        assert i18n.gettext("All reviews") == word


@pytest.fixture
def dutch_shop(db):
    shop = store.create_shop(db, "winkel", "Winkel Noord", "https://winkel.example", "nl")
    store.upsert_product(db, shop["id"], "P1", name="Lamp Zon")
    store.add_review(db, shop["id"], rating=4, title="Fijn", body="Goede lamp.", author="Els", product_sku="P1")
    return store.get_shop(db, "winkel")


def test_hosted_page_follows_accept_language_then_the_shop(client, dutch_shop):
    german = client.get("/s/winkel", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    html = german.get_data(as_text=True)
    assert german.status_code == 200 and '<html lang="de">' in html and "Bewertungen" in html
    assert "Accept-Language" in german.headers["Vary"]
    # No language we speak: the shop's default (nl), also for the widgets inside the page.
    html = client.get("/s/winkel", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert '<html lang="nl">' in html and "Eerlijk toont elke gepubliceerde review" in html
    # An explicit ?locale= wins over the browser.
    html = client.get("/s/winkel?locale=fr", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="fr">' in html and "Eerlijk affiche chaque avis" in html
    html = client.get("/s/winkel/p/P1", headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
    assert '<html lang="en">' in html and "Lamp Zon – Winkel Noord – reviews" in html


def test_languages_get_separate_cache_entries(client, dutch_shop):
    """The ETag differs per language, so a cache honouring Vary never serves one language for another."""
    nl = client.get("/s/winkel", headers={"Accept-Language": "nl"})
    de = client.get("/s/winkel", headers={"Accept-Language": "de"})
    assert nl.headers["ETag"] != de.headers["ETag"]
    again = client.get("/s/winkel", headers={"Accept-Language": "de", "If-None-Match": nl.headers["ETag"]})
    assert again.status_code == 200


def test_locale_outside_a_request_is_the_default(app):
    with app.app_context():
        assert i18n.current_locale() == "en"
        with i18n.force_locale("de"):
            assert i18n.current_locale() == "de"
            assert i18n.gettext("Summary") == "Zusammenfassung"


@pytest.mark.parametrize("tag, language", [
    ("nl_BE", "nl"), ("de-AT", "de"), ("FR", "fr"), (" en ", "en"), ("en-GB ", "en"), ("pt_BR", None), ("", None),
    (None, None), ("nl;q=0.9", None)])
def test_one_language_of_for_widgets_and_server(tag, language):
    """One function reads a language tag for the widgets, the server's pages, e-mails and follow-ups."""
    import importlib
    import pkgutil

    import widgets.i18n
    import widgetserver

    assert widgets.i18n.language_of(tag) == language
    for info in pkgutil.walk_packages(widgetserver.__path__, "widgetserver."):
        module = importlib.import_module(info.name)
        assert getattr(module, "language_of", None) in (None, widgets.i18n.language_of), info.name
        source = Path(module.__file__).read_text()
        assert not re.search(r"from \.+i18n import [^\n]*\blanguage_of\b", source), f"{info.name}: import it from widgets.i18n"
    assert widgetserver.i18n.LOCALES is widgets.i18n.LOCALES
