#!/usr/bin/env python
"""Import speed: `widgetserver import` of a CSV file vs a raw `executemany` of the same rows into the same schema.

Writes a realistic CSV (default 100,000 reviews: English and Dutch text, ~3,000 products, 5% with
the shop's reply, external ids), then, alternating in rounds on fresh database files:

- **app**: the real command, `widgetserver import bench FILE --db DB` in a subprocess (wall time,
  including the interpreter's start), and the same import in-process (`transfer.import_reviews`);
- **baseline**: the same file read with `csv.DictReader` and its rows inserted with one
  `executemany` into `reviews` of a database migrated to the same schema, in one transaction —
  no validation, cleaning, aggregates or audit log.

Prints reviews/s for each (median and range over the rounds) and the ratio app/baseline. It
reports; it asserts nothing. Not part of pytest.

    python benchmarks/import_speed.py [--rows 100000] [--rounds 3] [--encoding cp1252 --delimiter ';']
    python benchmarks/import_speed.py --rows 100000 --profile   # where an in-process import spends its time
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from widgetserver import create_app, store, transfer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from store_scale import Generator  # noqa: E402  (the same synthetic reviews as the store benchmark)

COLUMNS = ["external_id", "created_at", "rating", "title", "body", "author", "locale", "product", "product_name",
           "reply_body", "reply_author", "reply_role"]


def write_csv(path: Path, rows: int, seed: int, encoding: str, delimiter: str) -> None:
    skus = [f"SKU-{i:05d}" for i in range(max(3, rows // 35))]
    gen = Generator(seed, skus)
    rng = random.Random(seed)
    with open(path, "w", encoding=encoding, newline="", errors="replace") as f:
        out = csv.writer(f, delimiter=delimiter)
        out.writerow(COLUMNS)
        for i in range(rows):
            r = gen.review()
            reply = rng.random() < 0.05
            out.writerow([
                f"old-{i}", r["created_at"].strftime("%Y-%m-%dT%H:%M:%SZ"), r["rating"], r["title"], r["body"],
                r["author"], r["locale"], r["product_sku"] or "",
                f"Product {r['product_sku']}" if r["product_sku"] else "",
                "Thank you for telling us; we have sent a replacement." if reply else "",
                "Sanne" if reply else "", "Customer service" if reply else "",
            ])


def fresh_db(tmp: str, name: str) -> tuple[str, dict]:
    path = os.path.join(tmp, name)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    create_app({"DATABASE": path, "SECRET_KEY": "bench"}, serving=False)
    db = store.connect(path)
    shop = store.create_shop(db, "bench", "Benchmark shop", "https://shop.example", "nl")
    db.conn.close()
    return path, shop


def run_cli(tmp: str, csv_path: Path) -> float:
    path, _ = fresh_db(tmp, "cli.db")
    exe = str(Path(sys.executable).with_name("widgetserver"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run([exe, "import", "bench", str(csv_path), "--db", path], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if out.returncode:
        raise SystemExit(out.stderr)
    print("   ", out.stdout.strip().replace("\n", " | "), flush=True)
    return elapsed, cpu


def run_in_process(tmp: str, csv_path: Path) -> float:
    path, shop = fresh_db(tmp, "app.db")
    db = store.connect(path)
    start, cpu = time.perf_counter(), time.process_time()
    text, _ = transfer.decode_upload(csv_path.read_bytes())
    transfer.import_reviews(db, shop, text, "csv")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert store.recompute(db) == []
    db.conn.close()
    return elapsed, cpu


def run_baseline(tmp: str, csv_path: Path, encoding: str, delimiter: str) -> float:
    """csv.DictReader + one executemany INSERT into reviews (products created first), one transaction."""
    path, shop = fresh_db(tmp, "raw.db")
    db = store.connect(path)
    start, cpu = time.perf_counter(), time.process_time()
    with open(csv_path, encoding=encoding, newline="") as f:
        rows = list(csv.DictReader(f, delimiter=delimiter))
    now = store.now_text()
    db.execute("BEGIN IMMEDIATE")
    skus = sorted({r["product"] for r in rows if r["product"]})
    db.conn.executemany("INSERT INTO products (shop_id, sku, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                        [(shop["id"], s, f"Product {s}", now, now) for s in skus])
    ids = dict(db.execute("SELECT sku, id FROM products WHERE shop_id = ?", [shop["id"]]).fetchall())
    db.conn.executemany(
        "INSERT INTO reviews (shop_id, product_id, rating, title, body, author, locale, source, external_id,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'import', ?, ?, ?)",
        [(shop["id"], ids.get(r["product"]), int(r["rating"]), r["title"], r["body"], r["author"], r["locale"],
          r["external_id"], r["created_at"], r["created_at"]) for r in rows])
    db.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    db.conn.close()
    return elapsed, cpu


def run_floor(tmp: str, csv_path: Path, encoding: str, delimiter: str) -> tuple[float, float]:
    """What SQLite alone costs: the rows already parsed and in time order (as the import writes them), with
    the page cache the import uses; timed from BEGIN to COMMIT of one executemany into reviews."""
    path, shop = fresh_db(tmp, "floor.db")
    db = store.connect(path)
    with open(csv_path, encoding=encoding, newline="") as f:
        rows = sorted(csv.DictReader(f, delimiter=delimiter), key=lambda r: r["created_at"])
    now = store.now_text()
    skus = sorted({r["product"] for r in rows if r["product"]})
    db.conn.executemany("INSERT INTO products (shop_id, sku, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                        [(shop["id"], s, f"Product {s}", now, now) for s in skus])
    ids = dict(db.execute("SELECT sku, id FROM products WHERE shop_id = ?", [shop["id"]]).fetchall())
    values = [(shop["id"], ids.get(r["product"]), int(r["rating"]), r["title"], r["body"], r["author"], r["locale"],
               r["external_id"], r["created_at"].replace("Z", ".000000Z"), now) for r in rows]
    db.execute(f"PRAGMA cache_size = -{min(512 * 1024, max(2048, 2 * len(rows)))}")
    start, cpu = time.perf_counter(), time.process_time()
    db.execute("BEGIN IMMEDIATE")
    db.conn.executemany(
        "INSERT INTO reviews (shop_id, product_id, rating, title, body, author, locale, source, external_id,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'import', ?, ?, ?)", values)
    db.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    db.conn.close()
    return elapsed, cpu


def profile(tmp: str, csv_path: Path) -> None:
    """One in-process import under cProfile: the 25 functions with the most time of their own.

    SQLite's share shows as `execute`/`executemany`; the profiler's own cost inflates Python's.
    """
    import cProfile
    import pstats

    path, shop = fresh_db(tmp, "profile.db")
    db = store.connect(path)
    text, _ = transfer.decode_upload(csv_path.read_bytes())
    profiler = cProfile.Profile()
    profiler.runcall(transfer.import_reviews, db, shop, text, "csv")
    db.conn.close()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def describe(name: str, rows: int, runs: list[tuple[float, float]]) -> str:
    rates = sorted(rows / wall for wall, _ in runs)
    cpu = statistics.median(rows / c for _, c in runs)
    return (f"{name:<52} median {statistics.median(rates):>9,.0f} reviews/s"
            f"  (range {rates[0]:,.0f}-{rates[-1]:,.0f}; {statistics.median(w for w, _ in runs):.2f} s)"
            f"  per CPU-second {cpu:>9,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--encoding", default="utf-8", help="of the generated file, e.g. cp1252")
    parser.add_argument("--delimiter", default=",")
    parser.add_argument("--profile", action="store_true",
                        help="instead: one in-process import under cProfile, the functions that take most time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp, "reviews.csv")
        write_csv(csv_path, args.rows, args.seed, args.encoding, args.delimiter)
        print(f"file: {args.rows:,} reviews, {csv_path.stat().st_size / 1e6:.1f} MB, "
              f"{args.encoding}, delimiter {args.delimiter!r}")
        if args.profile:
            profile(tmp, csv_path)
            return
        cli, inproc, raw, floor = [], [], [], []
        for i in range(args.rounds):
            print(f"round {i + 1}/{args.rounds}", flush=True)
            raw.append(run_baseline(tmp, csv_path, args.encoding, args.delimiter))
            floor.append(run_floor(tmp, csv_path, args.encoding, args.delimiter))
            cli.append(run_cli(tmp, csv_path))
            inproc.append(run_in_process(tmp, csv_path))
            print(f"    baseline {args.rows / raw[-1][0]:,.0f}/s, floor {args.rows / floor[-1][0]:,.0f}/s, "
                  f"CLI {args.rows / cli[-1][0]:,.0f}/s, in-process {args.rows / inproc[-1][0]:,.0f}/s", flush=True)
    print(describe("app: widgetserver import (CLI, wall time)", args.rows, cli))
    print(describe("app: transfer.import_reviews (in-process)", args.rows, inproc))
    print(describe("baseline: csv + raw executemany", args.rows, raw))
    print(describe("floor: sorted rows, executemany only (SQLite alone)", args.rows, floor))

    def rate(runs, k):
        return statistics.median(args.rows / run[k] for run in runs)

    for k, what in ((0, "wall time"), (1, "CPU time")):
        print(f"ratios ({what}): CLI/baseline {rate(cli, k) / rate(raw, k):.2f}, in-process/baseline "
              f"{rate(inproc, k) / rate(raw, k):.2f}, in-process/floor {rate(inproc, k) / rate(floor, k):.2f}")
    print("goal: >= 20,000 reviews/s through `widgetserver import` at 100k")
    print("CPU time counts this process's (or the CLI child's) own seconds: on a shared machine it shows what the")
    print("work costs, where wall time also counts waiting for a core.")

if __name__ == "__main__":
    main()
