"""Avatars from initials: the letters and a colour picked deterministically from the name.

Two palettes of the same ten hues, one per kind of background (WCAG 2.1 AA, checked for every
colour by tests/test_widgets.py against the themes' own colours):

- light themes: dark discs with white initials (initials 4.5:1 or more on the disc, the disc 3:1
  or more on the widget's background, so the shape stays visible);
- dark themes: light discs with dark initials. The light palette's discs on a dark background fall
  to 2.7:1, so the dark theme switches to these (`name|avatar_color("dark")`).
"""

from __future__ import annotations

import hashlib

#: Disc colours on light backgrounds, for TEXT_COLOR initials.
PALETTE = ("#0b57d0", "#1a7f37", "#b3261e", "#8250df", "#9a4d00", "#0f6e7c", "#bf2f72", "#5b5f66",
           "#3b5bdb", "#6d6200")
TEXT_COLOR = "#ffffff"
#: The same hues, light, for dark backgrounds (the dark theme), for DARK_TEXT_COLOR initials.
DARK_PALETTE = ("#a8c7fa", "#6dd58c", "#f2b8b5", "#d0bcff", "#ffb77c", "#80d5d4", "#ffb0cd", "#c4c7c5",
                "#b4c5ff", "#d4c96b")
DARK_TEXT_COLOR = "#16181d"
PALETTES = {"light": PALETTE, "dark": DARK_PALETTE}


def initials(name: str) -> str:
    """One or two letters for a display name: first and last word's first letter ("Anna de Vries" -> "AV").

    Scripts without letter case (Arabic, Hebrew, CJK...) get one letter: two would join or read oddly.
    """
    words = [w for w in (name or "").split() if any(c.isalnum() for c in w)]
    if not words:
        return "?"
    first = next(c for c in words[0] if c.isalnum())
    if len(words) == 1 or first.upper() == first.lower():
        return first.upper()
    last = next(c for c in words[-1] if c.isalnum())
    return (first + last).upper() if last.upper() != last.lower() else first.upper()


def color(name: str, variant: str = "light") -> str:
    """The avatar colour for a display name on a `light` or `dark` background: the same name, the same hue."""
    palette = PALETTES[variant]
    digest = hashlib.sha256(" ".join((name or "").split()).casefold().encode()).digest()
    return palette[int.from_bytes(digest[:4], "big") % len(palette)]


def contrast(foreground: str, background: str) -> float:
    """The WCAG 2.1 contrast ratio of two `#rrggbb` colours (1 to 21)."""
    def luminance(hex_color):
        channels = [int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)
