"""Every route that takes a row id: an id no row can have is a 404 for every method the route allows (never a 500
from a SQLite overflow, never a 405 naming only another method), and no route reads ids with Werkzeug's `int`."""

from __future__ import annotations

import pytest
from werkzeug.routing import IntegerConverter

from widgetserver import create_app
from widgetserver.routing import RowIdConverter
from widgetserver.store import MAX_ROW_ID

HUGE = [str(MAX_ROW_ID + 1), "9" * 40]


@pytest.fixture
def plain_app(db_path, tmp_path):
    """Exceptions become answers (as in production), CSRF off so a POST reaches the routing."""
    return create_app({"TESTING": True, "PROPAGATE_EXCEPTIONS": False, "WTF_CSRF_ENABLED": False,
                       "DATABASE": db_path, "THEME_DIRS": [str(tmp_path / "themes")]})


def id_rules(app):
    return [rule for rule in app.url_map.iter_rules()
            if any(isinstance(c, RowIdConverter) for c in rule._converters.values())]


def test_no_route_reads_ids_with_werkzeugs_int(plain_app):
    assert len(id_rules(plain_app)) >= 15
    for rule in plain_app.url_map.iter_rules():
        assert not any(isinstance(c, IntegerConverter) for c in rule._converters.values()), rule.rule


def test_an_id_past_sqlites_range_is_a_404_for_every_method(plain_app, shop):
    client = plain_app.test_client()
    checked = 0
    for rule in id_rules(plain_app):
        for value in HUGE:
            values = {name: (value if isinstance(conv, RowIdConverter) else "acme")
                      for name, conv in rule._converters.items()}
            path = rule.build(values, append_unknown=False)[1]
            for method in sorted(rule.methods - {"OPTIONS", "HEAD"}):
                response = client.open(path, method=method)
                assert response.status_code == 404, (method, path, response.status_code, response.headers.get("Allow"))
                checked += 1
    assert checked >= 30


@pytest.mark.parametrize("digit", ["٣", "３", "²"])
def test_ids_are_ascii_digits(plain_app, shop, digit):
    client = plain_app.test_client()
    assert client.get(f"/api/v1/shops/acme/reviews/{digit}").status_code == 404
    assert client.get(f"/s/acme/reviews/{digit}/report").status_code == 404
