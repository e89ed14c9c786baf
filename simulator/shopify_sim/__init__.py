"""Local simulator of Shopify's Admin GraphQL API (2026-07) for tests, the demo and benchmarks.

Shopify is unreachable from here, so the connector's Shopify client is exercised over real
HTTP against this simulator: a schema-faithful subset of the Admin API (products/variants,
customers, orders, cancel jobs) with Shopify's userErrors, calculated query cost and leaky
bucket throttling, fault injection (429/5xx/timeouts/"executed but the answer was lost")
and signed webhook deliveries. A JSON control API under ``/_sim/`` seeds data, injects
faults and inspects what happened.

Entry points: :class:`SimServer` (background thread, ephemeral port), :func:`run`
(foreground), :func:`create_sim_app` (the Flask app), :func:`sign` (webhook HMAC) and
:func:`send_webhook` (one signed delivery).
"""

from shopify_sim.app import create_sim_app, sim_state
from shopify_sim.config import API_VERSION, SimConfig
from shopify_sim.server import SimControlError, SimServer, run
from shopify_sim.webhooks import send_webhook, sign

__all__ = [
    "API_VERSION",
    "SimConfig",
    "SimControlError",
    "SimServer",
    "create_sim_app",
    "run",
    "send_webhook",
    "sign",
    "sim_state",
]
