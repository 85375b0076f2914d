"""Workspace settings: shop details and contact, review settings, your signature, API keys, team.

Owners change the shop and its keys; every member changes their own name and
job title (what replies are signed with). A new API key is shown once, right
after it is made; only its hash is stored. Other features add their own
settings pages through `workspace.SETTINGS_SECTIONS`.
"""

from __future__ import annotations

import re

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import get_db, store
from ..sanitize import UnsafeText, clean_text
from . import _, bp, member_required, owner_required, users
from .inbox import DEFAULT_TARGET_HOURS, inbox_counts, target_hours

LOCALES = ("nl", "en", "de", "fr")
URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
EMAIL_RE = users.EMAIL_RE
PHONE_RE = re.compile(r"^\+?[\d ()\-]{6,30}$")


def _text(form, name: str, limit: int, errors: dict, label: str, required: bool = False) -> str:
    try:
        value = clean_text(form.get(name) or "", multiline=False)
    except UnsafeText as exc:
        errors[name] = str(exc)
        return ""
    if required and not value:
        errors[name] = _("Fill in %(what)s.", what=label)
    elif len(value) > limit:
        errors[name] = _("%(what)s is too long: at most %(n)s characters.", what=label, n=limit)
    return value


def _number(form, name: str, low: int, high: int, errors: dict, label: str) -> int | None:
    value = (form.get(name) or "").strip()
    if not value.isdigit() or not low <= int(value) <= high:
        errors[name] = _("%(what)s must be a whole number from %(low)s to %(high)s.", what=label, low=low, high=high)
        return None
    return int(value)


def _values(shop: dict) -> dict:
    settings = shop["settings"]
    return {
        "name": shop["name"], "url": shop["url"] or "", "locale": shop["locale"],
        "contact_email": settings.get("contact_email", ""), "contact_phone": settings.get("contact_phone", ""),
        "reply_target_hours": target_hours(shop),
        "invitation_delay_days": settings.get("invitation_delay_days", 5),
        "allow_open_reviews": bool(settings.get("allow_open_reviews", False)),
        "organization_rating": bool(settings.get("organization_rating", False)),
    }


def _page(shop: dict, values: dict | None = None, errors: dict | None = None, profile_errors: dict | None = None,
          new_key: str | None = None, status: int = 200):
    db = get_db()
    return render_template(
        "workspace/settings.html", shop=shop, values=values or _values(shop), errors=errors or {},
        profile_errors=profile_errors or {}, keys=store.list_keys(db, shop["id"]) if current_user.is_owner else [],
        team=users.shop_users(db, shop["id"]), new_key=new_key, locales=LOCALES,
        default_target=DEFAULT_TARGET_HOURS, counts=inbox_counts(db, shop["id"], target_hours(shop)),
    ), status


@bp.get("/<shop>/settings")
@member_required
def settings(shop):
    """The settings page (owners see every section, staff their own signature)."""
    return _page(shop)


@bp.post("/<shop>/settings")
@owner_required
def settings_save(shop):
    """Save shop details and review settings: 400 with a message per field, nothing saved on any error."""
    form, errors = request.form, {}
    values = {
        "name": _text(form, "name", 200, errors, _("the shop's name"), required=True),
        "url": _text(form, "url", 500, errors, _("the website")),
        "locale": form.get("locale") or "",
        "contact_email": _text(form, "contact_email", 254, errors, _("the e-mail address")),
        "contact_phone": _text(form, "contact_phone", 30, errors, _("the phone number")),
        "allow_open_reviews": form.get("allow_open_reviews") == "on",
        "organization_rating": form.get("organization_rating") == "on",
    }
    if values["url"] and not URL_RE.match(values["url"]):
        errors["url"] = _("Give the full address, starting with https://")
    if values["locale"] not in LOCALES:
        errors["locale"] = _("Choose one of the languages.")
    if values["contact_email"] and not EMAIL_RE.match(values["contact_email"]):
        errors["contact_email"] = _("That is not an e-mail address.")
    if values["contact_phone"] and not PHONE_RE.match(values["contact_phone"]):
        errors["contact_phone"] = _("Use digits, spaces, dashes and an optional leading +.")
    values["reply_target_hours"] = _number(form, "reply_target_hours", 1, 168, errors, _("The reply target"))
    values["invitation_delay_days"] = _number(form, "invitation_delay_days", 0, 90, errors, _("The invitation delay"))
    if errors:
        for key in ("reply_target_hours", "invitation_delay_days"):
            if values[key] is None:
                values[key] = form.get(key, "")
        return _page(shop, values=values, errors=errors, status=400)
    db = get_db()
    with store.write(db):  # one transaction: both writes or neither
        store.update_shop_details(db, shop["id"], name=values["name"], url=values["url"] or None,
                                  locale=values["locale"], actor=current_user.actor)
        store.update_shop_settings(
            db, shop["id"], actor=current_user.actor,
            contact_email=values["contact_email"], contact_phone=values["contact_phone"],
            reply_target_hours=values["reply_target_hours"], invitation_delay_days=values["invitation_delay_days"],
            allow_open_reviews=values["allow_open_reviews"], organization_rating=values["organization_rating"],
        )
    flash(_("Settings saved."), "notice")
    return redirect(url_for("workspace.settings", shop=shop["slug"]))


@bp.post("/<shop>/settings/profile")
@member_required
def settings_profile(shop):
    """Save your own name and job title (what your replies are signed with)."""
    errors: dict = {}
    name = _text(request.form, "profile_name", 100, errors, _("your name"), required=True)
    title = _text(request.form, "profile_title", 100, errors, _("your job title"))
    if errors:
        return _page(shop, profile_errors={k.removeprefix("profile_"): v for k, v in errors.items()}, status=400)
    users.update_profile(get_db(), current_user.id, name=name, title=title)
    flash(_("Your signature is saved."), "notice")
    return redirect(url_for("workspace.settings", shop=shop["slug"]) + "#signature")


@bp.post("/<shop>/settings/keys")
@owner_required
def settings_key_create(shop):
    """Make an API key and show it once."""
    errors: dict = {}
    label = _text(request.form, "label", 100, errors, _("the label"))
    if errors:
        return _page(shop, errors=errors, status=400)
    key = store.create_key(get_db(), shop["id"], label=label or None, actor=current_user.actor)
    return _page(shop, new_key=key)


@bp.post("/<shop>/settings/keys/<key_id>/revoke")
@owner_required
def settings_key_revoke(shop, key_id):
    """Revoke one of this shop's keys (404 for another shop's or an unknown key)."""
    if not re.fullmatch(r"[0-9a-f]{1,32}", key_id) or not store.revoke_key(
            get_db(), key_id, shop_id=shop["id"], actor=current_user.actor):
        from flask import abort

        abort(404)
    flash(_("The key is revoked: requests with it are refused from now on."), "notice")
    return redirect(url_for("workspace.settings", shop=shop["slug"]) + "#keys")
