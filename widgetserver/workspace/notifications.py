"""Settings → Alerts and webhooks: who is e-mailed about new low ratings, and the shop's signed webhooks.

The owner's page for what `widgetserver alerts` / `widgetserver webhooks` and the key API already do
(widgetserver/alerts.py, widgetserver/webhooks.py): add or remove alert recipients (rating limit,
immediately or as a daily digest), add webhook endpoints (the signing secret is shown once) and remove
them, with each endpoint's latest deliveries. Staff get 403: these decide where review data goes.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import alerts, get_db, store, webhooks
from ..i18n import current_locale
from . import SETTINGS_SECTIONS, _, bp, owner_required

SETTINGS_SECTIONS.append(("workspace.notifications", "Alerts and webhooks"))


def _page(shop: dict, *, errors: dict | None = None, values: dict | None = None, secret: str | None = None,
          status: int = 200):
    db = get_db()
    endpoints = webhooks.list_endpoints(db, shop["id"])
    for endpoint in endpoints:
        endpoint["log"] = webhooks.delivery_log(db, shop["id"], endpoint["id"], limit=5)
    return render_template(
        "workspace/notifications.html", shop=shop, recipients=alerts.list_recipients(db, shop["id"]),
        endpoints=endpoints, events=webhooks.EVENTS, modes=alerts.MODES, errors=errors or {},
        values={"max_rating": 2, "mode": "immediate", "events": list(webhooks.EVENTS), **(values or {})},
        new_secret=secret, ui_locale=current_locale(),
    ), status


@bp.get("/<shop>/settings/notifications", endpoint="notifications")
@owner_required
def notifications(shop):
    """Alert recipients and webhook endpoints of the shop."""
    return _page(shop)


@bp.post("/<shop>/settings/notifications/recipients")
@owner_required
def add_recipient(shop):
    """Add (or change) an alert recipient; 400 with a message per field."""
    form = request.form
    values = {"email": form.get("email", "").strip(), "mode": form.get("mode", ""),
              "max_rating": form.get("max_rating", "")}
    errors = {}
    if not values["max_rating"].isdecimal() or not 1 <= int(values["max_rating"]) <= 5:
        errors["max_rating"] = _("Choose a rating from 1 to 5.")
    if values["mode"] not in alerts.MODES:
        errors["mode"] = _("Choose immediately or a daily digest.")
    if not errors:
        try:
            alerts.add_recipient(get_db(), shop["id"], values["email"], int(values["max_rating"]), values["mode"],
                                 actor=current_user.actor)
        except store.StoreError as exc:
            errors[exc.field if exc.field in ("email", "mode", "max_rating") else "email"] = exc.message
    if errors:
        return _page(shop, errors=errors, values=values, status=400)
    flash(_("%(email)s gets alerts now.", email=values["email"]), "success")
    return redirect(url_for("workspace.notifications", shop=shop["slug"]), 303)


@bp.post("/<shop>/settings/notifications/recipients/<row_id:recipient_id>/stop")
@owner_required
def stop_alerts(shop, recipient_id):
    """Stop alerting one recipient (404 for another shop's)."""
    if not alerts.remove_recipient(get_db(), shop["id"], recipient_id, actor=current_user.actor):
        return _page(shop, status=404)
    flash(_("Recipient removed."), "success")
    return redirect(url_for("workspace.notifications", shop=shop["slug"]), 303)


@bp.post("/<shop>/settings/notifications/webhooks")
@owner_required
def add_webhook(shop):
    """Add a webhook endpoint; the page then shows its secret once."""
    form = request.form
    values = {"url": form.get("url", "").strip(), "events": form.getlist("events"),
              "description": form.get("description", "").strip()[:200]}
    errors = {}
    if not values["events"]:
        errors["events"] = _("Choose at least one event.")
    secret = None
    if not errors:
        try:
            _endpoint, secret = webhooks.add_endpoint(
                get_db(), shop["id"], values["url"], values["events"], values["description"],
                allow_private=current_app.config["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"], actor=current_user.actor)
        except store.StoreError as exc:
            errors[exc.field if exc.field in ("url", "events") else "url"] = exc.message
    if errors:
        return _page(shop, errors=errors, values=values, status=400)
    return _page(shop, secret=secret)


@bp.post("/<shop>/settings/notifications/webhooks/<row_id:endpoint_id>/stop")
@owner_required
def stop_webhook(shop, endpoint_id):
    """Stop an endpoint (its log stays; 404 for another shop's)."""
    if not webhooks.remove_endpoint(get_db(), shop["id"], endpoint_id, actor=current_user.actor):
        return _page(shop, status=404)
    flash(_("Webhook removed."), "success")
    return redirect(url_for("workspace.notifications", shop=shop["slug"]), 303)
