"""JSON API for a shop's own settings and actions: alert recipients, webhooks and their log, marking resolved.

Every route needs the shop's API key (`Authorization: Bearer <key>`) and
answers JSON; errors have the API's one shape. Listed in the OpenAPI
document through `api.EXTRA_ROUTES`.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from . import alerts, followup, get_db, schemas, webhooks
from .api import EXTRA_RESPONSES, EXTRA_ROUTES, KEY_ROUTES, OPTIONAL_BODIES, json_body, query_args, require_key, shop_or_404
from .errors import APIError

bp = Blueprint("owner_api", __name__, url_prefix="/api/v1")


def _keyed_shop(slug: str) -> dict:
    shop = shop_or_404(slug)
    require_key(shop)
    return shop


def _answer(schema, data, status: int = 200):
    response = jsonify(schema.dump(data))
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/shops/<shop>/alerts")
def list_alerts(shop):
    """The shop's alert recipients.

    :raise 401/403: missing or wrong key.
    """
    row = _keyed_shop(shop)
    return _answer(schemas.AlertListSchema(), {"items": alerts.list_recipients(get_db(), row["id"])})


@bp.post("/shops/<shop>/alerts")
def add_alert(shop):
    """Alert an address about new reviews at or below max_rating (201); an existing address is changed (200)."""
    row = _keyed_shop(shop)
    data = json_body(schemas.AlertInputSchema())
    recipient, created = alerts.add_recipient(get_db(), row["id"], data["email"], data["max_rating"], data["mode"])
    return _answer(schemas.AlertSchema(), recipient, 201 if created else 200)


@bp.delete("/shops/<shop>/alerts/<row_id:alert_id>")
def remove_alert(shop, alert_id):
    """Stop alerting a recipient; answers the remaining list.

    :raise 404: no such recipient in this shop.
    """
    row = _keyed_shop(shop)
    if not alerts.remove_recipient(get_db(), row["id"], alert_id):
        raise APIError(404, f"No alert recipient {alert_id} in shop {shop!r}.", {"alert_id": ["Unknown id."]})
    return _answer(schemas.AlertListSchema(), {"items": alerts.list_recipients(get_db(), row["id"])})


@bp.get("/shops/<shop>/webhooks")
def list_webhooks(shop):
    """The shop's webhook endpoints with delivery figures (never their secrets)."""
    row = _keyed_shop(shop)
    return _answer(schemas.WebhookListSchema(), {"items": webhooks.list_endpoints(get_db(), row["id"])})


@bp.post("/shops/<shop>/webhooks")
def add_webhook(shop):
    """Register an endpoint (201); the answer holds its signing secret, shown this once only.

    :raise 400: not an http(s) URL, a non-public address, an unknown event. :raise 409: 10 endpoints already.
    """
    row = _keyed_shop(shop)
    data = json_body(schemas.WebhookInputSchema())
    endpoint, secret = webhooks.add_endpoint(
        get_db(), row["id"], data["url"], data["events"], data["description"],
        allow_private=current_app.config["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"])
    return _answer(schemas.WebhookCreatedSchema(), {**endpoint, "secret": secret}, 201)


@bp.delete("/shops/<shop>/webhooks/<row_id:endpoint_id>")
def remove_webhook(shop, endpoint_id):
    """Stop calling an endpoint (queued calls are dropped, its log stays); answers the remaining list.

    :raise 404: no such endpoint in this shop.
    """
    row = _keyed_shop(shop)
    if not webhooks.remove_endpoint(get_db(), row["id"], endpoint_id):
        raise APIError(404, f"No webhook {endpoint_id} in shop {shop!r}.", {"endpoint_id": ["Unknown id."]})
    return _answer(schemas.WebhookListSchema(), {"items": webhooks.list_endpoints(get_db(), row["id"])})


@bp.get("/shops/<shop>/webhooks/<row_id:endpoint_id>/deliveries")
def webhook_deliveries(shop, endpoint_id):
    """The endpoint's delivery attempts, newest first (status code, time, attempt, error).

    :raise 404: no such endpoint in this shop.
    """
    row = _keyed_shop(shop)
    args = query_args(schemas.DeliveryQuerySchema())
    log = webhooks.delivery_log(get_db(), row["id"], endpoint_id, args["limit"])
    if log is None:
        raise APIError(404, f"No webhook {endpoint_id} in shop {shop!r}.", {"endpoint_id": ["Unknown id."]})
    return _answer(schemas.DeliveryLogSchema(), {"items": log})


@bp.post("/shops/<shop>/reviews/<row_id:review_id>/resolved")
def mark_resolved(shop, review_id):
    """Mark the issue of a replied review resolved (201; again: 200, nothing more happens).

    The customer of a verified review is asked once, by e-mail, whether it was; their answer shows next to
    the reply. Send no body (or `{}`): nothing about the review can be changed here.
    :raise 404: no such published review. :raise 409: no reply yet.
    """
    row = _keyed_shop(shop)
    if request.get_data():
        json_body(schemas.ResolvedInputSchema())  # refuses any field, e.g. a rating
    state, created = followup.mark_resolved(get_db(), row["id"], review_id, actor="api")
    return _answer(schemas.FollowupSchema(), state, 201 if created else 200)


@bp.get("/shops/<shop>/reviews/<row_id:review_id>/resolved")
def get_resolved(shop, review_id):
    """The review's follow-up: when it was marked resolved, whether the customer was e-mailed, their answer.

    :raise 404: not marked resolved (or no such review).
    """
    row = _keyed_shop(shop)
    state = followup.get_followup(get_db(), row["id"], review_id)
    if state is None:
        raise APIError(404, f"Review {review_id} is not marked resolved.", {"review_id": ["Not marked resolved."]})
    return _answer(schemas.FollowupSchema(), state)


EXTRA_ROUTES.extend([
    ("/shops/{shop}/alerts", "get", "owner_api.list_alerts", None, None, "AlertListSchema", 200),
    ("/shops/{shop}/alerts", "post", "owner_api.add_alert", None, "AlertInputSchema", "AlertSchema", 201),
    ("/shops/{shop}/alerts/{alert_id}", "delete", "owner_api.remove_alert", None, None, "AlertListSchema", 200),
    ("/shops/{shop}/webhooks", "get", "owner_api.list_webhooks", None, None, "WebhookListSchema", 200),
    ("/shops/{shop}/webhooks", "post", "owner_api.add_webhook", None, "WebhookInputSchema", "WebhookCreatedSchema", 201),
    ("/shops/{shop}/webhooks/{endpoint_id}", "delete", "owner_api.remove_webhook", None, None, "WebhookListSchema", 200),
    ("/shops/{shop}/webhooks/{endpoint_id}/deliveries", "get", "owner_api.webhook_deliveries", "DeliveryQuerySchema",
     None, "DeliveryLogSchema", 200),
    ("/shops/{shop}/reviews/{review_id}/resolved", "post", "owner_api.mark_resolved", None, "ResolvedInputSchema",
     "FollowupSchema", 201),
    ("/shops/{shop}/reviews/{review_id}/resolved", "get", "owner_api.get_resolved", None, None, "FollowupSchema", 200),
])
KEY_ROUTES.update(view for _, _, view, *_ in EXTRA_ROUTES if view.startswith("owner_api."))
OPTIONAL_BODIES.add("owner_api.mark_resolved")
EXTRA_RESPONSES.update({
    "owner_api.add_alert": {200: "This address was a recipient already: its rating and mode were changed",
                            409: f"The shop has {alerts.MAX_RECIPIENTS} recipients already; nothing stored"},
    "owner_api.add_webhook": {409: f"The shop has {webhooks.MAX_ENDPOINTS} endpoints already; nothing stored"},
    "owner_api.mark_resolved": {200: "Marked resolved before: unchanged, the customer is not asked again",
                                409: "The review has no public reply yet; nothing stored"},
})
