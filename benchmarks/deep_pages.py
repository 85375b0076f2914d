#!/usr/bin/env python
"""Deep pages: page 10,000 (10 reviews a page, as the widgets show) of a shop with 1,000,000 reviews.

Fills a SQLite file (migrated by the app, so the real schema and indexes) with one shop of N
reviews in a single INSERT ... SELECT (seconds, not minutes; no audit entries, aggregates set
from a scan), then times `store.list_reviews(..., offset=(page - 1) * 10, limit=10)` — the query
the list widget and hosted page run for `?page=` — for every sort, a star filter and a product,
against the baseline in the same run: the same page read with a plain `LIMIT ... OFFSET` over the
joined SELECT (what `list_reviews` did before). Median, p90 and range over the repetitions,
interleaved. It reports; it asserts nothing. Not part of pytest.

    python benchmarks/deep_pages.py [--reviews 1000000] [--page 10000] [--reps 30] [--db PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from widgetserver import create_app, store

PAGE_SIZE = 10


def fill(path: str, reviews: int) -> dict:
    create_app({"DATABASE": path, "SECRET_KEY": "bench"}, serving=False)
    db = store.connect(path)
    shop = store.get_shop(db, "bench")
    if shop and db.execute("SELECT count(*) FROM reviews WHERE shop_id = ?", [shop["id"]]).fetchone()[0] == reviews:
        return shop
    shop = shop or store.create_shop(db, "bench", "Benchmark shop")
    products = max(3, reviews // 300)
    db.execute("PRAGMA cache_size = -2000000")  # 2 GB: the fill's index pages stay in memory
    with store.write(db):
        now = store.now_text()
        db.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
            " INSERT INTO products (shop_id, sku, name, created_at, updated_at)"
            " SELECT ?, printf('SKU-%05d', i), printf('Product %d', i), ?, ? FROM n", [products, shop["id"], now, now])
        first = db.execute("SELECT min(id) FROM products WHERE shop_id = ?", [shop["id"]]).fetchone()[0]
        db.execute("INSERT INTO aggregates (shop_id, product_id) SELECT shop_id, id FROM products WHERE shop_id = ?",
                   [shop["id"]])
        # Times spread over ten years in random order; ratings 5:56% 4:21% 3:12% 2:7% 1:4%; 15% shop reviews.
        db.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?),"
            " v AS (SELECT i, abs(random()) % 100 AS r, abs(random()) % 315360000 AS s, abs(random()) % 100 AS p FROM n)"
            " INSERT INTO reviews (shop_id, product_id, rating, title, body, author, locale, source, created_at, updated_at)"
            " SELECT ?, CASE WHEN p < 15 THEN NULL ELSE ? + i % ? END,"
            " CASE WHEN r < 56 THEN 5 WHEN r < 77 THEN 4 WHEN r < 89 THEN 3 WHEN r < 96 THEN 2 ELSE 1 END,"
            " 'Snel geleverd', 'De kwaliteit is prima voor de prijs en de levering was snel. Ik bestel hier vaker.',"
            " 'Klant ' || i, 'nl', 'import',"
            " strftime('%Y-%m-%dT%H:%M:%S', 1451606400 + s, 'unixepoch') || printf('.%06dZ', i % 1000000),"
            " strftime('%Y-%m-%dT%H:%M:%S', 1451606400 + s, 'unixepoch') || printf('.%06dZ', i % 1000000)"
            " FROM v", [reviews, shop["id"], first, products])
        for key, where in ((store.SHOP_PRODUCT, ""), (None, " AND product_id IS NOT NULL")):
            group = "" if key is not None else " GROUP BY product_id"
            target = "0" if key is not None else "product_id"
            db.execute(
                f"UPDATE aggregates SET (count, rating_sum, r1, r2, r3, r4, r5) = (SELECT c, s, a, b, c3, d, e FROM ("
                f" SELECT {target} AS k, count(*) AS c, sum(rating) AS s, sum(rating = 1) AS a, sum(rating = 2) AS b,"
                f" sum(rating = 3) AS c3, sum(rating = 4) AS d, sum(rating = 5) AS e FROM reviews"
                f" WHERE shop_id = ? AND status = 'published'{where}{group}) WHERE k = aggregates.product_id)"
                f" WHERE shop_id = ? AND product_id {'= 0' if key is not None else '!= 0'}", [shop["id"], shop["id"]])
        store.bump(db, shop["id"])
    db.execute("ANALYZE")
    assert store.recompute(db) == []
    db.conn.close()
    return store.get_shop(store.connect(path), "bench")


def baseline(db, shop_id: int, *, product_id=None, rating=None, sort="newest", limit=PAGE_SIZE, offset=0):
    """The page as list_reviews read it before: LIMIT/OFFSET over the joined SELECT."""
    order = store.SORTS[sort]
    if rating is not None:
        order = tuple(part for part in order if part[0] != "rating")
    where, params = ["r.shop_id = ?", "r.status = 'published'"], [shop_id]
    if product_id is not None:
        where.append("r.product_id = ?")
        params.append(product_id)
    if rating is not None:
        where.append("r.rating = ?")
        params.append(rating)
    sql = (store.REVIEW_SELECT + " WHERE " + " AND ".join(where) + " ORDER BY "
           + ", ".join(f"r.{c} {d}" for c, d in order) + " LIMIT ? OFFSET ?")
    return [store.shape_review(r) for r in db.query(sql, params + [limit, offset])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reviews", type=int, default=1_000_000)
    parser.add_argument("--page", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--db", help="keep the filled file here (reused when it holds exactly --reviews)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or os.path.join(tmp, "deep.db")
        start = time.perf_counter()
        shop = fill(path, args.reviews)
        print(f"filled/checked {args.reviews:,} reviews in {time.perf_counter() - start:.1f} s ({path})")
        db = store.connect(path)
        product = db.execute("SELECT product_id FROM aggregates WHERE shop_id = ? AND product_id != 0"
                             " ORDER BY count DESC LIMIT 1", [shop["id"]]).fetchone()[0]
        per_product = db.execute("SELECT count FROM aggregates WHERE product_id = ?", [product]).fetchone()[0]
        offset = (args.page - 1) * PAGE_SIZE
        cases = [(f"{s}, page {args.page:,}", {"sort": s, "offset": offset}) for s in store.SORTS]
        cases.append((f"rating=5 newest, page {args.page:,}", {"rating": 5, "offset": offset}))
        cases.append(("rating=1 newest, last page",
                      {"rating": 1, "offset": (store.summary_for(db, shop["id"])["distribution"]["1"] // PAGE_SIZE)
                       * PAGE_SIZE}))
        cases.append((f"product (of {per_product} reviews), last page",
                      {"product_id": product, "offset": (per_product - 1) // PAGE_SIZE * PAGE_SIZE}))
        cases.append(("newest, page 1", {"sort": "newest", "offset": 0}))
        print(f"{'case':<40} {'before: OFFSET (ms)':>30} {'after: list_reviews (ms)':>30}")
        for name, kwargs in cases:
            now_ms, old_ms = [], []
            expected = baseline(db, shop["id"], **kwargs)
            got, _ = store.list_reviews(db, shop["id"], limit=PAGE_SIZE, **kwargs)
            assert [r["id"] for r in got] == [r["id"] for r in expected], name
            for _ in range(args.reps):
                t = time.perf_counter()
                baseline(db, shop["id"], **kwargs)
                old_ms.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                store.list_reviews(db, shop["id"], limit=PAGE_SIZE, **kwargs)
                now_ms.append((time.perf_counter() - t) * 1000)

            def fmt(ms):
                ms = sorted(ms)
                return (f"{statistics.median(ms):7.2f} p90 {ms[int(len(ms) * 0.9) - 1]:7.2f}"
                        f" ({ms[0]:.2f}-{ms[-1]:.2f})")

            print(f"{name:<40} {fmt(old_ms):>30} {fmt(now_ms):>30}")
        print("goal: page 10,000 of a 1M-review list <= 10 ms")


if __name__ == "__main__":
    main()
