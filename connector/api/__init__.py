"""The JSON API at ``/api/v1``: bearer-token auth, marshmallow-validated input, one core use case per route.

One module per resource (``redemptions``, ``members``, and the frequent-buyer ``programs``,
``pos_reports``, ``distribution``, ``retailer_credits``); ``auth`` guards every
route; ``openapi`` describes them all from the same schemas.
"""

from typing import Any

from flask import Blueprint
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import NotFound
from werkzeug.routing import BaseConverter

from connector.api.schemas import ID_MAX, STORED_ID_MAX


class IdConverter(BaseConverter):
    """``<id:name>``: a path id, ASCII digits from 1 to 2**63 - 1.

    werkzeug's ``int`` takes any size, which SQLite (OverflowError) and PostgreSQL ("out of range")
    answered with a 500. An id out of range is refused here with 404, like an id that does not
    exist; raising ``NotFound`` (rather than failing the match, which werkzeug's matcher reports as
    405 when the same path has a route for another method) keeps the answer the same for every method.
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


bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.record_once
def _register_id_converter(state: BlueprintSetupState) -> None:
    # Deferred setup runs in order, so the converter is known before the first ``<id:...>`` rule is added.
    state.app.url_map.converters.setdefault("id", IdConverter)


from connector.api import (  # noqa: E402, F401  (routes register on import)
    auth,
    distribution,
    members,
    openapi,
    pos_reports,
    programs,
    redemptions,
    retailer_credits,
)
