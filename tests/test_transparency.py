"""Transparency figures: collection methods, reply rate and median reply time, reports and removals."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta, timezone

import pytest

from widgetserver import moderation, store, transparency
from widgetserver.reports import add_report

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def answered(db, shop, monkeypatch):
    """Six reviews: 1,1,2 star (two answered after 3 h and 10 h), 3 star (answered after 30 h), 5,5 (one after 1 h)."""
    plan = [(1, 3), (1, 10), (2, None), (3, 30), (5, 1), (5, None)]
    ids = []
    for n, (rating, hours) in enumerate(plan):
        created = T0 + timedelta(days=n)
        review_id = store.add_review(db, shop["id"], rating=rating, author=f"Klant {n}", body="Tekst.",
                                     created_at=created)
        ids.append(review_id)
        if hours is not None:
            monkeypatch.setattr(store, "utcnow", lambda at=created + timedelta(hours=hours): at)
            store.set_reply(db, shop["id"], review_id, body="Dank je.", author="Sanne", role="klantenservice")
            monkeypatch.undo()
    monkeypatch.undo()
    return ids


def test_reply_stats_match_an_independent_computation(client, db, shop, answered):
    stats = transparency.reply_stats(db, shop["id"])
    assert stats["negative"] == {"reviews": 3, "replied": 2, "rate": round(2 / 3, 4),
                                 "median_hours": statistics.median([3, 10])}
    assert stats["all"] == {"reviews": 6, "replied": 4, "rate": round(4 / 6, 4),
                            "median_hours": statistics.median([3, 10, 30, 1])}

    # The same figures recomputed from the public API alone.
    items = client.get("/api/v1/shops/acme/reviews?limit=100").get_json()["items"]
    negative = [r for r in items if r["rating"] <= 2]
    delays = [(datetime.fromisoformat(r["reply"]["created_at"]) - datetime.fromisoformat(r["created_at"]))
              .total_seconds() / 3600 for r in negative if r["reply"]]
    summary = client.get("/api/v1/shops/acme/summary").get_json()
    assert summary["replies"]["negative"]["reviews"] == len(negative)
    assert summary["replies"]["negative"]["replied"] == len(delays)
    assert summary["replies"]["negative"]["median_hours"] == pytest.approx(statistics.median(delays), abs=0.05)


def test_an_odd_number_of_replies_takes_the_middle_one(db, shop, answered, monkeypatch):
    created = T0 + timedelta(days=2)
    monkeypatch.setattr(store, "utcnow", lambda: created + timedelta(hours=50))
    store.set_reply(db, shop["id"], answered[2], body="Sorry.", author="Sanne", role="klantenservice")
    assert transparency.reply_stats(db, shop["id"])["negative"]["median_hours"] == 10.0


def test_no_reviews_no_figures(db, shop):
    stats = transparency.reply_stats(db, shop["id"])
    assert stats["negative"] == {"reviews": 0, "replied": 0, "rate": None, "median_hours": None}


def test_summary_widget_states_the_reply_line_in_the_visitors_language(client, db, shop, answered):
    html = client.get("/w/acme/summary.html?locale=nl").get_data(as_text=True)
    assert "Reageert op 67% van de negatieve reviews, meestal binnen 7 uur" in html
    assert "/s/acme/transparency" in html and "Hoe reviews werken" in html
    english = client.get("/w/acme/summary.html?locale=en").get_data(as_text=True)
    assert "Replies to 67% of negative reviews, usually within 7 hours" in english


def test_reply_line_follows_new_replies(client, db, shop, answered):
    store.set_reply(db, shop["id"], answered[2], body="Sorry.", author="Sanne", role="klantenservice")
    html = client.get("/w/acme/summary.html?locale=en").get_data(as_text=True)
    assert "Replies to 100% of negative reviews" in html


def test_no_reply_line_without_negative_reviews(client, db, shop):
    store.add_review(db, shop["id"], rating=5, author="Anna", body="Top.")
    html = client.get("/w/acme/summary.html?locale=en").get_data(as_text=True)
    assert "negative reviews" not in html


def test_collection_counts_per_method(db, shop):
    store.add_review(db, shop["id"], rating=4, author="A", source="import")
    store.add_review(db, shop["id"], rating=2, author="B", source="open")
    store.add_review(db, shop["id"], rating=5, author="C", source="invitation", verified=True,
                     verification_method="invitation-email")
    withdrawn = store.add_review(db, shop["id"], rating=1, author="D", source="import")
    store.set_review_status(db, shop["id"], withdrawn, "withdrawn", actor="author")
    assert transparency.collection_counts(db, shop["id"]) == {
        "invitation-email": 1, "invitation-link": 0, "import": 1, "open": 1}


def test_reports_and_removals_per_month_and_reason(db, shop, answered):
    add_report(db, shop["id"], answered[0], "personal_data", "", "nl")
    add_report(db, shop["id"], answered[1], "spam", "", "nl", reporter="shop")
    moderation.decide(db, shop, answered[0], "remove", reason="personal_data", decided_by="operator", operator=True)
    moderation.decide(db, shop, answered[1], "keep", decided_by="operator", operator=True)
    figures = transparency.figures(db, shop)
    month = store.now_text()[:7]
    assert figures["reports"] == [{"month": month, "received": 2, "kept": 1, "removed": 1}]
    assert figures["removals"]["personal_data"] == 1 and sum(figures["removals"].values()) == 1
    assert figures["open_reports"] == 0 and figures["reports_total"] == 2
    assert figures["audit"]["hash"] == db.execute("SELECT hash FROM audit_log ORDER BY id DESC").fetchone()[0]
    assert figures["self_moderated"] is False


# --- the page -------------------------------------------------------------------------------


def page_numbers(html: str) -> dict:
    """The figures of the page, read back from its table cells by row id."""
    import lxml.html

    tree = lxml.html.fromstring(html)
    cells = {}
    for row in tree.xpath("//tr[@id]"):
        cells[row.get("id")] = [" ".join(td.text_content().split()) for td in row.xpath("./td")]
    return cells


def test_page_figures_equal_an_independent_computation_from_the_api(client, db, shop, answered):
    store.add_review(db, shop["id"], rating=4, author="Open", source="open")
    add_report(db, shop["id"], answered[0], "personal_data", "", "en")
    add_report(db, shop["id"], answered[1], "spam", "", "en")
    moderation.decide(db, shop, answered[0], "remove", reason="personal_data", decided_by="operator", operator=True)

    response = client.get("/s/acme/transparency?locale=en")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    cells = page_numbers(html)

    items = client.get("/api/v1/shops/acme/reviews?limit=100").get_json()["items"]
    by_source = {s: sum(r["source"] == s for r in items) for s in ("import", "open", "invitation")}
    assert cells["method-import"] == [str(by_source["import"])]
    assert cells["method-open"] == [str(by_source["open"])]
    assert cells["method-invitation-email"] == cells["method-invitation-link"] == ["0"]
    assert cells["removed-personal_data"] == ["1"] and cells["removed-spam"] == ["0"]

    negative = [r for r in items if r["rating"] <= 2]
    replied = [r for r in negative if r["reply"]]
    delays = sorted((datetime.fromisoformat(r["reply"]["created_at"]) - datetime.fromisoformat(r["created_at"]))
                    .total_seconds() / 3600 for r in replied)
    import math
    expected_hours = math.ceil(statistics.median(delays))
    assert cells["replies-negative"] == [
        str(len(negative)), f"{len(replied)} ({round(100 * len(replied) / len(negative))}%)", f"{expected_hours} hours"]
    head = db.execute("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert head in html
    assert "1 report received so far" not in html and "2 reports received so far, 1 still open." in html


def test_page_speaks_the_visitors_language_and_is_valid_html(client, db, shop, answered):
    import html5lib

    response = client.get("/s/acme/transparency", headers={"Accept-Language": "nl-NL,nl;q=0.9"})
    html = response.get_data(as_text=True)
    assert "Accept-Language" in response.headers["Vary"]
    assert '<html lang="nl"' in html
    assert "Hoe reviews werken bij Acme Kleding" in html
    html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(html)  # raises on any parse error


def test_a_self_moderated_shop_says_so(client, db, shop):
    store.update_shop_settings(db, shop["id"], self_moderated=True)
    html = client.get("/s/acme/transparency?locale=en").get_data(as_text=True)
    assert "Acme Kleding runs this review service itself and decides on reports about its own reviews." in html


def test_unknown_shop_is_404(client):
    assert client.get("/s/nope/transparency").status_code == 404


def test_audit_export_checks_out_and_hides_other_shops(client, db, shop, answered, runner, tmp_path):
    other = store.create_shop(db, "beta", "Beta")
    store.add_review(db, other["id"], rating=5, author="Geheim Persoon", body="Beta secret")
    store.add_review(db, shop["id"], rating=3, author="Laatste", body="Na beta.")
    response = client.get("/s/acme/transparency/audit.jsonl")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Beta secret" not in text and '"beta"' not in text
    lines = text.splitlines()
    assert len(lines) == db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    head = db.execute("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert transparency.check_audit_export(lines, head) == (len(lines), [])

    path = tmp_path / "audit.jsonl"
    path.write_text(text)
    from widgetserver.cli import main
    ok = runner.invoke(main, ["audit", "check-export", str(path), "--head", head])
    assert ok.exit_code == 0, ok.output

    # Tampering with this shop's entry, or dropping any entry, is detected.
    import json
    entries = [json.loads(line) for line in lines]
    own = next(i for i, e in enumerate(entries) if "at" in e and e["entity"] == "review")
    entries[own]["data"] = entries[own]["data"].replace('"rating": ', '"rating": 5')
    assert entries[own]["data"] != json.loads(lines[own])["data"]
    tampered = [json.dumps(e) for e in entries]
    assert transparency.check_audit_export(tampered, head)[1]
    assert transparency.check_audit_export(lines[:3] + lines[4:], head)[1]
    bad = runner.invoke(main, ["audit", "check-export", str(path), "--head", "0" * 64])
    assert bad.exit_code != 0 and "not the published head" in bad.output
