"""Workspace analytics (charts, CSV, date range) and the operator's moderation queue (keep / remove, 403 for shops)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import lxml.html
import pytest
from workspace_helpers import csrf_of, log_in, make_user

from widgetserver import store
from widgetserver.reports import add_report


@pytest.fixture
def history(db, shop):
    """Acme's reviews: Sept 2026 a 5 and a 4, Oct 2026 a 1 (SKU-1) and a 5."""
    for created, rating, sku in [((2026, 9, 3), 5, "SKU-2"), ((2026, 9, 20), 4, None),
                                 ((2026, 10, 2), 1, "SKU-1"), ((2026, 10, 30), 5, "SKU-1")]:
        store.add_review(db, shop["id"], rating=rating, author="Klant", product_sku=sku,
                         created_at=datetime(*created, 12, tzinfo=timezone.utc))


@pytest.fixture
def owner(client, db, shop):
    make_user(db, shop)
    assert log_in(client).status_code == 302
    return client


def test_analytics_page_charts_the_range(owner, history):
    response = owner.get("/workspace/acme/analytics?from=2026-09&to=2026-11&locale=en")
    assert response.status_code == 200
    tree = lxml.html.fromstring(response.get_data(as_text=True))
    counts = [float(v) for v in tree.xpath("//svg[@data-chart='volume']//rect[@data-series='count']/@data-value")]
    assert counts == [2, 2, 0]
    averages = [float(v) for v in tree.xpath("//svg[@data-chart='volume']//circle[@data-series='Average']/@data-value")]
    assert averages == [4.5, 3.0]
    october = {e.get("data-series"): int(e.get("data-value"))
               for e in tree.xpath("//svg[@data-chart='stars']//rect[@data-month='2026-10']")}
    assert october == {"r1": 1, "r5": 1}
    assert tree.xpath("//svg[@data-chart='reply_time']")
    shares = [float(v) for v in tree.xpath("//svg[@data-chart='products']//rect/@data-value")]
    assert shares == [0.5, 0.0]
    assert not tree.xpath("//script[not(@src)]") and not tree.xpath("//*[@style]")


def test_analytics_csv(owner, history):
    response = owner.get("/workspace/acme/analytics/stars.csv?from=2026-09&to=2026-10")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "acme-stars-2026-09-2026-10.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["month"], r["r1"], r["r5"]) for r in rows] == [("2026-09", "0", "1"), ("2026-10", "1", "1")]
    assert owner.get("/workspace/acme/analytics/nope.csv").status_code == 404


@pytest.mark.parametrize("query, field", [("from=2026-13", "from"), ("to=soon", "to"), ("from=2026-10&to=2026-01", "from"),
                                          ("from=1900-01", "from"), ("from=2000-01&to=2026-01", "from")])
def test_a_bad_range_is_a_400_with_a_message_for_the_field(owner, history, query, field):
    response = owner.get(f"/workspace/acme/analytics?{query}&locale=en")
    assert response.status_code == 400
    tree = lxml.html.fromstring(response.get_data(as_text=True))
    assert tree.xpath(f"//*[@id='a-{field}-error']")
    assert owner.get(f"/workspace/acme/analytics/volume.csv?{query}").status_code == 400


def test_analytics_of_another_shop_is_404(client, db, shop, history):
    other = store.create_shop(db, "beta", "Beta")
    make_user(db, other, email="owner@beta.example")
    log_in(client, "owner@beta.example")
    assert client.get("/workspace/acme/analytics").status_code == 404
    assert client.get("/workspace/acme/analytics/volume.csv").status_code == 404


def test_analytics_needs_a_login(client, shop):
    assert client.get("/workspace/acme/analytics").status_code == 302


@pytest.fixture
def reported(db, shop):
    review_id = store.add_review(db, shop["id"], rating=1, author="Piet", body="Bel me op 0612345678.")
    add_report(db, shop["id"], review_id, "personal_data", "Telefoonnummer.", "nl")
    return review_id


def test_operator_removes_a_reported_review_from_the_queue(client, db, shop, reported):
    make_user(db, None, email="op@eerlijk.example", role="operator", name="Olga")
    log_in(client, "op@eerlijk.example")
    queue = client.get("/workspace/moderation/?locale=en")
    assert queue.status_code == 200
    html = queue.get_data(as_text=True)
    assert "Bel me op 0612345678." in html and "Telefoonnummer." in html
    token = csrf_of(client, "/workspace/moderation/")
    refused = client.post(f"/workspace/moderation/acme/{reported}", data={"outcome": "remove", "csrf_token": token})
    assert refused.status_code == 400 and store.review_row(db, shop["id"], reported)["status"] == "published"
    done = client.post(f"/workspace/moderation/acme/{reported}",
                       data={"outcome": "remove", "reason": "personal_data", "note": "nummer", "csrf_token": token})
    assert done.status_code == 302
    assert store.review_row(db, shop["id"], reported)["status"] == "removed"
    actor = db.execute("SELECT actor FROM audit_log WHERE action = 'decide-remove'").fetchone()[0]
    assert actor.startswith("user:")
    assert "No open reports." in client.get("/workspace/moderation/?locale=en").get_data(as_text=True)


def test_a_shop_owner_cannot_reach_the_queue_or_decide(client, db, shop, reported):
    make_user(db, shop)
    log_in(client)
    assert client.get("/workspace/moderation/").status_code == 403
    token = csrf_of(client, "/workspace/acme/")
    forged = client.post(f"/workspace/moderation/acme/{reported}",
                         data={"outcome": "remove", "reason": "personal_data", "csrf_token": token})
    assert forged.status_code == 403
    assert store.review_row(db, shop["id"], reported)["status"] == "published"
    assert db.execute("SELECT count(*) FROM decisions").fetchone()[0] == 0


def test_analytics_shows_recurring_complaints_with_their_trend(owner, db, shop):
    for day, body in [(3, "Kwam beschadigd aan."), (5, "De doos kwam kapot binnen."), (9, "Pakket kwam kapot aan.")]:
        store.add_review(db, shop["id"], rating=1, author="K", body=body, locale="nl",
                         created_at=datetime(2026, 10 if day == 3 else 11, day, 12, tzinfo=timezone.utc))
    html = owner.get("/workspace/acme/analytics?from=2026-09&to=2026-11&locale=en").get_data(as_text=True)
    tree = lxml.html.fromstring(html)
    items = [" ".join(li.text_content().split()) for li in tree.xpath("//ul[@class='trend']/li")]
    assert "Damaged on arrival 2, up from 1" in items


def test_inbox_shows_topic_chips(owner, db, shop):
    store.add_review(db, shop["id"], rating=1, author="K", body="Pakket kwam veel te laat en de jurk valt klein.",
                     locale="nl")
    html = owner.get("/workspace/acme/?locale=en").get_data(as_text=True)
    tree = lxml.html.fromstring(html)
    assert tree.xpath("//span[contains(@class,'tag-topic')]/text()") == ["Delivery time", "Size and fit"]
    assert tree.xpath("//span[contains(@class,'tag-topic')]/@data-topic") == ["delivery_time", "size_fit"]


@pytest.fixture
def complaints(db, shop):
    """Acme: two late deliveries (nl, en), one damaged parcel, one happy review, one late review withdrawn."""
    ids = {}
    for key, rating, body, locale in [("late_nl", 2, "Het pakket kwam veel te laat.", "nl"),
                                      ("late_en", 1, "It arrived two weeks late.", "en"),
                                      ("damaged", 1, "Kwam beschadigd aan.", "nl"),
                                      ("happy", 5, "Mooie jurk, snel geleverd.", "nl"),
                                      ("withdrawn", 1, "Het pakket kwam veel te laat.", "nl")]:
        ids[key] = store.add_review(db, shop["id"], rating=rating, author="K", body=body, locale=locale)
    store.set_review_status(db, shop["id"], ids["withdrawn"], "withdrawn", actor="author")
    return ids


def _inbox_ids(client, query):
    tree = lxml.html.fromstring(client.get(f"/workspace/acme/?locale=en&{query}").get_data(as_text=True))
    return {int(href.rsplit("/", 1)[1]) for href in tree.xpath("//ol[@class='inbox']//a[contains(@href,'/reviews/')]/@href")
            if href.rsplit("/", 1)[1].isdigit()}


def test_inbox_filters_by_topic_in_every_language_and_with_other_filters(owner, db, shop, complaints):
    assert _inbox_ids(owner, "topic=delivery_time") == {complaints["late_nl"], complaints["late_en"]}
    assert _inbox_ids(owner, "topic=damaged") == {complaints["damaged"]}
    assert _inbox_ids(owner, "topic=delivery_time&rating=1") == {complaints["late_en"]}
    assert _inbox_ids(owner, "topic=price") == set()
    html = owner.get("/workspace/acme/?locale=en&topic=delivery_time").get_data(as_text=True)
    assert '<option value="delivery_time" selected>' in html and "2 reviews" in html


def test_topic_filter_follows_an_edit_of_the_review(owner, db, shop, complaints):
    assert complaints["happy"] not in _inbox_ids(owner, "topic=damaged")
    store.update_review(db, shop["id"], complaints["happy"], rating=2, title="", author="K",
                        body="De doos kwam kapot binnen en de jurk was gescheurd.")
    assert complaints["happy"] in _inbox_ids(owner, "topic=damaged")
    store.update_review(db, shop["id"], complaints["damaged"], rating=3, title="", author="K", body="Prima.")
    assert complaints["damaged"] not in _inbox_ids(owner, "topic=damaged")


def test_stored_topics_are_found_again_by_another_rule_set(owner, db, shop, complaints, monkeypatch):
    from widgetserver import topics

    _inbox_ids(owner, "topic=damaged")
    assert {r for (r,) in db.execute("SELECT rules FROM review_topics")} == {topics.rules_version()}
    monkeypatch.setattr(topics, "rules_version", lambda: "other-rules")
    monkeypatch.setattr(topics, "topics_of", lambda text, locale: ["price"])
    assert _inbox_ids(owner, "topic=price") == {complaints[k] for k in ("late_nl", "late_en", "damaged", "happy")}


@pytest.mark.parametrize("value", ["nope", "DAMAGED", "delivery_time'--", "%20damaged"])
def test_unknown_topic_is_a_clear_400(owner, complaints, value):
    response = owner.get(f"/workspace/acme/?topic={value}")
    assert response.status_code == 400 and b"topic must be one of" in response.get_data()


def test_mark_resolved_from_the_workspace_once_and_never_touching_the_rating(owner, db, shop):
    from workspace_helpers import csrf_of

    from widgetserver import followup

    review_id = store.add_review(db, shop["id"], rating=1, author="Kim", body="Kapot.", locale="nl")
    page = f"/workspace/acme/reviews/{review_id}"
    token = csrf_of(owner, page)
    early = owner.post(f"{page}/resolved", data={"csrf_token": token})
    assert early.status_code == 303 and followup.get_followup(db, shop["id"], review_id) is None  # no reply yet
    store.set_reply(db, shop["id"], review_id, body="Sorry, we sturen een nieuwe.", author="Sanne", role="Service")
    done = owner.post(f"{page}/resolved", data={"csrf_token": csrf_of(owner, page), "rating": "5"})
    assert done.status_code == 303
    state = followup.get_followup(db, shop["id"], review_id)
    assert state is not None and state["email"] == "no_contact"
    again = owner.post(f"{page}/resolved", data={"csrf_token": csrf_of(owner, page)})
    assert again.status_code == 303
    assert db.execute("SELECT count(*) FROM followups").fetchone()[0] == 1
    assert store.review_row(db, shop["id"], review_id)["rating"] == 1
    html = owner.get(f"{page}?locale=en").get_data(as_text=True)
    assert "Marked resolved on" in html and "No address held" in html
    assert owner.post(f"{page}/resolved").status_code == 400  # no CSRF token


def test_mark_resolved_for_another_shops_review_is_404(client, db, shop):
    other = store.create_shop(db, "beta", "Beta")
    review_id = store.add_review(db, shop["id"], rating=1, author="Kim", body="Kapot.")
    store.set_reply(db, shop["id"], review_id, body="Sorry.", author="Sanne", role="Service")
    make_user(db, other, email="owner@beta.example")
    log_in(client, "owner@beta.example")
    token = csrf_of(client, "/workspace/beta/")
    assert client.post(f"/workspace/acme/reviews/{review_id}/resolved", data={"csrf_token": token}).status_code == 404
