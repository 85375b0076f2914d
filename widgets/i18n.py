"""Locales: choosing one, loading its gettext catalog from .po, formatting numbers and dates."""

from __future__ import annotations

import io
import math
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from importlib.resources import files

from babel.dates import format_date, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import Translations
from babel.units import format_unit

LOCALES = ("nl", "en", "de", "fr")
FALLBACK_LOCALE = "en"
DOMAIN = "widgets"
#: Units of relative times, largest first (Babel's sizes: a year is 365 days, a month 30).
AGO_UNITS = (365 * 86400, 30 * 86400, 7 * 86400, 86400, 3600)


def language_of(locale: str | None) -> str | None:
    """The supported language of a tag like `nl_BE`, `de-AT`, `FR` or ` en `, else None (widgets and server alike)."""
    if not locale:
        return None
    language = str(locale).replace("-", "_").split("_")[0].strip().lower()
    return language if language in LOCALES else None


def resolve_locale(requested: str | None, shop_locale: str | None = None) -> str:
    """Pick the widget locale: the requested one if supported, else the shop's, else English."""
    return language_of(requested) or language_of(shop_locale) or FALLBACK_LOCALE


def compile_po(source, locale: str, domain: str) -> Translations:
    """A .po file (a path or importlib resource) compiled in memory: no .mo file to go stale."""
    with source.open("rb") as po:
        catalog = read_po(po, locale=locale, domain=domain)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain=domain)


@lru_cache(maxsize=None)
def translations(locale: str) -> Translations:
    """Compile the locale's widgets.po in memory into a Translations object (cached)."""
    return compile_po(files("widgets") / "locale" / locale / "LC_MESSAGES" / f"{DOMAIN}.po", locale, DOMAIN)


def rounded(value: float | None, places: int = 1) -> float | None:
    """Round half up (4.25 -> 4.3), the way people expect a score to round."""
    if value is None:
        return None
    step = Decimal(1).scaleb(-places)
    return float(Decimal(str(value)).quantize(step, rounding=ROUND_HALF_UP))


class Formatter:
    """Locale-bound formatting used by template filters; `now` is fixed per render."""

    def __init__(self, locale: str, now: datetime | None = None):
        self.locale = locale
        self.now = now or datetime.now(timezone.utc)
        self.translations = translations(locale)
        self.gettext = self.translations.ugettext

    def score(self, value: float | None) -> str:
        """Format an average with one decimal (`4,3` in nl, `4.3` in en); empty for None."""
        if value is None:
            return ""
        return format_decimal(rounded(value), format="0.0", locale=self.locale)

    def number(self, value: float | int) -> str:
        """Format a number the locale's way (`1.234` nl, `1,234` en)."""
        return format_decimal(value, locale=self.locale)

    def percent(self, share: float) -> str:
        """Format a share of 0-1 as a whole percentage (`92%`, `92 %` in fr)."""
        return format_percent(round(share, 2), locale=self.locale)

    def duration(self, hours: float) -> str:
        """A duration rounded up, never flattering: hours up to 2 days (`7 hours` for 6.5), then days."""
        if hours < 48:
            return format_unit(max(1, math.ceil(hours)), "duration-hour", length="long", locale=self.locale)
        return format_unit(math.ceil(hours / 24), "duration-day", length="long", locale=self.locale)

    def stars_label(self, value: float | None) -> str:
        """Text alternative for stars: `4,3 van 5 sterren`, `4.3 out of 5 stars`."""
        if value is None:
            return self.gettext("No rating yet")
        shown = rounded(value)
        text = (
            format_decimal(shown, format="0.#", locale=self.locale)
            if shown != int(shown)
            else format_decimal(int(shown), locale=self.locale)
        )
        return self.gettext("%(rating)s out of 5 stars") % {"rating": text}

    def date(self, value: datetime, format: str = "long") -> str:
        """Format a date (`1 mei 2024`, `May 1, 2024`)."""
        return format_date(value.date() if isinstance(value, datetime) else value, format, locale=self.locale)

    def ago(self, value: datetime, now: datetime | None = None) -> str:
        """Format a moment relative to now, rounded down so it is never later than the truth.

        `3 dagen geleden` for 3 days and 20 hours; never finer than "in the last hour" (a fragment
        may be served from cache for up to an hour, so "58 seconds ago" would soon be false);
        a moment in the future (clock skew) is "in the last hour" too.
        """
        seconds = ((now or self.now) - value).total_seconds()
        for size in AGO_UNITS:
            count = int(seconds // size)
            if count >= 1:
                # Exactly `count` units, so Babel's rounding can't move it up a unit.
                return format_timedelta(timedelta(seconds=-count * size), add_direction=True, threshold=1,
                                        locale=self.locale)
        return self.gettext("in the last hour")
