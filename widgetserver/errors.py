"""JSON errors for the API: one shape, `{"error": ..., "errors": {field: [messages]}}`, always 4xx for bad input."""

from __future__ import annotations

from flask import Flask, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

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
            return exc
        messages = {
            404: "Not found: check the shop slug and the path (see /api/v1/openapi.json).",
            405: f"Method {request.method} is not allowed here.",
            413: f"Request body too large: at most {app.config['MAX_CONTENT_LENGTH']} bytes.",
        }
        return error_response(exc.code or 500, messages.get(exc.code, exc.description or exc.name))
