"""WCAG 2.1 AA checks in headless Chromium: keyboard use of filters and paging, visible focus, contrast, lang."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from widgetserver import store

pytestmark = pytest.mark.browser

THEMES = ("default", "minimal", "dark")

# Relative luminance and contrast ratio as WCAG 2.1 defines them, computed on the rendered colours.
CONTRAST_JS = """
(selectors) => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = parse(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.99)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const sel of selectors) {
    for (const el of document.querySelectorAll(sel)) {
      if (!el.textContent.trim()) continue;
      const fg = lum(parse(getComputedStyle(el).color)), bg = lum(background(el));
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      out.push([sel, el.textContent.trim().slice(0, 30), Math.round(ratio * 100) / 100]);
    }
  }
  return out;
}
"""

TEXT_SELECTORS = [
    ".eerlijk-review-title", ".eerlijk-review-body", ".eerlijk-count", ".eerlijk-score",
    ".eerlijk a", ".eerlijk-reply", "time",
]


@pytest.fixture
def many_reviews(db, shop):
    """25 reviews over every rating, one with a reply: enough for a second page."""
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for i in range(25):
        review_id = store.add_review(db, shop["id"], rating=i % 5 + 1, author=f"Klant {i}", title=f"Titel {i}",
                                     body=f"Tekst van review {i}.", created_at=start + timedelta(days=i))
    store.set_reply(db, shop["id"], review_id, body="Dank je wel!", author="Sanne", role="Klantenservice")


def tab_to(page, predicate_js: str, limit: int = 80) -> bool:
    """Press Tab until the focused element satisfies `predicate_js` (a function of the element)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"({predicate_js})(document.activeElement)"):
            return True
    return False


def test_star_filter_and_paging_work_with_the_keyboard_alone(live_server, page, many_reviews):
    page.set_extra_http_headers({"Accept-Language": "nl"})  # hosted pages follow the browser's language
    page.goto(f"{live_server.url}/s/acme")
    assert page.evaluate("document.documentElement.lang") == "nl"
    assert tab_to(page, "el => el.matches('a[data-eerlijk-nav]') && new URL(el.href).searchParams.get('rating') === '1'")
    # Focus is visible: an outline (or box shadow) is drawn around the focused link.
    style = page.evaluate("(() => { const s = getComputedStyle(document.activeElement);"
                          " return [s.outlineStyle, s.outlineWidth, s.boxShadow]; })()")
    assert style[0] != "none" and style[1] != "0px" or style[2] != "none", style
    page.keyboard.press("Enter")
    page.wait_for_url("**rating=1**")
    ratings = page.eval_on_selector_all(".eerlijk-list article [role=img]", "els => els.map(e => e.getAttribute('aria-label'))")
    assert ratings and all(label.startswith("1 van 5") for label in ratings), ratings

    page.goto(f"{live_server.url}/s/acme")
    assert tab_to(page, "el => el.matches('a[rel=next]')")
    page.keyboard.press("Enter")
    page.wait_for_url("**page=2**")
    assert "Klant 14" in page.inner_text(".eerlijk-list")  # newest first: page 2 starts at the 11th newest
    assert page.console_errors == []


@pytest.mark.parametrize("theme", THEMES)
def test_text_contrast_meets_wcag_aa(live_server, page, many_reviews, theme):
    page.goto(f"{live_server.url}/s/acme?theme={theme}")
    results = page.evaluate(CONTRAST_JS, TEXT_SELECTORS)
    assert len(results) > 10, results
    low = [r for r in results if r[2] < 4.5]
    assert low == [], f"text below 4.5:1 in theme {theme}: {low}"


@pytest.mark.parametrize("theme", THEMES)
def test_every_star_rating_has_a_text_alternative(live_server, page, many_reviews, theme):
    page.set_extra_http_headers({"Accept-Language": "nl"})
    page.goto(f"{live_server.url}/s/acme?theme={theme}")
    labels = page.eval_on_selector_all(".eerlijk-stars", "els => els.map(e => [e.getAttribute('role'), e.getAttribute('aria-label')])")
    assert labels and all(role == "img" and label and "van 5 sterren" in label for role, label in labels), labels


@pytest.mark.parametrize("theme, page_bg", [("default", "#ffffff"), ("dark", "#16181d")])
def test_every_avatar_colour_as_chromium_paints_it_meets_wcag_aa(page, theme, page_bg):
    """Names that hit every palette entry, rendered in the theme; Chromium's computed colours, not the CSS text:
    initials on the disc 4.5:1 or more, the disc on the widget's background 3:1 or more."""
    import widgets
    from widgets import Page, avatar
    from widgets.fixtures import NOW, SHOP, review, summary_of

    names, colours, n = [], set(), 0
    while len(colours) < len(avatar.PALETTE):
        if avatar.color(f"Klant {n}") not in colours:
            colours.add(avatar.color(f"Klant {n}"))
            names.append(f"Klant {n}")
        n += 1
    reviews = [review(i + 1, 1 + i % 5, author=name) for i, name in enumerate(names)]
    html = widgets.render("list", theme=theme, locale="nl", shop=SHOP, summary=summary_of(reviews), reviews=reviews,
                          page=Page(size=20), now=NOW)
    page.set_content(f'<!doctype html><html lang="nl"><body style="background: {page_bg}">{html}</body></html>')
    painted = page.eval_on_selector_all(".eerlijk-avatar", "els => els.map(e => [getComputedStyle(e).color, "
                                        "getComputedStyle(e).backgroundColor])")
    background = page.eval_on_selector(".eerlijk", "e => getComputedStyle(e).backgroundColor")

    def hex_of(rgb: str) -> str:
        return "#" + "".join(f"{int(c):02x}" for c in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3])

    assert len({disc for _, disc in painted}) == len(avatar.PALETTE)  # the whole palette is on the page
    for initials, disc in painted:
        assert avatar.contrast(hex_of(initials), hex_of(disc)) >= 4.5, (theme, initials, disc)
        assert avatar.contrast(hex_of(disc), hex_of(background)) >= 3, (theme, disc, background)
