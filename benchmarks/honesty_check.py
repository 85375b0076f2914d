"""Honesty check cost: widgets.render of list, product and recent with and without widgets/honesty.verify.

Same process, same data, same theme; rounds alternate between "checked" (the shipped render) and
"unchecked" (honesty.verify swapped for a no-op) so machine noise hits both alike. Reports the median
time per render for each, their ratio (checked / unchecked), and verify() alone on the rendered HTML.

    python benchmarks/honesty_check.py [--reviews 10] [--renders 300] [--rounds 10] [--theme default]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from datetime import timedelta

from widgets import fixtures, honesty, rendering
from widgets.data import Reply


def page_of(n: int) -> dict:
    """A page of n reviews over every rating, a third with a shop reply, realistic text lengths."""
    reviews = []
    for i in range(n):
        reply = Reply("Dank voor je review, we nemen contact op.", "Sanne", "klantenservice",
                      fixtures.NOW - timedelta(days=1)) if i % 3 == 0 else None
        reviews.append(fixtures.review(1000 + i, i % 5 + 1, days=i + 1, author=f"Klant {i}",
                                       title="Snel geleverd, goede kwaliteit"[: 10 + i % 20],
                                       body="De fiets kwam netjes ingepakt aan en rijdt prima. " * (1 + i % 6),
                                       product="BIKE-1", reply=reply, edited=i % 7 == 0))
    data = fixtures.cases()["one review"]
    return {**data, "reviews": reviews, "summary": fixtures.summary_of(reviews),
            "page": fixtures.Page(size=n)}


def timed(fn, count: int) -> float:
    """Seconds per call, over `count` calls."""
    start = time.perf_counter()
    for _ in range(count):
        fn()
    return (time.perf_counter() - start) / count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reviews", type=int, default=10, help="reviews on the page (default 10, the server's page size)")
    ap.add_argument("--renders", type=int, default=300, help="renders per widget per round (default 300)")
    ap.add_argument("--rounds", type=int, default=10, help="alternating rounds (default 10)")
    ap.add_argument("--theme", default="default")
    args = ap.parse_args()

    data = page_of(args.reviews)
    real_verify = honesty.verify
    print(f"Python {platform.python_version()} on {platform.machine()}, {args.reviews} reviews per page, "
          f"theme {args.theme}, {args.renders} renders x {args.rounds} rounds per mode and widget")
    print(f"{'widget':8} {'unchecked µs':>13} {'checked µs':>11} {'ratio':>7} {'verify() alone µs':>18} {'HTML KB':>8}")
    for widget in ("list", "product", "recent"):
        options = {"limit": args.reviews} if widget == "recent" else None

        def render():
            return rendering.render(widget, theme=args.theme, now=fixtures.NOW, options=options, **data)

        html = str(render())  # warm the environment cache and check once for real
        reviews = data["reviews"]
        checked, unchecked = [], []
        for _ in range(args.rounds):
            honesty.verify = real_verify
            checked.append(timed(render, args.renders))
            honesty.verify = lambda *a, **k: None
            unchecked.append(timed(render, args.renders))
        honesty.verify = real_verify
        alone = statistics.median(timed(lambda: real_verify(widget, args.theme, html, reviews), args.renders)
                                  for _ in range(args.rounds))
        c, u = statistics.median(checked), statistics.median(unchecked)
        print(f"{widget:8} {u * 1e6:13.0f} {c * 1e6:11.0f} {c / u:7.3f} {alone * 1e6:18.1f} {len(html) / 1024:8.1f}")


if __name__ == "__main__":
    main()
