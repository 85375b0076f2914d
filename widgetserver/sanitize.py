"""The one place input text is cleaned or refused on the way in: plain text, no markup, no unstorable characters.

Stored text is plain text. Templates and the JSON API escape it on the way out;
never render a stored field as HTML.
"""

from __future__ import annotations

import html
import re
import threading
import unicodedata

# C0/C1 control characters except tab and newline; also lone surrogates and the noncharacters U+FFFE/U+FFFF.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_MAX_PASSES = 5
# What XML 1.0 forbids (https://www.w3.org/TR/xml/#charsets): C0 controls but tab/newline/CR, lone
# surrogates, U+FFFE and U+FFFF. Such text cannot be encoded as UTF-8 or put in a feed.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Identifiers (SKU, order reference, external id) are shown and exported as they are: these never belong in one.
_ID_INVALID = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
MAX_JSON_DEPTH = 8  # no request body of the API nests deeper than 2; a margin, and far from the parser's limit
_BLANK_RUNS = re.compile(r"\n{3,}")
_local = threading.local()


def _cleaner():
    """This thread's bleach Cleaner, built once: building one per call cost most of an import's time.

    (bleach's Cleaner keeps parser state, so it is not shared between threads.) bleach is imported on
    first use: most text has no markup, and a CLI command starts quicker without it.
    """
    cleaner = getattr(_local, "cleaner", None)
    if cleaner is None:
        from bleach.sanitizer import Cleaner

        cleaner = _local.cleaner = Cleaner(tags=set(), attributes={}, strip=True, strip_comments=True)
    return cleaner


def strip_markup(text: str) -> str:
    """One pass: bleach removes tags and comments, then entities are decoded.

    Text without "<" or "&" has no tag, comment or entity, so bleach would only escape its
    ">"s, which decoding turns back: it is returned as it is, without running the HTML parser
    (tests/test_sanitize.py checks this shortcut against the full pass on generated text).
    """
    if "<" not in text and "&" not in text:
        return text
    return html.unescape(_cleaner().clean(text))


class UnsafeText(ValueError):
    """Raised for text that cannot be stored at all (it says why)."""


def clean_text(value: str, *, multiline: bool = True) -> str:
    """Return `value` as plain text: markup stripped, controls removed, whitespace tidied.

    Markup is removed by bleach, then entities are decoded so that "<3" and
    "5 > 3" stay as typed; this repeats until nothing changes, so text that
    hides a tag behind entities ("&lt;b&gt;") cannot come back as markup.
    :raise UnsafeText: when the text contains a NUL byte, or entities nested too deep to settle.
    """
    if multiline:
        tidy = (not _UNTIDY_IN_TEXT.search(value) and " \n" not in value and "\n\n\n" not in value
                and value[:1] not in " \n" and value[-1:] not in " \n")
    else:
        tidy = not _UNTIDY_ON_LINE.search(value) and "  " not in value and value[:1] != " " and value[-1:] != " "
    if tidy and (value.isascii() or unicodedata.is_normalized("NFC", value)):
        return value  # nothing the full pass does would change it (tests/test_sanitize.py checks this)
    return _clean_fully(value, multiline)


# Text is clean already when it is NFC and has none of these characters — control characters (a newline
# only in multi-line text), "<" and "&" (markup, entities), lone surrogates, noncharacters, whitespace other
# than the space — nor whitespace at either end, two spaces in a row (one line), or in multi-line text a
# space before a newline or more than one blank line in a row. An import's rows nearly all are: checking
# costs a tenth of the full pass. _WHITESPACE is every character str.isspace() knows but the space, newline
# and the controls listed anyway (tests/test_sanitize.py checks it against all of Unicode).
_WHITESPACE = "\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_UNTIDY_ON_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f<&{_WHITESPACE}\ud800-\udfff\ufffe\uffff]")
_UNTIDY_IN_TEXT = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f<&{_WHITESPACE}\ud800-\udfff\ufffe\uffff]")


def column_is_clean(values: list[str] | tuple[str, ...], *, multiline: bool = True) -> bool:
    """True when `clean_text` would return every one of `values` as it is (false answers may be conservative).

    The same rules as clean_text's early exit, checked on all values at once, joined by "<" (which no
    clean text holds): an import checks a column of 4,096 values in a few C calls instead of 4,096
    Python calls. tests/test_sanitize.py checks it against clean_text value by value.
    """
    if not values:
        return True
    text = "<".join(values)
    if text.count("<") != len(values) - 1 or "&" in text:
        return False  # markup or an entity in a value
    lines = multiline and "\n" in text
    # Printable text has no control character (newline included), surrogate, noncharacter or whitespace but
    # the space: a quick C pass; text that is not (emoji sequences with a joiner, say) gets the exact check.
    if not (text.replace("\n", " ") if lines else text).isprintable() and (
            _UNTIDY_IN_COLUMN if multiline else _UNTIDY_ON_COLUMN).search(text):
        return False
    if "< " in text or " <" in text or text[:1] == " " or text[-1:] == " " or (not multiline and "  " in text):
        return False
    if lines and (" \n" in text or "\n\n\n" in text or "<\n" in text or "\n<" in text
                  or text[:1] == "\n" or text[-1:] == "\n"):
        return False
    return text.isascii() or unicodedata.is_normalized("NFC", text)


# What clean_text's early exit looks for, but "<" (column_is_clean's separator, checked apart).
_UNTIDY_ON_COLUMN = re.compile(f"[\x00-\x1f\x7f-\x9f&{_WHITESPACE}\ud800-\udfff\ufffe\uffff]")
_UNTIDY_IN_COLUMN = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f&{_WHITESPACE}\ud800-\udfff\ufffe\uffff]")


def _clean_fully(value: str, multiline: bool) -> str:
    if "\x00" in value:
        raise UnsafeText("Contains a NUL byte; remove it and send plain text.")
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    text = value if value.isascii() else unicodedata.normalize("NFC", value)  # ASCII is NFC already
    if _CONTROL.search(text):
        text = _CONTROL.sub("", text)
    for _ in range(_MAX_PASSES):
        cleaned = strip_markup(text)
        if cleaned == text:
            break
        text = cleaned
    else:
        # Still changing after every pass: entities nested this deep only hide markup.
        raise UnsafeText("Contains markup hidden behind nested HTML entities; send plain text.")
    if multiline:
        if "\n" in text:
            lines = [line.rstrip() for line in text.split("\n")]
            text = _BLANK_RUNS.sub("\n\n", "\n".join(lines))
    else:
        text = " ".join(text.split())
    return text.strip()


def identifier_problem(value: str) -> str | None:
    """Why `value` cannot be an identifier (SKU, order reference, external id), or None when it can."""
    bad = _ID_INVALID.search(value)
    if bad:
        return (f"Contains the character U+{ord(bad.group()):04X} (a control character, lone surrogate or "
                "noncharacter); send plain printable text.")
    return None


def xml_text(value) -> str:
    """`value` as text XML 1.0 can hold: forbidden characters dropped, surrounding whitespace stripped."""
    return _XML_INVALID.sub("", str(value if value is not None else "")).strip()


def unencodable(data, path: str = "", depth: int = 0) -> dict[str, list[str]]:
    """Per field path, what in parsed JSON can never be stored: lone surrogates (not UTF-8), nesting deeper
    than MAX_JSON_DEPTH. Empty when `data` is fine. Paths are dotted, list items by index."""
    problems: dict[str, list[str]] = {}
    where = path or "_body"
    if depth > MAX_JSON_DEPTH:
        problems[where] = [f"Nested deeper than {MAX_JSON_DEPTH} levels; send the documented shape."]
    elif isinstance(data, str):
        if re.search("[\ud800-\udfff]", data):
            problems[where] = ["Contains a lone surrogate (\\ud800-\\udfff), which is not text; send valid Unicode."]
    elif isinstance(data, dict):
        for key, value in data.items():
            name = re.sub("[\ud800-\udfff]", "\ufffd", str(key))
            sub = f"{path}.{name}" if path else name
            if name != key:
                problems.setdefault(sub, []).append("The field name contains a lone surrogate.")
            for field, messages in unencodable(value, sub, depth + 1).items():
                problems.setdefault(field, []).extend(messages)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            for field, messages in unencodable(value, f"{path}.{index}" if path else str(index), depth + 1).items():
                problems.setdefault(field, []).extend(messages)
    return problems


def whole_number(text: str, max_digits: int = 9) -> int | None:
    """`text` as a non-negative whole number written in ASCII digits, or None.

    str.isdigit() is true for "²" and "٣", which int() then refuses or reads: every number in a
    URL or a file is parsed here instead.
    """
    text = text.strip()
    if not text or len(text) > max_digits or not (text.isascii() and text.isdecimal()):
        return None
    return int(text)
