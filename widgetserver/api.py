"""JSON API v1: public reads (CORS, cacheable) and per-shop writes with an API key."""

from __future__ import annotations

import hmac
import json
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, jsonify, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer

from . import get_db, sanitize, schemas, store, transparency
from .errors import APIError
from .http_cache import cached
from .links import base_url, hosted_url
from .reads import read_db, shop_row

bp = Blueprint("api", __name__, url_prefix="/api/v1")

review_schema = schemas.ReviewSchema()
# Schemas of the public reads, built once: a marshmallow Schema() deep-copies its fields (~0.3 ms).
shop_schema = schemas.ShopSchema()
product_list_schema = schemas.ProductListSchema()
summary_query_schema = schemas.SummaryQuerySchema()
summary_schema = schemas.SummarySchema()
review_query_schema = schemas.ReviewQuerySchema()
review_page_schema = schemas.ReviewPageSchema()
MAX_ROW_ID = store.MAX_ROW_ID  # a path id above it is a 404, never an overflow


# --- helpers -------------------------------------------------------------------


def shop_or_404(slug: str) -> dict:
    """The shop for `slug`.

    :raise 404: unknown shop.
    """
    shop = shop_row(slug)
    if shop is None:
        raise APIError(404, f"No shop with slug {slug!r}.", {"shop": ["Unknown shop; check the slug."]})
    return shop


def product_or_404(shop: dict, sku: str) -> dict:
    """The shop's product with this SKU.

    :raise 404: unknown product.
    """
    product = store.product_by_sku(read_db(), shop["id"], sku)
    if product is None:
        raise APIError(404, f"No product with SKU {sku!r} in shop {shop['slug']!r}.",
                       {"product": ["Unknown SKU; list products at /api/v1/shops/{shop}/products."]})
    return product


def require_key(shop: dict) -> None:
    """Check `Authorization: Bearer <key>` belongs to this shop.

    :raise 401: no key or an unknown or revoked key.
    :raise 403: a key of another shop.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise APIError(401, "Send your shop's API key as 'Authorization: Bearer <key>' "
                            "(create one with 'widgetserver keys create SHOP').")
    owner = store.shop_id_for_key(get_db(), key.strip())
    if owner is None:
        raise APIError(401, "That API key is unknown or revoked.")
    if not hmac.compare_digest(str(owner), str(shop["id"])):
        raise APIError(403, f"That API key belongs to another shop, not {shop['slug']!r}.")


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def json_body(schema) -> dict:
    """The request's JSON object, validated and cleaned by `schema`.

    Parsed here rather than by Flask so that every way a body can be bad is a 400 with a message:
    invalid UTF-8 or JSON, NaN/Infinity, nesting deep enough to exhaust the parser, lone surrogates.
    :raise 415: not JSON. :raise 400: malformed or invalid.
    """
    if not request.is_json:
        raise APIError(415, "Send the body as JSON with 'Content-Type: application/json'.")
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise APIError(400, "The body is nested too deeply.",
                       {"_body": [f"Nested deeper than {sanitize.MAX_JSON_DEPTH} levels; send the documented shape."]}) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, too many digits, NaN
        raise APIError(400, "The body is not valid JSON.", {"_body": [f"Could not parse JSON: {str(exc)[:200]}"]}) from None
    if not isinstance(data, dict):
        raise APIError(400, "The body must be a JSON object.", {"_body": ["Expected an object."]})
    problems = sanitize.unencodable(data)
    if problems:
        raise APIError(400, "The request has fields that cannot be stored; see errors.", problems)
    return schema.load(data)


def query_args(schema) -> dict:
    """Query parameters validated by `schema` (NUL bytes refused).

    Memoised per schema class and query string: public reads repeat the same few queries, and a
    marshmallow load costs more than the rest of a cached read. Refused queries are not kept.
    """
    key = (type(schema), request.query_string)
    hit = _loaded_queries.get(key)
    if hit is None:
        if any("\x00" in v for v in request.args.values()):
            raise APIError(400, "Query parameters must not contain NUL bytes.")
        hit = schema.load(request.args.to_dict())
        if len(_loaded_queries) >= 4096:
            _loaded_queries.clear()
        _loaded_queries[key] = hit
    return dict(hit)


_loaded_queries: dict = {}


def _cursor_serializer() -> URLSafeSerializer:
    from .secrets_file import signing_keys

    return URLSafeSerializer(signing_keys(current_app), salt="review-cursor")


def _cursor_scope(shop: dict, query: dict) -> dict:
    """What a cursor is bound to: the shop and every filter and the sort of the query that made it."""
    return {"shop": shop["id"], "s": query["sort"], "p": query["product"], "r": query["rating"], "v": query["verified"]}


def encode_cursor(shop: dict, query: dict, key: list) -> str:
    """An opaque, signed cursor that only works for the same shop and query."""
    return _cursor_serializer().dumps({"k": key, **_cursor_scope(shop, query)})


def decode_cursor(cursor: str, shop: dict, query: dict) -> list:
    """The keyset position inside a cursor.

    :raise 400: forged, damaged, or made for another shop or query.
    """
    try:
        data = _cursor_serializer().loads(cursor)
    except BadSignature:
        raise APIError(400, "Invalid cursor.", {"cursor": ["Not a cursor this server issued; use next_cursor as given."]}) from None
    if not isinstance(data, dict) or not isinstance(data.get("k"), list):
        raise APIError(400, "Invalid cursor.", {"cursor": ["Not a cursor this server issued; use next_cursor as given."]})
    expected = _cursor_scope(shop, query)
    if data.get("shop") != expected.pop("shop"):
        raise APIError(400, "Cursor belongs to another shop.",
                       {"cursor": ["A cursor works only for the shop whose list issued it."]})
    if {k: data.get(k) for k in expected} != expected:
        raise APIError(400, "Cursor belongs to another query.",
                       {"cursor": ["Keep product, rating, verified and sort the same while paging."]})
    return data["k"]


def shop_info(shop: dict) -> dict:
    """Public fields of a shop."""
    summary = store.summary_for(read_db(), shop["id"])
    return {
        "slug": shop["slug"],
        "name": shop["name"],
        "url": shop["url"],
        "locale": shop["locale"],
        "reviews_url": hosted_url(shop["slug"]),
        "organization_rating": bool(shop["settings"].get("organization_rating", False)),
        "review_count": summary["count"],
        "average": summary["average"],
    }


# --- public reads --------------------------------------------------------------


@bp.get("/shops/<shop>")
def get_shop(shop):
    """Public shop information.

    :raise 404: unknown shop.
    """
    row = shop_or_404(shop)
    return cached(row, lambda: shop_schema.dump(shop_info(row)))


@bp.get("/shops/<shop>/products")
def list_products(shop):
    """The shop's products with their review figures."""
    row = shop_or_404(shop)

    def build():
        return product_list_schema.dump({"items": store.list_products(read_db(), row["id"])})

    return cached(row, build)


@bp.get("/shops/<shop>/summary")
def get_summary(shop):
    """Count, average and per-star distribution of all published reviews (O(1))."""
    row = shop_or_404(shop)
    args = query_args(summary_query_schema)

    def build():
        product = product_or_404(row, args["product"]) if args["product"] else None
        summary = store.summary_for(read_db(), row["id"], product["id"] if product else None)
        replies = transparency.cached_reply_stats(read_db(), row, current_app.config["DATABASE"])
        return summary_schema.dump({**summary, "replies": replies, "shop": row["slug"], "product": args["product"]})

    return cached(row, build)


@bp.get("/shops/<shop>/reviews")
def list_reviews(shop):
    """Published reviews, newest first by default, with keyset pagination."""
    row = shop_or_404(shop)
    args = query_args(review_query_schema)

    def build():
        product = product_or_404(row, args["product"]) if args["product"] else None
        after = decode_cursor(args["cursor"], row, args) if args["cursor"] else None
        items, key = store.list_reviews(
            read_db(), row["id"], product_id=product["id"] if product else None, rating=args["rating"],
            verified=args["verified"], sort=args["sort"], limit=args["limit"], after=after,
        )
        return review_page_schema.dump(
            {"items": items, "next_cursor": encode_cursor(row, args, key) if key else None}
        )

    return cached(row, build)


@bp.get("/shops/<shop>/reviews/<row_id:review_id>")
def get_review(shop, review_id):
    """One published review of the shop, with its reply and the product's name.

    :raise 404: unknown shop, or no published review with this id in this shop.
    """
    row = shop_or_404(shop)

    def build():
        review = store.get_review(read_db(), row["id"], review_id)
        if review is None or review["status"] != "published":
            raise APIError(404, f"No published review {review_id} in shop {row['slug']!r}.",
                           {"review_id": ["Unknown, withdrawn or removed review; list reviews at "
                                          f"/api/v1/shops/{row['slug']}/reviews."]})
        return review_schema.dump(review)

    return cached(row, build)


# --- writes (API key) ----------------------------------------------------------


@bp.post("/shops/<shop>/reviews")
def import_review(shop):
    """Import a review from the shop's history: stored unverified, source "import".

    :raise 401/403: missing or wrong key. :raise 400: invalid fields.
    """
    row = shop_or_404(shop)
    require_key(row)
    data = json_body(schemas.ReviewImportSchema())
    db = get_db()
    with store.write(db):  # the answer is built before the commit: if it fails, nothing was stored
        review_id = store.add_review(
            db, row["id"], rating=data["rating"], author=data["author"], title=data["title"], body=data["body"],
            locale=data["locale"], product_sku=data["product"], source="import", verified=False,
            created_at=data["created_at"], external_id=data["external_id"], actor="api",
        )
        response = jsonify(review_schema.dump(store.get_review(db, row["id"], review_id)))
    response.status_code = 201
    response.headers["Location"] = url_for("api.list_reviews", shop=shop) + f"#review-{review_id}"
    return response


@bp.post("/shops/<shop>/reviews/<row_id:review_id>/reply")
def reply(shop, review_id):
    """Create (201) or replace (200) the shop's one public reply; earlier text is kept in history.

    :raise 404: no such published review in this shop.
    """
    row = shop_or_404(shop)
    require_key(row)
    data = json_body(schemas.ReplyInputSchema())
    db = get_db()
    with store.write(db):  # the answer is built before the commit
        created = store.set_reply(db, row["id"], review_id, body=data["body"], author=data["author"], role=data["role"])
        response = jsonify(review_schema.dump(store.get_review(db, row["id"], review_id)))
    response.status_code = 201 if created else 200
    return response


@bp.post("/shops/<shop>/products")
def upsert_product(shop):
    """Create (201) or update (200) a product by SKU."""
    row = shop_or_404(shop)
    require_key(row)
    data = json_body(schemas.ProductInputSchema())
    sku = data.pop("sku")
    db = get_db()
    with store.write(db):  # the answer is built before the commit
        product, created = store.upsert_product(db, row["id"], sku, **data)
        summary = store.summary_for(db, row["id"], product["id"])
        product.update(review_count=summary["count"], average=summary["average"])
        response = jsonify(schemas.ProductSchema().dump(product))
    response.status_code = 201 if created else 200
    return response


@bp.post("/shops/<shop>/invitations")
def create_invitation(shop):
    """Invite an order's customer to review (201); a repeat for the same order_ref returns the first (200).

    review_url is returned only while the shop is the one to send it: not when
    we e-mail the customer (an email was given), and never once reviews were
    submitted (link_status says which).

    :raise 401/403: missing or wrong key. :raise 400: invalid fields or unknown SKUs.
    """
    from . import invitations

    row = shop_or_404(shop)
    require_key(row)
    data = json_body(schemas.InvitationInputSchema())
    unknown = invitations.unknown_skus(get_db(), row["id"], data["skus"])
    if unknown and invitations.invitation_by_order(get_db(), row["id"], data["order_ref"]) is None:
        raise APIError(400, "The order names products this shop does not have; create them first.",
                       {"skus": [f"Unknown SKU {sku!r}; create it with POST /api/v1/shops/{shop}/products."
                                 for sku in unknown]})
    secret = current_app.config["SECRET_KEY"]
    db = get_db()
    with store.write(db):  # the answer is built before the commit: if it fails, no invitation was stored
        invitation, created = invitations.create_invitation(
            db, row, secret, order_ref=data["order_ref"], name=data["name"], email=data["email"],
            skus=data["skus"], delivered_at=data["delivered_at"], locale=data["locale"],
            valid_days=current_app.config["INVITATION_VALID_DAYS"],
        )
        url, link_status = invitations.disclose_link(db, invitation, base_url(), secret)
        invitation = invitations.get_invitation(db, invitation["id"])
        body = {**invitation, "link_status": link_status,
                "send_at": store.parse_time(invitation["send_at"]),
                "expires_at": store.parse_time(invitation["expires_at"])}
        if url is not None:
            body["review_url"] = url
        response = jsonify(schemas.InvitationSchema().dump(body))
    response.status_code = 201 if created else 200
    return response


@bp.post("/shops/<shop>/tone-check")
def tone_check(shop):
    """Check a reply draft against the reply checklist (rule ids and messages); nothing is stored.

    :raise 401/403: missing or wrong key. :raise 404: review_id not a published review of this shop.
    """
    from . import tone
    from .i18n import force_locale, gettext

    row = shop_or_404(shop)
    require_key(row)
    data = json_body(schemas.ToneCheckInputSchema())
    db = get_db()
    review, rating, review_text, language = None, data["rating"], "", data["language"]
    if data["review_id"] is not None:
        raw = store.review_row(db, row["id"], data["review_id"])
        if raw is None or raw["status"] != "published":
            raise APIError(404, f"No published review {data['review_id']} in shop {shop!r}.",
                           {"review_id": ["Unknown review; list reviews at /api/v1/shops/{shop}/reviews."]})
        review = raw
        rating, review_text = raw["rating"], f"{raw['title']}\n{raw['body']}"
        language = language or ((raw["locale"] or "").split("-")[0] if (raw["locale"] or "").split("-")[0]
                                in tone.LANGUAGES else None)
    recent = store.recent_reply_texts(db, row["id"], review["id"] if review else None)
    with force_locale(data["locale"]):
        result = tone.check(data["body"], author=data["author"], role=data["role"], rating=rating, language=language,
                            review_text=review_text, recent_replies=recent, gettext=gettext)
    return jsonify(schemas.ToneCheckSchema().dump(result))


# --- CORS and OpenAPI ----------------------------------------------------------


@bp.after_request
def cors(response):
    """Reads are public from any origin; writes are server-to-server and get no CORS grant."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers.setdefault("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
        response.headers.setdefault("Access-Control-Max-Age", str(current_app.config["CORS_MAX_AGE"]))
    return response


# Routes as data: the one list the OpenAPI document is built from.
ROUTES = [
    ("/shops/{shop}", "get", "get_shop", None, None, "ShopSchema", 200),
    ("/shops/{shop}/products", "get", "list_products", None, None, "ProductListSchema", 200),
    ("/shops/{shop}/summary", "get", "get_summary", "SummaryQuerySchema", None, "SummarySchema", 200),
    ("/shops/{shop}/reviews", "get", "list_reviews", "ReviewQuerySchema", None, "ReviewPageSchema", 200),
    ("/shops/{shop}/reviews/{review_id}", "get", "get_review", None, None, "ReviewSchema", 200),
    ("/shops/{shop}/reviews", "post", "import_review", None, "ReviewImportSchema", "ReviewSchema", 201),
    ("/shops/{shop}/reviews/{review_id}/reply", "post", "reply", None, "ReplyInputSchema", "ReviewSchema", 201),
    ("/shops/{shop}/products", "post", "upsert_product", None, "ProductInputSchema", "ProductSchema", 201),
    ("/shops/{shop}/invitations", "post", "create_invitation", None, "InvitationInputSchema", "InvitationSchema", 201),
    ("/shops/{shop}/tone-check", "post", "tone_check", None, "ToneCheckInputSchema", "ToneCheckSchema", 200),
]
EXTRA_ROUTES: list = []  # (path, method, view, query, body, response, status) added by other blueprints
KEY_ROUTES: set = set()  # views without a body that still need the shop's key (reads of private data, deletes)

# Answers an operation gives beyond the ones every operation of its kind gives (see `responses_of`):
# view name -> {status: description}. A 200 or 201 listed here carries the operation's response schema.
# Other blueprints add theirs under the full view name ("owner_api.add_alert").
EXTRA_RESPONSES: dict[str, dict[int, str]] = {
    "import_review": {409: "A review with this external_id was imported before; nothing stored"},
    "reply": {200: "The reply replaced the earlier one (kept in its history)"},
    "upsert_product": {200: "Updated an existing product"},
    "create_invitation": {200: "This order_ref was invited before: the first invitation, unchanged"},
}
OPTIONAL_BODIES: set = set()  # views whose JSON body may be left out (it is still validated when sent)


def responses_of(method: str, view: str, query, body, status: int) -> dict[int, str]:
    """Every status an operation can answer, with a description; the test suite holds the server to it."""
    out = {status: "Created" if status == 201 else "OK"}
    if method == "get" and view not in KEY_ROUTES:  # private reads are not cached
        out[304] = "Not modified: If-None-Match matched the current ETag (no body)"
    if query or body:
        out[400] = "Invalid parameters or body; each field is named in errors"
    out[404] = "Unknown shop or item"
    if body or view in KEY_ROUTES:
        out.update({401: "Missing, unknown or revoked key", 403: "Key of another shop"})
    if body:
        out.update({413: "Body larger than MAX_CONTENT_LENGTH", 415: "Body is not JSON"})
    out.update(EXTRA_RESPONSES.get(view, {}))
    return dict(sorted(out.items()))


PATH_PARAMETERS = {
    "shop": {"type": "string", "minLength": 1,
             "description": "The shop's slug: lower-case letters, digits and hyphens (any other answers 404)."},
    "review_id": {"type": "integer", "minimum": 0, "maximum": MAX_ROW_ID, "description": "The review's id."},
}


def build_spec() -> dict:
    """The OpenAPI 3 document, generated from the marshmallow schemas, ROUTES and responses_of."""
    spec = APISpec(
        title="Eerlijk widget server API", version="1.0.0", openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "Reads are public; writes need 'Authorization: Bearer <key>' for the shop."},
        servers=[{"url": request.script_root + "/api/v1"}],
    )
    spec.components.security_scheme("shopKey", {"type": "http", "scheme": "bearer"})
    # Nested schemas first: the plugin names them when it meets them inside another.
    for name in ("ErrorSchema", "ShopSchema", "ReplySchema", "ReviewSchema", "ReviewPageSchema", "ProductSchema",
                 "ProductListSchema", "SummarySchema", "ReviewImportSchema", "ReplyInputSchema", "ProductInputSchema",
                 "InvitationInputSchema", "InvitationSchema", "ToneFindingSchema", "ToneCheckInputSchema",
                 "ToneCheckSchema"):
        spec.components.schema(name.removesuffix("Schema"), schema=getattr(schemas, name))
    for *_, body, output, _status in EXTRA_ROUTES:  # schemas other blueprints' routes name
        for name in filter(None, (body, output)):
            if name.removesuffix("Schema") not in spec.components.schemas:
                spec.components.schema(name.removesuffix("Schema"), schema=getattr(schemas, name))
    error = {"content": {"application/json": {"schema": "Error"}}}
    paths: dict[str, dict] = {}
    for path, method, view_name, query, body, output, status in ROUTES + EXTRA_ROUTES:
        view = current_app.view_functions.get(f"api.{view_name}") or current_app.view_functions.get(view_name)
        doc = (view.__doc__ or "").strip().split("\n")[0] if view else ""
        params = [{"in": "path", "name": p, "required": True, "schema": dict(PATH_PARAMETERS[p])}
                  for p in PATH_PARAMETERS if "{" + p + "}" in path]
        params += [{"in": "path", "name": p, "required": True,
                    "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ROW_ID}}
                   for p in re.findall(r"{(\w+_id)}", path) if p not in PATH_PARAMETERS]
        if query:
            params.append({"in": "query", "schema": getattr(schemas, query)})
        responses = {}
        for code, description in responses_of(method, view_name, query, body, status).items():
            if code in (200, 201):
                responses[str(code)] = {"description": description,
                                        "content": {"application/json": {"schema": output.removesuffix("Schema")}}}
            elif code == 304:
                responses[str(code)] = {"description": description}
            else:
                responses[str(code)] = {**error, "description": description}
        op = {"summary": doc, "operationId": view_name, "parameters": params, "responses": responses}
        if body or view_name in KEY_ROUTES:
            op["security"] = [{"shopKey": []}]
        if body:
            op["requestBody"] = {"required": view_name not in OPTIONAL_BODIES, "content": {"application/json": {"schema": body.removesuffix("Schema")}}}
        paths.setdefault(path, {})[method] = op
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3 document of this API."""
    response = jsonify(build_spec())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
