"""Settings → Team: the shop's owners list, invite, re-role and remove its members.

What `widgetserver users create SHOP EMAIL --role owner|staff` does on the command line, for owners in the
workspace (staff get 403; a user of another shop gets 404 for the page and for every member id). An invited
member is stored without a usable password and gets the password-reset link by e-mail (valid for
TEAM_INVITE_MAX_AGE seconds while they have no password); if that e-mail cannot be sent, nobody is added.
A shop always keeps an owner who can log in, and changing or removing your own access needs a confirmation
tick, so nobody locks themselves out by a slip. Every change is in the audit log (ids and roles, no addresses).
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import get_db, mail
from ..i18n import current_locale, ngettext
from ..links import base_url
from ..sanitize import UnsafeText, clean_text
from ..store import StoreError
from . import _, bp, owner_required, users


def _role_name(role: str) -> str:
    return _("owner") if role == "owner" else _("staff")


def _page(shop: dict, *, errors: dict | None = None, values: dict | None = None, row_errors: dict | None = None,
          status: int = 200):
    return render_template(
        "workspace/team.html", shop=shop, team=users.shop_users(get_db(), shop["id"]), errors=errors or {},
        values={"role": "staff", **(values or {})}, row_errors=row_errors or {}, roles=users.SHOP_ROLES,
        role_name=_role_name, can_mail=mail.mail_configured(current_app.config),
    ), status


def _member_or_404(shop: dict, user_id: int) -> dict:
    member = users.shop_user(get_db(), shop["id"], user_id)
    if member is None:
        abort(404)
    return member


def _send_link(shop: dict, member: dict) -> None:
    """E-mail the member a link to choose their password (the password-reset link).

    :raise mail.MailConfigError, mail.TemporaryFailure, mail.PermanentFailure: not sent.
    """
    config = current_app.config
    token = users.reset_token(config["SECRET_KEY"], member)
    link = base_url().rstrip("/") + url_for("workspace.reset_password", token=token)
    days = max(1, config["TEAM_INVITE_MAX_AGE"] // 86400)
    validity = ngettext("The link works once and for %(num)s day.", "The link works once and for %(num)s days.", days)
    text = _("Hello %(name)s,\n\n%(inviter)s added you to the Eerlijk workspace of %(shop)s, as %(role)s. There you "
             "read and answer the shop's reviews.\n\nChoose your password here:\n\n%(link)s\n\n%(validity)s "
             "Afterwards you log in with this e-mail address at:\n%(login)s\n\nNot expecting this? Then ignore this "
             "e-mail; nobody can log in without the password you choose.\n",
             name=member["name"], inviter=current_user.name, shop=shop["name"], role=_role_name(member["role"]),
             link=link, validity=validity, login=base_url().rstrip("/") + url_for("workspace.login"))
    mail.send_one(config, mail.plain_message(config, to=member["email"], text=text, locale=current_locale(),
                                             subject=_("You are invited to the %(shop)s workspace", shop=shop["name"])))


@bp.get("/<shop>/settings/team", endpoint="settings_team")
@owner_required
def team(shop):
    """The shop's members with role and last login, and the invite form."""
    return _page(shop)


@bp.post("/<shop>/settings/team", endpoint="settings_team_invite")
@owner_required
def invite(shop):
    """Invite a member by e-mail: 400 with a message per field; nobody is added when the e-mail cannot go out."""
    form = request.form
    values = {"email": (form.get("email") or "").strip()[:300], "name": form.get("name") or "",
              "role": form.get("role") or ""}
    errors = {}
    email = users.normalise_email(values["email"])
    if not users.valid_email(email):
        errors["email"] = _("That is not an e-mail address.")
    try:
        values["name"] = clean_text(values["name"], multiline=False)  # the one sanitiser: no markup, no controls
    except UnsafeText as exc:
        errors["name"] = str(exc)
    if len(values["name"]) > 100:
        errors["name"] = _("%(what)s is too long: at most %(n)s characters.", what=_("The name"), n=100)
    if values["role"] not in users.SHOP_ROLES:
        errors["role"] = _("Choose owner or staff.")
    if not mail.mail_configured(current_app.config):
        errors["email"] = _("This server cannot send e-mail, so it cannot send the invitation. Add the member on the "
                            "command line instead: widgetserver users create %(shop)s EMAIL", shop=shop["slug"])
    db = get_db()
    if not errors:
        try:
            member = users.create_user(db, shop_id=shop["id"], email=values["email"], name=values["name"],
                                       role=values["role"], password=None, actor=current_user.actor)
        except StoreError as exc:
            errors["email"] = (_("This address already has an Eerlijk account. An address can belong to one shop "
                                 "only.") if exc.status == 409 else _("That is not an e-mail address."))
    if not errors:
        try:
            _send_link(shop, member)
        except (mail.MailConfigError, mail.TemporaryFailure, mail.PermanentFailure) as exc:
            current_app.logger.warning("team invitation not sent: %s", exc)
            users.remove_user(db, shop["id"], member["id"], actor=current_user.actor)  # nothing half-done
            errors["email"] = _("The invitation e-mail could not be sent, so nobody was added. Try again later.")
    if errors:
        return _page(shop, errors=errors, values=values, status=400)
    flash(_("%(email)s is invited as %(role)s: we e-mailed them a link to choose a password.",
            email=member["email"], role=_role_name(member["role"])), "success")
    return redirect(url_for("workspace.settings_team", shop=shop["slug"]), 303)


def _confirmed_if_self(member: dict) -> bool:
    return member["id"] != current_user.id or request.form.get("confirm_self") == "yes"


@bp.post("/<shop>/settings/team/<row_id:user_id>/role", endpoint="settings_team_role")
@owner_required
def change_role(shop, user_id):
    """Make a member owner or staff (400 unknown role or your own without the tick; 409 the last owner)."""
    member = _member_or_404(shop, user_id)
    role = request.form.get("role") or ""
    if role not in users.SHOP_ROLES:
        return _page(shop, row_errors={member["id"]: _("Choose owner or staff.")}, status=400)
    if role != member["role"] and not _confirmed_if_self(member):
        return _page(shop, row_errors={member["id"]: _(
            "This is your own access. Tick “Yes, my own access” to change it.")}, status=400)
    try:
        users.change_role(get_db(), shop["id"], member["id"], role, actor=current_user.actor)
    except StoreError:
        return _page(shop, row_errors={member["id"]: _(
            "The shop needs at least one owner who can log in. Make someone else owner first.")}, status=409)
    if role != member["role"]:
        flash(_("%(name)s is now %(role)s.", name=member["name"], role=_role_name(role)), "success")
    if member["id"] == current_user.id and role != "owner":
        return redirect(url_for("workspace.settings", shop=shop["slug"]), 303)  # the team page is for owners
    return redirect(url_for("workspace.settings_team", shop=shop["slug"]), 303)


@bp.post("/<shop>/settings/team/<row_id:user_id>/revoke", endpoint="settings_team_revoke")
@owner_required
def revoke(shop, user_id):
    """Remove a member (400 yourself without the tick; 409 the last owner); their sessions end at once."""
    member = _member_or_404(shop, user_id)
    if not _confirmed_if_self(member):
        return _page(shop, row_errors={member["id"]: _(
            "This is your own access. Tick “Yes, my own access” to remove it.")}, status=400)
    try:
        users.remove_user(get_db(), shop["id"], member["id"], actor=current_user.actor)
    except StoreError:
        return _page(shop, row_errors={member["id"]: _(
            "The shop needs at least one owner who can log in. Make someone else owner first.")}, status=409)
    if member["id"] == current_user.id:
        return redirect(url_for("workspace.login"), 303)  # that session ended with the account
    flash(_("%(name)s no longer has access.", name=member["name"]), "success")
    return redirect(url_for("workspace.settings_team", shop=shop["slug"]), 303)


@bp.post("/<shop>/settings/team/<row_id:user_id>/resend", endpoint="settings_team_resend")
@owner_required
def resend(shop, user_id):
    """E-mail an invited member who has not chosen a password a fresh link (400 once they have one)."""
    member = _member_or_404(shop, user_id)
    if users.has_password(member):
        return _page(shop, row_errors={member["id"]: _(
            "%(name)s has chosen a password already; they can use “Forgot your password?” on the login page.",
            name=member["name"])}, status=400)
    try:
        _send_link(shop, member)
    except (mail.MailConfigError, mail.TemporaryFailure, mail.PermanentFailure) as exc:
        current_app.logger.warning("team invitation not sent again: %s", exc)
        return _page(shop, row_errors={member["id"]: _("The e-mail could not be sent. Try again later.")}, status=503)
    flash(_("We e-mailed %(email)s a new link.", email=member["email"]), "success")
    return redirect(url_for("workspace.settings_team", shop=shop["slug"]), 303)
