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
