"""Every route of the app, called with realistic arguments: for checks that must hold for every answer.

`build_site` fills a database with one of everything a route can name (a shop with products and
reviews, an invitation link, an author token, a follow-up link, workspace users, a key, an alert
recipient, a webhook, a password-reset link, a team member). `calls` turns each rule of `app.url_map` into the
requests a person or a client would make: each method, logged in as whoever may use it and
anonymous, with good arguments and with wrong ones, forms posted empty and without their CSRF
token. A rule whose arguments it can't fill fails the walk, so a new route is covered or named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from invitation_helpers import csrf_token, submit_first
from workspace_helpers import PASSWORD, make_user

from widgetserver import analytics, authorship, followup, invitations, store, webhooks
from widgetserver.alerts import add_recipient
from widgetserver.workspace import users

DELIVERED = "2025-03-01T12:00:00+00:00"
WIDGET_QUERIES = ["", "?product=SKU-1", "?theme=nope", "?locale=nl&sort=lowest&rating=1", "?page=99"]


@dataclass
class Site:
    """What `build_site` made: ids and tokens by route argument, and one logged-in client per role."""

    values: dict
    clients: dict
    key: str
    author_tokens: list = field(default_factory=list)


@dataclass
class Call:
    """One request: method, path (with query), who sends it, form data or JSON, and whether it has a CSRF token."""

    method: str
    path: str
    who: str = "anonymous"
    data: dict | None = None
    json: object = None
    csrf: bool = True

    def __str__(self) -> str:
        return f"{self.method} {self.path} as {self.who}" + ("" if self.csrf else " (no CSRF token)")


def build_site(app, db, client) -> Site:
    """A shop 'acme' with something behind every route argument; `client` stays anonymous."""
    shop = store.create_shop(db, "acme", "Acme Kleding", "https://acme.example", "nl")
    store.upsert_product(db, shop["id"], "SKU-1", name="Jurk Linde", url="https://acme.example/jurk")
    store.upsert_product(db, shop["id"], "SKU-2", name="Trui Noor")
    store.update_shop_settings(db, shop["id"], allow_open_reviews=True)
    store.create_shop(db, "beta", "Beta Shop")
    key = store.create_key(db, shop["id"])
    auth = {"Authorization": f"Bearer {key}"}
    for rating in range(1, 6):
        store.add_review(db, shop["id"], rating=rating, author=f"Klant {rating}", title=f"{rating} sterren",
                         body="Een ervaring.", product_sku="SKU-1" if rating % 2 else None)
    # A review written through an invitation link: the form, the author's page, the follow-up link.
    invitation = client.post("/api/v1/shops/acme/invitations", headers=auth, json={
        "order_ref": "W-1", "name": "Sanne", "skus": ["SKU-1"], "locale": "nl", "delivered_at": DELIVERED}).get_json()
    spare = client.post("/api/v1/shops/acme/invitations", headers=auth, json={
        "order_ref": "W-2", "name": "Piet", "skus": [], "locale": "nl", "delivered_at": DELIVERED}).get_json()
    author_token = submit_first(client, invitation["review_url"], **{
        "product-0-rating": "2", "product-0-title": "Matig", "product-0-body": "Te klein.", "author": "Sanne"}
    ).rsplit("/", 1)[1]
    [review_id] = [r["id"] for r in authorship.reviews_for_token(db, author_token)]
    reply = client.post(f"/api/v1/shops/acme/reviews/{review_id}/reply", headers=auth,
                        json={"body": "Sorry, we ruilen hem om.", "author": "Sanne", "role": "eigenaar"})
    assert reply.status_code in (200, 201), reply.get_json()
    followup.mark_resolved(db, shop["id"], review_id)
    nonce = db.execute("SELECT token_nonce FROM followups WHERE review_id = ?", [review_id]).fetchone()[0]
    client.post(f"/s/acme/reviews/{review_id}/report", data={})  # (CSRF refused: reports come from moderation tests)
    owner = make_user(db, shop)
    operator = make_user(db, None, email="operator@eerlijk.example", role="operator", name="Op")
    member = make_user(db, shop, email="staff@acme.example", role="staff", name="Piet")  # Settings → Team
    recipient, _ = add_recipient(db, shop["id"], "alerts@acme.example", max_rating=2)
    endpoint, _ = webhooks.add_endpoint(db, shop["id"], "https://hooks.acme.example/in", allow_private=True)
    key_id = db.execute("SELECT key_id FROM api_keys WHERE shop_id = ?", [shop["id"]]).fetchone()[0]
    secret = app.config["SECRET_KEY"]
    values = {
        "shop": "acme", "shop_slug": "acme", "sku": "SKU-1", "widget": "list", "chart": sorted(analytics.CHARTS)[0],
        "review_id": review_id, "alert_id": recipient["id"], "recipient_id": recipient["id"],
        "endpoint_id": endpoint["id"], "key_id": key_id, "filename": "workspace.css", "user_id": member["id"],
        "token": {"collect": invitations.review_url("", secret, invitations.get_invitation(db, spare["id"])).rsplit("/", 1)[1],
                  "author": author_token,
                  "followup_pages": followup.make_token(secret, review_id, nonce),
                  "workspace": users.reset_token(secret, users.get_user(db, owner["id"]))},
    }
    clients = {"anonymous": client}
    for who, email in (("owner", owner["email"]), ("operator", operator["email"])):
        logged_in = app.test_client()
        page = logged_in.get("/workspace/login").get_data(as_text=True)
        answer = logged_in.post("/workspace/login", data={"email": email, "password": PASSWORD,
                                                          "csrf_token": csrf_token(page)})
        assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
        clients[who] = logged_in
    return Site(values=values, clients=clients, key=key, author_tokens=[author_token])


def _value(site: Site, rule, name: str):
    value = site.values.get(name)
    if isinstance(value, dict):  # tokens: which kind depends on the page
        endpoint = rule.endpoint
        kind = "author" if endpoint.startswith("collect.author") else endpoint.split(".")[0]
        value = value.get(kind)
    if value is None:
        raise AssertionError(f"route_walk has no value for <{name}> of {rule.rule} ({rule.endpoint}): add one")
    return value


def _wrong(name: str, value):
    """A value of the same shape that names nothing."""
    return 999_999 if isinstance(value, int) else ("nope" if name not in ("token",) else "x" * 43)


def calls(app, site: Site) -> list[Call]:
    """Every request worth making to every rule: GETs first, then posts, the ones that end a session last."""
    gets, posts, last = [], [], []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        args = {name: _value(site, rule, name) for name in rule.arguments}
        path = rule.build(args, append_unknown=False)[1]
        wrong_path = rule.build({n: _wrong(n, v) for n, v in args.items()}, append_unknown=False)[1] if args else None
        private = rule.rule.startswith("/workspace/") and rule.endpoint not in (
            "workspace.login", "workspace.reset_request", "workspace.reset_password")
        whos = ["anonymous"] + (["operator"] if rule.endpoint.startswith("moderation.") else
                                ["owner"] if private else [])
        queries = [""]
        if rule.endpoint == "embed.widget_html":
            paths = [path.replace("/list.html", f"/{w}.html") for w in ("badge", "summary", "list", "product",
                                                                          "recent", "nope")]
            queries = WIDGET_QUERIES
        elif rule.endpoint == "embed.bundle":
            paths, queries = [path], ["?w=widget%3Dbadge&w=widget%3Dlist", "?w=widget%3Dnope"]
        elif rule.endpoint == "embed.snippet":
            paths, queries = [path], ["?widget=badge,list", "?widget=nope"]
        elif rule.endpoint in ("pages.shop_reviews", "pages.product_reviews"):
            paths, queries = [path], ["", "?sort=lowest&rating=1", "?page=abc", "?locale=de"]
        elif rule.endpoint == "workspace.snippet" or rule.endpoint == "workspace.snippet_preview":
            paths, queries = [path], ["", "?widget=product&product=SKU-1&accent=%23aa3300&theme=dark",
                                      "?widget=list&accent=red"]
        else:
            paths = [path]
        if wrong_path:
            paths.append(wrong_path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for who in whos:
                for one_path in paths:
                    for query in (queries if one_path != wrong_path else [""]):
                        if method == "GET":
                            gets.append(Call("GET", one_path + query, who))
                        elif rule.rule.startswith("/api/"):
                            posts.append(Call(method, one_path, who, json={}))
                        else:
                            bucket = last if rule.endpoint in ENDING else posts
                            bucket.append(Call(method, one_path, who, data={}))
                            bucket.insert(0, Call(method, one_path, who, data={}, csrf=False))
    gets += [Call("GET", "/no-such-page"), Call("GET", "/s/nope"), Call("GET", "/workspace/nope/", "owner")]
    posts += [Call("PUT", "/s/acme"), Call("DELETE", "/w/acme/list.html"), Call("PATCH", "/workspace/login")]
    last.sort(key=lambda c: c.path.endswith("/logout"))
    return gets + posts + last


# Posts that end what later calls use (the session, the key, the author's reviews): sent last, logout at the end.
ENDING = ("workspace.logout", "workspace.settings_key_revoke", "collect.author_withdraw")


def send(app, site: Site, call: Call, headers: dict | None = None):
    """Make the request with the client of `call.who` (and `headers`); form posts carry that session's CSRF token."""
    client = site.clients[call.who]
    kwargs: dict = {"headers": dict(headers or {})}
    if call.path.startswith("/api/"):  # public reads ignore the key; the owner's API needs it
        kwargs["headers"]["Authorization"] = f"Bearer {site.key}"
    if call.json is not None:
        kwargs["json"] = call.json
    elif call.data is not None:
        data = dict(call.data)
        if call.csrf:  # any form page of this session: the token is bound to the session, not the form
            page = client.get(f"/s/acme/reviews/{site.values['review_id']}/report")
            match = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
            assert match, f"no CSRF token for {call}"
            data["csrf_token"] = match.group(1)
        kwargs["data"] = data
    host = kwargs["headers"].get("Host")
    if host:  # the browser of a logged-in owner would send its cookies whatever the Host: copy them over
        for name in ("session", "remember_token"):
            cookie = client.get_cookie(name, domain="localhost")
            if cookie is not None:
                client.set_cookie(name, cookie.value, domain=host)
    return client.open(call.path, method=call.method, **kwargs)

