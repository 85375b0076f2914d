"""The workspace: inbox order and clocks, reply composer, drafts, reports by the shop, settings, keys,
snippet builder, per-shop isolation, and a dishonest shop user who tries to edit or remove a review."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from workspace_helpers import csrf_of, log_in, make_user, post_form

from widgetserver import store
from widgetserver.workspace import inbox as inbox_module


def add(db, shop, rating, hours_ago, title="", body="", product=None, locale="en", author="Kim"):
    return store.add_review(db, shop["id"], rating=rating, author=author, title=title or f"{rating} stars",
                            body=body or f"A review with {rating} stars.", locale=locale, product_sku=product,
                            created_at=store.utcnow() - timedelta(hours=hours_ago))


@pytest.fixture
def owner(client, db, shop):
    """The logged-in owner of 'acme' (the test client holds the session)."""
    user = make_user(db, shop)
    assert log_in(client).status_code == 302
    return user


@pytest.fixture
def beta(db):
    """Another shop with one review and a user of its own."""
    other = store.create_shop(db, "beta", "Beta Shop")
    review_id = store.add_review(db, other["id"], rating=1, author="Bo", title="Bad", body="Bad service.")
    make_user(db, other, email="owner@beta.example")
    return other, review_id


def ids_in(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'/workspace/acme/reviews/(\d+)"', html)]


# --- inbox -------------------------------------------------------------------------------


def test_inbox_orders_by_urgency(client, db, shop, owner):
    five_new = add(db, shop, 5, 1)
    three_old = add(db, shop, 3, 50)
    one_new = add(db, shop, 1, 2)
    two_old = add(db, shop, 2, 30)
    four_old = add(db, shop, 4, 40)
    answered_one = add(db, shop, 1, 60)
    store.set_reply(db, shop["id"], answered_one, body="Thanks", author="S", role="Owner")
    html = client.get("/workspace/acme/").get_data(as_text=True)
    # Unanswered 1-2 stars oldest first, then 3 stars, then unanswered 4-5 newest first, then answered.
    assert ids_in(html) == [two_old, one_new, three_old, five_new, four_old, answered_one]


def test_inbox_clock_counts_down_and_turns_red(client, db, shop, owner):
    fresh = add(db, shop, 1, 3)
    late = add(db, shop, 2, 30)
    happy = add(db, shop, 5, 30)
    html = client.get("/workspace/acme/").get_data(as_text=True)
    items = {int(m.group(1)): m.group(0) for m in re.finditer(r'reviews/(\d+)".*?</li>', html, re.S)}
    assert "clock-ok" in items[fresh]
    assert re.search(r"(20 h 59|21 h 0) min left to reply", items[fresh])
    assert "clock-missed" in items[late] and "missed by 6 h" in items[late]
    assert 'class="item item-missed"' in html
    assert "clock" not in items[happy] and "Not answered yet" in items[happy]


def test_reply_target_is_per_shop(client, db, shop, owner):
    late = add(db, shop, 2, 30)
    store.update_shop_settings(db, shop["id"], reply_target_hours=48)
    html = client.get(f"/workspace/acme/").get_data(as_text=True)
    assert "17 h" in html and "missed" not in re.search(rf'reviews/{late}".*?</li>', html, re.S).group(0)


def test_clock_states():
    now = store.utcnow()
    created = store.format_time(now - timedelta(hours=20))
    assert inbox_module.clock(created, 24, now)["state"] == "soon"
    assert inbox_module.clock(created, 48, now)["state"] == "ok"
    assert inbox_module.clock(created, 10, now)["state"] == "missed"
    assert "days" in inbox_module.clock(store.format_time(now - timedelta(days=5)), 24, now)["text"]


def test_inbox_header_counts(client, db, shop, owner):
    add(db, shop, 1, 30)
    add(db, shop, 2, 1)
    add(db, shop, 3, 1)
    add(db, shop, 5, 1)
    add(db, shop, 5, 40)  # no reply target for happy reviews: not overdue
    counts = inbox_module.inbox_counts(db, shop["id"], 24)
    assert counts == {"unanswered": 5, "negative": 2, "neutral": 1, "overdue": 1, "reports": 0}
    html = client.get("/workspace/acme/").get_data(as_text=True)
    assert re.search(r'stat-n">2</span> <span class="stat-l">unanswered 1–2', html)
    assert '<span class="count">5</span>' in html


def test_inbox_filters(client, db, shop, owner):
    on_product = add(db, shop, 1, 5, product="SKU-1")
    shop_wide = add(db, shop, 1, 6)
    five = add(db, shop, 5, 7)
    answered = add(db, shop, 4, 8)
    store.set_reply(db, shop["id"], answered, body="Thanks!", author="S", role="Owner")
    assert ids_in(client.get("/workspace/acme/?rating=1").get_data(as_text=True)) == [shop_wide, on_product]
    assert ids_in(client.get("/workspace/acme/?product=SKU-1").get_data(as_text=True)) == [on_product]
    assert ids_in(client.get("/workspace/acme/?answered=answered").get_data(as_text=True)) == [answered]
    assert set(ids_in(client.get("/workspace/acme/?answered=unanswered").get_data(as_text=True))) == {
        on_product, shop_wide, five}


@pytest.mark.parametrize("query", ["rating=9", "rating=x", "answered=maybe", "product=NOPE", "page=0"])
def test_inbox_bad_filters_are_400(client, shop, owner, query):
    assert client.get(f"/workspace/acme/?{query}").status_code == 400


def test_inbox_pages(client, db, shop, owner):
    for i in range(inbox_module.PAGE_SIZE + 3):
        add(db, shop, 5, i + 1)
    first = ids_in(client.get("/workspace/acme/").get_data(as_text=True))
    second = ids_in(client.get("/workspace/acme/?page=2").get_data(as_text=True))
    assert len(first) == inbox_module.PAGE_SIZE and len(second) == 3 and not set(first) & set(second)


def test_withdrawn_and_removed_reviews_are_not_in_the_inbox(client, db, shop, owner):
    gone = add(db, shop, 1, 2)
    store.set_review_status(db, shop["id"], gone, "withdrawn", actor="author")
    assert gone not in ids_in(client.get("/workspace/acme/").get_data(as_text=True))
    assert client.get(f"/workspace/acme/reviews/{gone}").status_code == 404


# --- composer ----------------------------------------------------------------------------


def test_publish_reply_then_edit_keeps_history(client, db, shop, owner):
    review_id = add(db, shop, 1, 2, body="The dress shrank after one wash.")
    path = f"/workspace/acme/reviews/{review_id}"
    page = client.get(path).get_data(as_text=True)
    assert 'value="Sanne de Vries"' in page and 'value="Owner"' in page  # prefilled from the user
    first = post_form(client, path, {"action": "publish", "body": "Thank you. We are sorry it shrank.",
                                     "author": "Sanne de Vries", "role": "Customer service"})
    assert first.status_code == 302
    reply = store.get_review(db, shop["id"], review_id)["reply"]
    assert reply["body"] == "Thank you. We are sorry it shrank." and reply["role"] == "Customer service"
    second = post_form(client, path, {"action": "publish", "body": "Thank you, we are sorry it shrank. Mail us.",
                                      "author": "Sanne de Vries", "role": "Customer service"})
    assert second.status_code == 302
    history = list(db.query("SELECT body FROM reply_versions WHERE review_id = ?", [review_id]))
    assert [h["body"] for h in history] == ["Thank you. We are sorry it shrank."]
    page = client.get(path).get_data(as_text=True)
    assert "Earlier versions of your reply (1)" in page and "Thank you. We are sorry it shrank." in page
    # The title the user signed with is remembered for next time.
    assert db.execute("SELECT title FROM users WHERE id = ?", [owner["id"]]).fetchone()[0] == "Customer service"
    # Audit names the user.
    actor = db.execute("SELECT actor FROM audit_log WHERE entity = 'reply' ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert actor == f"user:{owner['id']}"


def test_published_reply_shows_in_widget_and_hosted_page(client, db, shop, owner):
    review_id = add(db, shop, 1, 2)
    post_form(client, f"/workspace/acme/reviews/{review_id}",
              {"action": "publish", "body": "We are sorry, Kim. Please mail us.", "author": "Sanne", "role": "Owner"})
    assert "We are sorry, Kim. Please mail us." in client.get("/w/acme/list.html").get_data(as_text=True)
    assert "We are sorry, Kim. Please mail us." in client.get("/s/acme").get_data(as_text=True)


@pytest.mark.parametrize("field, value, message", [
    ("body", "", "Fill in the reply"),
    ("body", "x" * 5001, "too long"),
    ("author", "", "Fill in your name"),
    ("role", "  ", "Fill in your role"),
    ("body", "a\x00b", "NUL"),
])
def test_publish_refuses_bad_fields_with_a_message_and_stores_nothing(client, db, shop, owner, field, value, message):
    review_id = add(db, shop, 1, 2)
    data = {"action": "publish", "body": "Thanks, sorry.", "author": "Sanne", "role": "Owner", field: value}
    response = post_form(client, f"/workspace/acme/reviews/{review_id}", data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert store.get_review(db, shop["id"], review_id)["reply"] is None


def test_reply_markup_is_stored_as_plain_text(client, db, shop, owner):
    review_id = add(db, shop, 1, 2)
    post_form(client, f"/workspace/acme/reviews/{review_id}",
              {"action": "publish", "body": "Sorry <script>alert(1)</script><b>Kim</b>", "author": "S", "role": "O"})
    body = store.get_review(db, shop["id"], review_id)["reply"]["body"]
    assert "<" not in body and "Kim" in body


def test_draft_without_javascript_fills_the_textarea(client, db, shop, owner):
    store.update_shop_settings(db, shop["id"], contact_email="help@acme.example")
    review_id = add(db, shop, 1, 2, title="Gekrompen", body="Na één wasbeurt gekrompen.", locale="nl",
                    author="Ingrid B.")
    response = post_form(client, f"/workspace/acme/reviews/{review_id}",
                         {"action": "draft", "body": "", "author": "Sanne de Vries", "role": "Klantenservice"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Beste Ingrid," in html and "help@acme.example" in html and "Sanne de Vries" in html
    assert store.get_review(db, shop["id"], review_id)["reply"] is None  # a draft is not published


def test_draft_endpoint_is_json_in_the_reviews_language(client, db, shop, owner):
    review_id = add(db, shop, 2, 2, title="Colour", body="The colour is different from the photo.", locale="en")
    token = csrf_of(client, f"/workspace/acme/reviews/{review_id}")
    response = client.post(f"/workspace/acme/reviews/{review_id}/draft", json={"author": "Sanne", "role": "Owner"},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 200
    assert response.json["language"] == "en"
    assert response.json["body"].startswith("Dear Kim,") and "colour" in response.json["body"]
    assert response.json["body"].rstrip().endswith("Owner, Acme Kleding")
    # Without the CSRF header: refused.
    assert client.post(f"/workspace/acme/reviews/{review_id}/draft", json={}).status_code == 400


def test_tone_check_endpoint(client, db, shop, owner):
    review_id = add(db, shop, 1, 2)
    token = csrf_of(client, f"/workspace/acme/reviews/{review_id}")
    response = client.post("/workspace/acme/tone-check", headers={"X-CSRFToken": token},
                           json={"body": "You should have read the size chart.", "author": "Sanne", "role": "Owner",
                                 "review_id": review_id})
    assert response.status_code == 200
    failed = {f["rule"] for f in response.json["findings"] if not f["passed"]}
    assert {"defensive", "signature", "thanks", "apology"} <= failed
    assert client.post("/workspace/acme/tone-check", headers={"X-CSRFToken": token},
                       data="not json").status_code == 400
    assert client.post("/workspace/acme/tone-check", headers={"X-CSRFToken": token},
                       json={"body": "x" * 6000}).status_code == 400


def test_check_action_without_javascript_lists_findings(client, db, shop, owner):
    review_id = add(db, shop, 1, 2)
    response = post_form(client, f"/workspace/acme/reviews/{review_id}",
                         {"action": "check", "body": "Please remove your review.", "author": "Sanne", "role": "Owner"})
    html = response.get_data(as_text=True)
    assert 'data-rule="removal"' in html and "finding fail" in html


def test_staff_can_reply_but_not_change_settings(client, db, shop):
    make_user(db, shop, email="staff@acme.example", role="staff", name="Piet")
    log_in(client, "staff@acme.example")
    review_id = add(db, shop, 2, 1)
    page = client.get(f"/workspace/acme/reviews/{review_id}").get_data(as_text=True)
    assert 'value="Customer service"' in page
    assert post_form(client, f"/workspace/acme/reviews/{review_id}",
                     {"action": "publish", "body": "Sorry!", "author": "Piet", "role": "Service"}).status_code == 302
    settings = client.get("/workspace/acme/settings").get_data(as_text=True)
    assert "Save settings" not in settings and "API keys" not in settings
    forged = post_form(client, "/workspace/acme/settings", {"name": "Hacked", "locale": "en",
                                                           "reply_target_hours": "1", "invitation_delay_days": "1"},
                       form_page="/workspace/acme/settings")
    assert forged.status_code == 403
    assert store.get_shop(db, "acme")["name"] == "Acme Kleding"
    assert post_form(client, "/workspace/acme/settings/keys", {"label": "x"},
                     form_page="/workspace/acme/settings").status_code == 403


# --- reports by the shop ------------------------------------------------------------------


def test_shop_reports_a_review_with_a_fixed_reason(client, db, shop, owner):
    review_id = add(db, shop, 1, 2, body="Call me at 0612345678, Jan Jansen, Dorpsstraat 1")
    path = f"/workspace/acme/reviews/{review_id}/report"
    form = client.get(path).get_data(as_text=True)
    assert 'value="personal_data"' in form and "It contains personal data" in form
    bad = post_form(client, path, {"reason": "too_negative", "note": ""})
    assert bad.status_code == 400 and "Choose one of the reasons" in bad.get_data(as_text=True)
    done = post_form(client, path, {"reason": "personal_data", "note": "Phone number and address."})
    assert done.status_code == 302
    rows = list(db.query("SELECT reason, note, reporter, status FROM reports WHERE review_id = ?", [review_id]))
    assert rows == [{"reason": "personal_data", "note": "Phone number and address.", "reporter": "shop",
                     "status": "open"}]
    # The review stays public, untouched.
    assert store.review_row(db, shop["id"], review_id)["status"] == "published"
    # A second report while one is open is not stored twice.
    post_form(client, path, {"reason": "spam", "note": ""})
    assert db.execute("SELECT count(*) FROM reports WHERE review_id = ?", [review_id]).fetchone()[0] == 1
    assert "You reported this review" in client.get(f"/workspace/acme/reviews/{review_id}").get_data(as_text=True)


# --- a dishonest shop user -----------------------------------------------------------------


def test_no_workspace_route_can_edit_hide_or_remove_a_review(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/workspace"):
            continue
        methods = rule.methods - {"GET", "HEAD", "OPTIONS"}
        text = rule.rule + " " + rule.endpoint
        if methods:
            assert not re.search(r"delete|remove|hide|edit|status|withdraw|rating", text), text
        assert "DELETE" not in rule.methods and "PUT" not in rule.methods and "PATCH" not in rule.methods


@pytest.mark.parametrize("method, suffix, data", [
    ("post", "", {"action": "edit", "rating": "5", "body": "Great!"}),
    ("post", "", {"action": "remove"}),
    ("post", "", {"action": "hide"}),
    ("post", "/edit", {"rating": "5", "title": "Great", "body": "Great!"}),
    ("post", "/remove", {"reason": "spam"}),
    ("post", "/hide", {}),
    ("post", "/delete", {}),
    ("post", "/status", {"status": "removed"}),
    ("delete", "", {}),
    ("put", "", {"rating": "5"}),
    ("patch", "", {"rating": "5"}),
])
def test_dishonest_shop_user_cannot_change_a_review(client, db, shop, owner, method, suffix, data):
    review_id = add(db, shop, 1, 2, body="Terrible, never again.")
    path = f"/workspace/acme/reviews/{review_id}"
    token = csrf_of(client, path)
    before = store.review_row(db, shop["id"], review_id)
    response = getattr(client, method)(path + suffix, data={**data, "csrf_token": token})
    assert response.status_code in (400, 403, 404, 405)
    after = store.review_row(db, shop["id"], review_id)
    assert after == before
    assert store.summary_for(db, shop["id"])["distribution"]["1"] == 1


def test_dishonest_shop_user_cannot_use_the_api_to_remove_either(client, db, shop, key):
    review_id = add(db, shop, 1, 2)
    for method in ("delete", "put", "patch"):
        response = getattr(client, method)(f"/api/v1/shops/acme/reviews/{review_id}",
                                           headers={"Authorization": f"Bearer {key}"}, json={"rating": 5})
        assert response.status_code in (404, 405)
    assert store.review_row(db, shop["id"], review_id)["rating"] == 1


# --- per-shop isolation --------------------------------------------------------------------


def test_a_user_of_shop_a_gets_404_for_everything_of_shop_b(app, client, db, shop, owner, beta):
    other, other_review = beta
    key_id = store.create_key(db, other["id"]).split("_")[1]
    token = csrf_of(client, "/workspace/acme/")
    gets = ["/workspace/beta/", "/workspace/beta/settings", "/workspace/beta/snippet",
            "/workspace/beta/snippet/preview?widget=badge", f"/workspace/beta/reviews/{other_review}",
            f"/workspace/beta/reviews/{other_review}/report",
            f"/workspace/acme/reviews/{other_review}", f"/workspace/acme/reviews/{other_review}/report"]
    for path in gets:
        assert client.get(path).status_code == 404, path
    posts = [
        (f"/workspace/beta/reviews/{other_review}", {"action": "publish", "body": "x", "author": "a", "role": "b"}),
        (f"/workspace/acme/reviews/{other_review}", {"action": "publish", "body": "x", "author": "a", "role": "b"}),
        (f"/workspace/beta/reviews/{other_review}/report", {"reason": "spam"}),
        (f"/workspace/acme/reviews/{other_review}/report", {"reason": "spam"}),
        ("/workspace/beta/settings", {"name": "Taken over", "locale": "en", "reply_target_hours": "1",
                                      "invitation_delay_days": "0"}),
        ("/workspace/beta/settings/keys", {"label": "mine now"}),
        (f"/workspace/beta/settings/keys/{key_id}/revoke", {}),
        (f"/workspace/acme/settings/keys/{key_id}/revoke", {}),
        ("/workspace/beta/settings/profile", {"profile_name": "x"}),
    ]
    for path, data in posts:
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 404, path
    for path in (f"/workspace/beta/reviews/{other_review}/draft", "/workspace/beta/tone-check"):
        assert client.post(path, json={"body": "x"}, headers={"X-CSRFToken": token}).status_code == 404, path
    # Nothing of shop B changed.
    assert store.get_review(db, other["id"], other_review)["reply"] is None
    assert db.execute("SELECT count(*) FROM reports").fetchone()[0] == 0
    assert store.get_shop(db, "beta")["name"] == "Beta Shop"
    assert [k["revoked_at"] for k in store.list_keys(db, other["id"])] == [None]
    assert len(store.list_keys(db, other["id"])) == 1


def test_inbox_shows_only_own_reviews(client, db, shop, owner, beta):
    mine = add(db, shop, 2, 1)
    assert ids_in(client.get("/workspace/acme/").get_data(as_text=True)) == [mine]


# --- settings and keys -----------------------------------------------------------------------


def test_owner_saves_settings(client, db, shop, owner):
    response = post_form(client, "/workspace/acme/settings", {
        "name": "Acme Mode", "url": "https://acme.example/shop", "locale": "de", "contact_email": "help@acme.example",
        "contact_phone": "+31 20 555 0101", "reply_target_hours": "12", "invitation_delay_days": "7",
        "allow_open_reviews": "on"})
    assert response.status_code == 302
    row = store.get_shop(db, "acme")
    assert (row["name"], row["url"], row["locale"]) == ("Acme Mode", "https://acme.example/shop", "de")
    assert row["settings"] == {**row["settings"], "contact_email": "help@acme.example", "reply_target_hours": 12,
                               "invitation_delay_days": 7, "allow_open_reviews": True, "organization_rating": False}
    # The public side follows: open reviews are now accepted.
    assert client.get("/s/acme/write").status_code == 200


def test_settings_errors_per_field_and_nothing_saved(client, db, shop, owner):
    response = post_form(client, "/workspace/acme/settings", {
        "name": "", "url": "ftp://x", "locale": "xx", "contact_email": "nope", "contact_phone": "call me",
        "reply_target_hours": "0", "invitation_delay_days": "abc"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    for message in ("Fill in the shop", "starting with https://", "Choose one of the languages",
                    "not an e-mail address", "Use digits", "The reply target must be", "The invitation delay must be"):
        assert message in html, message
    assert html.count('aria-invalid="true"') >= 7
    assert store.get_shop(db, "acme")["name"] == "Acme Kleding"


def test_api_key_created_once_and_revoked(client, db, shop, owner):
    response = post_form(client, "/workspace/acme/settings/keys", {"label": "webshop"},
                         form_page="/workspace/acme/settings")
    html = response.get_data(as_text=True)
    key = re.search(r'id="new-key" readonly value="(eer_[^"]+)"', html).group(1)
    assert store.shop_id_for_key(db, key) == shop["id"]
    listing = client.get("/workspace/acme/settings").get_data(as_text=True)
    assert key not in listing and f"eer_{key.split('_')[1]}_" in listing  # shown once, then only its id
    api = client.post("/api/v1/shops/acme/products", json={"sku": "NEW", "name": "New"},
                      headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == 201
    revoke = post_form(client, f"/workspace/acme/settings/keys/{key.split('_')[1]}/revoke", {},
                       form_page="/workspace/acme/settings")
    assert revoke.status_code == 302
    assert store.shop_id_for_key(db, key) is None
    assert post_form(client, "/workspace/acme/settings/keys/zzz/revoke", {},
                     form_page="/workspace/acme/settings").status_code == 404


def test_profile_signature(client, db, shop, owner):
    response = post_form(client, "/workspace/acme/settings/profile", {"profile_name": "Sanne V.",
                                                                     "profile_title": "Klantenservice"},
                         form_page="/workspace/acme/settings")
    assert response.status_code == 302
    review_id = add(db, shop, 1, 1)
    page = client.get(f"/workspace/acme/reviews/{review_id}").get_data(as_text=True)
    assert 'value="Sanne V."' in page and 'value="Klantenservice"' in page
    empty = post_form(client, "/workspace/acme/settings/profile", {"profile_name": ""},
                      form_page="/workspace/acme/settings")
    assert empty.status_code == 400


def test_settings_sections_hook(app, client, db, shop, owner):
    from widgetserver.workspace import SETTINGS_SECTIONS

    SETTINGS_SECTIONS.append(("workspace.snippet", "Alerts"))
    try:
        html = client.get("/workspace/acme/settings").get_data(as_text=True)
        assert 'href="/workspace/acme/snippet">Alerts</a>' in html
    finally:
        SETTINGS_SECTIONS.pop()


# --- snippet builder -------------------------------------------------------------------------


def test_snippet_builder_matches_the_api_snippet(client, db, shop, owner):
    add(db, shop, 4, 1, product="SKU-1")
    html = client.get("/workspace/acme/snippet?widget=badge&widget=list&theme=default&locale=nl").get_data(as_text=True)
    api = client.get("/api/v1/shops/acme/snippet?widget=badge,list&locale=nl").json["html"]
    code = re.search(r'id="code-snippet"[^>]*>(.*?)</textarea>', html, re.S).group(1)
    import html as html_lib

    assert html_lib.unescape(code) == api
    assert '&lt;!--# include virtual=&#34;/w/acme/badge.html?locale=nl&#34; --&gt;' in html
    assert "esi:include" in html


def test_snippet_builder_css_variables_and_json(client, db, shop, owner):
    response = client.get("/workspace/acme/snippet?widget=product&product=SKU-1&accent=%23aa3300&radius=4&font=inherit",
                          headers={"Accept": "application/json"})
    data = response.json
    assert data["errors"] == {}
    assert data["snippet"].startswith("<style>[data-eerlijk] { --eerlijk-accent: #aa3300; --eerlijk-font: inherit;"
                                      " --eerlijk-radius: 4px; }</style>")
    assert 'data-eerlijk-product="SKU-1"' in data["snippet"]
    preview = client.get(data["preview_url"])
    assert preview.status_code == 200 and b"--eerlijk-accent: #aa3300" in preview.data
    assert b'src="/embed.js"' in preview.data and b'data-eerlijk-server=""' in preview.data


@pytest.mark.parametrize("query, field", [
    ("widget=list&accent=red;}body{x", "accent"),
    ("widget=product", "product"),
    ("widget=list&radius=99", "radius"),
    ("widget=list&font=comic", "font"),
    ("widget=list&theme=nope", "theme"),
])
def test_snippet_builder_refuses_bad_choices(client, shop, owner, query, field):
    response = client.get(f"/workspace/acme/snippet?{query}", headers={"Accept": "application/json"})
    assert field in response.json["errors"]
    assert "body{" not in response.json["snippet"]


# --- pages are private and forms carry CSRF tokens ------------------------------------------


def test_every_workspace_form_carries_a_csrf_token(client, db, shop, owner):
    review_id = add(db, shop, 1, 1)
    for path in ("/workspace/acme/", "/workspace/acme/settings", f"/workspace/acme/reviews/{review_id}",
                 f"/workspace/acme/reviews/{review_id}/report"):
        html = client.get(path).get_data(as_text=True)
        for form in re.findall(r"<form[^>]*>.*?</form>", html, re.S):
            if 'method="post"' in form:
                assert 'name="csrf_token"' in form, (path, form[:200])
        response = client.get(path)
        assert response.headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]


def test_operator_lands_on_the_moderation_queue_with_the_shop_list(client, db, shop):
    make_user(db, None, email="op@reviews.example", role="operator", name="Olga")
    log_in(client, "op@reviews.example")
    page = client.get("/workspace/", follow_redirects=True)
    assert page.status_code == 200 and b"Acme Kleding" in page.data
    assert page.request.path == "/workspace/moderation/"
