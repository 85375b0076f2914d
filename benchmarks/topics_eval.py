"""Precision and recall of widgetserver.topics on the hand-labelled reviews in tests/data/topics_labelled.csv.

    python benchmarks/topics_eval.py            # the held-out half (split=test): the figures we report
    python benchmarks/topics_eval.py --split dev  # the half the rules were written against
    python benchmarks/topics_eval.py --errors     # also list every false positive and false negative

Prints, per language and topic, the labelled count (support), true/false positives, false negatives,
precision and recall, then micro-averaged precision, recall and F1 per language and overall.
"""

from __future__ import annotations

import argparse
import csv
from collections import Counter
from pathlib import Path

from widgetserver.topics import TOPICS, topics_of

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "topics_labelled.csv"


def load(split: str) -> list[dict]:
    """The labelled rows of one split ("dev", "test" or "all")."""
    with DATA.open(encoding="utf-8", newline="") as f:
        return [r for r in csv.DictReader(f) if split == "all" or r["split"] == split]


def evaluate(rows: list[dict]) -> dict:
    """Counts per (locale, topic): tp, fp, fn; and the errors."""
    counts: dict[tuple, Counter] = {}
    errors = []
    for row in rows:
        gold = set(filter(None, row["topics"].split(",")))
        found = set(topics_of(row["text"], row["locale"]))
        for topic in TOPICS:
            c = counts.setdefault((row["locale"], topic), Counter())
            c["tp"] += topic in gold and topic in found
            c["fp"] += topic in found and topic not in gold
            c["fn"] += topic in gold and topic not in found
            c["support"] += topic in gold
        if gold != found:
            errors.append((row["id"], sorted(found - gold), sorted(gold - found), row["text"]))
    return {"counts": counts, "errors": errors}


def ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def micro(counts: dict, locale: str | None = None) -> tuple[float, float, float]:
    """Micro-averaged precision, recall and F1 over every topic (of one locale, or all)."""
    total = Counter()
    for (loc, _), c in counts.items():
        if locale is None or loc == locale:
            total.update(c)
    p = ratio(total["tp"], total["tp"] + total["fp"]) or 0.0
    r = ratio(total["tp"], total["tp"] + total["fn"]) or 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="test", choices=["test", "dev", "all"])
    parser.add_argument("--errors", action="store_true")
    args = parser.parse_args()
    rows = load(args.split)
    result = evaluate(rows)
    counts = result["counts"]
    fmt = lambda v: "  -  " if v is None else f"{v:.2f}"  # noqa: E731
    print(f"split={args.split}: {len(rows)} reviews ({Counter(r['locale'] for r in rows)})")
    print(f"{'lang':4} {'topic':17} {'support':>7} {'tp':>3} {'fp':>3} {'fn':>3} {'precision':>9} {'recall':>6}")
    for (locale, topic), c in sorted(counts.items()):
        if c["support"] or c["fp"]:
            print(f"{locale:4} {topic:17} {c['support']:7} {c['tp']:3} {c['fp']:3} {c['fn']:3} "
                  f"{fmt(ratio(c['tp'], c['tp'] + c['fp'])):>9} {fmt(ratio(c['tp'], c['support'])):>6}")
    for locale in sorted({loc for loc, _ in counts}) + [None]:
        p, r, f1 = micro(counts, locale)
        print(f"micro {locale or 'all'}: precision {p:.2f} recall {r:.2f} F1 {f1:.2f}")
    if args.errors:
        for rid, extra, missed in ((e[0], e[1], e[2]) for e in result["errors"]):
            print(f"{rid}: false positive {extra} false negative {missed}")


if __name__ == "__main__":
    main()
