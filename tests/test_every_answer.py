"""Every route, every method, as everyone who may call it (tests/route_walk.py): each HTML answer carries a
Content-Security-Policy, every answer `nosniff`, none is a 5xx, and a forged Host header shows up in none."""

from __future__ import annotations

from route_walk import build_site, calls, send

FORGED = {"Host": "evil.example", "X-Forwarded-Host": "evil2.example", "X-Forwarded-Proto": "http"}


def test_every_html_answer_has_a_policy_and_every_answer_nosniff(app, client, db):
    site = build_site(app, db, client)
    problems, reached, html = [], {}, 0
    for call in calls(app, site):
        response = send(app, site, call)
        headers = response.headers
        if response.status_code >= 500:
            problems.append(f"{call}: {response.status_code}")
        if headers.get("X-Content-Type-Options") != "nosniff":
            problems.append(f"{call}: no X-Content-Type-Options: nosniff")
        if response.mimetype == "text/html":
            html += 1
            if not headers.get("Content-Security-Policy"):
                problems.append(f"{call}: HTML without a Content-Security-Policy ({response.status_code})")
        if call.method == "GET" and response.status_code < 400:
            reached[call.path.split("?")[0]] = response.status_code
    assert not problems, "\n".join(problems)
    assert html > 100, html
    # The arguments were realistic: every page behind a GET rule answered (not only its 404).
    silent = [rule.rule for rule in app.url_map.iter_rules()
              if "GET" in rule.methods and not any(_matches(app, rule, p) for p in reached)]
    assert not silent, f"never answered 2xx/3xx: {silent}"


def _matches(app, rule, path) -> bool:
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _ = adapter.match(path, method="GET")
    except Exception:  # noqa: BLE001 - a redirect or 404 means another rule
        return False
    return endpoint == rule.endpoint


def test_every_answer_of_the_theme_preview_has_a_policy_and_nosniff():
    """`widgetserver theme preview` is its own app: it renders theme code under development, so it is ours too."""
    import widgets

    from widgetserver.preview import create_preview_app

    app = create_preview_app()
    client = app.test_client()
    answered = set()
    for rule in app.url_map.iter_rules():
        if "theme" in rule.arguments:
            paths = [rule.build({"theme": t})[1] + q for t in [*widgets.available_themes(()), "nope"]
                     for q in ("", "?case=nope", "?locale=de&case=one+review")]
        elif "filename" in rule.arguments:
            paths = ["/static/workspace.css", "/static/nope.css"]
        else:
            paths = [rule.rule]
        for path in paths:
            response = client.get(path)
            assert response.headers.get("X-Content-Type-Options") == "nosniff", path
            if response.mimetype == "text/html":
                assert "default-src 'none'" in response.headers.get("Content-Security-Policy", ""), path
            if response.status_code < 400:
                answered.add(rule.rule)
    assert answered == {r.rule for r in app.url_map.iter_rules()}


def test_a_forged_host_appears_in_no_answer_of_any_route(app, client, db):
    """With PUBLIC_BASE_URL set, every answer is the same whatever Host or X-Forwarded-Host a client sends."""
    app.config["PUBLIC_BASE_URL"] = "https://reviews.acme.example"
    site = build_site(app, db, client)
    leaks, absolute = [], 0
    for call in calls(app, site):
        response = send(app, site, call, headers=FORGED)
        text = response.get_data(as_text=True) + "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        if "evil" in text:
            leaks.append(f"{call}: {response.status_code}")
        absolute += "https://reviews.acme.example/" in text
    assert not leaks, "\n".join(leaks)
    assert absolute > 20, absolute  # the walk reached answers that do carry absolute links
