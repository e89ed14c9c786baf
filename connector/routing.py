"""URL converters every blueprint shares: the API's, the console's and any plugin's routes."""

from __future__ import annotations

from typing import Any

from werkzeug.exceptions import NotFound
from werkzeug.routing import BaseConverter

from connector.api.schemas import ID_MAX, STORED_ID_MAX


class IdConverter(BaseConverter):
    """``<id:name>``: a record id in a path, ASCII digits from 1 to 2**63 - 1.

    werkzeug's ``int`` takes any size, which SQLite (OverflowError) and PostgreSQL ("out of range")
    answered with a 500. An id out of range, or past any id a row can have, is refused here with
    404, like an id that does not exist; raising ``NotFound`` (rather than failing the match, which
    werkzeug's matcher reports as 405 when the same path has a route for another method) keeps the
    answer the same for every method. The console's pages and actions use it as the API does.
    """

    regex = r"[0-9]+"
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= ID_MAX or number > STORED_ID_MAX:  # out of range, or past any stored id
            raise NotFound()
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))


class RefConverter(BaseConverter):
    """``<ref:name>``: a loyalty platform's own id for a record (``core.platform_refs.REF_PATTERN``)."""

    regex = r"[A-Za-z0-9._:@+\-]{1,100}"
    part_isolating = True


#: Registered on the app before any blueprint, so every rule may use them.
CONVERTERS: dict[str, type[BaseConverter]] = {"id": IdConverter, "ref": RefConverter}
