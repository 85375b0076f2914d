"""Operational endpoints: health check."""

from flask import Blueprint

bp = Blueprint("meta", __name__)


@bp.get("/healthz")
def healthz():
    """Liveness and database check for load balancers."""
    from . import get_db

    get_db().execute("SELECT 1").fetchone()
    return {"status": "ok"}
