"""Analytics: monthly series from the store, server-drawn SVG charts, CSV downloads."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

import pytest

from widgetserver import analytics, charts, store


@pytest.fixture
def history(db, shop, monkeypatch):
    """Reviews over three months: Sept 2026 (5, 4), Oct (1 with a reply after 5 h, 2, 5 verified), Nov (none)."""
    plan = [
        (datetime(2026, 9, 3, tzinfo=timezone.utc), 5, "SKU-1", None),
        (datetime(2026, 9, 20, tzinfo=timezone.utc), 4, "SKU-2", None),
        (datetime(2026, 10, 2, tzinfo=timezone.utc), 1, "SKU-1", 5),
        (datetime(2026, 10, 9, tzinfo=timezone.utc), 2, "SKU-1", None),
        (datetime(2026, 10, 30, tzinfo=timezone.utc), 5, "SKU-2", 30),
    ]
    for n, (created, rating, sku, reply_after) in enumerate(plan):
        review_id = store.add_review(db, shop["id"], rating=rating, author=f"K{n}", product_sku=sku,
                                     created_at=created, source="invitation" if n == 4 else "import",
                                     verified=n == 4, verification_method="invitation-email" if n == 4 else None)
        if reply_after is not None:
            monkeypatch.setattr(store, "utcnow", lambda at=created + timedelta(hours=reply_after): at)
            store.set_reply(db, shop["id"], review_id, body="Dank.", author="Sanne", role="service")
            monkeypatch.undo()
    monkeypatch.undo()


RANGE = (date(2026, 9, 1), date(2026, 11, 30))


def test_monthly_series(db, shop, history):
    rows = analytics.monthly(db, shop["id"], *RANGE)
    assert [r["month"] for r in rows] == ["2026-09", "2026-10", "2026-11"]
    sept, octo, nov = rows
    assert (sept["count"], sept["average"], sept["r5"], sept["r4"]) == (2, 4.5, 1, 1)
    assert (octo["count"], octo["average"], octo["r1"], octo["r2"], octo["r5"]) == (3, 2.67, 1, 1, 1)
    assert octo["rolling_average"] == round((5 + 4 + 1 + 2 + 5) / 5, 2)
    assert octo["replied"] == round(2 / 3, 4) and octo["negative_replied"] == 0.5
    assert octo["median_reply_hours"] == 17.5 and sept["median_reply_hours"] is None
    assert octo["verified"] == round(1 / 3, 4)
    assert nov["count"] == 0 and nov["average"] is None and nov["rolling_average"] == octo["rolling_average"]


def test_date_range_filters(db, shop, history):
    rows = analytics.monthly(db, shop["id"], date(2026, 10, 1), date(2026, 10, 5))
    assert [(r["month"], r["count"]) for r in rows] == [("2026-10", 1)]


def test_negative_share_by_product(db, shop, history):
    products = analytics.negative_share_by_product(db, shop["id"], *RANGE)
    assert [(p["sku"], p["negative"], p["count"]) for p in products] == [("SKU-1", 2, 3), ("SKU-2", 0, 2)]


def test_charts_carry_the_values(db, shop, history):
    built = analytics.build_charts(db, shop["id"], *RANGE, locale="en", gettext=lambda s: s)
    volume = built["charts"]["volume"]
    assert [b["value"] for b in volume["bars"]] == [2, 3, 0]
    assert [d["value"] for d in volume["lines"][0]["dots"]] == [4.5, 2.67]  # November has no average: a gap
    stars = built["charts"]["stars"]
    october = stars["columns"][1]
    assert {p["star"]: p["value"] for p in october["parts"]} == {1: 1, 2: 1, 5: 1}
    # 1 star is drawn at the bottom of the stack: the largest y.
    assert october["parts"][0]["star"] == 1 and october["parts"][0]["y"] > october["parts"][-1]["y"]
    assert [r["value"] for r in built["charts"]["products"]["rows"]] == [round(2 / 3, 4), 0.0]
    reply_time = built["charts"]["reply_time"]
    assert [d["value"] for d in reply_time["lines"][0]["dots"]] == [17.5]  # October: replies after 5 h and 30 h


def test_chart_csv_and_formula_neutralising(db, shop, history):
    store.upsert_product(db, shop["id"], "SKU-3", name="=HYPERLINK(\"http://evil\")")
    store.add_review(db, shop["id"], rating=1, author="X", product_sku="SKU-3",
                     created_at=datetime(2026, 10, 10, tzinfo=timezone.utc))
    products = analytics.negative_share_by_product(db, shop["id"], *RANGE)
    text = analytics.chart_csv("products", products)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["sku", "name", "count", "negative", "share"]
    assert rows[1][1] == "'=HYPERLINK(\"http://evil\")"
    volume = list(csv.DictReader(io.StringIO(analytics.chart_csv("volume", analytics.monthly(db, shop["id"], *RANGE)))))
    assert [(r["month"], r["count"]) for r in volume] == [("2026-09", "2"), ("2026-10", "4"), ("2026-11", "0")]
    with pytest.raises(KeyError):
        analytics.chart_csv("nope", [])


def test_count_axes_have_whole_ticks():
    assert charts.nice_ticks(0, 2, integer=True) == [0, 1, 2]
    assert all(float(t).is_integer() for t in charts.nice_ticks(0, 7, integer=True))


@pytest.mark.parametrize("low, high", [(0, 1), (0, 7), (1, 5), (0, 1234), (3, 3)])
def test_nice_ticks_cover_the_range(low, high):
    ticks = charts.nice_ticks(low, high)
    assert ticks[0] <= low and ticks[-1] >= high and len(ticks) >= 2
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1


def test_svg_renders_without_script_or_style_attributes(app, db, shop, history):
    import lxml.etree
    import lxml.html

    built = analytics.build_charts(db, shop["id"], *RANGE, locale="en", gettext=lambda s: s)
    with app.test_request_context():
        template = app.jinja_env.get_template("analytics/_charts.html")
        html = "".join(str(template.module.chart(c, "/x.csv", "")) for c in built["charts"].values())
    tree = lxml.html.fromstring(f"<div>{html}</div>")
    assert not tree.xpath("//script") and not tree.xpath("//*[@style]")
    svg_values = [float(e.get("data-value")) for e in tree.xpath("//svg[@data-chart='volume']//rect[@data-series='count']")]
    assert svg_values == [2, 3, 0]
    titles = tree.xpath("//svg/title/text()")
    assert "Average rating and reviews per month" in titles
