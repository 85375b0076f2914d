"""Send due review invitations over SMTP: at most once each, retried with back-off, e-mail address erased after.

`send_due(app)` is what `widgetserver invitations send` and `serve
--send-invitations-every` run. Each invitation is claimed (status `sending`)
in its own write transaction before anything goes over the wire, so two
senders never send the same one, and a crash while sending leaves it
`sending`: it is then reported failed after an hour rather than sent again.

Temporary failures (an SMTP 4xx answer, a refused or timed-out connection,
a rejected login) put it back to `pending` with `next_attempt_at` doubling
from MAIL_RETRY_SECONDS; after MAIL_MAX_ATTEMPTS, or on a permanent 5xx
answer for the message or recipient, it becomes `failed` with `last_error`.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import threading
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import Flask, render_template
from markupsafe import Markup, escape

from widgets.i18n import language_of

from . import invitations, store
from .i18n import DEFAULT_LOCALE, _, force_locale

STALE_SENDING = timedelta(hours=1)

class MailConfigError(Exception):
    """Sending is configured incompletely; the message says which setting to add."""


class TemporaryFailure(Exception):
    """Try again later; `stop` when every other invitation would fail the same way (server or login)."""

    def __init__(self, message: str, stop: bool = False):
        super().__init__(message)
        self.stop = stop


class PermanentFailure(Exception):
    """The server refused this message or recipient for good."""


def mail_configured(config) -> bool:
    """True when MAIL_HOST is set (otherwise invitations are only links the shop sends itself)."""
    return bool(config.get("MAIL_HOST"))


def _sender(config) -> str:
    sender = config.get("MAIL_FROM") or (config.get("MAIL_USERNAME") if "@" in (config.get("MAIL_USERNAME") or "") else None)
    if not sender:
        raise MailConfigError("Set MAIL_FROM (e.g. 'Shop reviews <reviews@shop.example>') to send invitations.")
    return sender


def _base_url(config) -> str:
    if not config.get("PUBLIC_BASE_URL"):
        raise MailConfigError("Set PUBLIC_BASE_URL (e.g. 'https://reviews.shop.example') so e-mailed links "
                              "point at this server.")
    return config["PUBLIC_BASE_URL"]


def new_message(sender: str, to: str, subject: str, *, automatic: bool = False) -> EmailMessage:
    """A message with the headers every e-mail of ours has: Subject, From, To, Date and a Message-ID in the sender's
    domain; `automatic` ones (sent by the server on its own, not on a person's request) say so (RFC 3834)."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = to
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)
    if automatic:
        message["Auto-Submitted"] = "auto-generated"
    return message


def build_message(app: Flask, invitation: dict, shop: dict, sender: str, url: str) -> EmailMessage:
    """The invitation e-mail: plain text plus an HTML alternative, in the invitation's language."""
    locale = language_of(invitation["locale"]) or DEFAULT_LOCALE
    values = {"shop": shop["name"], "name": invitation["customer_name"], "order": invitation["order_ref"],
              "date": store.parse_time(invitation["expires_at"]).strftime("%Y-%m-%d")}
    # The HTML part isolates the names (customer, shop, order) in <bdi>: an RTL name or a stray U+202E
    # can't reorder the sentence around it. Messages are translated unformatted, then filled twice.
    isolated = {k: Markup("<bdi>{}</bdi>").format(v) if k != "date" else v for k, v in values.items()}
    with app.app_context(), force_locale(locale):
        messages = {
            "subject": _("%(shop)s: how was your order?"),
            "greeting": _("Hello %(name)s,"),
            "intro": _("Thank you for your order %(order)s at %(shop)s. Would you tell other shoppers how it went? Every review is published, positive or negative."),
            "button": _("Write your review"),
            "valid": _("This link is personal: it lets you write your review until %(date)s. Once it is published, we e-mail you a private link with which only you can change or withdraw it."),
            "privacy": _("%(shop)s gave us your e-mail address only for this invitation. We keep it until %(date)s only to send you the private link to your review, to ask you once whether an issue you raise was resolved, and to tell you if a moderator decides on a report about your review. Then we erase it."),
        }
        text = {key: message % values for key, message in messages.items()}
        html_text = {key: Markup(escape(message)) % isolated for key, message in messages.items()}
        html = render_template("collect/invitation_email.html", locale=locale, subject=text["subject"], text=html_text,
                               url=url)
    message = new_message(sender, invitation["email"], text["subject"])
    message.set_content(
        f"{text['greeting']}\n\n{text['intro']}\n\n{text['button']}:\n{url}\n\n{text['valid']}\n\n{text['privacy']}\n"
    )
    message.add_alternative(html, subtype="html")
    message["Content-Language"] = locale  # after add_alternative, which moves Content-* headers into the part
    return message


class Connection:
    """One SMTP session for a batch, opened on first use and reopened after a drop."""

    def __init__(self, config):
        self.config = config
        self.smtp: smtplib.SMTP | None = None

    def open(self) -> smtplib.SMTP:
        """Connect, STARTTLS if asked, log in if a user is set."""
        config = self.config
        use_ssl = bool(config.get("MAIL_USE_SSL"))
        port = config.get("MAIL_PORT") or (465 if use_ssl else 587 if config.get("MAIL_USE_TLS") else 25)
        timeout = config.get("MAIL_TIMEOUT", 30)
        context = ssl.create_default_context()
        if use_ssl:
            smtp = smtplib.SMTP_SSL(config["MAIL_HOST"], port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(config["MAIL_HOST"], port, timeout=timeout)
            if config.get("MAIL_USE_TLS"):
                smtp.starttls(context=context)
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        return smtp

    def send(self, message: EmailMessage) -> None:
        """Send one message, classifying what goes wrong.

        :raise TemporaryFailure: 4xx answers, connection problems, a refused login.
        :raise PermanentFailure: 5xx answers for this message or recipient.
        """
        try:
            if self.smtp is None:
                self.smtp = self.open()
            self.smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            self._raise(code, text)
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            raise TemporaryFailure(f"login refused: {exc.smtp_code} {_text(exc.smtp_error)}", stop=True) from None
        except smtplib.SMTPSenderRefused as exc:
            raise TemporaryFailure(f"sender refused (check MAIL_FROM): {exc.smtp_code} {_text(exc.smtp_error)}",
                                   stop=True) from None
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code in (421, -1):
                self.close()
            self._raise(exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPException, OSError, socket.timeout) as exc:
            self.close()
            raise TemporaryFailure(f"cannot reach {self.config['MAIL_HOST']}: {exc or type(exc).__name__}",
                                   stop=True) from None

    @staticmethod
    def _raise(code: int, text) -> None:
        message = f"{code} {_text(text)}"
        if 500 <= code < 600:
            raise PermanentFailure(message)
        raise TemporaryFailure(message)

    def close(self) -> None:
        """Quit the session if one is open."""
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.smtp = None


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def tidy(db) -> dict:
    """Expire unused links, erase addresses no longer needed, report interrupted sends as failed."""
    now = store.utcnow()
    with store.write(db):
        db.execute("DELETE FROM invitation_contacts WHERE erase_at <= ?", [store.format_time(now)])
        expired = db.execute(
            "UPDATE invitations SET status = 'expired', email = NULL WHERE status = 'pending' AND expires_at <= ?",
            [store.format_time(now)]).rowcount
        db.execute("UPDATE invitations SET email = NULL WHERE email IS NOT NULL AND (expires_at <= ?"
                   " OR status IN ('sent', 'used', 'withdrawn', 'failed', 'expired'))", [store.format_time(now)])
        db.execute("UPDATE invitations SET customer_name = '' WHERE customer_name != '' AND expires_at <= ?",
                   [store.format_time(now)])
        stale = db.execute(
            "UPDATE invitations SET status = 'failed', email = NULL, last_error = ?"
            " WHERE status = 'sending' AND claimed_at <= ?",
            ["interrupted while sending: it may or may not have arrived, so it is not sent again",
             store.format_time(now - STALE_SENDING)]).rowcount
    return {"expired": expired, "interrupted": stale}


def _claim(db, max_attempts: int) -> dict | None:
    """Take the next due invitation (status `sending`, one more attempt), or None."""
    now = store.now_text()
    with store.write(db):
        row = db.execute(
            "SELECT id FROM invitations WHERE status = 'pending' AND email IS NOT NULL AND send_at <= ?"
            " AND (next_attempt_at IS NULL OR next_attempt_at <= ?) AND attempts < ? ORDER BY send_at, id LIMIT 1",
            [now, now, max_attempts]).fetchone()
        if row is None:
            return None
        db.execute("UPDATE invitations SET status = 'sending', attempts = attempts + 1, claimed_at = ? WHERE id = ?",
                   [now, row[0]])
    return invitations.get_invitation(db, row[0])


def _record(db, invitation: dict, outcome: str, error: str | None, config) -> str:
    """Store the result of one attempt; returns the new status."""
    now = store.utcnow()
    with store.write(db):
        if outcome == "sent":
            from .followup import keep_contact  # late: followup imports this module

            keep_contact(db, invitation)  # kept until the link expires, only for the "resolved" follow-up
            # A link used while it was being sent stays 'used'.
            db.execute("UPDATE invitations SET status = CASE status WHEN 'sending' THEN 'sent' ELSE status END,"
                       " email = NULL, sent_at = ?, last_error = NULL, next_attempt_at = NULL, claimed_at = NULL"
                       " WHERE id = ?", [store.format_time(now), invitation["id"]])
            return "sent"
        attempts = invitation["attempts"]
        if outcome == "temporary" and attempts < config["MAIL_MAX_ATTEMPTS"]:
            delay = timedelta(seconds=config["MAIL_RETRY_SECONDS"] * 2 ** (attempts - 1))
            db.execute("UPDATE invitations SET status = 'pending', next_attempt_at = ?, last_error = ?,"
                       " claimed_at = NULL WHERE id = ? AND status = 'sending'",
                       [store.format_time(now + delay), error, invitation["id"]])
            return "pending"
        if outcome == "temporary":
            error = f"gave up after {attempts} attempts; last: {error}"
        db.execute("UPDATE invitations SET status = 'failed', email = NULL, last_error = ?, claimed_at = NULL"
                   " WHERE id = ? AND status = 'sending'", [error, invitation["id"]])
        return "failed"


def send_due(app: Flask, db=None, limit: int = 1000) -> dict:
    """Send every invitation that is due; returns counts (sent, retry, failed, expired, interrupted, waiting).

    Without MAIL_HOST nothing is sent (`waiting` counts what would be due).
    :raise MailConfigError: MAIL_HOST is set but MAIL_FROM or PUBLIC_BASE_URL is missing.
    """
    config = app.config
    own = db is None
    db = db or store.connect(config["DATABASE"])
    try:
        counts = {"sent": 0, "retry": 0, "failed": 0, **tidy(db)}
        if not mail_configured(config):
            now = store.now_text()
            counts["waiting"] = db.execute(
                "SELECT count(*) FROM invitations WHERE status = 'pending' AND email IS NOT NULL AND send_at <= ?",
                [now]).fetchone()[0]
            return counts
        sender, base = _sender(config), _base_url(config)
        connection = Connection(config)
        try:
            for _ in range(limit):
                invitation = _claim(db, config["MAIL_MAX_ATTEMPTS"])
                if invitation is None:
                    break
                shop = store.get_shop(db, db.execute("SELECT slug FROM shops WHERE id = ?",
                                                     [invitation["shop_id"]]).fetchone()[0])
                url = invitations.review_url(base, config["SECRET_KEY"], invitation)
                stop = False
                try:
                    connection.send(build_message(app, invitation, shop, sender, url))
                    outcome, error = "sent", None
                except TemporaryFailure as exc:
                    outcome, error, stop = "temporary", str(exc), exc.stop
                except PermanentFailure as exc:
                    outcome, error = "permanent", str(exc)
                status = _record(db, invitation, outcome, error, config)
                counts[{"sent": "sent", "pending": "retry", "failed": "failed"}[status]] += 1
                if stop:
                    break  # the server or login is the problem: the others would fail the same way
        finally:
            connection.close()
        return counts
    finally:
        if own:
            db.conn.close()


def periodic_thread(app: Flask, every: float, job, *, name: str, label: str, keys: tuple[str, ...],
                    failure: str) -> threading.Thread:
    """Run `job(app)` every `every` seconds in a daemon thread, logging its counts when any of `keys` moved.

    Set the returned thread's `stop` event to end it.
    """
    stop = threading.Event()

    def loop():
        while not stop.wait(every):
            try:
                counts = job(app)
                if any(counts[key] for key in keys):
                    app.logger.info("%s: %s", label, counts)
            except Exception:  # keep the loop alive; the next round tries again
                app.logger.exception(failure)

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.stop = stop
    thread.start()
    return thread


def start_sender_thread(app: Flask, every: float) -> threading.Thread:
    """Run `send_due` every `every` seconds in a daemon thread (for `serve --send-invitations-every`)."""
    return periodic_thread(app, every, send_due, name="invitation-sender", label="invitations",
                           keys=("sent", "retry", "failed"), failure="sending invitations failed")


def send_one(config, message: EmailMessage) -> None:
    """Send one message now over a fresh SMTP session (password resets and other one-off mail).

    :raise MailConfigError: MAIL_HOST is not set.
    :raise TemporaryFailure, PermanentFailure: as `Connection.send`.
    """
    if not mail_configured(config):
        raise MailConfigError("Set MAIL_HOST (and MAIL_FROM) to send e-mail.")
    connection = Connection(config)
    try:
        connection.send(message)
    finally:
        connection.close()


def plain_message(config, *, to: str, subject: str, text: str, locale: str = "en") -> EmailMessage:
    """A plain-text message from MAIL_FROM to `to`.

    :raise MailConfigError: no sender configured.
    """
    sender = _sender(config)
    message = new_message(sender, to, subject)
    message["Content-Language"] = locale
    message.set_content(text)
    return message
