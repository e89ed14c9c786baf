"""The JSON API at ``/api/v1``: bearer-token auth, marshmallow-validated input, one core use case per route.

One module per resource (``redemptions``, ``members``, and the frequent-buyer ``programs``,
``pos_reports``, ``distribution``, ``retailer_credits``); ``auth`` guards every
route; ``openapi`` describes them all from the same schemas.
"""

from typing import Any

from flask import Blueprint
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import IntegerConverter

from connector.api.schemas import ID_MAX


class IdConverter(IntegerConverter):
    """``<id:name>``: a path id from 1 to 2**63 - 1, digits only.

    Anything else does not match the route, so it answers 404 like an id that does not exist;
    werkzeug's plain ``int`` takes any size, which SQLite (OverflowError) and PostgreSQL
    ("out of range") answered with a 500.
    """

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's signature
        super().__init__(map, fixed_digits=0, min=1, max=ID_MAX)


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
