"""Text is stored and served as plain text: markup stripped, look-alikes of markup kept as typed."""

from __future__ import annotations

import html

import pytest

from widgetserver import store
from widgetserver.sanitize import UnsafeText, clean_text


# --- the one sanitising function -----------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("I <3 this dress", "I <3 this dress"),
        ("5 > 3 and 2 < 4", "5 > 3 and 2 < 4"),
        ("Fish & chips", "Fish & chips"),
        ("{{7*7}} and {% raw %}", "{{7*7}} and {% raw %}"),
        ("<b>bold</b> claim", "bold claim"),
        ("<script>alert(1)</script>Hi", "alert(1)Hi"),
        ('<img src=x onerror="alert(1)">pic', "pic"),
        ("<!-- hidden -->visible", "visible"),
        ("a\x07b\x1bc\x7fd\x85e", "abcde"),
        ("line one\r\nline two", "line one\nline two"),
        ("tab\tkept", "tab\tkept"),
        ("  padded  ", "padded"),
        ("e\u0301", "\u00e9"),  # NFC
    ],
)
def test_clean_text(raw, expected):
    assert clean_text(raw) == expected


def test_single_line_collapses_whitespace():
    assert clean_text("Anna\n  de   Vries", multiline=False) == "Anna de Vries"


def test_multiline_keeps_paragraphs_but_not_runs_of_blank_lines():
    assert clean_text("one\n\n\n\n\ntwo  \nthree") == "one\n\ntwo\nthree"


@pytest.mark.parametrize("levels", [1, 2, 3, 4, 5, 6, 8])
def test_markup_hidden_behind_entities_never_comes_back(levels):
    text = "<b>bold</b><script>x()</script>"
    for _ in range(levels):
        text = html.escape(text, quote=False)
    try:
        cleaned = clean_text(text)
    except UnsafeText:
        return  # refusing is fine; handing back live markup is not
    assert "<b" not in cleaned and "<script" not in cleaned and "</" not in cleaned
    assert "&lt;" not in cleaned  # it does not hand back a still-encoded tag either


def test_nul_byte_refused():
    with pytest.raises(UnsafeText, match="NUL"):
        clean_text("a\x00b")


def test_clean_text_is_idempotent():
    for raw in ("I <3 it", "5 > 3", "<b>x</b> & y", "&lt;i&gt;z", "{{7*7}}"):
        once = clean_text(raw)
        assert clean_text(once) == once


# --- through the API -----------------------------------------------------------


def post_review(client, auth, **fields):
    data = {"rating": 4, "author": "Anna", **fields}
    return client.post("/api/v1/shops/acme/reviews", json=data, headers=auth)


def test_api_keeps_text_that_only_looks_like_markup(client, auth):
    response = post_review(client, auth, title="I <3 it", body="5 > 3, and 2 < 4. {{7*7}} & more")
    assert response.status_code == 201, response.json
    assert response.json["title"] == "I <3 it"
    assert response.json["body"] == "5 > 3, and 2 < 4. {{7*7}} & more"
    listed = client.get("/api/v1/shops/acme/reviews").json["items"][0]
    assert listed["title"] == "I <3 it"
    assert listed["body"] == "5 > 3, and 2 < 4. {{7*7}} & more"


def test_api_strips_tags(client, auth, db, shop):
    response = post_review(
        client, auth, title="<b>Great</b>", body="<script>alert('x')</script><p>Nice <i>fit</i></p>",
        author="<em>Bea</em>",
    )
    assert response.status_code == 201, response.json
    review = response.json
    assert review["title"] == "Great"
    assert review["author"] == "Bea"
    assert "<" not in review["body"] and ">" not in review["body"]
    assert "Nice fit" in review["body"]
    stored = store.review_row(db, shop["id"], review["id"])
    assert "<" not in stored["body"] + stored["title"] + stored["author"]


def test_api_entity_hidden_markup_does_not_come_back(client, auth):
    response = post_review(client, auth, body="&lt;b&gt;bold&lt;/b&gt; &amp;lt;i&amp;gt;x", title="&lt;script&gt;")
    assert response.status_code == 201, response.json
    for text in (response.json["body"], response.json["title"]):
        assert "<b" not in text and "<i" not in text and "<script" not in text
        assert "&lt;" not in text
    assert "bold" in response.json["body"]


def test_api_removes_control_characters(client, auth):
    response = post_review(client, auth, body="a\u0007b\u001bc\u009bd", author="Bo\u0008b")
    assert response.status_code == 201, response.json
    assert response.json["body"] == "abcd"
    assert response.json["author"] == "Bob"


def test_api_reply_is_sanitised_too(client, auth):
    review_id = post_review(client, auth, rating=1).json["id"]
    response = client.post(
        f"/api/v1/shops/acme/reviews/{review_id}/reply",
        json={"body": "<b>Sorry</b> <3", "author": "<i>Joost</i>", "role": "Owner <script>x</script>"},
        headers=auth,
    )
    assert response.status_code == 201, response.json
    assert response.json["reply"]["body"] == "Sorry <3"
    assert response.json["reply"]["author"] == "Joost"
    assert "<" not in response.json["reply"]["role"]


def test_api_product_name_is_sanitised(client, auth):
    response = client.post("/api/v1/shops/acme/products", json={"sku": "S-9", "name": "<b>Rok</b> 5 > 4"}, headers=auth)
    assert response.status_code == 201, response.json
    assert response.json["name"] == "Rok 5 > 4"


# --- the shortcut for text without markup characters ---------------------------

from hypothesis import example, given, settings, strategies as st  # noqa: E402

from widgetserver.sanitize import _CONTROL, strip_markup  # noqa: E402

_markup_free = st.text(
    alphabet=st.one_of(st.characters(blacklist_characters="<&", blacklist_categories=("Cs",)),
                       st.sampled_from(list(">\"'=/;#!?-{}[]\t\n é€ß—…\u200b\ufeff\ufffe"))),
    max_size=200,
)


@settings(max_examples=400, deadline=None)
@given(_markup_free)
def test_shortcut_equals_the_full_bleach_pass(text):
    """strip_markup returns markup-free text untouched; bleach's full pass must agree on all of it."""
    import bleach

    text = _CONTROL.sub("", text)
    full = html.unescape(bleach.clean(text, tags=set(), attributes={}, strip=True, strip_comments=True))
    assert strip_markup(text) == full == text


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>&;#x3cltgamp/b !-é")), max_size=60))
def test_text_with_markup_characters_takes_the_full_pass(text):
    import bleach

    text = _CONTROL.sub("", text)
    assert strip_markup(text) == html.unescape(
        bleach.clean(text, tags=set(), attributes={}, strip=True, strip_comments=True))


# --- the early exit for text that is clean already --------------------------------

from widgetserver.sanitize import UnsafeText, _clean_fully, clean_text  # noqa: E402

_near_clean = st.one_of(
    st.lists(st.one_of(st.characters(blacklist_categories=("Cs",)),
                       st.sampled_from(list("ab   \n\n\n\t\r\x0b\x0c\x1c\x1f\x85\xa0\u2028\u3000<&;é\u0301e\ufffe")),
                       st.sampled_from(["\ud800", "&amp;", "<b>", "\u212b", "A\u030a", "\x00"])),
             max_size=40).map("".join),
    # words between single spaces and newlines, with the odd untidy spot: the early exit is taken often
    st.lists(st.one_of(st.sampled_from(["a", "bë", "c.", "a", "bë", "c."]),
                       st.sampled_from([" ", " ", "\n", "\n\n", "  ", " \n", "\n\n\n", "\xa0", "\t"])),
             max_size=12).map("".join),
)


def _outcome(function, *args):
    try:
        return function(*args)
    except UnsafeText as exc:
        return ("refused", str(exc))


@settings(max_examples=1500, deadline=None)
@given(_near_clean, st.booleans())
@example("a  b", False)
@example("a\n\n\nb", True)
@example("a \nb", True)
def test_early_exit_equals_the_full_pass(text, multiline):
    """clean_text returns clean text as it is without the full pass; the full pass must agree on every text."""
    assert _outcome(lambda: clean_text(text, multiline=multiline)) == _outcome(_clean_fully, text, multiline)


@pytest.mark.parametrize("text, multiline", [
    ("Goed product", False), ("Goed.\n\nSnel geleverd.", True), ("één keer", False), ("", True), ("", False),
])
def test_clean_text_returns_clean_text_itself(text, multiline):
    assert clean_text(text, multiline=multiline) is text


@pytest.mark.parametrize("text, multiline, expected", [
    ("a  b", False, "a b"), (" a", False, "a"), ("a\tb", False, "a b"), ("a\u00a0b", False, "a b"),
    ("a \nb", True, "a\nb"), ("a\n\n\nb", True, "a\n\nb"), ("\na", True, "a"), ("a\n", True, "a"),
    ("e\u0301", False, "\u00e9"), ("a\x85b", True, "ab"),
])
def test_untidy_text_still_gets_the_full_pass(text, multiline, expected):
    assert clean_text(text, multiline=multiline) == expected


def test_the_early_exit_knows_every_whitespace_character():
    """_WHITESPACE is exactly the whitespace above the C1 controls, and column_is_clean's quick test
    (str.isprintable) passes no character its exact pattern would find, "<" and "&" aside."""
    import re
    import sys

    from widgetserver.sanitize import _UNTIDY_ON_COLUMN, _WHITESPACE

    listed = re.compile(f"[{_WHITESPACE}]")
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if char.isspace() and code > 0x9F:
            assert listed.match(char), f"U+{code:04X} is whitespace"
        elif code > 0x9F:
            assert not listed.match(char), f"U+{code:04X} is not whitespace"
        if char.isprintable():
            assert not _UNTIDY_ON_COLUMN.match(char) or char == "&", f"U+{code:04X} is printable but untidy"


# --- a whole column at once -------------------------------------------------------------

from widgetserver.sanitize import column_is_clean  # noqa: E402


@settings(max_examples=800, deadline=None)
@given(st.lists(_near_clean, max_size=6), st.booleans())
@example(["a", "b "], False)
@example(["a ", "b"], False)
@example(["a", " b"], False)
@example(["a", " b"], True)
@example(["a ", "b"], True)
@example(["a\n", "b"], True)
@example(["a", "\nb"], True)
@example(["a\x00b"], False)
@example(["e\u0301", "a"], False)
@example(["a", "\u0301"], False)
@example(["a", "\u0338b"], False)  # "<" + U+0338 composes to U+226E: the joined text is not NFC (conservative)
def test_a_clean_column_is_clean_value_by_value(values, multiline):
    if column_is_clean(values, multiline=multiline):
        assert all(_outcome(lambda v=v: clean_text(v, multiline=multiline)) == v for v in values)


@pytest.mark.parametrize("values, multiline", [
    (["Goed product", "Snel geleverd", "één keer"], False), (["Goed.\n\nSnel.", "", "Prima"], True), ([], True),
])
def test_plain_columns_are_clean(values, multiline):
    assert column_is_clean(values, multiline=multiline)
