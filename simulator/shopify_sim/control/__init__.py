"""The JSON control API under ``/_sim/``: one blueprint per resource (OAuth's are in :mod:`shopify_sim.oauth_routes`).

Tests, the demo and the benchmarks seed data, inject faults and inspect what happened through it.
"""

from shopify_sim.control import catalog, orders, settings, webhooks

#: Registered by :func:`shopify_sim.app.create_sim_app`.
CONTROL_BLUEPRINTS = (settings.bp, catalog.bp, orders.bp, webhooks.bp)

__all__ = ["CONTROL_BLUEPRINTS"]
