"""What every control route shares: its blueprint (under ``/_sim``, with the error answers), the body, deliveries.

The control API has no authentication: the simulator only listens on 127.0.0.1.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from shopify_sim.json_response import json_response
from shopify_sim.mutations import ControlError
from shopify_sim.webhooks import Delivery


def _control_error(exc: ControlError) -> Response:
    return json_response({"error": str(exc)}, exc.status)


def _value_error(exc: ValueError) -> Response:
    return json_response({"error": str(exc)}, 400)


def control_blueprint(name: str) -> Blueprint:
    """A blueprint for one resource's control routes: under ``/_sim``, a bad request answered as JSON."""
    bp = Blueprint(f"shopify_sim_control_{name}", __name__, url_prefix="/_sim")
    bp.register_error_handler(ControlError, _control_error)
    bp.register_error_handler(ValueError, _value_error)
    return bp


def request_body() -> dict[str, Any]:
    """The request's JSON object (empty when there is none)."""
    data = request.get_json(silent=True)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ControlError("request body must be a JSON object")
    return data


def deliveries_json(deliveries: list[Delivery | None]) -> list[dict[str, Any]]:
    """The deliveries that happened, as JSON."""
    return [d.as_dict() for d in deliveries if d is not None]
