"""The "resolved" follow-up: the shop marks a replied review resolved, the customer is e-mailed once (aiosmtpd),
answers, and the answer shows next to the reply; the shop can never change the review or its rating."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from invitation_helpers import EMAIL, clock, csrf_token, invite, mailed_link, open_form, path_of  # noqa: F401
from notify_helpers import smtp  # noqa: F401

from widgetserver import followup, mail, outbox, store


@pytest.fixture
def written(app, client, auth, db, smtp, clock):
    """A Dutch customer invited by e-mail (sent through aiosmtpd) who wrote a 1-star review of the shop."""
    invitation = invite(client, auth, skus=[])
    clock.advance(days=5)
    assert mail.send_due(app)["sent"] == 1
    link = mailed_link(app, db, invitation["id"])
    _, token = open_form(client, link)
    response = client.post(path_of(link), data={
        "csrf_token": token, "rating": "1", "title": "Kapot", "body": "De jurk kwam kapot aan.", "author": "Sanne"})
    assert response.status_code == 303
    review = client.get("/api/v1/shops/acme/reviews").get_json()["items"][0]
    assert outbox.deliver_due(app, db)["delivered"] == 1  # the author's confirmation with their private link
    invitation_mail, confirmation = smtp.messages
    smtp.envelopes.clear()
    return {"invitation": invitation, "review": review, "author_url": response.headers["Location"],
            "confirmation": confirmation}


def reply(client, auth, review_id):
    response = client.post(f"/api/v1/shops/acme/reviews/{review_id}/reply", headers=auth,
                           json={"body": "Wat vervelend! We sturen een nieuwe.", "author": "Sanne", "role": "eigenaar"})
    assert response.status_code in (200, 201)


def resolve(client, auth, review_id, **kwargs):
    return client.post(f"/api/v1/shops/acme/reviews/{review_id}/resolved", headers=auth, **kwargs)


def links_in(message) -> tuple[str, str]:
    text = message.get_content()
    answer = re.search(r"http://reviews\.acme\.example/f/[^\s#]+", text).group(0)
    assert answer + "#update" in text
    return answer, answer


def test_resolved_once_email_answer_shows_next_to_the_reply_and_the_customer_may_update(
        app, client, auth, db, smtp, written, clock):
    review_id = written["review"]["id"]
    reply(client, auth, review_id)
    first = resolve(client, auth, review_id)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["email"] == "queued" and first.get_json()["answer"] is None
    again = resolve(client, auth, review_id)
    assert again.status_code == 200
    assert outbox.deliver_due(app, db)["delivered"] == 1
    assert outbox.deliver_due(app, db)["delivered"] == 0
    assert resolve(client, auth, review_id).status_code == 200
    outbox.deliver_due(app, db)
    [envelope] = smtp.envelopes  # once, however often the shop marks it
    assert envelope.rcpt_tos == [EMAIL]
    [message] = smtp.messages
    assert message["Subject"] == "Acme Kleding wil graag weten: is het opgelost?"
    answer_url, update_url = links_in(message)
    assert "/f/" not in str(first.get_json()) + str(again.get_json())  # the shop never sees the answer link

    page = client.get(path_of(answer_url))
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert "Heeft Acme Kleding je probleem opgelost?" in html and "De jurk kwam kapot aan." in html
    posted = client.post(path_of(answer_url), data={"csrf_token": csrf_token(html), "answer": "resolved"})
    assert posted.status_code == 303
    assert "Bedankt. Je antwoord staat naast de reactie." in client.get(posted.headers["Location"]).get_data(as_text=True)

    item = client.get("/api/v1/shops/acme/reviews").get_json()["items"][0]
    assert item["reply"]["outcome"] == "resolved" and item["rating"] == 1
    assert "De klant zegt dat dit is opgelost." in client.get("/w/acme/list.html?locale=nl").get_data(as_text=True)
    assert "De klant zegt dat dit is opgelost." in client.get("/s/acme").get_data(as_text=True)
    state = client.get(f"/api/v1/shops/acme/reviews/{review_id}/resolved", headers=auth).get_json()
    assert state["answer"] == "resolved" and state["answered_at"]

    # The customer changes their mind: the answer follows.
    html = client.get(path_of(answer_url)).get_data(as_text=True)
    client.post(path_of(answer_url), data={"csrf_token": csrf_token(html), "answer": "not_resolved"})
    assert client.get("/api/v1/shops/acme/reviews").get_json()["items"][0]["reply"]["outcome"] == "not_resolved"
    assert "De klant zegt dat dit niet is opgelost." in client.get("/s/acme").get_data(as_text=True)

    # Updating the review stays the customer's own choice: from the answer page they get a fresh author link.
    clock.advance(days=1)
    html = client.get(path_of(answer_url)).get_data(as_text=True)
    assert 'action="/f/' in html and "/update" in html
    opened = client.post(path_of(answer_url) + "/update", data={"csrf_token": csrf_token(html)})
    assert opened.status_code == 303 and "/a/" in opened.headers["Location"]
    author_url = opened.headers["Location"]
    form, token = open_form(client, author_url)
    client.post(path_of(author_url), data={"csrf_token": token, "rating": "4", "title": "Opgelost",
                                           "body": "Nieuwe jurk gekregen.", "author": "Sanne"})
    item = client.get("/api/v1/shops/acme/reviews").get_json()["items"][0]
    assert item["rating"] == 4 and item["updated_at"] > item["created_at"]
    versions = db.execute("SELECT rating FROM review_versions WHERE review_id = ?", [review_id]).fetchall()
    assert [v[0] for v in versions] == [1]
    assert ("author", "new-author-link") in [tuple(a) for a in db.execute(
        "SELECT actor, action FROM audit_log WHERE entity = 'review'").fetchall()]


def test_a_dishonest_shop_cannot_change_the_rating_or_answer_for_the_customer(
        app, client, auth, db, smtp, written):
    review_id = written["review"]["id"]
    reply(client, auth, review_id)
    for body in ({"rating": 5}, {"answer": "resolved"}, {"outcome": "resolved"}, [5], "5"):
        refused = resolve(client, auth, review_id, json=body)
        assert refused.status_code == 400, body
    assert resolve(client, auth, review_id).status_code == 201
    # Everything the shop can read about the review: no answer link, no token.
    shop_view = (client.get(f"/api/v1/shops/acme/reviews/{review_id}/resolved", headers=auth).get_data(as_text=True)
                 + client.get("/api/v1/shops/acme/reviews").get_data(as_text=True))
    assert "/f/" not in shop_view
    # Guessing or forging the answer link fails; a token of another review does not open this one.
    for path in ("/f/x", "/f/" + "A" * 400, "/f/eyJyIjoxLCJuIjoieCJ9.forged"):
        assert client.get(path).status_code == 404
        assert client.post(path, data={"answer": "resolved"}).status_code in (400, 404)
    from itsdangerous import URLSafeSerializer

    forged = URLSafeSerializer(app.config["SECRET_KEY"], salt=followup.TOKEN_SALT).dumps({"r": review_id, "n": "guess"})
    assert client.get(f"/f/{forged}").status_code == 404
    wrong_purpose = URLSafeSerializer(app.config["SECRET_KEY"], salt="review-invitation").dumps({"r": review_id, "n": "x"})
    assert client.get(f"/f/{wrong_purpose}").status_code == 404
    # The answer page only takes the two answers, and never touches the rating.
    outbox.deliver_due(app, db)
    answer_url, _ = links_in(smtp.messages[0])
    html = client.get(path_of(answer_url)).get_data(as_text=True)
    bad = client.post(path_of(answer_url), data={"csrf_token": csrf_token(html), "answer": "5 stars", "rating": "5"})
    assert bad.status_code == 400
    client.post(path_of(answer_url), data={"csrf_token": csrf_token(html), "answer": "resolved", "rating": "5"})
    assert store.get_review(db, 1, review_id)["rating"] == 1
    assert store.summary_for(db, 1)["average"] == 1.0
    # Without the CSRF token (a forged cross-site post) nothing is stored.
    assert client.post(path_of(answer_url), data={"answer": "not_resolved"}).status_code == 400
    assert followup.get_followup(db, 1, review_id)["answer"] == "resolved"
    # Another shop's key cannot mark it.
    other = store.create_shop(db, "beta", "Beta")
    beta_key = store.create_key(db, other["id"])
    assert resolve(client, {"Authorization": f"Bearer {beta_key}"}, review_id).status_code == 403
    audit = db.execute("SELECT actor, action FROM audit_log WHERE entity = 'followup' ORDER BY id").fetchall()
    assert [tuple(a) for a in audit] == [("api", "resolved"), ("author", "answer")]


def test_reply_first_and_only_published_reviews(client, auth, db, written):
    review_id = written["review"]["id"]
    response = resolve(client, auth, review_id)
    assert response.status_code == 409 and "Reply to the review first" in response.get_json()["error"]
    assert resolve(client, auth, 9999).status_code == 404
    assert client.post(f"/api/v1/shops/acme/reviews/{review_id}/resolved").status_code == 401
    assert client.get(f"/api/v1/shops/acme/reviews/{review_id}/resolved", headers=auth).status_code == 404


def test_no_address_no_email_open_reviews_and_links_handed_out(app, client, auth, db, smtp, clock):
    shop = store.get_shop(db, "acme")
    open_id = store.add_review(db, shop["id"], rating=2, author="Kees", source="open", actor="author")
    store.set_reply(db, shop["id"], open_id, body="Sorry!", author="Sanne", role="eigenaar")
    assert resolve(client, auth, open_id).get_json()["email"] == "no_contact"
    linked = invite(client, auth, order_ref="B-2", email=None, skus=[])  # the shop hands out the link itself
    _, token = open_form(client, linked["review_url"])
    client.post(path_of(linked["review_url"]), data={"csrf_token": token, "rating": "2", "author": "Piet"})
    linked_id = max(r["id"] for r in client.get("/api/v1/shops/acme/reviews").get_json()["items"])
    store.set_reply(db, shop["id"], linked_id, body="Sorry!", author="Sanne", role="eigenaar")
    assert resolve(client, auth, linked_id).get_json()["email"] == "no_contact"
    assert outbox.deliver_due(app, db)["delivered"] == 0 and smtp.envelopes == []


def test_the_kept_address_is_erased_when_the_link_expires_or_the_author_withdraws(
        app, client, auth, db, smtp, written, clock):
    invitation = written["invitation"]
    assert db.execute("SELECT count(*) FROM invitation_contacts").fetchone()[0] == 1
    assert db.execute("SELECT email FROM invitations").fetchone()[0] is None  # gone from the invitation as before
    clock.now = store.parse_time(db.execute("SELECT expires_at FROM invitations").fetchone()[0]) + timedelta(seconds=1)
    mail.send_due(app)  # its tidy step erases expired contacts
    assert db.execute("SELECT count(*) FROM invitation_contacts").fetchone()[0] == 0
    reply(client, auth, written["review"]["id"])
    assert resolve(client, auth, written["review"]["id"]).get_json()["email"] == "no_contact"
    assert invitation  # (withdrawal is covered below)


def test_withdrawal_erases_the_kept_address_and_a_queued_followup_is_not_sent(
        app, client, auth, db, smtp, written):
    review_id = written["review"]["id"]
    reply(client, auth, review_id)
    assert resolve(client, auth, review_id).get_json()["email"] == "queued"
    author_url = path_of(written["author_url"]).split("?")[0]
    _, token = open_form(client, author_url)
    assert client.post(path_of(author_url) + "/withdraw", data={"csrf_token": token, "confirm": "yes"}).status_code == 200
    assert db.execute("SELECT count(*) FROM invitation_contacts").fetchone()[0] == 0
    assert outbox.deliver_due(app, db)["failed"] == 1 and smtp.envelopes == []
