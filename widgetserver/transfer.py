"""Import reviews from CSV or JSON Lines, all or nothing; export a shop to JSON Lines."""

from __future__ import annotations

import codecs
import csv
import io
import json
from typing import IO, Iterator

from marshmallow import ValidationError

from . import schemas, store
from .sanitize import UnsafeText, clean_text, whole_number

CHUNK_ROWS = 4096  # CSV records checked column by column at a time (schemas.plain_import_chunk)
REVIEW_COLUMNS = ("rating", "title", "body", "author", "created_at", "product", "locale", "external_id")
PRODUCT_COLUMNS = ("product_name", "product_url")
REPLY_COLUMNS = ("reply_body", "reply_author", "reply_role")
KNOWN_COLUMNS = REVIEW_COLUMNS + PRODUCT_COLUMNS + REPLY_COLUMNS


class ImportFailed(Exception):
    """Rows that failed validation, as (line number, message); nothing was imported."""

    def __init__(self, problems: list[tuple[int, str]]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


def _csv_header(reader) -> list[str]:
    """The column names of a CSV file; a bad header fails the file."""
    names = next(reader, [])
    unknown = [c for c in names if c not in KNOWN_COLUMNS]
    if unknown:
        raise ImportFailed([(1, f"unknown column(s) {', '.join(unknown)}; known: {', '.join(KNOWN_COLUMNS)}"
                                + (f" (read with delimiter {reader.dialect.delimiter!r})" if len(names) == 1 else ""))])
    twice = sorted({c for c in names if names.count(c) > 1})
    if twice:
        raise ImportFailed([(1, f"column(s) {', '.join(twice)} appear more than once; keep one of each")])
    return names


def _csv_chunks(reader, size: int = CHUNK_ROWS) -> Iterator[tuple[list[int], list[list[str]]]]:
    """(line numbers, records) in blocks of up to `size` records; blank lines are skipped."""
    lines, records = [], []
    line = reader.line_num + 1
    for record in reader:
        if record:
            lines.append(line)
            records.append(record)
            if len(records) == size:
                yield lines, records
                lines, records = [], []
        line = reader.line_num + 1
    if records:
        yield lines, records


def _csv_row(names: list[str], record: list[str], delimiter: str) -> dict:
    """One record as {column: value}, empty values left out; more values than columns is an error."""
    if len(record) > len(names) and any(value.strip() for value in record[len(names):]):
        return {"__error__": f"{len(record)} values, but the header names {len(names)} columns; put a value that "
                             f"holds the delimiter {delimiter!r} in double quotes"}
    return {name: value for name, value in zip(names, record) if value}


def _rows_jsonl(stream: IO[str]) -> Iterator[tuple[int, dict]]:
    for number, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            yield number, {"__error__": f"not valid JSON ({exc.msg} at column {exc.colno})"}
            continue
        if not isinstance(data, dict):
            yield number, {"__error__": "each line must be a JSON object"}
            continue
        kind = data.pop("type", "review")
        if kind == "review":
            yield number, _flatten_exported(data)
        elif kind == "product":
            yield number, {"__product__": data}
        # "shop" lines of an export describe the source shop; nothing to import from them.


def _flatten_exported(data: dict) -> dict:
    """Accept our own export's review lines: keep importable fields, lift the reply."""
    reply = data.get("reply") or {}
    row = {k: data[k] for k in REVIEW_COLUMNS if data.get(k) is not None}
    if "external_id" not in row and "id" in data and "source" in data:
        row["external_id"] = f"eerlijk-{data['id']}"
    for key in ("body", "author", "role"):
        if reply.get(key):
            row[f"reply_{key}"] = reply[key]
    # A withdrawn or removed review stays out of public view in the shop it moves to.
    status = data.get("status", "published")
    if status not in store.STATUSES:
        return {"__error__": f"status: must be one of {', '.join(store.STATUSES)}, not {status!r}"}
    if status != "published":
        row["__status__"] = (status, data.get("status_reason"))
    return row


def import_reviews(db, shop: dict, stream: IO[str], fmt: str, delimiter: str | None = None) -> dict:
    """Validate every row, then import all of them in one transaction, or none.

    `delimiter` of a CSV: "," or ";" (or tab); by default read from its header line (`sniff_delimiter`).
    A CSV's records are checked a block at a time, column by column (`schemas.plain_import_chunk`);
    a block with anything unusual in it, and every JSON line, is checked row by row, where the
    schemas say what is wrong.
    :raise ImportFailed: listing every bad row by line number.
    """
    state = _Import(db, shop)
    if fmt == "csv":
        if delimiter is None:
            start = stream.tell()
            delimiter = sniff_delimiter(stream.read(4096))
            stream.seek(start)
        reader = csv.reader(stream, delimiter=delimiter)
        names = _csv_header(reader)
        for lines, records in _csv_chunks(reader):
            if not state.take_chunk(names, lines, records):
                for line, record in zip(lines, records):
                    state.take(line, _csv_row(names, record, delimiter))
    else:
        for line, raw in _rows_jsonl(stream):
            state.take(line, raw)
    taken = _taken_external_ids(db, shop["id"], list(state.external_lines))
    problems = state.problems + [(state.external_lines[e], f"external_id: {e!r} was imported already") for e in taken]
    if problems:
        raise ImportFailed(sorted(problems))
    reviews = state.reviews()
    with store.write(db):
        store.upsert_products(db, shop["id"], state.products, actor="import")
        try:
            ids = store.add_reviews(db, shop["id"], reviews, source="import", actor="import")
        except store.StoreError as exc:
            raise ImportFailed([(1, f"{exc.field}: {exc.message}")]) from None
        for index, (status, reason) in state.statuses:
            store.set_review_status(db, shop["id"], ids[index], status, reason, actor="import")
    return {"reviews": len(reviews.rating), "products": len(state.products),
            "replies": sum(1 for reply in reviews.reply if reply)}


class _Import:
    """What an import has read so far: the reviews and products to store, or the problems found."""

    def __init__(self, db, shop: dict):
        self.checked = _RowSchemas()
        self.latest = store.utcnow() + store.REVIEW_AHEAD
        self.known_skus = {sku for (sku,) in db.execute("SELECT sku FROM products WHERE shop_id = ?", [shop["id"]])}
        self.problems: list[tuple[int, str]] = []
        self.products: dict[str, dict] = {}
        self.blocks: list[store.ReviewColumns] = []  # reviews so far, block by block ...
        self.rows: list[dict] = []  # ... and the last ones taken one by one
        self.statuses: list[tuple[int, tuple]] = []  # (index among the reviews, (status, reason))
        self.external_lines: dict[str, int] = {}

    def reviews(self) -> store.ReviewColumns:
        """Every review taken, in the file's order."""
        return store.ReviewColumns.join(self.blocks + [store.ReviewColumns.of(self.rows)])

    def take(self, line: int, raw: dict) -> None:
        """One row: its review (and product) kept, or its problem noted."""
        if "__error__" in raw:
            self.problems.append((line, raw["__error__"]))
            return
        checked = self.checked
        if "__product__" in raw:
            try:
                p = checked.product.load({k: v for k, v in raw["__product__"].items() if k in checked.product.fields})
                self.products[p.pop("sku")] = p
            except ValidationError as exc:
                self.problems.append((line, _describe(exc)))
            return
        review = schemas.plain_import_row(raw, self.latest)
        if review is None:
            try:
                review = checked.review(raw)
            except ValidationError as exc:
                self.problems.append((line, _describe(exc)))
                return
        sku = review["product_sku"]
        if sku and sku not in self.products and sku not in self.known_skus:
            if "product_name" not in raw:
                self.problems.append((line, f"product: unknown SKU {sku!r}; create the product first or add a "
                                            "product_name column"))
                return
            try:
                self.products[sku] = checked.new_product(sku, raw)
            except ValidationError as exc:
                self.problems.append((line, _describe(exc)))
                return
        external_id = review["external_id"]
        if external_id:
            if external_id in self.external_lines:
                self.problems.append((line, f"external_id: {external_id!r} is on line "
                                            f"{self.external_lines[external_id]} already"))
                return
            self.external_lines[external_id] = line
        if "__status__" in raw:
            index = len(self.rows) + sum(len(block.rating) for block in self.blocks)
            self.statuses.append((index, raw["__status__"]))
        self.rows.append(review)

    def take_chunk(self, names: list[str], lines: list[int], records: list[list[str]]) -> bool:
        """A block of CSV records that are all plainly valid, all at once: what `take` would keep of each.

        Returns False, having kept nothing, when any record is not (it then goes through `take`).
        """
        if len(set(map(len, records))) != 1 or len(records[0]) != len(names):
            return False
        columns = dict(zip(names, zip(*records)))
        reviews = schemas.plain_import_chunk(columns, len(records), self.latest)
        if reviews is None:
            return False
        new_products = {}
        if "product" in columns:
            product = columns["product"]
            first = dict(zip(reversed(product), range(len(product) - 1, -1, -1)))  # SKU -> its first record
            for sku, i in first.items():
                if sku and sku not in self.products and sku not in self.known_skus:
                    raw = {k: columns[k][i] for k in PRODUCT_COLUMNS if k in columns and columns[k][i]}
                    if "product_name" not in raw:
                        return False
                    try:
                        new_products[sku] = self.checked.new_product(sku, raw)
                    except ValidationError:
                        return False
        if "external_id" in columns:
            given = [(e, line) for e, line in zip(columns["external_id"], lines) if e]
            if len({e for e, _ in given}) != len(given) or not self.external_lines.keys().isdisjoint(e for e, _ in given):
                return False
            self.external_lines.update(given)
        self.products.update(new_products)
        if self.rows:
            self.blocks.append(store.ReviewColumns.of(self.rows))
            self.rows = []
        self.blocks.append(reviews)
        return True


class _RowSchemas:
    """The schemas a row goes through when it is not plainly valid (`schemas.plain_import_row`): they say
    what is wrong. Built once per import."""

    def __init__(self):
        self.review_schema = schemas.ReviewImportSchema()
        self.reply_schema = schemas.ReplyInputSchema()
        self.product = schemas.ProductInputSchema()

    def review(self, raw: dict) -> dict:
        """The row's review (and reply) in `store.add_reviews`' form. :raise ValidationError: what is wrong."""
        data = {k: raw[k] for k in REVIEW_COLUMNS if k in raw}
        if isinstance(data.get("rating"), str):
            number = whole_number(data["rating"], max_digits=1)
            data["rating"] = data["rating"] if number is None else number
        review = self.review_schema.load(data)
        reply = None
        if any(k in raw for k in REPLY_COLUMNS):
            reply = self.reply_schema.load({k.removeprefix("reply_"): raw.get(k, "") for k in REPLY_COLUMNS})
        return {"rating": review["rating"], "author": review["author"], "title": review["title"],
                "body": review["body"], "locale": review["locale"], "product_sku": review["product"],
                "created_at": review["created_at"] and store.format_time(review["created_at"]),
                "external_id": review["external_id"], "reply": reply}

    def new_product(self, sku: str, raw: dict) -> dict:
        """The product a row names (product_name, product_url) for a SKU the shop does not have yet."""
        name = raw.get("product_name")
        if "product_url" not in raw and type(name) is str and 1 <= len(name) <= 300 and _is_clean_line(name):
            return {"name": name, "url": None, "image_url": None, "gtin": None, "product_id": None}  # what the schema gives
        data = {"sku": sku, "name": name, **({"url": raw["product_url"]} if "product_url" in raw else {})}
        try:
            product = self.product.load(data)
        except ValidationError as exc:
            raise ValidationError({f"product_{k}": v for k, v in exc.messages.items()}) from None
        del product["sku"]
        return product


def _is_clean_line(text: str) -> bool:
    try:
        return clean_text(text, multiline=False) == text
    except UnsafeText:
        return False


def _taken_external_ids(db, shop_id: int, external_ids: list[str]) -> list[str]:
    taken = []
    for start in range(0, len(external_ids), 500):
        chunk = external_ids[start:start + 500]
        taken += [e for (e,) in db.execute(
            f"SELECT external_id FROM reviews WHERE shop_id = ? AND external_id IN ({', '.join('?' * len(chunk))})",
            [shop_id, *chunk])]
    return taken


def _describe(exc: ValidationError) -> str:
    from .errors import _flatten  # only when a row is bad: loading the web error pages costs ~50 ms at start

    return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in _flatten(exc.messages).items())


def export_lines(db, shop: dict) -> Iterator[str]:
    """The whole shop as JSON Lines: a shop line, product lines, then every review with its history."""
    review_schema = schemas.ReviewSchema()
    yield _line({"type": "shop", "slug": shop["slug"], "name": shop["name"], "url": shop["url"],
                 "locale": shop["locale"], "settings": shop["settings"], "created_at": shop["created_at"]})
    for product in store.list_products(db, shop["id"]):
        yield _line({"type": "product", **{k: product[k] for k in ("sku", "name", "url", "image_url", "gtin", "product_id")}})
    for review in store.export_rows(db, shop["id"]):
        data = review_schema.dump(review)
        data.update({k: review[k] for k in ("status", "status_reason", "external_id", "verification_method",
                                            "versions", "reply_versions")})
        yield _line({"type": "review", **data})


def _line(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=False) + "\n"


def detect_format(name: str, head: str) -> str:
    """'jsonl' for .jsonl/.ndjson names or a first character '{', else 'csv'."""
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return "jsonl" if head.lstrip().startswith("{") else "csv"


def decode_upload(data: bytes) -> tuple[io.StringIO, str]:
    """Bytes of an upload or file as text, and the name of the encoding found.

    UTF-8 (with or without a byte-order mark) is taken as it is; anything else — Excel's
    Windows-1252 CSVs, UTF-16 — is identified by charset-normalizer among the encodings that
    spreadsheets in our languages (nl, en, de, fr) save. Left free, it picks Windows-1250 for
    Dutch text as readily as Windows-1252, and that turns "è" into "č".
    :raise ImportFailed: when no encoding fits (e.g. a binary file).
    """
    if data.startswith(codecs.BOM_UTF8):
        return io.StringIO(data[len(codecs.BOM_UTF8):].decode("utf-8", "strict"), newline=""), "UTF-8 with BOM"
    try:
        return io.StringIO(data.decode("utf-8"), newline=""), "UTF-8"
    except UnicodeDecodeError:
        pass
    import charset_normalizer  # only for files that are not UTF-8

    best = charset_normalizer.from_bytes(data, cp_isolation=list(WESTERN_ENCODINGS)).best()
    if best is None:
        raise ImportFailed([(1, "not text in an encoding this server knows; save the file as CSV (UTF-8)")])
    return io.StringIO(str(best).lstrip("\ufeff"), newline=""), WESTERN_ENCODINGS.get(best.encoding, best.encoding)


# Candidates, with the names people know from their spreadsheet's "save as" dialog.
WESTERN_ENCODINGS = {"cp1252": "Windows-1252", "iso8859_15": "ISO-8859-15", "latin_1": "ISO-8859-1 (Latin-1)",
                     "mac_roman": "Mac Roman", "cp850": "DOS Latin-1 (CP850)", "utf_16": "UTF-16",
                     "utf_16_le": "UTF-16 LE", "utf_16_be": "UTF-16 BE", "utf_32": "UTF-32"}


def open_text(data: bytes) -> io.StringIO:
    """Bytes of an upload or file as text (see `decode_upload`)."""
    return decode_upload(data)[0]


DELIMITERS = ",;\t"


def sniff_delimiter(head: str) -> str:
    """The CSV delimiter: "," or ";" (Excel's in Dutch, German and French settings) or a tab.

    csv.Sniffer reads the start of the file; the header line, which holds only column names,
    has the last word: the delimiter that splits it into the most known columns wins.
    """
    try:
        sniffed = csv.Sniffer().sniff(head, delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = ","
    header = head.splitlines()[0] if head else ""

    def known(delimiter: str) -> int:
        names = next(csv.reader([header], delimiter=delimiter), [])
        return sum(1 for name in names if name.strip() in KNOWN_COLUMNS)

    best = max(DELIMITERS, key=lambda d: (known(d), d == sniffed))
    return best if known(best) > known(sniffed) else sniffed


DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
