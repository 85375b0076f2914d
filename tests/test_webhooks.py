"""Signed webhooks against a real HTTP receiver on loopback: signature, retries with back-off, log, SSRF guard."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from invitation_helpers import clock, csrf_token  # noqa: F401
from notify_helpers import Receiver, free_port, receiver  # noqa: F401

from widgetserver import outbox, store, webhooks


def open_review(db, shop, rating=1, **fields):
    return store.add_review(db, shop["id"], rating=rating, author="Piet", title="Kapot", body="Kwam kapot aan.",
                            source="open", actor="author", **fields)


def due(db):
    return db.execute("SELECT id, status, attempts, next_attempt_at, last_error FROM outbox ORDER BY id").fetchall()


def test_review_created_arrives_signed_with_the_endpoint_secret(app, db, shop, receiver):
    endpoint, secret = webhooks.add_endpoint(db, shop["id"], receiver.url, allow_private=True)
    assert secret.startswith("whsec_") and endpoint["secret_hint"] != secret
    review_id = open_review(db, shop, rating=1)
    assert receiver.requests == []  # nothing goes over the wire while the review is written
    counts = outbox.deliver_due(app, db)
    assert counts["delivered"] == 1
    [request] = receiver.requests
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["eerlijk-event"] == "review.created"
    assert headers["content-type"] == "application/json"
    assert webhooks.verify(secret, headers["eerlijk-signature"], request["body"])
    assert not webhooks.verify(secret, headers["eerlijk-signature"], request["body"] + b" ")
    assert not webhooks.verify("whsec_other", headers["eerlijk-signature"], request["body"])
    # The documented check, written the way a receiver would: HMAC-SHA256 over "<t>.<body>".
    import hashlib
    import hmac

    parts = dict(p.split("=", 1) for p in headers["eerlijk-signature"].split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + request["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, parts["v1"])
    event = json.loads(request["body"])
    assert event["event"] == "review.created" and event["shop"] == "acme"
    assert event["data"]["review"]["id"] == review_id and event["data"]["review"]["rating"] == 1
    log = webhooks.delivery_log(db, shop["id"], endpoint["id"])
    assert [(e["attempt"], e["status_code"], e["outcome"]) for e in log] == [(1, 200, "delivered")]


def test_a_500_is_retried_after_the_back_off_with_the_same_delivery_id(app, db, shop, receiver, clock):
    app.config.update(WEBHOOK_RETRY_SECONDS=60, WEBHOOK_MAX_ATTEMPTS=5)
    endpoint, secret = webhooks.add_endpoint(db, shop["id"], receiver.url, allow_private=True)
    open_review(db, shop)
    receiver.statuses = [500]
    assert outbox.deliver_due(app, db)["retry"] == 1
    [(_, status, attempts, next_at, error)] = due(db)
    assert (status, attempts, error) == ("pending", 1, "HTTP 500")
    assert store.parse_time(next_at) == clock.now + timedelta(seconds=60)
    clock.advance(seconds=59)
    assert outbox.deliver_due(app, db)["delivered"] == 0 and len(receiver.requests) == 1
    clock.advance(seconds=1)
    assert outbox.deliver_due(app, db)["delivered"] == 1
    first, second = receiver.requests
    assert first["body"] == second["body"]
    assert first["headers"]["Eerlijk-Delivery"] == second["headers"]["Eerlijk-Delivery"]
    assert webhooks.verify(secret, second["headers"]["Eerlijk-Signature"], second["body"])
    log = webhooks.delivery_log(db, shop["id"], endpoint["id"])
    assert [(e["attempt"], e["status_code"], e["outcome"]) for e in log] == [(2, 200, "delivered"), (1, 500, "retry")]


def test_back_off_doubles_and_gives_up_after_the_maximum(app, db, shop, receiver, clock):
    app.config.update(WEBHOOK_RETRY_SECONDS=10, WEBHOOK_MAX_ATTEMPTS=4)
    endpoint, _ = webhooks.add_endpoint(db, shop["id"], receiver.url, allow_private=True)
    open_review(db, shop)
    receiver.statuses = [503] * 10
    delays = []
    for _ in range(3):
        before = clock.now
        assert outbox.deliver_due(app, db)["retry"] == 1
        next_at = store.parse_time(due(db)[0][3])
        delays.append((next_at - before).total_seconds())
        clock.now = next_at
    assert delays == [10, 20, 40] == [d.total_seconds() for d in outbox.backoff_schedule(10, 4)]
    assert outbox.deliver_due(app, db)["failed"] == 1
    [(_, status, attempts, _, error)] = due(db)
    assert (status, attempts) == ("failed", 4) and error.startswith("gave up after 4 attempts")
    clock.advance(days=1)
    assert outbox.deliver_due(app, db)["delivered"] == 0 and len(receiver.requests) == 4
    outcomes = [e["outcome"] for e in webhooks.delivery_log(db, shop["id"], endpoint["id"])]
    assert outcomes == ["failed", "retry", "retry", "retry"]


def test_a_4xx_answer_is_not_retried_but_429_is(app, db, shop, receiver):
    webhooks.add_endpoint(db, shop["id"], receiver.url, allow_private=True)
    open_review(db, shop)
    open_review(db, shop, rating=2)
    receiver.statuses = [404, 429]
    counts = outbox.deliver_due(app, db)
    assert (counts["failed"], counts["retry"]) == (1, 1)


def test_a_failing_endpoint_never_breaks_review_submission(app, client, db, shop, receiver):
    dead = f"http://127.0.0.1:{free_port()}/nobody-listens"
    webhooks.add_endpoint(db, shop["id"], dead, allow_private=True)
    webhooks.add_endpoint(db, shop["id"], receiver.url, allow_private=True)
    receiver.statuses = [500] * 5
    store.update_shop_settings(db, shop["id"], allow_open_reviews=True)
    form = client.get("/s/acme/write").get_data(as_text=True)
    response = client.post("/s/acme/write", data={"csrf_token": csrf_token(form), "rating": "1", "title": "Slecht",
                                                  "body": "Nooit aangekomen.", "author": "Kees"})
    assert response.status_code == 303
    assert store.summary_for(db, shop["id"])["count"] == 1
    assert receiver.requests == []  # submission did not wait for any endpoint
    counts = outbox.deliver_due(app, db)
    assert counts["retry"] == 2 and counts["delivered"] == 0
    errors = [row[4] for row in due(db)]
    assert any("Connection refused" in e or "ConnectionRefused" in e for e in errors)
    assert "HTTP 500" in errors


def test_no_call_is_queued_for_a_change_that_rolls_back(db, shop, receiver):
    webhooks.add_endpoint(db, shop["id"], receiver.url, allow_private=True)
    with pytest.raises(RuntimeError):
        with store.write(db):
            open_review(db, shop)
            raise RuntimeError("the response failed after the write")
    assert due(db) == [] and store.summary_for(db, shop["id"])["count"] == 0


def test_events_reach_only_endpoints_that_subscribed(app, db, shop, receiver):
    other = Receiver()
    try:
        webhooks.add_endpoint(db, shop["id"], receiver.url, ["reply.published"], allow_private=True)
        webhooks.add_endpoint(db, shop["id"], other.url, ["review.created", "review.updated"], allow_private=True)
        review_id = open_review(db, shop, rating=2)
        store.update_review(db, shop["id"], review_id, rating=4, title="Toch goed", body="Opgelost.", author="Piet")
        store.set_reply(db, shop["id"], review_id, body="Dank je!", author="Sanne", role="klantenservice")
        outbox.deliver_due(app, db)
        assert [e["event"] for e in receiver.events()] == ["reply.published"]
        assert [e["event"] for e in other.events()] == ["review.created", "review.updated"]
        assert other.events()[1]["data"]["previous_rating"] == 2
        assert receiver.events()[0]["data"]["review"]["reply"]["author"] == "Sanne"
    finally:
        other.stop()


def test_emit_report_decided_from_the_callers_transaction(app, db, shop, receiver):
    webhooks.add_endpoint(db, shop["id"], receiver.url, allow_private=True)
    with store.write(db):
        assert webhooks.emit(db, shop["id"], "report.decided", {"report": {"id": 7, "decision": "dismissed"}}) == 1
    outbox.deliver_due(app, db)
    assert receiver.events()[0]["data"] == {"report": {"id": 7, "decision": "dismissed"}}
    with pytest.raises(ValueError):
        webhooks.emit(db, shop["id"], "review.deleted", {})


def test_imported_history_sets_off_nothing(db, shop, receiver):
    webhooks.add_endpoint(db, shop["id"], receiver.url, allow_private=True)
    store.add_review(db, shop["id"], rating=1, author="Old", source="import")
    assert due(db) == []


@pytest.mark.parametrize("url, message", [
    ("ftp://hooks.example/x", "Only http:// and https://"),
    ("file:///etc/passwd", "Only http:// and https://"),
    ("javascript:alert(1)", "Only http:// and https://"),
    ("http://user:pw@hooks.example/x", "user:password"),
    ("http://127.0.0.1:8080/x", "not a public address"),
    ("http://[::1]/x", "not a public address"),
    ("http://169.254.169.254/latest/meta-data", "not a public address"),
    ("http://10.0.0.5/x", "not a public address"),
    ("http:///x", "no host"),
    ("http://hooks.example/a b", "spaces"),
    ("", "Give the endpoint"),
])
def test_urls_that_could_reach_inside_are_refused(db, shop, url, message):
    with pytest.raises(webhooks.WebhookError) as exc:
        webhooks.add_endpoint(db, shop["id"], url)
    assert message in exc.value.message and exc.value.field == "url"


def test_a_name_that_resolves_to_loopback_is_refused_at_delivery(app, db, shop, receiver):
    app.config["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"] = False
    port = receiver.url.split(":")[2].split("/")[0]
    endpoint, _ = webhooks.add_endpoint(db, shop["id"], f"http://localhost:{port}/hook")
    open_review(db, shop)
    assert outbox.deliver_due(app, db)["failed"] == 1
    assert receiver.requests == []
    [entry] = webhooks.delivery_log(db, shop["id"], endpoint["id"])
    assert "non-public address" in entry["error"] and entry["status_code"] is None


def test_removed_endpoint_gets_nothing_more_and_its_secret_is_gone(app, db, shop, receiver):
    endpoint, secret = webhooks.add_endpoint(db, shop["id"], receiver.url, allow_private=True)
    open_review(db, shop)
    assert webhooks.remove_endpoint(db, shop["id"], endpoint["id"])
    assert not webhooks.remove_endpoint(db, shop["id"], endpoint["id"])
    assert outbox.deliver_due(app, db)["delivered"] == 0 and receiver.requests == []
    assert due(db)[0][4] == "endpoint removed"
    stored = db.execute("SELECT secret FROM webhook_endpoints WHERE id = ?", [endpoint["id"]]).fetchone()[0]
    assert secret not in stored
    assert webhooks.list_endpoints(db, shop["id"]) == []


def test_unknown_events_and_too_many_endpoints_are_refused(db, shop):
    with pytest.raises(webhooks.WebhookError) as exc:
        webhooks.add_endpoint(db, shop["id"], "https://hooks.example/x", ["review.deleted"])
    assert exc.value.field == "events"
    for n in range(webhooks.MAX_ENDPOINTS):
        webhooks.add_endpoint(db, shop["id"], f"https://hooks.example/{n}")
    with pytest.raises(webhooks.WebhookError) as exc:
        webhooks.add_endpoint(db, shop["id"], "https://hooks.example/one-more")
    assert exc.value.status == 409


def test_an_old_signature_is_refused():
    body = b'{"event": "review.created"}'
    header = webhooks.sign("whsec_x", 1_700_000_000, body)
    assert webhooks.verify("whsec_x", header, body, now=1_700_000_100)
    assert not webhooks.verify("whsec_x", header, body, now=1_700_000_400)
    assert not webhooks.verify("whsec_x", "garbage", body)
    assert not webhooks.verify("whsec_x", "t=abc,v1=00", body)


def test_cli_add_list_log_remove_shows_the_secret_once(app, db, shop, receiver, runner):
    from widgetserver.cli import main

    result = runner.invoke(main, ["webhooks", "add", "acme", receiver.url, "--event", "review.created"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("whsec_")
    listing = runner.invoke(main, ["webhooks", "list", "acme"])
    assert receiver.url in listing.output and secret not in listing.output
    open_review(db, shop)
    receiver.statuses = [500]
    assert "to retry later 1" in runner.invoke(main, ["deliver"]).output
    endpoint_id = webhooks.list_endpoints(db, shop["id"])[0]["id"]
    log = runner.invoke(main, ["webhooks", "log", "acme", str(endpoint_id)])
    assert log.exit_code == 0 and "review.created\t1\t" in log.output and "\t500\tretry\t" in log.output
    assert secret not in log.output
    assert webhooks.verify(secret, receiver.requests[0]["headers"]["Eerlijk-Signature"], receiver.requests[0]["body"])
    bad = runner.invoke(main, ["webhooks", "add", "acme", "ftp://x.example/"])
    assert bad.exit_code == 1 and "Only http:// and https://" in bad.output
    assert runner.invoke(main, ["webhooks", "log", "acme", "999"]).exit_code == 1
    assert runner.invoke(main, ["webhooks", "remove", "acme", str(endpoint_id)]).exit_code == 0
    assert runner.invoke(main, ["webhooks", "remove", "acme", str(endpoint_id)]).exit_code == 1


def test_cli_alerts_add_list_remove(db, shop, runner):
    from widgetserver.cli import main

    result = runner.invoke(main, ["alerts", "add", "acme", "service@acme.example", "--max-rating", "3", "--mode", "digest"])
    assert result.exit_code == 0 and "daily digest" in result.output
    assert "service@acme.example\t3\tdigest" in runner.invoke(main, ["alerts", "list", "acme"]).output
    assert runner.invoke(main, ["alerts", "add", "acme", "nope"]).exit_code == 1
    assert runner.invoke(main, ["alerts", "remove", "acme", "service@acme.example"]).exit_code == 0
    assert runner.invoke(main, ["alerts", "remove", "acme", "service@acme.example"]).exit_code == 1


def test_report_decided_arrives_signed_after_the_operator_decides(app, db, shop, receiver):
    from widgetserver import moderation
    from widgetserver.reports import add_report

    review_id = store.add_review(db, shop["id"], rating=1, author="Piet", body="Bel 0612345678.")
    endpoint, secret = webhooks.add_endpoint(db, shop["id"], receiver.url, events=["report.decided"],
                                             allow_private=True)
    add_report(db, shop["id"], review_id, "personal_data", "", "nl")
    moderation.decide(db, shop, review_id, "remove", reason="personal_data", decided_by="operator", operator=True)
    assert outbox.deliver_due(app, db)["delivered"] == 1
    [request] = receiver.requests
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["eerlijk-event"] == "report.decided"
    assert webhooks.verify(secret, headers["eerlijk-signature"], request["body"])
    data = json.loads(request["body"])["data"]
    assert (data["review_id"], data["outcome"], data["reason"], data["reports"]) == (review_id, "remove",
                                                                                     "personal_data", 1)


def test_a_refused_decision_sends_nothing(app, db, shop, receiver):
    from widgetserver import moderation
    from widgetserver.reports import add_report

    review_id = store.add_review(db, shop["id"], rating=1, author="Piet", body="Slecht.")
    webhooks.add_endpoint(db, shop["id"], receiver.url, allow_private=True)
    add_report(db, shop["id"], review_id, "spam", "", "nl")
    with pytest.raises(moderation.ModerationError):
        moderation.decide(db, shop, review_id, "remove", reason="spam", decided_by="owner", operator=False)
    assert outbox.deliver_due(app, db)["delivered"] == 0


def test_the_documented_python_check_accepts_a_real_call_and_refuses_a_changed_one(app, db, shop, receiver):
    import re
    from pathlib import Path

    docs = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text()
    snippet = re.search(r"\*\*Verify every call\*\*.*?```python\n(.*?)```", docs, flags=re.S).group(1)
    namespace: dict = {}
    exec(snippet, namespace)  # noqa: S102  (our own documentation)
    _, secret = webhooks.add_endpoint(db, shop["id"], receiver.url, allow_private=True)
    open_review(db, shop)
    outbox.deliver_due(app, db)
    [request] = receiver.requests
    header = request["headers"]["Eerlijk-Signature"]
    assert namespace["verify"](secret, header, request["body"])
    assert not namespace["verify"](secret, header, request["body"].replace(b'"rating": 1', b'"rating": 5'))
    assert not namespace["verify"](secret + "x", header, request["body"])
