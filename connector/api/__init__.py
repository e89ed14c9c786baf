"""The JSON API at ``/api/v1``: bearer-token auth, marshmallow-validated input, one core use case per route.

One module per resource (``redemptions``, ``members``); ``auth`` guards every
route; ``openapi`` describes them all from the same schemas.
"""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from connector.api import auth, members, openapi, redemptions  # noqa: E402, F401  (routes register on import)
