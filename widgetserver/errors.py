"""Errors: JSON for the API in one shape, `{"error": ..., "errors": {field: [messages]}}`, always 4xx for bad input;
a styled page in the visitor's language for everything else."""

from __future__ import annotations

from urllib.parse import quote

from flask import Flask, current_app, jsonify, make_response, render_template, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from .i18n import _, current_locale, use_shop_locale
from .store import StoreError


class APIError(Exception):
    """An error answered as JSON with a status and optional per-field messages."""

    def __init__(self, status: int, message: str, errors: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or {}


def error_response(status: int, message: str, errors: dict | None = None):
    """The JSON body and status every API error uses."""
    response = jsonify({"error": message, "errors": errors or {}})
    response.status_code = status
    return response


def _flatten(messages) -> dict:
    """marshmallow's nested messages as {field: [messages]} with dotted paths."""
    out: dict = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list):
            if all(isinstance(v, str) for v in value):
                out.setdefault(prefix or "_schema", []).extend(value)
            else:
                for v in value:
                    walk(prefix, v)
        else:
            out.setdefault(prefix or "_schema", []).append(str(value))

    walk("", messages)
    return out


def _error_texts(status: int) -> tuple[str, str]:
    """A title and what to do, in the request's language."""
    if status == 404:
        return _("Page not found"), _("There is no page at this address. The link may be incomplete, or the page has moved.")
    if status == 405:
        return _("This is not possible here"), _("This page cannot be used this way. Go back and try again.")
    if status == 413:
        return _("Too much was sent"), _("What you sent is larger than this server accepts. Please shorten it and try again.")
    if status == 429:
        return _("Too many requests"), _("Please wait a moment and try again.")
    if 400 <= status < 500:
        return _("This address is not valid"), _("Something in the address or the form is not right. Go back and try again.")
    return _("Something went wrong on our side"), _("The problem has been logged. Please try again in a moment.")


def error_page(exc: HTTPException):
    """A styled error page in the request's language (?locale=, Accept-Language, the shop's), with a way back."""
    from . import get_db, store

    status = exc.code or 500
    shop = None
    parts = request.path.split("/")
    if len(parts) > 2 and parts[1] == "s" and parts[2]:
        try:
            shop = store.get_shop(get_db(), parts[2])
        except Exception:  # noqa: BLE001 - an error page must not fail on its own lookup
            shop = None
    if shop is not None:
        use_shop_locale(shop)
    title, text = _error_texts(status)
    detail = exc.description if 400 <= status < 500 and status != 404 else None
    # A path, not base_url(): the error may be about the Host header itself (TRUSTED_HOSTS).
    shop_url = f"{request.script_root}/s/{quote(shop['slug'])}" if shop else None
    try:
        html = render_template("errors/error.html", status=status, title=title, text=text, detail=detail, shop=shop,
                               shop_url=shop_url, locale=current_locale())
    except Exception:  # noqa: BLE001 - the error page must never turn one error into another
        current_app.logger.exception("error page for %s failed", status)
        html = f"<!doctype html><title>{status}</title><h1>{status}</h1>"
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Accept-Language")
    for name, value in exc.get_headers():
        if name.lower() in ("allow", "retry-after"):
            response.headers[name] = value
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register(app: Flask) -> None:
    """Install the handlers that turn errors into JSON on API paths."""

    @app.errorhandler(APIError)
    def api_error(exc: APIError):
        return error_response(exc.status, exc.message, exc.errors)

    @app.errorhandler(ValidationError)
    def validation_error(exc: ValidationError):
        return error_response(400, "The request has invalid fields; see errors.", _flatten(exc.messages))

    @app.errorhandler(StoreError)
    def store_error(exc: StoreError):
        errors = {exc.field: [exc.message]} if exc.field else {}
        return error_response(exc.status, exc.message, errors)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if not _wants_json():
            return error_page(exc)
        messages = {
            404: "Not found: check the shop slug and the path (see /api/v1/openapi.json).",
            405: f"Method {request.method} is not allowed here.",
            413: f"Request body too large: at most {app.config['MAX_CONTENT_LENGTH']} bytes.",
        }
        response = error_response(exc.code or 500, messages.get(exc.code, exc.description or exc.name))
        for name, value in exc.get_headers():  # Allow on a 405, Retry-After, ...: the JSON body must not lose them
            if name.lower() != "content-type":
                response.headers[name] = value
        return response
