"""Importing files as shop owners have them: encodings, delimiters, the sample file, the fast paths."""

from __future__ import annotations

import codecs
import io
import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st
from marshmallow import ValidationError

from widgetserver import create_app, schemas, store
from widgetserver.cli import main
from widgetserver.transfer import ImportFailed, decode_upload, import_reviews, sniff_delimiter

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "old-reviews.csv"

HEADER = "rating;title;body;author;created_at;product;product_name"
DUTCH_ROWS = [
    "5;Prachtig, écht waar;Kleur is precies zoals op de foto’s;Hélène;2024-03-01T10:00:00Z;JURK-9;Jurk – groen",
    '2;Naad liet los;"Voor € 79,95 had ik meer verwacht; jammer";Joost;2024-03-02T10:00:00Z;JURK-9;Jurk – groen',
]


def import_file(runner, tmp_path, data: bytes, name="reviews.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return runner.invoke(main, ["import", "acme", str(path)])


def texts(db, shop):
    return [(r["title"], r["body"], r["author"]) for r in
            db.query("SELECT title, body, author FROM reviews WHERE shop_id = ? ORDER BY created_at", [shop["id"]])]


# --- the sample file README's import step uses ----------------------------------


def test_sample_file_imports_and_says_what_it_found(runner, db, shop):
    result = runner.invoke(main, ["import", "acme", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert "Windows-1252" in result.output and "semicolon-separated" in result.output
    assert "Imported 12 reviews, 2 products, 3 replies." in result.output  # JURK-1078 and TRUI-2201 are new
    stored = [t for row in texts(db, shop) for t in row]
    assert any("€ 79,95" in t for t in stored)
    assert "R. Öztürk" in stored and "Hélène" in stored and "Amélie" in stored
    assert any("één" in t for t in stored) and any("foto’s" in t for t in stored)
    assert any("Bien reçu" == t for t in stored)
    assert not any("\ufffd" in t or "Ã" in t for t in stored)  # nothing decoded with the wrong table
    summary = store.summary_for(db, shop["id"])
    assert summary["count"] == 12 and min(int(k) for k, v in summary["distribution"].items() if v) == 1
    assert store.recompute(db) == []


def test_sample_file_is_windows_1252_with_semicolons():
    data = SAMPLE.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert data.split(b"\r\n", 1)[0].count(b";") >= 8


# --- encodings ------------------------------------------------------------------


@pytest.mark.parametrize("encoding, bom, name", [
    ("cp1252", b"", "Windows-1252"),
    ("utf-8", b"", "UTF-8"),
    ("utf-8", codecs.BOM_UTF8, "UTF-8 with BOM"),
    ("utf-16", b"", "UTF-16"),
])
def test_encodings_are_detected_and_named(runner, db, shop, tmp_path, encoding, bom, name):
    data = bom + "\r\n".join([HEADER, *DUTCH_ROWS]).encode(encoding)
    result = import_file(runner, tmp_path, data)
    assert result.exit_code == 0, result.output
    assert f"CSV, {name}, semicolon-separated" in result.output
    assert texts(db, shop)[0] == ("Prachtig, écht waar", "Kleur is precies zoals op de foto’s", "Hélène")
    assert texts(db, shop)[1][1] == "Voor € 79,95 had ik meer verwacht; jammer"


def test_bom_does_not_end_up_in_the_first_column_name():
    text, name = decode_upload(codecs.BOM_UTF8 + b"rating,author\n5,Anna\n")
    assert name == "UTF-8 with BOM" and text.getvalue().startswith("rating,")


def test_binary_file_is_refused_with_a_message(runner, db, shop, tmp_path):
    result = import_file(runner, tmp_path, bytes(range(256)) * 40)
    assert result.exit_code != 0
    assert "Nothing imported" in result.output or "encoding" in result.output or "column" in result.output
    assert store.summary_for(db, shop["id"])["count"] == 0


# --- delimiters -------------------------------------------------------------------


@pytest.mark.parametrize("delimiter, word", [(",", "comma"), (";", "semicolon"), ("\t", "tab")])
def test_delimiters(runner, db, shop, tmp_path, delimiter, word):
    rows = [["rating", "author", "body"], ["4", "Anna", "Mooi; snel, en goed"], ["1", "Bram", "Kapot, helaas; retour"]]
    text = "\n".join(delimiter.join(f'"{c}"' if (";" in c or "," in c) else c for c in row) for row in rows)
    result = import_file(runner, tmp_path, text.encode())
    assert result.exit_code == 0, result.output
    assert f"{word}-separated" in result.output
    assert [b for _, b, _ in texts(db, shop)] in (["Mooi; snel, en goed", "Kapot, helaas; retour"],
                                                  ["Kapot, helaas; retour", "Mooi; snel, en goed"])


def test_header_decides_when_the_body_is_full_of_the_other_delimiter():
    body = "; ".join(["een; twee; drie"] * 20)
    head = "rating,author,body\n" + "\n".join(f'5,Anna,"{body}"' for _ in range(5))
    assert sniff_delimiter(head) == ","
    assert sniff_delimiter("rating;author;body\n" + "\n".join(f'5;Anna;"{body.replace(";", ",")}"'
                                                              for _ in range(5))) == ";"


def test_one_column_header_says_which_delimiter_was_used(db, shop):
    with pytest.raises(ImportFailed) as exc:
        import_reviews(db, shop, io.StringIO("rating|author\n5|Anna\n"), "csv")
    assert "delimiter" in exc.value.problems[0][1]


# --- all or nothing, ids and the audit chain ---------------------------------------


def test_duplicate_external_ids_are_reported_by_line_and_nothing_is_imported(db, shop):
    csv_text = "rating,author,external_id\n5,Anna,a1\n4,Bram,a2\n3,Chris,a1\n"
    with pytest.raises(ImportFailed) as exc:
        import_reviews(db, shop, io.StringIO(csv_text), "csv")
    assert exc.value.problems == [(4, "external_id: 'a1' is on line 2 already")]
    import_reviews(db, shop, io.StringIO("rating,author,external_id\n5,Anna,a1\n"), "csv")
    with pytest.raises(ImportFailed) as exc:
        import_reviews(db, shop, io.StringIO("rating,author,external_id\n2,Dirk,b1\n1,Eva,a1\n"), "csv")
    assert exc.value.problems == [(3, "external_id: 'a1' was imported already")]
    assert store.summary_for(db, shop["id"])["count"] == 1


def test_bulk_import_matches_one_by_one_writes(db, shop):
    rows = ["rating,author,created_at,product,external_id,reply_body,reply_author,reply_role"]
    for i in range(60):
        when = datetime(2020, 1, 1, tzinfo=timezone.utc) + timedelta(days=(i * 37) % 60)
        reply = "Dank je,Sanne,Klantenservice" if i % 7 == 0 else ",,"
        rows.append(f"{i % 5 + 1},Buyer {i},{when.isoformat()},{'SKU-1' if i % 3 else ''},x{i},{reply}")
    counts = import_reviews(db, shop, io.StringIO("\n".join(rows)), "csv")
    assert counts == {"reviews": 60, "products": 0, "replies": 9}
    assert store.recompute(db) == []
    assert store.verify_audit(db)[1] == []
    audit = db.execute("SELECT entity, count(*) FROM audit_log WHERE actor = 'import' GROUP BY entity").fetchall()
    assert dict(audit) == {"review": 60, "reply": 9}
    # ids follow the reviews' times, so id order is time order.
    times = [r[0] for r in db.execute("SELECT created_at FROM reviews WHERE shop_id = ? ORDER BY id", [shop["id"]])]
    assert times == sorted(times)
    page, _ = store.list_reviews(db, shop["id"], limit=100)
    assert len(page) == 60 and sum(1 for r in page if r["reply"]) == 9


def test_a_later_import_appends_after_existing_reviews(db, shop):
    first = store.add_review(db, shop["id"], rating=4, author="Anna")
    import_reviews(db, shop, io.StringIO("rating,author\n2,Bram\n5,Chris\n"), "csv")
    ids = [r[0] for r in db.execute("SELECT id FROM reviews ORDER BY id")]
    assert ids[0] == first and len(ids) == 3 and len(set(ids)) == 3
    assert store.verify_audit(db)[1] == []


# --- large imports rebuild the indexes: same database either way ---------------------

FROZEN = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)


def _import_file_text() -> str:
    rows = ["rating,title,body,author,created_at,product,product_name,locale,external_id,reply_body,reply_author,"
            "reply_role"]
    for i in range(80):
        when = datetime(2021, 1, 1, tzinfo=timezone.utc) + timedelta(days=(i * 37) % 400, minutes=i)
        sku = ("SKU-1", f"NEW-{i % 4}", "")[i % 3]
        reply = "Dank je wel,Sanne,Klantenservice" if i % 7 == 0 else ",,"
        rows.append(f'{i % 5 + 1},Titel {i},"Tekst {i}\n\nmet alinea",Koper {i},{when.isoformat()},{sku},'
                    f'{"Nieuw " + sku if sku.startswith("NEW") else ""},{("nl", "en", "")[i % 3]},ext-{i},{reply}')
    return "\n".join(rows)


def _whole_database(path: str) -> dict:
    """Schema text and every row of every table (sorted), to compare two databases."""
    conn = sqlite3.connect(path)
    try:
        out = {"schema": sorted(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall(),
                                key=repr)}
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            out[table] = sorted(conn.execute(f"SELECT * FROM [{table}]").fetchall(), key=repr)
        return out
    finally:
        conn.close()


def _import_into_fresh_database(tmp_path, name: str, monkeypatch, bulk_min: int) -> str:
    path = str(tmp_path / name)
    monkeypatch.setattr(store, "utcnow", lambda: FROZEN)
    create_app({"TESTING": True, "DATABASE": path})
    db = store.connect(path)
    monkeypatch.setattr(store, "BULK_MIN_ROWS", bulk_min)
    row = store.create_shop(db, "acme", "Acme", "https://acme.example", "nl")
    other = store.create_shop(db, "other", "Other", "https://other.example", "en")
    store.upsert_product(db, row["id"], "SKU-1", name="Jurk")
    for i, shop_id in enumerate([row["id"], other["id"], row["id"]]):  # reviews already there, in two shops
        store.add_review(db, shop_id, rating=i + 2, author=f"Eerder {i}", created_at=FROZEN - timedelta(days=i))
    import_reviews(db, store.get_shop(db, "acme"), io.StringIO(_import_file_text(), newline=""), "csv")
    db.conn.close()
    return path


def test_a_large_import_stores_exactly_what_a_row_by_row_insert_stores(tmp_path, monkeypatch):
    """Above BULK_MIN_ROWS (and larger than the table) an import drops reviews' indexes and the
    review_months trigger, and builds them again before it commits: the database must come out the same."""
    dropped = []
    original = store._indexes_rebuilt_after

    def spy(db, table, *, bulk, **options):
        dropped.append(bulk)
        return original(db, table, bulk=bulk, **options)

    monkeypatch.setattr(store, "_indexes_rebuilt_after", spy)
    row_by_row = _import_into_fresh_database(tmp_path, "rows.db", monkeypatch, bulk_min=10**9)
    bulk = _import_into_fresh_database(tmp_path, "bulk.db", monkeypatch, bulk_min=1)
    assert dropped == [False, True]
    assert _whole_database(bulk) == _whole_database(row_by_row)
    db = store.connect(bulk)
    assert store.recompute(db) == [] and store.verify_audit(db)[1] == []
    assert store.check_rows(db) == []
    for (data,) in db.execute("SELECT data FROM audit_log WHERE actor = 'import'"):  # as the encoder writes it
        assert data == store._DATA_JSON.encode(json.loads(data))
    assert {json.loads(d)["product"] for (d,) in db.execute("SELECT data FROM audit_log WHERE entity = 'review'"
                                                            " AND actor = 'import'")} == {"SKU-1", "NEW-0", "NEW-1",
                                                                                           "NEW-2", "NEW-3", None}
    months = db.execute("SELECT sum(count) FROM review_months WHERE shop_id = 1").fetchone()[0]
    assert months == 82  # two earlier reviews of this shop + 80 imported, counted without the trigger
    db.conn.close()


def test_an_import_that_is_not_larger_than_the_table_keeps_its_indexes(db, shop, monkeypatch):
    monkeypatch.setattr(store, "BULK_MIN_ROWS", 1)
    for i in range(5):
        store.add_review(db, shop["id"], rating=3, author=f"Eerder {i}")
    seen = []
    original = store._indexes_rebuilt_after
    monkeypatch.setattr(store, "_indexes_rebuilt_after",
                        lambda db, table, *, bulk, **options: seen.append(bulk) or original(db, table, bulk=bulk,
                                                                                             **options))
    import_reviews(db, shop, io.StringIO("rating,author\n2,Bram\n5,Chris\n"), "csv")
    assert seen == [False]


def _shop_for_a_bulk_import(tmp_path, monkeypatch):
    """(path, db, shop) of a fresh database where every import takes the bulk path."""
    path = str(tmp_path / "bulk.db")
    create_app({"TESTING": True, "DATABASE": path})
    db = store.connect(path)
    monkeypatch.setattr(store, "BULK_MIN_ROWS", 1)
    row = store.create_shop(db, "acme", "Acme", "https://acme.example", "nl")
    store.upsert_product(db, row["id"], "SKU-1", name="Jurk")
    return path, db, row


def test_a_bulk_import_that_fails_late_leaves_schema_and_data_as_they_were(tmp_path, monkeypatch):
    path, db, row = _shop_for_a_bulk_import(tmp_path, monkeypatch)
    before = _whole_database(path)

    original = store._insert_audit_rows

    def broken(db, rows):  # the reviews' entries: after the rows went in and the indexes came back
        if len(rows) > 1:
            raise RuntimeError("disk full")
        original(db, rows)

    monkeypatch.setattr(store, "_insert_audit_rows", broken)
    with pytest.raises(RuntimeError):
        import_reviews(db, row, io.StringIO(_import_file_text(), newline=""), "csv")
    db.conn.close()
    assert _whole_database(path) == before
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


def test_an_index_that_cannot_be_built_again_fails_the_import_and_keeps_the_schema(tmp_path, monkeypatch):
    """The indexes are built in a helper thread while the audit entries are chained: its error reaches
    the import, and the rollback waits for it. (An operator's own unique index that the rows break.)"""
    path, db, row = _shop_for_a_bulk_import(tmp_path, monkeypatch)
    db.execute("CREATE UNIQUE INDEX one_per_rating ON reviews (shop_id, rating)")
    before = _whole_database(path)
    with pytest.raises(sqlite3.IntegrityError):
        import_reviews(db, row, io.StringIO(_import_file_text(), newline=""), "csv")
    assert not db.conn.in_transaction
    db.conn.close()
    assert _whole_database(path) == before


# --- the row shortcut agrees with the schema ----------------------------------------

_values = st.one_of(
    st.none(), st.integers(-2, 8), st.booleans(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["", " ", "Anna", "<b>x</b>", "&lt;i&gt;", "a\x00b", "x" * 129, "y" * 201, "SKU-1", " SKU",
                     "a/b", "SKU\n", "nl", "en", "xx", "2024-01-02T03:04:05Z", "2024-01-02 03:04", "2024-01-02",
                     "3024-01-01T00:00:00Z", "2024-13-01T00:00:00Z", "2024-01-02T03:04:05+02:00", "\r\n\n\n\nbody",
                     "1990-05-01T00:00:00Z", "1994-12-31T23:30:00-02:00", "0001-01-01T00:00:00+01:00", "SKU\ufffe",
                     "e\x85", "9999-12-31T23:59:59-05:00"]),
)
_PLAIN_REVIEW = {"rating": 4, "title": "Mooi", "body": "Goed.", "author": "Anna", "created_at": "2024-01-02T03:04:05Z",
                 "product": "SKU-1", "locale": "nl", "external_id": "e1"}
_rows = st.one_of(
    st.dictionaries(st.sampled_from(sorted(schemas._IMPORT_FIELDS) + ["verified", "stars"]), _values, max_size=8),
    st.builds(lambda drop, changes: {k: v for k, v in {**_PLAIN_REVIEW, **changes}.items() if k not in drop},
              st.sets(st.sampled_from(sorted(_PLAIN_REVIEW)), max_size=2),
              st.dictionaries(st.sampled_from(sorted(_PLAIN_REVIEW) + ["stars"]), _values, max_size=2)),
)


def test_shortcut_covers_exactly_the_schema_fields():
    assert set(schemas.ReviewImportSchema().fields) == schemas._IMPORT_FIELDS


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_rows)
@example({**_PLAIN_REVIEW, "created_at": "3024-01-01T00:00:00Z"})
@example({**_PLAIN_REVIEW, "created_at": "1994-12-31T23:30:00-02:00"})
@example({**_PLAIN_REVIEW, "author": "x" * 101})
@example({**_PLAIN_REVIEW, "rating": 6})
@example({**_PLAIN_REVIEW, "rating": True})
def test_shortcut_never_accepts_what_the_schema_refuses_and_agrees_on_the_rest(row):
    """JSON values (a JSON Lines import) as well as text: plain_import_row gives what the schemas give, or None."""
    fast = schemas.plain_import_row(dict(row))
    if fast is not None:
        assert fast == _row_outcome(dict(row))


@pytest.mark.parametrize("row", [
    {"rating": 5, "author": "Anna", "title": "Top", "body": "Goed.\n\nSnel.", "created_at": "2024-01-02T03:04:05Z",
     "product": "SKU-1", "locale": "nl", "external_id": "e1"},
    {"rating": 1, "author": "Bram"},
])
def test_shortcut_takes_plain_rows(row):
    fast = schemas.plain_import_row(dict(row))
    assert fast is not None and fast == _row_outcome(dict(row))


# --- the shortcut for whole import rows agrees with the schemas -----------------------

_text_values = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["1", "5", "0", "6", " 5", "5 ", "05", "4.5", "٣", "Anna", " Anna", "Jan  Smit", "<b>x</b>",
                     "a\x00b", "x" * 101, "SKU-1", "a/b", "nl", "xx", "2024-01-02T03:04:05Z", "2024-01-02",
                     "2024-01-02T03:04:05+02:00", "0001-01-01T00:00:00+01:00", "3024-01-01T00:00:00Z",
                     "Goed.\n\nSnel.", "Goed.\n\n\nSnel.", "é", "e\u0301", "ext-1", "Klantenservice", "\ufffe"]),
)
_PLAIN_ROW = {"rating": "4", "title": "Mooi", "body": "Goed.\n\nSnel.", "author": "Anna", "locale": "nl",
              "created_at": "2024-01-02T03:04:05Z", "product": "SKU-1", "product_name": "Jurk", "external_id": "e1",
              "reply_body": "Dank je", "reply_author": "Sanne", "reply_role": "Klantenservice"}
# a plainly valid row with a few values changed or left out, so that both ways are taken often
_import_rows = st.builds(
    lambda drop, changes: {k: v for k, v in {**_PLAIN_ROW, **changes}.items() if k not in drop and v not in (None, "")},
    st.sets(st.sampled_from(sorted(_PLAIN_ROW)), max_size=3),
    st.dictionaries(st.sampled_from(sorted(_PLAIN_ROW)), st.one_of(_text_values, _values), max_size=2),
)


def _row_outcome(raw):
    from widgetserver.transfer import _RowSchemas

    try:
        return _RowSchemas().review(raw)
    except ValidationError:
        return None


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_import_rows)
@example({**_PLAIN_ROW, "reply_author": "x" * 101})
@example({**_PLAIN_ROW, "reply_body": "x" * 5001})
@example({**_PLAIN_ROW, "reply_role": "<b></b>"})
@example({**_PLAIN_ROW, "created_at": "3024-01-01T00:00:00Z"})
@example({**_PLAIN_ROW, "created_at": "1994-12-31T23:30:00-02:00"})
@example({**_PLAIN_ROW, "title": "y" * 201})
@example({**_PLAIN_ROW, "rating": "6"})
@example({**_PLAIN_ROW, "locale": "xx"})
@example({**_PLAIN_ROW, "external_id": "x" * 129})
@example({k: v for k, v in _PLAIN_ROW.items() if k != "reply_role"})
def test_row_shortcut_never_accepts_what_the_schemas_refuse_and_agrees_on_the_rest(raw):
    fast = schemas.plain_import_row(dict(raw))
    if fast is not None:
        assert fast == _row_outcome(dict(raw))


def test_row_shortcut_takes_plain_csv_rows():
    raw = {"rating": "4", "title": "Mooi", "body": "Goed.\n\nSnel.", "author": "Anna", "created_at": "2024-01-02T03:04:05Z",
           "product": "SKU-1", "product_name": "Jurk", "locale": "nl", "external_id": "e1",
           "reply_body": "Dank je!", "reply_author": "Sanne", "reply_role": "Klantenservice"}
    fast = schemas.plain_import_row(dict(raw))
    assert fast is not None and fast == _row_outcome(dict(raw))
    assert fast["reply"] == {"body": "Dank je!", "author": "Sanne", "role": "Klantenservice"}


# --- what a CSV file can get wrong ---------------------------------------------------


def test_a_row_with_more_values_than_columns_is_refused_not_cut(db, shop):
    csv_text = "rating,author,body\n5,Anna,Goed\n4,Bram,Prima, snel geleverd\n3,Chris,Oké,,\n"
    with pytest.raises(ImportFailed) as exc:
        import_reviews(db, shop, io.StringIO(csv_text), "csv", ",")
    assert exc.value.problems == [(3, "4 values, but the header names 3 columns; put a value that holds the "
                                      "delimiter ',' in double quotes")]  # line 4's extra values are empty: fine
    assert store.summary_for(db, shop["id"])["count"] == 0


def test_a_column_named_twice_is_refused(db, shop):
    with pytest.raises(ImportFailed) as exc:
        import_reviews(db, shop, io.StringIO("rating,author,rating\n5,Anna,1\n"), "csv", ",")
    assert exc.value.problems == [(1, "column(s) rating appear more than once; keep one of each")]


def test_product_columns_are_sanitised_and_checked_like_the_api(db, shop):
    csv_text = ("rating,author,product,product_name,product_url\n"
                "5,Anna,NEW-1,<b>Jurk</b>  Linde,https://acme.example/jurk\n"
                "4,Bram,NEW-2,Trui,javascript:alert(1)\n"
                "3,Chris,NEW-3,<i></i>,\n")
    with pytest.raises(ImportFailed) as exc:
        import_reviews(db, shop, io.StringIO(csv_text), "csv", ",")
    assert [line for line, _ in exc.value.problems] == [3, 4]
    assert exc.value.problems[0][1].startswith("product_url: ")
    assert exc.value.problems[1][1].startswith("product_name: Must not be empty")
    import_reviews(db, shop, io.StringIO(csv_text.split("4,Bram")[0]), "csv", ",")
    assert store.product_by_sku(db, shop["id"], "NEW-1")["name"] == "Jurk Linde"


# --- CSV records checked a block at a time agree with the rows one by one -----------------

_CSV_NAMES = ["rating", "title", "body", "author", "created_at", "product", "product_name", "locale", "external_id",
              "reply_body", "reply_author", "reply_role"]
_csv_values = st.one_of(
    st.sampled_from(["", "", "1", "5", "9", "Anna", "Anna ", "a  b", "Goed.\n\nSnel.", "Goed. \nSnel.", "<b>x</b>",
                     "é", "e\u0301", "x" * 101, "y" * 201, "SKU-1", "a/b", "nl", "xx", "2024-01-02T03:04:05Z",
                     "2024-02-30T03:04:05Z", "2024-01-02T03:04:05", "2024-01-02T03:04:05+02:00", "1994-12-31T23:59:59Z",
                     "3024-01-01T00:00:00Z", "ext-1", "ext-2", "a\x00b", "\ufffe", "Klantenservice"]),
    st.text(max_size=8),
)


def _csv_record(changes: dict) -> list[str]:
    return [changes.get(name, "" if name.startswith("reply") else value) for name, value in
            zip(_CSV_NAMES, ["4", "Mooi", "Goed.", "Anna", "2024-01-02T03:04:05Z", "SKU-1", "Jurk", "nl", "",
                             "", "", ""])]


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(st.sampled_from(_CSV_NAMES), _csv_values, max_size=3), min_size=1, max_size=5))
@example([{"title": "Mooi "}, {"created_at": "2024-02-30T03:04:05Z"}])
@example([{"created_at": "3024-01-01T00:00:00Z"}])
@example([{"created_at": ""}, {"locale": ""}, {"reply_body": "Dank", "reply_author": "Sanne", "reply_role": "CS"}])
@example([{"reply_body": "Dank", "reply_author": "Sanne"}])
@example([{"external_id": "x" * 129}])
def test_a_block_of_records_gives_what_each_record_gives(changes):
    records = [_csv_record(c) for c in changes]
    latest = store.utcnow() + store.REVIEW_AHEAD
    block = schemas.plain_import_chunk(dict(zip(_CSV_NAMES, zip(*records))), len(records), latest)
    one_by_one = [schemas.plain_import_row({k: v for k, v in zip(_CSV_NAMES, r) if v}, latest) for r in records]
    if block is not None:
        assert [dict(zip(block._fields, review)) for review in zip(*block)] == one_by_one


def test_plain_blocks_are_taken_at_once():
    records = [_csv_record({"external_id": f"e{i}", "title": "Mooi " if i == 3 else "Mooi"}) for i in range(10)]
    block = schemas.plain_import_chunk(dict(zip(_CSV_NAMES, zip(*records))), 10, store.utcnow())
    assert block is not None and block.title[3] == "Mooi" and block.external_id[9] == "e9"


def test_blocks_and_rows_store_the_same_and_report_the_same(tmp_path, monkeypatch):
    """The same files imported with blocks of 7 records and row by row: same database, or same problems."""
    from widgetserver import transfer

    good = _import_file_text()
    bad = good.replace("Koper 13,", ",").replace("ext-40,", "ext-41,").replace(",NEW-2,Nieuw NEW-2,", ",NEW-9,,", 1)
    outcomes = {}
    for way in ("blocks", "rows"):
        monkeypatch.setattr(transfer, "CHUNK_ROWS", 7)
        if way == "rows":
            monkeypatch.setattr(transfer._Import, "take_chunk", lambda *args: False)
        path = str(tmp_path / f"{way}.db")
        monkeypatch.setattr(store, "utcnow", lambda: FROZEN)
        create_app({"TESTING": True, "DATABASE": path})
        db = store.connect(path)
        row = store.create_shop(db, "acme", "Acme", "https://acme.example", "nl")
        store.upsert_product(db, row["id"], "SKU-1", name="Jurk")
        with pytest.raises(ImportFailed) as exc:
            import_reviews(db, row, io.StringIO(bad, newline=""), "csv")
        import_reviews(db, row, io.StringIO(good, newline=""), "csv")
        db.conn.close()
        outcomes[way] = (exc.value.problems, _whole_database(path))
    assert outcomes["blocks"] == outcomes["rows"]
    assert outcomes["rows"][0] == [  # each record is three lines long (its body has a blank line)
        (32, "product: unknown SKU 'NEW-9'; create the product first or add a product_name column"),
        (41, "author: Missing data for required field."), (125, "external_id: 'ext-41' is on line 122 already")]
