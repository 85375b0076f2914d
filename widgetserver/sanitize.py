"""The one place review and reply text is cleaned on the way in: plain text, no markup.

Stored text is plain text. Templates and the JSON API escape it on the way out;
never render a stored field as HTML.
"""

from __future__ import annotations

import html
import re
import unicodedata

import bleach

# C0/C1 control characters except tab and newline; also lone surrogates.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_MAX_PASSES = 5


class UnsafeText(ValueError):
    """Raised for text that cannot be stored at all (it says why)."""


def clean_text(value: str, *, multiline: bool = True) -> str:
    """Return `value` as plain text: markup stripped, controls removed, whitespace tidied.

    Markup is removed by bleach, then entities are decoded so that "<3" and
    "5 > 3" stay as typed; this repeats until nothing changes, so text that
    hides a tag behind entities ("&lt;b&gt;") cannot come back as markup.
    :raise UnsafeText: when the text contains a NUL byte, or entities nested too deep to settle.
    """
    if "\x00" in value:
        raise UnsafeText("Contains a NUL byte; remove it and send plain text.")
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text)
    for _ in range(_MAX_PASSES):
        cleaned = html.unescape(bleach.clean(text, tags=set(), attributes={}, strip=True, strip_comments=True))
        if cleaned == text:
            break
        text = cleaned
    else:
        # Still changing after every pass: entities nested this deep only hide markup.
        raise UnsafeText("Contains markup hidden behind nested HTML entities; send plain text.")
    if multiline:
        lines = [line.rstrip() for line in text.split("\n")]
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    else:
        text = " ".join(text.split())
    return text.strip()
