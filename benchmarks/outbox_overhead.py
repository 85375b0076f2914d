#!/usr/bin/env python
"""What alerts and webhooks cost a review submission: `store.add_review` with and without subscribers.

A customer's review write queues its alert e-mails and webhook calls in the outbox, in the same
transaction, and sends nothing (widgetserver/outbox.py). This measures that cost, alternating in
rounds on fresh database files:

- **baseline**: a shop with no alert recipients and no webhook endpoints;
- **subscribed**: the same shop with 20 immediate alert recipients (every rating) and 10 webhook
  endpoints on all events — the most a shop can have — so each review queues 30 outbox rows;
- **dead endpoints**: as subscribed, with every endpoint on a closed local port, after a delivery
  pass has failed them all once (shows that a failing receiver does not touch the write path).

Each review is its own transaction (`store.add_review`, source "open"), as a review form post is.
Prints the median ms per review of each and the ratio to the baseline. Reports; asserts nothing.

    python benchmarks/outbox_overhead.py [--reviews 500] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import tempfile
import time

from widgetserver import alerts, create_app, outbox, store, webhooks


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_round(mode: str, reviews: int) -> float:
    """Median ms per review for `reviews` submissions in a fresh database set up for `mode`."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.db")
        app = create_app({"DATABASE": path, "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": True, "WEBHOOK_TIMEOUT": 1},
                         serving=False)
        db = store.connect(path)
        shop = store.create_shop(db, "bench", "Bench")
        if mode != "baseline":
            for n in range(alerts.MAX_RECIPIENTS):
                alerts.add_recipient(db, shop["id"], f"staff{n}@bench.example", max_rating=5)
            for n in range(webhooks.MAX_ENDPOINTS):
                url = f"http://127.0.0.1:{closed_port()}/hook{n}" if mode == "dead endpoints" \
                    else f"https://hooks{n}.example/in"
                webhooks.add_endpoint(db, shop["id"], url, allow_private=True)
        if mode == "dead endpoints":
            store.add_review(db, shop["id"], rating=1, author="Warm", source="open")
            outbox.deliver_due(app, db, kinds=("webhook",))  # every endpoint refused once
        times = []
        for n in range(reviews):
            started = time.perf_counter_ns()
            store.add_review(db, shop["id"], rating=1 + n % 5, author="Bench", title="Titel", body="Tekst " * 40,
                             source="open", actor="author")
            times.append((time.perf_counter_ns() - started) / 1e6)
        queued = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
        db.conn.close()
        print(f"  {mode:15} {statistics.median(times):6.3f} ms/review  (outbox rows: {queued})")
        return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reviews", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    modes = ("baseline", "subscribed", "dead endpoints")
    results: dict[str, list[float]] = {m: [] for m in modes}
    for r in range(args.rounds):
        print(f"round {r + 1}")
        for mode in modes:
            results[mode].append(one_round(mode, args.reviews))
    base = statistics.median(results["baseline"])
    print(f"\nmedian over {args.rounds} rounds, {args.reviews} reviews each (ms per review, one transaction each):")
    for mode in modes:
        value = statistics.median(results[mode])
        print(f"  {mode:15} {value:6.3f} ms   ratio to baseline {value / base:4.2f}  "
              f"(range {min(results[mode]):.3f}-{max(results[mode]):.3f})")


if __name__ == "__main__":
    main()
