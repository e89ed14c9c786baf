"""Control routes for orders: look them up, fulfil them, move a fulfillment's shipment status."""

from __future__ import annotations

from flask import Response, request

from shopify_sim.control.common import control_blueprint, deliveries_json, request_body
from shopify_sim.json_response import json_response
from shopify_sim.mutations import ControlError, fulfil_order, update_fulfillment
from shopify_sim.payloads import fulfillment_payload, order_payload
from shopify_sim.state import sim_state

bp = control_blueprint("orders")


@bp.get("/orders")
def list_orders() -> Response:
    """Every order incl. cancelled, REST-shaped; filters ``source_identifier``, ``tag``, ``name``, ``email``."""
    state = sim_state()
    args = request.args
    with state.store.lock:
        orders = []
        for order in sorted(state.store.orders.values(), key=lambda o: o.id):
            if "source_identifier" in args and order.source_identifier != args["source_identifier"]:
                continue
            if "tag" in args and args["tag"].lower() not in {t.lower() for t in order.tags}:
                continue
            if "name" in args and order.name.lstrip("#") != args["name"].lstrip("#"):
                continue
            if "email" in args and (order.email or "").lower() != args["email"].lower():
                continue
            orders.append(order_payload(state.store, order))
    return json_response({"orders": orders, "count": len(orders)})


@bp.get("/orders/<int:order_id>")
def get_order(order_id: int) -> Response:
    """One order, REST-shaped."""
    state = sim_state()
    with state.store.lock:
        order = state.store.orders.get(order_id)
        if order is None:
            raise ControlError(f"no order {order_id}", 404)
        return json_response({"order": order_payload(state.store, order)})


@bp.post("/orders/<int:order_id>/fulfil")
@bp.post("/orders/<int:order_id>/fulfill")
def fulfil(order_id: int) -> Response:
    """Fulfil an order; sends ``fulfillments/create`` then ``orders/fulfilled`` (synchronously).

    Body (all optional): ``shipment_status``, ``status``, ``tracking_number``,
    ``tracking_url``, ``tracking_company``.
    """
    state = sim_state()
    with state.store.lock:
        order = state.store.orders.get(order_id)
        if order is None:
            raise ControlError(f"no order {order_id}", 404)
        fulfillment = fulfil_order(state.store, order, request_body())
        f_payload = fulfillment_payload(state.store, fulfillment)
        o_payload = order_payload(state.store, order)
    deliveries = [
        state.webhooks.emit("fulfillments/create", f_payload, sync=True),
        state.webhooks.emit("orders/fulfilled", o_payload, sync=True),
    ]
    return json_response({"fulfillment": f_payload, "order": o_payload, "webhooks": deliveries_json(deliveries)}, 201)


@bp.post("/fulfillments/<int:fulfillment_id>/update")
def fulfillment_update(fulfillment_id: int) -> Response:
    """Change a fulfillment (``shipment_status`` etc.); sends ``fulfillments/update``."""
    state = sim_state()
    with state.store.lock:
        fulfillment = state.store.fulfillments.get(fulfillment_id)
        if fulfillment is None:
            raise ControlError(f"no fulfillment {fulfillment_id}", 404)
        update_fulfillment(state.store, fulfillment, request_body())
        payload = fulfillment_payload(state.store, fulfillment)
    delivery = state.webhooks.emit("fulfillments/update", payload, sync=True)
    return json_response({"fulfillment": payload, "webhooks": deliveries_json([delivery])})
