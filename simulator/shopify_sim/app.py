"""The simulator's Flask app: the Admin GraphQL endpoint, the JSON control API under ``/_sim/`` and OAuth.

Where each part lives:

* :mod:`shopify_sim.graphql_route`: ``POST /admin/api/<version>/graphql.json`` and its request pipeline
  (token, latency, validation, faults, leaky bucket, execution, after-effect faults);
* :mod:`shopify_sim.control`: the control API, one blueprint per resource (settings, catalog, orders,
  webhooks);
* :mod:`shopify_sim.oauth_routes`: Shopify's OAuth endpoints and their controls;
* :mod:`shopify_sim.state`: :class:`SimState`, what one instance owns.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from shopify_sim.config import SimConfig
from shopify_sim.control import CONTROL_BLUEPRINTS
from shopify_sim.graphql_route import UNAUTHORIZED_BODY, VERSION_PATTERN, graphql_bp
from shopify_sim.oauth_routes import oauth_bp, oauth_control_bp
from shopify_sim.resolvers import executable_schema
from shopify_sim.state import EXTENSION_KEY, REQUEST_LOG_SIZE, SimState, Stats, sim_state

__all__ = [
    "EXTENSION_KEY",
    "REQUEST_LOG_SIZE",
    "UNAUTHORIZED_BODY",
    "VERSION_PATTERN",
    "SimState",
    "Stats",
    "create_sim_app",
    "graphql_bp",
    "sim_state",
]


def create_sim_app(**config: Any) -> Flask:
    """Build the simulator's Flask app; ``config`` keys are :class:`SimConfig` fields.

    ``None`` values keep the default (so a CLI can pass every option through unchanged).
    The state lives in ``app.extensions["shopify_sim"]`` (see :func:`sim_state`).
    """
    settings = SimConfig()
    settings.update({key: value for key, value in config.items() if value is not None})
    app = Flask("shopify_sim")
    app.extensions[EXTENSION_KEY] = SimState(settings)
    app.register_blueprint(graphql_bp)
    for blueprint in CONTROL_BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.register_blueprint(oauth_bp)
    app.register_blueprint(oauth_control_bp)
    executable_schema()  # build now, not on the first request
    return app
