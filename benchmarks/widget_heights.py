"""How close the snippet's reserved heights are to the widgets' real heights, in Chromium.

    python benchmarks/widget_heights.py [--widths 375,520,800]

Renders every widget in every shipped theme and locale from realistic data (short and long reviews,
a reply, an edit, product names), lays each out in a shadow root the way the embed loader does, at
several container widths, and prints the real height, `widgets.layout.estimate` and the difference.
The layout-shift that difference causes is asserted in tests/test_layout_browser.py.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright

import widgets
from widgets import LOCALES, WIDGETS, Page, Reply, layout
from widgets.fixtures import NOW, PRODUCT, SHOP, review, summary_of

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

THEMES = ("default", "minimal", "dark")
LONG = ("We hebben deze jas in november besteld en hij kwam pas na drie weken aan, terwijl de site twee tot "
        "drie werkdagen beloofde. De stof is wel mooi en warm, maar de rits liep na een week al stroef. ")


def sample(n: int = 10):
    """Reviews like a real shop's: mixed ratings and lengths, a reply, an edit, line breaks."""
    out = []
    for i in range(n):
        body = (LONG * (1 + i % 3))[: 60 + 170 * (i % 4)] + ("\nGroet, Kees" if i % 5 == 2 else "")
        reply = Reply("Dank voor je eerlijke review, we zoeken het uit en mailen je vandaag nog.", "Sanne",
                      "klantenservice", NOW - timedelta(days=i, hours=-3)) if i % 4 == 1 else None
        out.append(review(100 + i, 1 + (i * 3) % 5, days=1 + i * 2, author=("Anna de Vries", "Mark", "Ilse Jansen-Bakker",
                   "Johan")[i % 4], title=("", "Kapot aangekomen", "Prima jas, trage levering", "Top")[i % 4],
                   body=body, product=PRODUCT.sku if i % 2 else None, reply=reply, edited=i % 3 == 0,
                   verified=i % 6 != 5))
    return out


def cases():
    reviews = sample()
    data = dict(shop=SHOP, summary=summary_of(reviews), reviews=reviews, product=PRODUCT, products=[PRODUCT],
                page=Page(size=10), now=NOW, base_url="https://reviews.example", options={"limit": 5})
    for theme in THEMES:
        for locale in LOCALES:
            for widget in WIDGETS:
                yield theme, locale, widget, str(widgets.render(widget, theme=theme, locale=locale, **data))


MEASURE = """([html, width]) => {
  const host = document.createElement('div'); host.style.width = width + 'px';
  document.body.appendChild(host);
  const root = host.attachShadow({mode: 'open'});
  root.innerHTML = '<style>:where(.eerlijk){all:initial;display:block}</style>' + html;
  const h = host.getBoundingClientRect().height; host.remove(); return h; }"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", default="320,359,520,800,1264")
    args = parser.parse_args(argv)
    widths = [int(w) for w in args.widths.split(",")]
    errors = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_content('<!doctype html><html><body style="margin:0"></body></html>')
        print("theme\tlocale\twidget\twidth\treal\testimate\tdiff")
        for theme, locale, widget, html in cases():
            for width in widths:
                real = page.evaluate(MEASURE, [html, width])
                guess = layout.estimate(html, width, (theme,))
                errors.append((guess - real) / real)
                print(f"{theme}\t{locale}\t{widget}\t{width}\t{real:.0f}\t{guess}\t{guess - real:+.0f}")
        browser.close()
    errs = [abs(e) for e in errors]
    print(f"\n{len(errors)} layouts: median |error| {statistics.median(errs):.1%}, "
          f"90th percentile {sorted(errs)[int(0.9 * len(errs))]:.1%}, worst {max(errs):.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
