"""The `widgetserver` command: database, shops, keys, import/export, recompute, audit, demo."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from widgetserver import create_app, store
from widgetserver.cli import main

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def ok(result):
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
    return result


def failed(result):
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def last_line(result):
    return result.stdout.rstrip("\n").split("\n")[-1]


def summary_of(db, slug, sku=None):
    shop = store.get_shop(db, slug)
    product = store.product_by_sku(db, shop["id"], sku) if sku else None
    summary = store.summary_for(db, shop["id"], product["id"] if product else None)
    return {k: summary[k] for k in ("count", "rating_sum", "distribution")}


# --- database and app selection ------------------------------------------------


def test_init_uses_the_apps_database(runner, app, db):
    result = ok(runner.invoke(main, ["init"]))
    assert app.config["DATABASE"] in result.output
    assert f"schema version {max(v for v, *_ in store.MIGRATIONS)}" in result.output


def test_init_with_db_option(tmp_path):
    path = tmp_path / "sub" / "other.db"
    result = ok(CliRunner().invoke(main, ["init", "--db", str(path)]))
    assert str(path) in result.output
    db = store.connect(str(path))
    assert store.schema_version(db) == max(v for v, *_ in store.MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_db_from_environment(tmp_path):
    path = str(tmp_path / "env.db")
    runner = CliRunner()
    ok(runner.invoke(main, ["shops", "create", "envshop", "--name", "Env Shop"], env={"WIDGETSERVER_DB": path}))
    result = ok(runner.invoke(main, ["shops", "list"], env={"WIDGETSERVER_DB": path}))
    assert "envshop\tEnv Shop" in result.output
    assert store.get_shop(store.connect(path), "envshop") is not None


def test_db_option_wins_over_the_apps_database(runner, tmp_path, db):
    path = str(tmp_path / "elsewhere.db")
    ok(runner.invoke(main, ["shops", "create", "elsewhere", "--name", "E", "--db", path]))
    assert store.get_shop(store.connect(path), "elsewhere") is not None
    assert store.get_shop(db, "elsewhere") is None


def test_import_with_db_option_builds_no_views(tmp_path, monkeypatch):
    """`import --db` builds an app without views (create_app(views=False)) and imports all the same."""
    import widgetserver

    built = []
    original = widgetserver.create_app

    def spy(*args, **kwargs):
        app = original(*args, **kwargs)
        built.append((kwargs.get("views", True), len(list(app.url_map.iter_rules()))))
        return app

    monkeypatch.setattr("widgetserver.cli.create_app", spy)
    path = str(tmp_path / "db.sqlite")
    ok(CliRunner().invoke(main, ["shops", "create", "acme", "--name", "Acme", "--db", path]))
    result = ok(CliRunner().invoke(main, ["import", "acme", write(tmp_path, "r.csv", "rating,author\n4,Eva\n"),
                                          "--db", path]))
    assert "Imported 1 reviews" in result.output
    assert built[0][0] is True and built[-1] == (False, 1)  # only Flask's own static route
    assert summary_of(store.connect(path), "acme")["count"] == 1


def test_an_app_without_views_cannot_serve():
    with pytest.raises(ValueError):
        create_app({"TESTING": True}, views=False)


# --- shops ---------------------------------------------------------------------


def test_shops_create_and_list(runner, db, client):
    result = ok(runner.invoke(main, ["shops", "create", "kaasboer", "--name", "De Kaasboer",
                                     "--url", "https://kaas.example", "--locale", "nl"]))
    assert "keys create kaasboer" in result.output
    shop = store.get_shop(db, "kaasboer")
    assert (shop["name"], shop["url"], shop["locale"]) == ("De Kaasboer", "https://kaas.example", "nl")
    store.add_review(db, shop["id"], rating=4, author="a")
    ok(runner.invoke(main, ["shops", "create", "zz-shop", "--name", "ZZ"]))
    listing = ok(runner.invoke(main, ["shops", "list"])).output.splitlines()
    assert listing[0].split("\t")[:3] == ["kaasboer", "De Kaasboer", "1 reviews"]
    assert listing[1].startswith("zz-shop\tZZ\t0 reviews")
    assert client.get("/api/v1/shops/kaasboer").json["name"] == "De Kaasboer"


def test_shops_create_duplicate_slug(runner, shop):
    result = failed(runner.invoke(main, ["shops", "create", "acme", "--name", "Again"]))
    assert "exists already" in result.output


@pytest.mark.parametrize("slug", ["Bad_Slug", "a", "-x", "with space", "ÿes"])
def test_shops_create_bad_slug(runner, db, slug):
    result = failed(runner.invoke(main, ["shops", "create", "--name", "X", "--", slug]))
    assert "Slug must be" in result.output
    assert store.list_shops(db) == []


def test_shops_create_needs_a_name(runner):
    assert runner.invoke(main, ["shops", "create", "noname"]).exit_code == 2


def test_shops_set_organization_rating(runner, shop, client, db):
    etag = client.get("/api/v1/shops/acme").headers["ETag"]
    ok(runner.invoke(main, ["shops", "set", "acme", "--organization-rating"]))
    response = client.get("/api/v1/shops/acme", headers={"If-None-Match": etag})
    assert response.status_code == 200 and response.json["organization_rating"] is True
    ok(runner.invoke(main, ["shops", "set", "acme", "--no-organization-rating", "--locale", "de"]))
    data = client.get("/api/v1/shops/acme").json
    assert data["organization_rating"] is False and data["locale"] == "de"
    assert store.verify_audit(db)[1] == []


def test_shops_set_unknown_shop(runner, db):
    result = failed(runner.invoke(main, ["shops", "set", "nope", "--organization-rating"]))
    assert "shops create nope" in result.output


# --- keys ----------------------------------------------------------------------


def test_keys_create_prints_a_working_key_alone_on_the_last_line(runner, shop, client, db):
    result = ok(runner.invoke(main, ["keys", "create", "acme", "--label", "backend"]))
    key = last_line(result)
    assert re.fullmatch(r"eer_[0-9a-f]{12}_[\w-]+", key), key
    assert key not in result.stderr
    response = client.post("/api/v1/shops/acme/reviews", json={"rating": 5, "author": "Kim"},
                           headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 201, response.json
    row = next(db.query("SELECT * FROM api_keys"))
    assert row["label"] == "backend"
    assert key not in json.dumps(row) and key.split("_", 2)[2] not in json.dumps(row)


def test_keys_create_for_unknown_shop(runner, db):
    failed(runner.invoke(main, ["keys", "create", "nope"]))


@pytest.mark.parametrize("by", ["key", "id"])
def test_keys_revoke(runner, shop, client, by):
    key = last_line(ok(runner.invoke(main, ["keys", "create", "acme"])))
    other = last_line(ok(runner.invoke(main, ["keys", "create", "acme"])))
    ok(runner.invoke(main, ["keys", "revoke", key if by == "key" else key.split("_")[1]]))
    denied = client.post("/api/v1/shops/acme/reviews", json={"rating": 5, "author": "Kim"},
                         headers={"Authorization": f"Bearer {key}"})
    assert denied.status_code == 401
    allowed = client.post("/api/v1/shops/acme/reviews", json={"rating": 5, "author": "Kim"},
                          headers={"Authorization": f"Bearer {other}"})
    assert allowed.status_code == 201
    failed(runner.invoke(main, ["keys", "revoke", key]))  # already revoked
    failed(runner.invoke(main, ["keys", "revoke", "eer_000000000000_nothing"]))


# --- import --------------------------------------------------------------------


GOOD_CSV = (
    "rating,title,body,author,created_at,product,locale,external_id,product_name,reply_body,reply_author,reply_role\n"
    '5,Top,"Mooi, en snel.",Anna,2024-02-01T10:00:00Z,SKU-1,nl,o-1,,,,\n'
    '1,Slecht,"Twee regels:\nregel twee",Bob,2024-02-02T10:00:00Z,,nl,o-2,,Sorry Bob,Joost,Eigenaar\n'
    "3,Oké,,Cas,2024-02-03T10:00:00+01:00,NEW-1,en,o-3,Nieuw product,,,\n"
    "2,,,Dirk,,,,,,,,\n"
)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return str(path)


def test_import_csv(runner, db, shop, client, tmp_path):
    result = ok(runner.invoke(main, ["import", "acme", write(tmp_path, "good.csv", GOOD_CSV)]))
    assert "Imported 4 reviews, 1 products, 1 replies" in result.output
    assert summary_of(db, "acme")["count"] == 4
    assert summary_of(db, "acme", "NEW-1")["count"] == 1
    items = client.get("/api/v1/shops/acme/reviews?sort=oldest").json["items"]
    assert [i["author"] for i in items[:3]] == ["Anna", "Bob", "Cas"]
    assert items[1]["body"] == "Twee regels:\nregel twee"
    assert items[1]["reply"]["body"] == "Sorry Bob" and items[1]["reply"]["role"] == "Eigenaar"
    assert all(i["verified"] is False and i["source"] == "import" for i in items)
    assert store.recompute(db) == []
    assert store.verify_audit(db)[1] == []
    # The same file again: every external id is known already, so nothing is imported.
    again = failed(runner.invoke(main, ["import", "acme", write(tmp_path, "good.csv", GOOD_CSV)]))
    assert "external_id" in again.output
    assert summary_of(db, "acme")["count"] == 4


def test_import_csv_with_bom_and_crlf(runner, db, shop, tmp_path):
    text = "\ufeffrating,author\r\n4,Eva\r\n5,Fien\r\n"
    ok(runner.invoke(main, ["import", "acme", write(tmp_path, "bom.csv", text)]))
    assert summary_of(db, "acme")["count"] == 2


def test_import_csv_bad_row_imports_nothing_and_names_the_physical_line(runner, db, shop, tmp_path):
    text = (
        "rating,title,body,author\n"  # line 1
        '5,Goed,"Een body\nover twee regels",Anna\n'  # lines 2-3
        '4,Prima,"En deze\nover\ndrie",Bob\n'  # lines 4-6
        "6,Te veel,,Cas\n"  # line 7: rating 6
        "3,Oké,,Dirk\n"  # line 8
        "2,,,<b></b>\n"  # line 9: author empty after markup is stripped
    )
    path = write(tmp_path, "bad.csv", text)
    result = failed(runner.invoke(main, ["import", "acme", path]))
    assert f"{path}:7: rating" in result.stderr
    assert f"{path}:9: author" in result.stderr
    assert ":8:" not in result.stderr and ":2:" not in result.stderr
    assert "Nothing imported: 2 bad row(s)" in result.output
    assert summary_of(db, "acme")["count"] == 0
    assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0


def test_import_csv_unknown_product_without_name(runner, db, shop, tmp_path):
    path = write(tmp_path, "p.csv", "rating,author,product\n4,Eva,SKU-1\n4,Fien,NOPE\n")
    result = failed(runner.invoke(main, ["import", "acme", path]))
    assert f"{path}:3: product" in result.stderr
    assert summary_of(db, "acme")["count"] == 0


def test_import_csv_unknown_column(runner, db, shop, tmp_path):
    path = write(tmp_path, "cols.csv", "rating,author,stars,email\n4,Eva,4,eva@example.com\n")
    result = failed(runner.invoke(main, ["import", "acme", path]))
    assert "stars" in result.stderr and "email" in result.stderr
    assert f"{path}:1:" in result.stderr
    assert summary_of(db, "acme")["count"] == 0


def test_import_jsonl(runner, db, shop, tmp_path):
    lines = [
        {"type": "product", "sku": "P-9", "name": "Pet"},
        {"rating": 4, "author": "Eva", "product": "P-9", "body": "<b>Fijn</b> <3"},
        {"rating": 1, "author": "Fien", "reply": {"body": "Sorry", "author": "J", "role": "Owner"}},
    ]
    path = write(tmp_path, "good.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    result = ok(runner.invoke(main, ["import", "acme", path]))
    assert "Imported 2 reviews, 1 products, 1 replies" in result.output
    assert summary_of(db, "acme", "P-9")["count"] == 1
    bodies = {r["body"] for r in db.query("SELECT body FROM reviews")}
    assert "Fijn <3" in bodies
    assert store.recompute(db) == []


def test_import_jsonl_bad_rows_import_nothing(runner, db, shop, tmp_path):
    text = "\n".join([
        json.dumps({"rating": 4, "author": "Eva"}),  # 1
        "",  # 2 (blank lines are skipped but counted)
        json.dumps({"rating": 4.5, "author": "Fien"}),  # 3: not a whole number
        "{not json",  # 4
        json.dumps([1, 2]),  # 5
        json.dumps({"rating": 5, "author": "Gijs"}),  # 6
        json.dumps({"rating": 5, "author": "Hans", "created_at": "2999-01-01T00:00:00Z"}),  # 7
    ]) + "\n"
    path = write(tmp_path, "bad.jsonl", text)
    result = failed(runner.invoke(main, ["import", "acme", path]))
    for line in (3, 4, 5, 7):
        assert f"{path}:{line}:" in result.stderr
    for line in (1, 2, 6):
        assert f"{path}:{line}:" not in result.stderr
    assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0


def test_import_jsonl_unknown_status(runner, db, shop, tmp_path):
    path = write(tmp_path, "s.jsonl", json.dumps({"type": "review", "rating": 4, "author": "Eva", "status": "hidden"}))
    result = failed(runner.invoke(main, ["import", "acme", path]))
    assert f"{path}:1: status" in result.stderr
    assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0


def test_import_into_unknown_shop(runner, db, tmp_path):
    result = failed(runner.invoke(main, ["import", "nope", write(tmp_path, "x.csv", "rating,author\n4,a\n")]))
    assert "shops create nope" in result.output


def test_import_format_option(runner, db, shop, tmp_path):
    path = write(tmp_path, "reviews.txt", json.dumps({"rating": 4, "author": "Eva"}) + "\n")
    ok(runner.invoke(main, ["import", "acme", path, "--format", "jsonl"]))
    assert summary_of(db, "acme")["count"] == 1


# --- export --------------------------------------------------------------------


def _fill_for_export(db, shop):
    add = lambda **kw: store.add_review(db, shop["id"], **{"author": "A", "locale": "nl", **kw})  # noqa: E731
    t = datetime(2024, 5, 1, tzinfo=timezone.utc)
    ids = [add(rating=r, product_sku=s, created_at=t + timedelta(hours=i), title=f"T{i}", body=f"Body {i} <3",
               external_id=f"x-{i}") for i, (r, s) in enumerate([(5, "SKU-1"), (1, "SKU-1"), (2, None), (4, "SKU-2"),
                                                                 (3, None), (1, None), (5, None)])]
    store.set_reply(db, shop["id"], ids[1], body="Sorry", author="Sanne", role="Klantenservice")
    store.set_reply(db, shop["id"], ids[1], body="Opgelost!", author="Joost", role="Eigenaar")
    store.update_review(db, shop["id"], ids[2], rating=3, title="Bijgewerkt", body="Toch beter", author="A")
    store.set_review_status(db, shop["id"], ids[5], "withdrawn", actor="author")
    store.set_review_status(db, shop["id"], ids[6], "removed", reason="spam", actor="operator")
    # Personal data that must never leave in an export: an invitation's e-mail address.
    from widgetserver import invitations

    invitations.create_invitation(db, shop, "test-key", order_ref="ORD-1", name="Eva Jansen",
                                  email="eva.jansen@example.com", skus=["SKU-1"],
                                  delivered_at=datetime.now(timezone.utc))
    return ids


def test_export_contains_everything_but_personal_data_and_keys(runner, db, shop, key, tmp_path):
    ids = _fill_for_export(db, shop)
    out = tmp_path / "acme.jsonl"
    ok(runner.invoke(main, ["export", "acme", "-o", str(out)]))
    text = out.read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["type"] == "shop" and lines[0]["slug"] == "acme"
    assert {p["sku"] for p in lines if p["type"] == "product"} == {"SKU-1", "SKU-2"}
    reviews = {r["id"]: r for r in lines if r["type"] == "review"}
    assert set(reviews) == set(ids)
    assert {r["status"] for r in reviews.values()} == {"published", "withdrawn", "removed"}
    assert reviews[ids[6]]["status_reason"] == "spam"
    assert reviews[ids[1]]["reply"]["body"] == "Opgelost!"
    assert [v["body"] for v in reviews[ids[1]]["reply_versions"]] == ["Sorry"]
    assert [v["rating"] for v in reviews[ids[2]]["versions"]] == [2]
    assert reviews[ids[0]]["body"] == "Body 0 <3"
    # No e-mail addresses, no key material.
    assert EMAIL.search(text) is None
    assert "Eva Jansen" not in text
    for row in db.query("SELECT key_id, key_hash FROM api_keys"):
        assert row["key_hash"] not in text
    assert key not in text and key.split("_", 2)[2] not in text and "key_hash" not in text


def test_export_to_stdout(runner, db, shop):
    store.add_review(db, shop["id"], rating=4, author="Eva")
    result = ok(runner.invoke(main, ["export", "acme"]))
    types = [json.loads(line)["type"] for line in result.stdout.splitlines()]
    assert types == ["shop", "product", "product", "review"]


def test_export_import_round_trip(runner, db, shop, tmp_path):
    _fill_for_export(db, shop)
    out = tmp_path / "acme.jsonl"
    ok(runner.invoke(main, ["export", "acme", "-o", str(out)]))
    ok(runner.invoke(main, ["shops", "create", "acme-copy", "--name", "Acme copy"]))
    result = ok(runner.invoke(main, ["import", "acme-copy", str(out)]))
    assert "Imported 7 reviews, 2 products" in result.output
    for sku in (None, "SKU-1", "SKU-2"):
        assert summary_of(db, "acme-copy", sku) == summary_of(db, "acme", sku), sku
    copy = store.get_shop(db, "acme-copy")
    statuses = sorted(r["status"] for r in db.query("SELECT status FROM reviews WHERE shop_id = ?", [copy["id"]]))
    assert statuses == ["published"] * 5 + ["removed", "withdrawn"]
    replies = list(db.query("SELECT rp.body FROM replies rp JOIN reviews r ON r.id = rp.review_id"
                            " WHERE r.shop_id = ?", [copy["id"]]))
    assert [r["body"] for r in replies] == ["Opgelost!"]
    assert store.recompute(db) == []
    assert store.verify_audit(db)[1] == []
    # Exporting the copy and importing it once more is refused as a duplicate, not doubled.
    failed(runner.invoke(main, ["import", "acme-copy", str(out)]))
    assert summary_of(db, "acme-copy") == summary_of(db, "acme")


# --- recompute and audit -------------------------------------------------------


def test_recompute_clean_and_corrupted(runner, db, shop):
    store.add_review(db, shop["id"], rating=4, author="Eva", product_sku="SKU-1")
    assert "All aggregates match" in ok(runner.invoke(main, ["recompute"])).output
    db.execute("UPDATE aggregates SET r4 = 7 WHERE shop_id = ? AND product_id = 0", [shop["id"]])
    result = failed(runner.invoke(main, ["recompute"]))
    assert "(shop)" in result.output and "--fix" in result.output
    assert "Fixed." in ok(runner.invoke(main, ["recompute", "--fix"])).output
    assert "All aggregates match" in ok(runner.invoke(main, ["recompute"])).output
    assert store.summary_for(db, shop["id"])["distribution"]["4"] == 1


def test_audit_verify(runner, db, shop):
    store.add_review(db, shop["id"], rating=4, author="Eva")
    count = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    assert f"Audit chain intact: {count} entries" in ok(runner.invoke(main, ["audit", "verify"])).output
    db.execute("UPDATE audit_log SET data = '{\"rating\": 1}' WHERE entity = 'review'")
    result = failed(runner.invoke(main, ["audit", "verify"]))
    assert "Audit chain broken" in result.output
    assert "edited" in result.stderr


def test_audit_verify_with_db_option(tmp_path):
    path = str(tmp_path / "audit.db")
    runner = CliRunner()
    ok(runner.invoke(main, ["shops", "create", "s1", "--name", "S", "--db", path]))
    ok(runner.invoke(main, ["shops", "create", "s2", "--name", "S", "--db", path]))
    ok(runner.invoke(main, ["keys", "create", "s2", "--db", path]))
    assert "3 entries" in ok(runner.invoke(main, ["audit", "verify", "--db", path])).output
    store.connect(path).execute("DELETE FROM audit_log WHERE id = 2")
    failed(runner.invoke(main, ["audit", "verify", "--db", path]))


# --- demo ----------------------------------------------------------------------


def test_demo_no_serve(tmp_path):
    path = str(tmp_path / "demo.db")
    runner = CliRunner()
    first = ok(runner.invoke(main, ["demo", "--no-serve", "--db", path]))
    assert first.output.startswith("Created demo shop")
    assert "/api/v1/shops/demo/reviews" in first.output
    key = last_line(first)
    assert key.startswith("eer_")
    db = store.connect(path)
    shop = store.get_shop(db, "demo")
    assert len(store.list_products(db, shop["id"])) >= 3
    summary = store.summary_for(db, shop["id"])
    assert summary["count"] >= 300
    assert all(summary["distribution"][str(star)] > 0 for star in range(1, 6))
    negative_with_reply = db.execute(
        "SELECT count(*) FROM reviews r JOIN replies rp ON rp.review_id = r.id WHERE r.shop_id = ? AND r.rating <= 2",
        [shop["id"]]).fetchone()[0]
    assert negative_with_reply > 0
    roles = {r["role"] for r in db.query("SELECT role FROM replies")}
    assert roles and all(roles)
    assert {r["locale"] for r in db.query("SELECT DISTINCT locale FROM reviews")} >= {"nl", "en"}
    assert store.recompute(db) == []
    assert store.verify_audit(db)[1] == []
    # A second run reuses the shop and prints a fresh key.
    second = ok(runner.invoke(main, ["demo", "--no-serve", "--db", path]))
    assert second.output.startswith("Reusing demo shop")
    assert store.summary_for(db, shop["id"]) == summary
    assert len(store.list_shops(db)) == 1
    key2 = last_line(second)
    assert key2.startswith("eer_") and key2 != key
    # Both keys write to the demo shop through the API, and the API pages through every review.
    client = create_app({"TESTING": True, "DATABASE": path}).test_client()
    for k in (key, key2):
        response = client.post("/api/v1/shops/demo/reviews", json={"rating": 3, "author": "Tester"},
                               headers={"Authorization": f"Bearer {k}"})
        assert response.status_code == 201, response.json
    seen, cursor = 0, None
    while True:
        page = client.get("/api/v1/shops/demo/reviews?limit=100" + (f"&cursor={cursor}" if cursor else "")).json
        seen += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == summary["count"] + 2 == client.get("/api/v1/shops/demo/summary").json["count"]


def test_default_database_is_the_one_help_and_docs_name(tmp_path, monkeypatch):
    from pathlib import Path

    from click.testing import CliRunner

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WIDGETSERVER_DB", raising=False)
    monkeypatch.delenv("WIDGETSERVER_INSTANCE", raising=False)
    cli = CliRunner()
    help_text = " ".join(cli.invoke(main, ["init", "--help"]).output.split())
    assert "default: instance/widgetserver.db in the current directory" in help_text
    docs = (Path(__file__).resolve().parent.parent / "docs" / "operations.md").read_text()
    assert "| `DATABASE` | `instance/widgetserver.db` |" in docs and "**current directory**" in docs
    result = cli.invoke(main, ["init"])
    assert result.exit_code == 0, result.output
    assert str(tmp_path / "instance" / "widgetserver.db") in result.output
    assert (tmp_path / "instance" / "widgetserver.db").is_file()
    monkeypatch.setenv("WIDGETSERVER_INSTANCE", str(tmp_path / "srv"))
    result = cli.invoke(main, ["init"])
    assert str(tmp_path / "srv" / "widgetserver.db") in result.output
