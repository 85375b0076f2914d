"""Numbered pages far into a list read the same reviews as a plain OFFSET would (store._deep_page)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from widgetserver import store

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def naive_page(db, shop_id, *, product_id=None, rating=None, verified=None, sort="newest", limit=10, offset=0):
    order = store.SORTS[sort]
    if rating is not None:
        order = tuple(part for part in order if part[0] != "rating")
    where, params = ["r.shop_id = ?", "r.status = 'published'"], [shop_id]
    for column, value in (("product_id", product_id), ("rating", rating), ("verified", verified)):
        if value is not None:
            where.append(f"r.{column} = ?")
            params.append(int(value))
    sql = (store.REVIEW_SELECT + " WHERE " + " AND ".join(where) + " ORDER BY "
           + ", ".join(f"r.{c} {d}" for c, d in order) + " LIMIT ? OFFSET ?")
    return [r["id"] for r in db.query(sql, params + [limit, offset])]


@pytest.fixture
def many(db, shop):
    """150 reviews with ties in time and rating over the shop and two products; a few withdrawn; another shop."""
    other = store.create_shop(db, "other", "Other")
    skus = [None, "SKU-1", "SKU-2"]
    ids = []
    for i in range(150):
        ids.append(store.add_review(db, shop["id"], rating=(i * 7) % 5 + 1, author=f"A{i}",
                                    product_sku=skus[i % 3], created_at=T0 + timedelta(minutes=(i * 11) % 37)))
        if i % 10 == 0:
            store.add_review(db, other["id"], rating=3, author="X", created_at=T0 + timedelta(minutes=i % 37))
    for review_id in ids[::17]:
        store.set_review_status(db, shop["id"], review_id, "withdrawn")
    return shop


@pytest.mark.parametrize("sort", list(store.SORTS))
@pytest.mark.parametrize("filters", [{}, {"rating": 2}, {"rating": 5}, {"product": "SKU-1"}, {"verified": False}])
def test_deep_pages_equal_plain_offset(db, many, sort, filters):
    product_id = store.product_by_sku(db, many["id"], filters["product"])["id"] if "product" in filters else None
    kwargs = {"product_id": product_id, "rating": filters.get("rating"), "verified": filters.get("verified"),
              "sort": sort}
    for offset in (1, 9, 10, 47, 99, 130, 140, 149, 500):
        page, key = store.list_reviews(db, many["id"], limit=10, offset=offset, **kwargs)
        expected = naive_page(db, many["id"], limit=11, offset=offset, **kwargs)
        assert [r["id"] for r in page] == expected[:10], (offset, sort, filters)
        assert (key is not None) == (len(expected) > 10)


def test_deep_page_rows_are_whole_reviews(db, many):
    deep, _ = store.list_reviews(db, many["id"], limit=5, offset=20)
    for review in deep:
        assert review == store.get_review(db, many["id"], review["id"])


def test_pages_stay_right_across_months_edits_status_changes_and_imports(db, shop):
    """Reviews over many months; later edits move stars, withdrawals and re-publishing move counts."""
    import io

    from widgetserver.transfer import import_reviews

    ids = []
    for i in range(120):
        when = T0 + timedelta(days=(i * 13) % 400, minutes=i % 3)
        ids.append(store.add_review(db, shop["id"], rating=(i * 3) % 5 + 1, author=f"A{i}", created_at=when,
                                    product_sku="SKU-1" if i % 4 == 0 else None))
    rows = "rating,author,created_at\n" + "".join(
        f"{i % 5 + 1},Imp {i},{(T0 + timedelta(days=(i * 29) % 500)).isoformat()}\n" for i in range(60))
    import_reviews(db, shop, io.StringIO(rows), "csv")
    for review_id in ids[::9]:
        store.update_review(db, shop["id"], review_id, rating=1, title="", body="", author="Edited")
    for review_id in ids[::11]:
        store.set_review_status(db, shop["id"], review_id, "withdrawn")
    store.set_review_status(db, shop["id"], ids[11], "published")
    total = store.summary_for(db, shop["id"])["count"]
    assert db.execute("SELECT sum(count) FROM review_months WHERE shop_id = ?", [shop["id"]]).fetchone()[0] == total
    for sort in store.SORTS:
        for rating in (None, 1, 4):
            for offset in (1, 7, 10, 33, 64, 99, 150, total - 3, total - 1, total, total + 5):
                page, _ = store.list_reviews(db, shop["id"], rating=rating, sort=sort, limit=10, offset=offset)
                assert [r["id"] for r in page] == naive_page(db, shop["id"], rating=rating, sort=sort, limit=10,
                                                            offset=offset), (sort, rating, offset)


def test_month_counts_rebuilt_from_scratch_equal_the_trigger_kept_ones(db, many):
    kept = db.execute("SELECT shop_id, rating, month, count FROM review_months WHERE count > 0 ORDER BY 1, 2, 3").fetchall()
    rebuilt = db.execute("SELECT shop_id, rating, substr(created_at, 1, 7), count(*) FROM reviews"
                         " WHERE status = 'published' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3").fetchall()
    assert kept == rebuilt
