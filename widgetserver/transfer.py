"""Import reviews from CSV or JSON Lines, all or nothing; export a shop to JSON Lines."""

from __future__ import annotations

import csv
import io
import json
from typing import IO, Iterator

from marshmallow import ValidationError

from . import schemas, store
from .errors import _flatten
from .sanitize import whole_number

REVIEW_COLUMNS = ("rating", "title", "body", "author", "created_at", "product", "locale", "external_id")
PRODUCT_COLUMNS = ("product_name", "product_url")
REPLY_COLUMNS = ("reply_body", "reply_author", "reply_role")
KNOWN_COLUMNS = REVIEW_COLUMNS + PRODUCT_COLUMNS + REPLY_COLUMNS


class ImportFailed(Exception):
    """Rows that failed validation, as (line number, message); nothing was imported."""

    def __init__(self, problems: list[tuple[int, str]]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


def _rows_csv(stream: IO[str]) -> Iterator[tuple[int, dict]]:
    reader = csv.DictReader(stream)
    unknown = [c for c in (reader.fieldnames or []) if c not in KNOWN_COLUMNS]
    if unknown:
        raise ImportFailed([(1, f"unknown column(s) {', '.join(unknown)}; known: {', '.join(KNOWN_COLUMNS)}")])
    line = reader.line_num + 1
    for row in reader:
        yield line, {k: v for k, v in row.items() if v not in (None, "")}
        line = reader.line_num + 1


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


def import_reviews(db, shop: dict, stream: IO[str], fmt: str) -> dict:
    """Validate every row, then import all of them in one transaction, or none.

    :raise ImportFailed: listing every bad row by line number.
    """
    rows = _rows_csv(stream) if fmt == "csv" else _rows_jsonl(stream)
    review_schema = schemas.ReviewImportSchema()
    reply_schema = schemas.ReplyInputSchema()
    product_schema = schemas.ProductInputSchema()
    problems: list[tuple[int, str]] = []
    products: dict[str, dict] = {}
    reviews: list[tuple[int, dict, dict | None, tuple | None]] = []
    for line, raw in rows:
        if "__error__" in raw:
            problems.append((line, raw["__error__"]))
            continue
        if "__product__" in raw:
            try:
                p = product_schema.load({k: v for k, v in raw["__product__"].items() if k in product_schema.fields})
                products[p.pop("sku")] = p
            except ValidationError as exc:
                problems.append((line, _describe(exc)))
            continue
        review_data = {k: raw[k] for k in REVIEW_COLUMNS if k in raw}
        if "rating" in review_data and isinstance(review_data["rating"], str):
            number = whole_number(review_data["rating"], max_digits=1)
            review_data["rating"] = review_data["rating"] if number is None else number
        try:
            review = review_schema.load(review_data)
            reply = None
            if any(k in raw for k in REPLY_COLUMNS):
                reply = reply_schema.load({k.removeprefix("reply_"): raw.get(k, "") for k in REPLY_COLUMNS})
        except ValidationError as exc:
            problems.append((line, _describe(exc)))
            continue
        sku = review["product"]
        if sku and sku not in products and store.product_by_sku(db, shop["id"], sku) is None:
            if raw.get("product_name"):
                products[sku] = {"name": raw["product_name"], "url": raw.get("product_url")}
            else:
                problems.append((line, f"product: unknown SKU {sku!r}; create the product first or add a product_name column"))
                continue
        reviews.append((line, review, reply, raw.get("__status__")))
    if problems:
        raise ImportFailed(problems)
    counts = {"reviews": 0, "products": 0, "replies": 0}
    with store.write(db):
        for sku, fields in products.items():
            store.upsert_product(db, shop["id"], sku, actor="import", **fields)
            counts["products"] += 1
        for line, review, reply, status in reviews:
            try:
                review_id = store.add_review(
                    db, shop["id"], rating=review["rating"], author=review["author"], title=review["title"],
                    body=review["body"], locale=review["locale"], product_sku=review["product"], source="import",
                    created_at=review["created_at"], external_id=review["external_id"], actor="import",
                )
            except store.StoreError as exc:
                raise ImportFailed([(line, f"{exc.field}: {exc.message}")]) from None
            counts["reviews"] += 1
            if reply:
                store.set_reply(db, shop["id"], review_id, actor="import", **reply)
                counts["replies"] += 1
            if status:
                store.set_review_status(db, shop["id"], review_id, status[0], status[1], actor="import")
    return counts


def _describe(exc: ValidationError) -> str:
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


def open_text(data: bytes) -> io.StringIO:
    """Bytes of an upload or file as text (UTF-8, BOM allowed)."""
    return io.StringIO(data.decode("utf-8-sig"), newline="")
