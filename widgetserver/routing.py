"""The URL converter for row ids, used by every route that takes one (`<row_id:review_id>`).

Werkzeug's `int` converter reads Unicode digits ("٣" is 3) and, with a `max`, refuses a huge id only after the
rule was chosen: when another rule for the same path allows a different method, the request is then answered
405 naming only that method (GET .../resolved answered "405, Allow: POST"). Without a `max` the id reached
SQLite and overflowed (a 500). This converter takes ASCII digits only and answers a 404 for an id no row can
have, whatever the method.
"""

from __future__ import annotations

from werkzeug.exceptions import NotFound
from werkzeug.routing import BaseConverter

from .store import MAX_ROW_ID


class RowIdConverter(BaseConverter):
    """A row id in a path: ASCII digits; past SQLite's largest integer it is a 404 (never an overflow or a 405)."""

    regex = r"[0-9]+"
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ROW_ID:
            raise NotFound(f"No item has the id {value[:30]}.")
        return number

    def to_url(self, value) -> str:
        return str(int(value))


def init_app(app) -> None:
    """Register the converter; call before any blueprint is registered."""
    app.url_map.converters["row_id"] = RowIdConverter
