"""Eerlijk widgets: render honest review widgets (badge, summary, list, product, recent) as HTML fragments."""

from .context import CONTEXT_VARIABLES, CONTEXT_VERSION, OPTIONS, WIDGETS
from .data import RATINGS, SORTS, Page, Product, Reply, ReplyStats, Review, Shop, Summary
from .honesty import ThemeRefused
from .i18n import LOCALES, resolve_locale
from .rendering import render
from .structured_data import MARKUPS
from .theme import ThemeError, available_themes

__all__ = [
    "render", "available_themes", "resolve_locale", "ThemeError", "ThemeRefused",
    "Shop", "Product", "Reply", "ReplyStats", "Review", "Summary", "Page",
    "WIDGETS", "LOCALES", "MARKUPS", "RATINGS", "SORTS", "OPTIONS", "CONTEXT_VARIABLES", "CONTEXT_VERSION",
]
