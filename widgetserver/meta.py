"""Operational endpoints: health check."""

from flask import Blueprint

bp = Blueprint("meta", __name__)


@bp.get("/healthz")
def healthz():
    """Liveness and database check for load balancers."""
    from . import get_db

    get_db().execute("SELECT 1").fetchone()
    return {"status": "ok"}


FAVICON = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path fill="#a85400" '
    b'd="M12 1.8l3.1 6.6 7.2.8-5.4 4.9 1.5 7.1L12 17.6l-6.4 3.6 1.5-7.1L1.7 9.2l7.2-.8z"/></svg>'
)


@bp.get("/favicon.ico")
def favicon():
    """A star, so hosted pages and the review form don't log a 404 for the icon browsers ask for."""
    from flask import Response

    return Response(FAVICON, mimetype="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})
