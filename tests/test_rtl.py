"""User text is isolated wherever it is shown: a U+202E (right-to-left override) in a title, body, author,
reply author or reply role can't reorder the text around it (`<bdi>` or `dir="auto"` on its element)."""

from __future__ import annotations

import email
import email.policy

import html5lib
import pytest
from invitation_helpers import clock, invite, open_form, path_of  # noqa: F401

from widgetserver import store
from widgetserver.mail import build_message

RLO = "\u202e"
FIELDS = {"title": "TITLEX", "body": "BODYX", "author": "AUTHORX", "reply_author": "REPLYBYX", "reply_role": "ROLEX",
          "reply_body": "REPLYX"}


def isolation_problems(html: str, markers) -> list[str]:
    """Markers shown outside an isolating element: the nearest ancestor with a direction must be <bdi> or dir=auto."""
    tree = html5lib.parse(html, namespaceHTMLElements=False)
    parents = {child: parent for parent in tree.iter() for child in parent}
    problems, seen = [], set()

    def isolated(element) -> bool:
        while element is not None:
            if element.tag == "bdi" or element.get("dir") == "auto":
                return True
            if element.get("dir"):
                return False  # dir="ltr" on the widget root is not isolation of the text inside it
            element = parents.get(element)
        return False

    for element in tree.iter():
        if not isinstance(element.tag, str) or element.tag in ("script", "style", "title"):
            continue  # JSON-LD, CSS and the window title are not laid out
        for marker in markers:
            if marker in (element.text or ""):
                seen.add(marker)
                if not isolated(element):
                    problems.append(f"{marker} in <{element.tag}> text")
            if marker in (element.tail or ""):
                seen.add(marker)
                if not isolated(parents.get(element)):
                    problems.append(f"{marker} after <{element.tag}>")
            for name, value in element.attrib.items():
                if marker in value and name == "value":
                    seen.add(marker)
                    if element.get("dir") != "auto":
                        problems.append(f"{marker} in <{element.tag} value>")
    missing = [m for m in markers if m not in seen]
    return problems + [f"{m} not shown" for m in missing]


@pytest.fixture
def hostile(db, shop):
    review_id = store.add_review(db, shop["id"], rating=1, author=RLO + FIELDS["author"], title=RLO + FIELDS["title"],
                                 body=RLO + FIELDS["body"], product_sku="SKU-1")
    store.set_reply(db, shop["id"], review_id, body=RLO + FIELDS["reply_body"], author=RLO + FIELDS["reply_author"],
                    role=RLO + FIELDS["reply_role"])
    return review_id


@pytest.mark.parametrize("url", ["/w/acme/list.html", "/w/acme/product.html?product=SKU-1", "/w/acme/recent.html",
                                 "/w/acme/list.html?theme=minimal", "/w/acme/list.html?theme=dark",
                                 "/s/acme", "/s/acme/p/SKU-1"])
def test_widgets_and_hosted_pages_isolate_every_field(client, hostile, url):
    response = client.get(url)
    assert response.status_code == 200
    assert isolation_problems(response.get_data(as_text=True), FIELDS.values()) == []


def test_the_report_form_isolates_the_quoted_review(client, hostile):
    page = client.get(f"/s/acme/reviews/{hostile}/report").get_data(as_text=True)
    assert isolation_problems(page, [FIELDS["author"], FIELDS["title"], FIELDS["body"]]) == []


def test_the_review_form_isolates_what_was_typed(client, auth, clock):
    invitation = invite(client, auth, skus=["SKU-1"], email=None)
    url = path_of(invitation["review_url"])
    _, token = open_form(client, url)
    response = client.post(url, data={"csrf_token": token, "title": RLO + "FORMTITLEX", "body": RLO + "FORMBODYX",
                                      "author": RLO + "FORMAUTHORX", "rating": "9"})
    assert response.status_code == 400  # re-shown with what was typed
    assert isolation_problems(response.get_data(as_text=True), ["FORMTITLEX", "FORMBODYX", "FORMAUTHORX"]) == []


def test_the_invitation_email_isolates_the_names(app, db, shop, clock):
    from widgetserver import invitations

    invitation, _ = invitations.create_invitation(db, shop, app.config["SECRET_KEY"], order_ref=RLO + "ORDERX",
                                                  name=RLO + "NAMEX", email="a@example.org", skus=["SKU-1"],
                                                  delivered_at=clock.now)
    message = build_message(app, invitation, {**shop, "name": RLO + "SHOPX"}, "shop@example.org", "https://x/r/t")
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    html = next(p for p in parsed.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    assert isolation_problems(html, ["NAMEX", "ORDERX", "SHOPX"]) == []
    assert "<bdi>" not in parsed["Subject"] and "SHOPX" in parsed["Subject"]


def test_the_workspace_isolates_review_and_reply_text(client, db, shop, hostile):
    from workspace_helpers import log_in, make_user

    make_user(db, shop)
    assert log_in(client).status_code == 302
    inbox = client.get("/workspace/acme/").get_data(as_text=True)
    assert isolation_problems(inbox, [FIELDS["author"], FIELDS["body"]]) == []
    # A second reply, so the first one (name and role) is in the history list.
    store.set_reply(db, shop["id"], hostile, body="Nieuw", author="Eva", role="eigenaar")
    page = client.get(f"/workspace/acme/reviews/{hostile}").get_data(as_text=True)
    assert isolation_problems(page, [FIELDS["title"], FIELDS["body"], FIELDS["author"], FIELDS["reply_author"],
                                     FIELDS["reply_role"], FIELDS["reply_body"]]) == []
    report = client.get(f"/workspace/acme/reviews/{hostile}/report").get_data(as_text=True)
    assert isolation_problems(report, [FIELDS["title"], FIELDS["body"], FIELDS["author"]]) == []
