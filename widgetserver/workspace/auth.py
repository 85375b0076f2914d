"""Workspace login, logout and password reset by e-mail.

Failed logins are limited per e-mail address and per client address
(LOGIN_MAX_FAILURES / LOGIN_MAX_FAILURES_PER_ADDRESS within
LOGIN_FAILURE_WINDOW seconds) in SQLite through widgetserver/ratelimit.py, so
the limit holds across workers; a limited login answers 429 without checking
the password, and a successful one forgets that address's failures. The
e-mail address is only kept as a keyed hash in the limit's key. A reset link is e-mailed through the SMTP settings of
widgetserver/mail.py; the page answers the same whether or not the address
has an account, so it tells nobody who has one.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

import hashlib
import hmac

from .. import get_db, mail, ratelimit
from ..links import base_url
from . import User, _, bp, safe_next, users


def _email_key(email: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, users.normalise_email(email).encode(), hashlib.sha256).hexdigest()[:32]
    return f"login-email:{digest}"


def _limits(email: str) -> tuple[ratelimit.Limit, ratelimit.Limit]:
    """Failed logins allowed for this e-mail address and for this client."""
    config = current_app.config
    window = config["LOGIN_FAILURE_WINDOW"]
    return (ratelimit.Limit(_email_key(email), config["LOGIN_MAX_FAILURES"], window),
            ratelimit.Limit(f"login-client:{ratelimit.client_key()}", config["LOGIN_MAX_FAILURES_PER_ADDRESS"], window))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login form (GET) and its check (POST): 400 wrong details, 429 too many failures."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(request.args.get("next")) or url_for("workspace.home"))
    email = (request.form.get("email") or "").strip()[:254]
    error, status = None, 200
    if request.method == "POST":
        db, limits = get_db(), _limits(email)
        password = request.form.get("password") or ""
        wait = ratelimit.wait_for(db, *limits)
        if wait:
            error, status = _("Too many failed attempts. Wait %(minutes)s minutes, or reset your password.",
                              minutes=ratelimit.minutes(wait)), 429
        else:
            row = users.authenticate(db, email, password[:users.PASSWORD_MAX])
            if row is None:
                ratelimit.attempt(db, *limits)  # count the failure
                error, status = _("That e-mail address and password do not match an account."), 400
            else:
                ratelimit.forget(db, limits[0].key)
                users.record_login(db, row["id"])
                login_user(User(row))
                return redirect(safe_next(request.form.get("next")) or url_for("workspace.home"))
    return render_template("workspace/login.html", email=email, error=error,
                           next=safe_next(request.values.get("next")) or ""), status


@bp.post("/logout")
@login_required
def logout():
    """End the session (a POST with the CSRF token, so another site cannot log you out)."""
    logout_user()
    flash(_("You are logged out."), "notice")
    return redirect(url_for("workspace.login"))


@bp.route("/reset", methods=["GET", "POST"])
def reset_request():
    """Ask for a password reset link by e-mail; the answer never says whether the address has an account."""
    sent = False
    error = None
    if request.method == "POST":
        config = current_app.config
        email = users.normalise_email(request.form.get("email") or "")[:254]
        db = get_db()
        if not mail.mail_configured(config):
            error = _("This server cannot send e-mail. Ask your shop's owner or the operator to set a new "
                      "password for you (widgetserver users password).")
        elif ratelimit.attempt(db, *_limits(email)):
            # Each request counts like a failed login, so the form can't flood someone's mailbox.
            error = _("Too many attempts. Wait a while and try again.")
        else:
            row = users.user_by_email(db, email)
            if row is not None and not row["disabled_at"]:
                _send_reset(row)
            sent = True
    return render_template("workspace/reset_request.html", sent=sent, error=error), 400 if error else 200


def _send_reset(row: dict) -> None:
    config = current_app.config
    token = users.reset_token(config["SECRET_KEY"], row)
    link = base_url().rstrip("/") + url_for("workspace.reset_password", token=token)
    hours = max(1, config["PASSWORD_RESET_MAX_AGE"] // 3600)
    text = _("Hello %(name)s,\n\nSomeone (hopefully you) asked to reset the password of your Eerlijk workspace "
             "account. Choose a new password here:\n\n%(link)s\n\nThe link works once and for %(hours)s hour(s). "
             "If you did not ask for it, ignore this e-mail: your password stays as it is.\n",
             name=row["name"], link=link, hours=hours)
    try:
        mail.send_one(config, mail.plain_message(config, to=row["email"], subject=_("Reset your Eerlijk password"),
                                                 text=text))
    except (mail.MailConfigError, mail.TemporaryFailure, mail.PermanentFailure) as exc:
        current_app.logger.warning("password reset e-mail not sent: %s", exc)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token):
    """Choose a new password with an e-mailed link: 400 for an expired, used or forged link."""
    db, config = get_db(), current_app.config
    row = users.user_for_reset_token(db, config["SECRET_KEY"], token, config["PASSWORD_RESET_MAX_AGE"],
                                     invite_max_age=config["TEAM_INVITE_MAX_AGE"])
    if row is None:
        return render_template("workspace/reset_password.html", invalid=True, errors={}), 400
    welcome = not users.has_password(row)  # an invited member choosing their first password
    errors = {}
    if request.method == "POST":
        password = request.form.get("password") or ""
        if password != (request.form.get("confirm") or ""):
            errors["confirm"] = _("The two passwords differ; type the same password twice.")
        else:
            problem = users.check_password_rules(password)
            if problem:
                errors["password"] = _("Use %(low)s to %(high)s characters.", low=users.PASSWORD_MIN,
                                       high=users.PASSWORD_MAX)
            else:
                users.set_password(db, row["id"], password, actor=f"user:{row['id']}")
        if not errors:
            ratelimit.forget(db, _email_key(row["email"]))
            flash(_("Your password is changed. Log in with the new one."), "notice")
            return redirect(url_for("workspace.login"))
    return render_template("workspace/reset_password.html", invalid=False, errors=errors, welcome=welcome,
                           min_length=users.PASSWORD_MIN), 400 if errors else 200
