#!/usr/bin/env python
"""Store scale benchmark: import rate, summary and first-page latency at 1k vs 1M reviews.

Fills one SQLite file per size with synthetic reviews for one shop, then times
`store.summary_for` and `store.list_reviews` in-process (time.perf_counter_ns),
interleaving the sizes in rounds so machine noise hits them alike, and prints
median/p99, the ratio between the largest and smallest size, PASS/MISS against
the targets of issue 2, and EXPLAIN QUERY PLAN for every list query shape.

It reports; it never fails CI (exit status is 0 on MISS). Not part of pytest.

    python benchmarks/store_scale.py                       # sizes 1000,1000000
    python benchmarks/store_scale.py --sizes 1000,100000   # quicker
    python benchmarks/store_scale.py --db /tmp/bench.db    # keep/reuse files

See benchmarks/README.md and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

from widgetserver import store

SHOP = "bench"
RATING_MIX = {5: 56, 4: 21, 3: 12, 2: 7, 1: 4}  # percent
START = datetime(2016, 1, 1, tzinfo=timezone.utc)
SPAN_SECONDS = int((datetime(2025, 12, 31, tzinfo=timezone.utc) - START).total_seconds())
SUMMARY_TARGET_RATIO = 1.5
LIST_P99_TARGET_MS = 10.0

EN = ("the delivery was quick and the product works exactly as described i would order again "
      "packaging could be better but customer service answered my question within a day "
      "quality is good for the price colour slightly different from the photo size fits well "
      "arrived damaged and the replacement took two weeks battery lasts all day easy to install "
      "instructions were unclear returned it without problems very happy with this purchase").split()
NL = ("snel geleverd en het product doet wat het belooft ik zou het opnieuw bestellen "
      "verpakking kan beter maar de klantenservice reageerde binnen een dag kwaliteit is prima "
      "voor de prijs kleur wijkt iets af van de foto past goed kwam beschadigd aan vervanging "
      "duurde twee weken batterij gaat de hele dag mee makkelijk te installeren erg tevreden").split()
FIRST = ("Anna Bram Chris Daan Eva Fleur Gijs Hanna Ilse Jeroen Kim Lars Mila Noah Olivia Pieter "
         "Quinten Rosa Sem Tess Umar Vera Wouter Xander Yara Zoë Emma Liam Sophie Lucas").split()


# --- synthetic data ------------------------------------------------------------


def _sentence(rng: random.Random, words: list[str]) -> str:
    text = " ".join(rng.choice(words) for _ in range(rng.randint(6, 18)))
    return text[0].upper() + text[1:] + rng.choice(".!.")


def text_pools(rng: random.Random, size: int = 4000) -> tuple[list, list]:
    """Titles (15-60 chars) and bodies (log-normal length, median ~220 chars, 20-2000), English and Dutch."""
    titles, bodies = [], []
    for i in range(size):
        words = NL if i % 4 == 0 else EN
        title = " ".join(rng.choice(words) for _ in range(rng.randint(2, 8)))
        titles.append((title[0].upper() + title[1:])[:60])
        target = min(2000, max(20, int(rng.lognormvariate(5.4, 0.7))))
        body = ""
        while len(body) < target:
            body += (" " if body else "") + _sentence(rng, words)
        bodies.append(("nl" if words is NL else "en", body[:target].rstrip()))
    return titles, bodies


class Generator:
    """Deterministic review fields for one size (seeded)."""

    def __init__(self, seed: int, skus: list[str]):
        self.rng = random.Random(seed)
        self.titles, self.bodies = text_pools(self.rng)
        self.skus = skus
        self.ratings = list(RATING_MIX)
        self.weights = list(RATING_MIX.values())

    def review(self) -> dict:
        rng = self.rng
        locale, body = rng.choice(self.bodies)
        invited = rng.random() < 0.4
        return {
            "rating": rng.choices(self.ratings, self.weights)[0],
            "author": f"{rng.choice(FIRST)} {chr(65 + rng.randrange(26))}.",
            "title": rng.choice(self.titles),
            "body": body,
            "locale": locale,
            "product_sku": rng.choice(self.skus) if rng.random() < 0.85 else None,  # 15% shop reviews
            "source": "invitation" if invited else "import",
            "verified": invited,
            "verification_method": "invitation-email" if invited else None,
            "created_at": START + timedelta(seconds=rng.randrange(SPAN_SECONDS), microseconds=rng.randrange(10**6)),
        }


# --- filling -------------------------------------------------------------------


def db_path_for(args, n: int, tmpdir: str) -> str:
    if not args.db:
        return os.path.join(tmpdir, f"reviews-{n}.db")
    if len(args.sizes) == 1:
        return args.db
    stem, ext = os.path.splitext(args.db)
    return f"{stem}-{n}{ext or '.db'}"


def fill(db, n: int, args, log) -> dict:
    """Create the shop and products, import `n` reviews, add replies/withdrawals, verify aggregates."""
    products = max(3, round(n * 0.85 / args.reviews_per_product))
    shop = store.create_shop(db, SHOP, "Benchmark shop", "https://shop.example")
    sid = shop["id"]
    skus = [f"SKU-{i:05d}" for i in range(products)]
    with store.write(db):
        for sku in skus:
            store.upsert_product(db, sid, sku, name=f"Product {sku}", url=f"https://shop.example/p/{sku}")
    pid_of = {r["sku"]: r["id"] for r in db.query("SELECT id, sku FROM products WHERE shop_id = ?", [sid])}
    gen = Generator(args.seed + n, skus)

    info = {"n": n, "products": products, "chunk": args.chunk}
    # Real path: store.add_review, many per store.write() transaction, until done or out of budget.
    real_limit = n if args.real_limit is None else min(n, args.real_limit)
    done, chunks = 0, []
    t_real = time.perf_counter()
    while done < real_limit and (time.perf_counter() - t_real) < args.real_budget:
        size = min(args.chunk, real_limit - done)
        batch = [gen.review() for _ in range(size)]  # generated outside the timed part
        t0 = time.perf_counter()
        with store.write(db):
            for fields in batch:
                store.add_review(db, sid, actor="benchmark", **fields)
        chunks.append((size, time.perf_counter() - t0))
        done += size
        if len(chunks) % 20 == 0:
            log(f"    real path: {done:,} reviews, {done / sum(s for _, s in chunks):,.0f}/s")
    real_seconds = sum(s for _, s in chunks)
    info["real"] = {"count": done, "seconds": real_seconds, "rate": done / real_seconds if real_seconds else None}
    if len(chunks) >= 4:
        k = max(1, len(chunks) // 10)
        first, last = chunks[:k], chunks[-k:]
        info["real"]["first_rate"] = sum(c for c, _ in first) / sum(s for _, s in first)
        info["real"]["last_rate"] = sum(c for c, _ in last) / sum(s for _, s in last)
        info["real"]["segment"] = sum(c for c, _ in first)

    # Bulk path for the rest: executemany INSERT plus the same aggregate deltas, one transaction per chunk.
    rest = n - done
    t_bulk = time.perf_counter()
    next_id = (db.execute("SELECT coalesce(max(id), 0) FROM reviews").fetchone()[0]) + 1
    bulk_chunk = max(args.chunk, 20000)
    while rest > 0:
        size = min(bulk_chunk, rest)
        rows, deltas = [], {}
        for _ in range(size):
            f = gen.review()
            pid = pid_of[f["product_sku"]] if f["product_sku"] else None
            created = store.format_time(f["created_at"])
            rows.append((next_id, sid, pid, f["rating"], f["title"], f["body"], f["author"], f["locale"],
                         int(f["verified"]), f["verification_method"], f["source"], created, created))
            next_id += 1
            for key in (store.SHOP_PRODUCT, pid) if pid else (store.SHOP_PRODUCT,):
                d = deltas.setdefault(key, [0] * 7)
                d[0] += 1
                d[1] += f["rating"]
                d[1 + f["rating"]] += 1
        with store.write(db):
            db.conn.executemany(
                "INSERT INTO reviews (id, shop_id, product_id, rating, title, body, author, locale, verified,"
                " verification_method, source, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            for key, d in deltas.items():
                db.execute(
                    "UPDATE aggregates SET count = count + ?, rating_sum = rating_sum + ?, r1 = r1 + ?,"
                    " r2 = r2 + ?, r3 = r3 + ?, r4 = r4 + ?, r5 = r5 + ? WHERE shop_id = ? AND product_id = ?",
                    [*d, sid, key],
                )
            db.execute("UPDATE shops SET data_version = data_version + 1 WHERE id = ?", [sid])
            store.audit(db, shop_id=sid, actor="benchmark", action="bulk-import", entity="review",
                        entity_id=f"{rows[0][0]}-{rows[-1][0]}", data={"count": size})
        rest -= size
        if (n - done - rest) % 200000 < size:
            log(f"    bulk path: {n - rest:,} reviews")
    bulk_count = n - done
    bulk_seconds = time.perf_counter() - t_bulk
    info["bulk"] = {"count": bulk_count, "seconds": bulk_seconds,
                    "rate": bulk_count / bulk_seconds if bulk_count else None}

    # Replies (more often on negative reviews) and a few withdrawn reviews, through the real path.
    t0 = time.perf_counter()
    rng = random.Random(args.seed + n + 1)
    reply_ids, withdraw_ids = [], []
    for rid, rating in db.execute("SELECT id, rating FROM reviews WHERE shop_id = ?", [sid]):
        if rng.random() < (0.30 if rating <= 2 else 0.02):
            reply_ids.append(rid)
        elif rng.random() < 0.005:
            withdraw_ids.append(rid)
    for start in range(0, len(reply_ids), args.chunk):
        with store.write(db):
            for rid in reply_ids[start:start + args.chunk]:
                store.set_reply(db, sid, rid, body="Thank you for your review. We are sorry to hear this and "
                                "have sent you an e-mail to make it right.", author="Sanne de Vries",
                                role="Customer service", actor="benchmark")
    with store.write(db):
        for rid in withdraw_ids:
            store.set_review_status(db, sid, rid, "withdrawn", reason="author request", actor="benchmark")
    info["replies"], info["withdrawn"] = len(reply_ids), len(withdraw_ids)
    info["extras_seconds"] = time.perf_counter() - t0
    db.execute("ANALYZE")  # what `sqlite3 ... ANALYZE` / PRAGMA optimize would give a long-lived database
    t0 = time.perf_counter()
    info["recompute_problems"] = store.recompute(db)
    info["recompute_seconds"] = time.perf_counter() - t0
    return info


def existing_count(db) -> int | None:
    if not db["shops"].exists():
        return None
    shop = store.get_shop(db, SHOP)
    if shop is None:
        return None
    return db.execute("SELECT count(*) FROM reviews WHERE shop_id = ?", [shop["id"]]).fetchone()[0]


# --- measuring -----------------------------------------------------------------


def percentile(sorted_ns: list[int], p: float) -> float:
    """Nearest-rank percentile in milliseconds."""
    idx = min(len(sorted_ns) - 1, max(0, int(round(p / 100 * len(sorted_ns) + 0.5)) - 1))
    return sorted_ns[idx] / 1e6


def shapes(db, sid: int, pid: int, n_published: int) -> list[tuple[str, str, object]]:
    """(label, kind, callable) for every measure; kind 'summary', 'list' (target) or 'extra'."""
    def deep(sort):  # the key of the review in the middle of this order, as a cursor would carry it
        cols = store.SORTS[sort]
        row = db.execute(
            f"SELECT {', '.join(c for c, _ in cols)} FROM reviews WHERE shop_id = ? AND status = 'published'"
            f" ORDER BY {', '.join(f'{c} {d}' for c, d in cols)} LIMIT 1 OFFSET ?",
            [sid, n_published // 2]).fetchone()
        return list(row)

    deep_newest, deep_lowest, deep_highest = deep("newest"), deep("lowest"), deep("highest")
    L = store.list_reviews
    return [
        ("summary, shop", "summary", lambda: store.summary_for(db, sid)),
        ("summary, product", "summary", lambda: store.summary_for(db, sid, pid)),
        ("list newest", "list", lambda: L(db, sid)),
        ("list oldest", "list", lambda: L(db, sid, sort="oldest")),
        ("list highest", "list", lambda: L(db, sid, sort="highest")),
        ("list lowest", "list", lambda: L(db, sid, sort="lowest")),
        ("list rating=1 newest", "list", lambda: L(db, sid, rating=1)),
        ("list rating=3 lowest", "list", lambda: L(db, sid, rating=3, sort="lowest")),
        ("list product newest", "list", lambda: L(db, sid, product_id=pid)),
        ("list product highest", "list", lambda: L(db, sid, product_id=pid, sort="highest")),
        ("list verified=true newest", "extra", lambda: L(db, sid, verified=True)),
        ("list newest, cursor mid-way", "extra", lambda: L(db, sid, after=deep_newest)),
        ("list highest, cursor mid-way", "extra", lambda: L(db, sid, sort="highest", after=deep_highest)),
        ("list lowest, cursor mid-way", "extra", lambda: L(db, sid, sort="lowest", after=deep_lowest)),
    ]


def measure(targets: dict, reps: int, extra_reps: int, rounds: int, warmup: int, log) -> dict:
    """targets: size -> list of (label, kind, fn). Interleaves sizes round by round; returns size -> label -> ns list."""
    first = next(iter(targets.values()))
    labels = [label for label, _, _ in first]
    samples = {n: {label: [] for label in labels} for n in targets}
    timer = time.perf_counter_ns
    for i, label in enumerate(labels):
        per_round = max(1, (extra_reps if first[i][1] == "extra" else reps) // rounds)
        for n, measures in targets.items():
            fn = measures[i][2]
            for _ in range(warmup):
                fn()
        for _ in range(rounds):
            for n, measures in targets.items():
                fn = measures[i][2]
                out = samples[n][label]
                gc.collect()
                for _ in range(per_round):
                    t0 = timer()
                    fn()
                    out.append(timer() - t0)
        log(f"    measured {label}")
    return samples


def query_plans(db, sid: int, pid: int, shape_list) -> list[tuple[str, list[str], bool]]:
    """EXPLAIN QUERY PLAN for the SQL each list shape really runs (captured from db.query)."""
    captured = []
    original = db.query

    def recording(sql, params=None):
        captured.append((sql, params))
        return original(sql, params)

    db.query = recording
    plans = []
    try:
        for label, kind, fn in shape_list:
            if kind == "summary":
                continue
            captured.clear()
            fn()
            sql, params = captured[-1]
            detail = [r[3] for r in db.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()]
            plans.append((label, detail, any("TEMP B-TREE" in d for d in detail)))
    finally:
        del db.query
    return plans


def http_samples(paths: dict, reps: int, rounds: int, warmup: int) -> dict:
    """First page through Flask's test client (app on each file), interleaved; size -> ns list."""
    from widgetserver import create_app

    clients = {}
    for n, path in paths.items():
        app = create_app({"TESTING": True, "DATABASE": path})
        clients[n] = app.test_client()
    url = f"/api/v1/shops/{SHOP}/reviews"
    out = {n: [] for n in paths}
    for n, c in clients.items():
        for _ in range(warmup):
            assert c.get(url).status_code == 200
    per_round = max(1, reps // rounds)
    for _ in range(rounds):
        for n, c in clients.items():
            gc.collect()
            for _ in range(per_round):
                t0 = time.perf_counter_ns()
                r = c.get(url)
                out[n].append(time.perf_counter_ns() - t0)
                assert r.status_code == 200 and len(r.get_json()["items"]) == 20
    return out


# --- reporting -----------------------------------------------------------------


def machine() -> dict:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "platform": platform.platform()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,1000000", help="comma-separated review counts (default 1000,1000000)")
    ap.add_argument("--db", help="database file (per size: PATH-N.db when several sizes); reused if it holds"
                                 " exactly N reviews; default: fresh files in a temp dir, deleted afterwards")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--reps", type=int, default=2000, help="timed calls per measure and size (default 2000)")
    ap.add_argument("--extra-reps", type=int, default=200,
                    help="timed calls for the informational extra measures (deep cursors can be slow; default 200)")
    ap.add_argument("--rounds", type=int, default=10, help="interleaving rounds across sizes (default 10)")
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--chunk", type=int, default=5000, help="add_review calls per write transaction (default 5000)")
    ap.add_argument("--real-budget", type=float, default=150.0,
                    help="seconds of import through store.add_review per size before the rest goes through the"
                         " bulk INSERT path (default 150)")
    ap.add_argument("--real-limit", type=int, help="at most this many reviews through store.add_review per size")
    ap.add_argument("--reviews-per-product", type=int, default=300)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--http-reps", type=int, default=500, help="first-page GETs per size via Flask's test client;"
                                                              " 0 skips the HTTP layer (default 500)")
    ap.add_argument("--json", help="also write all figures to this JSON file")
    args = ap.parse_args(argv)
    args.sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    tmpdir = tempfile.mkdtemp(prefix="eerlijk-bench-")
    t_start = time.perf_counter()
    args.load_start = os.getloadavg()
    try:
        return run(args, tmpdir, log, t_start)
    finally:
        if args.keep or args.db:
            if not args.db:
                log(f"kept {tmpdir}")
        else:
            shutil.rmtree(tmpdir, ignore_errors=True)


def run(args, tmpdir, log, t_start) -> int:
    dbs, infos, paths = {}, {}, {}
    for n in args.sizes:
        path = db_path_for(args, n, tmpdir)
        paths[n] = path
        db = store.connect(path)
        store.migrate(db)
        have = existing_count(db)
        if have is None:
            log(f"filling {path} with {n:,} reviews")
            infos[n] = fill(db, n, args, log)
        elif have == n:
            log(f"reusing {path} ({n:,} reviews); import not measured")
            infos[n] = {"n": n, "reused": True, "recompute_problems": store.recompute(db)}
        else:
            print(f"error: {path} holds {have:,} reviews, not {n:,}; give another --db", file=sys.stderr)
            return 2
        dbs[n] = db

    targets, ids = {}, {}
    for n, db in dbs.items():
        sid = store.get_shop(db, SHOP)["id"]
        pid = db.execute("SELECT product_id FROM aggregates WHERE shop_id = ? AND product_id != 0"
                         " ORDER BY count DESC, product_id LIMIT 1", [sid]).fetchone()[0]
        published = store.summary_for(db, sid)["count"]
        ids[n] = (sid, pid, published)
        targets[n] = shapes(db, sid, pid, published)
    log("measuring (sizes interleaved)")
    samples = measure(targets, args.reps, args.extra_reps, args.rounds, args.warmup, log)
    big, small = max(args.sizes), min(args.sizes)
    plans = query_plans(dbs[big], ids[big][0], ids[big][1], targets[big])
    http = None
    if args.http_reps:
        log("measuring HTTP first page")
        http = http_samples(paths, args.http_reps, args.rounds, args.warmup)

    # --- print the report
    m = machine()
    out = print
    out("# Eerlijk store scale benchmark")
    out(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    out(f"machine: {m['nproc']} CPUs, {m['cpu']}, Python {m['python']}, SQLite {m['sqlite']}, {m['platform']}")
    load = os.getloadavg()
    out(f"load average (1/5/15 min): start {'/'.join(f'{x:.2f}' for x in args.load_start)},"
        f" end {'/'.join(f'{x:.2f}' for x in load)} -- other work on a shared machine shows up in p99")
    out("")
    out("## Fill")
    for n in args.sizes:
        i = infos[n]
        if i.get("reused"):
            out(f"- {n:,}: reused existing file; recompute problems: {len(i['recompute_problems'])}")
            continue
        r, b = i["real"], i["bulk"]
        out(f"- {n:,} reviews, {i['products']:,} products, {i['replies']:,} replies, {i['withdrawn']:,} withdrawn")
        out(f"  - real path (store.add_review, {i['chunk']:,} per store.write transaction): "
            f"{r['count']:,} reviews in {r['seconds']:.1f} s = {r['rate']:,.0f} reviews/s"
            + (f" (first {r['segment']:,}: {r['first_rate']:,.0f}/s, last {r['segment']:,}: {r['last_rate']:,.0f}/s)"
               if "first_rate" in r else ""))
        if b["count"]:
            out(f"  - bulk path (executemany INSERT + same aggregate deltas per 20k-row transaction, one audit entry"
                f" per chunk; NOT the real write path): {b['count']:,} reviews in {b['seconds']:.1f} s"
                f" = {b['rate']:,.0f} reviews/s")
        else:
            out("  - bulk path: not used (every review went through store.add_review)")
        out(f"  - store.recompute(db) == []: {i['recompute_problems'] == []}"
            f" ({len(i['recompute_problems'])} problems, {i['recompute_seconds']:.1f} s)")
    out("")

    def stats(ns):
        s = sorted(ns)
        return percentile(s, 50), percentile(s, 99)

    res = {n: {label: stats(v) for label, v in samples[n].items()} for n in args.sizes}
    header = "| measure (ms) | " + " | ".join(f"{n:,} median | {n:,} p99" for n in args.sizes) + \
        f" | ratio median {big:,}/{small:,} | ratio p99 |"
    out(f"## Latency in-process ({args.reps} calls per measure and size, {args.extra_reps} for extras;"
        f" {args.rounds} interleaved rounds; limit 20)")
    out("")
    out(header)
    out("|" + "---|" * (header.count("|") - 1))
    for label in samples[small]:
        cells = " | ".join(f"{res[n][label][0]:.3f} | {res[n][label][1]:.3f}" for n in args.sizes)
        ratio_med = res[big][label][0] / res[small][label][0]
        ratio_p99 = res[big][label][1] / res[small][label][1]
        extra = " (extra)" if any(l == label and k == "extra" for l, k, _ in targets[big]) else ""
        out(f"| {label}{extra} | {cells} | {ratio_med:.2f}x | {ratio_p99:.2f}x |")
    if http:
        hs = {n: stats(v) for n, v in http.items()}
        cells = " | ".join(f"{hs[n][0]:.3f} | {hs[n][1]:.3f}" for n in args.sizes)
        out(f"| HTTP GET /reviews first page, Flask test client ({args.http_reps} calls) | {cells} | "
            f"{hs[big][0] / hs[small][0]:.2f}x | {hs[big][1] / hs[small][1]:.2f}x |")
    out("")
    out(f"## Targets ({big:,} vs {small:,})")
    verdicts = []
    for label, kind, _ in targets[big]:
        if kind == "summary":
            ratio = res[big][label][0] / res[small][label][0]
            ok = ratio <= SUMMARY_TARGET_RATIO
            verdicts.append(ok)
            out(f"- {'PASS' if ok else 'MISS'} {label}: median ratio {ratio:.2f}x (target <= {SUMMARY_TARGET_RATIO}x);"
                f" p99 ratio {res[big][label][1] / res[small][label][1]:.2f}x (informational)")
    for label, kind, _ in targets[big]:
        if kind == "list":
            p99 = res[big][label][1]
            ok = p99 < LIST_P99_TARGET_MS
            verdicts.append(ok)
            out(f"- {'PASS' if ok else 'MISS'} {label}: p99 {p99:.3f} ms at {big:,} (target < {LIST_P99_TARGET_MS:g} ms)")
    out(f"- overall: {'PASS' if all(verdicts) else 'MISS'} ({sum(verdicts)}/{len(verdicts)} targets met)")
    out("")
    out(f"## EXPLAIN QUERY PLAN at {big:,}")
    for label, detail, temp in plans:
        out(f"- {label}: {'USES A TEMP B-TREE' if temp else 'no temp B-tree'} -- {' / '.join(detail)}")
    out("")
    out(f"total wall time: {time.perf_counter() - t_start:.0f} s")

    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"machine": m, "args": vars(args), "fill": infos,
                       "latency_ms": {str(n): {k: {"median": v[0], "p99": v[1]} for k, v in res[n].items()}
                                      for n in args.sizes},
                       "http_ms": {str(n): dict(zip(("median", "p99"), stats(v))) for n, v in (http or {}).items()},
                       "plans": plans}, fh, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
