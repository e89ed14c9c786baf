"""Control routes for webhooks: send or redeliver an event, the delivery log, wait for deliveries."""

from __future__ import annotations

from typing import Any

from flask import Response

from shopify_sim.control.common import control_blueprint, deliveries_json, request_body
from shopify_sim.json_response import json_response
from shopify_sim.mutations import ControlError
from shopify_sim.payloads import (
    customer_payload,
    customers_data_request_payload,
    customers_redact_payload,
    fulfillment_payload,
    order_payload,
    product_payload,
    shop_redact_payload,
)
from shopify_sim.state import SimState, sim_state
from shopify_sim.store import next_id
from shopify_sim.webhooks import make_event

bp = control_blueprint("webhooks")


def _payload_for(state: SimState, topic: str, data: dict[str, Any]) -> Any:
    """Build a topic's payload from current state when the request names a record."""
    store = state.store
    with store.lock:
        if data.get("order_id") is not None:
            order = store.orders.get(int(data["order_id"]))
            if order is None:
                raise ControlError(f"no order {data['order_id']}", 404)
            return order_payload(store, order)
        if data.get("fulfillment_id") is not None:
            fulfillment = store.fulfillments.get(int(data["fulfillment_id"]))
            if fulfillment is None:
                raise ControlError(f"no fulfillment {data['fulfillment_id']}", 404)
            return fulfillment_payload(store, fulfillment)
        if data.get("product_id") is not None:
            product = store.products.get(int(data["product_id"]))
            if product is None:
                raise ControlError(f"no product {data['product_id']}", 404)
            return product_payload(store, product)
        if topic == "shop/redact":
            return shop_redact_payload(state.config)
        if data.get("customer_id") is not None:
            customer = store.customers.get(int(data["customer_id"]))
            if customer is None:
                raise ControlError(f"no customer {data['customer_id']}", 404)
            brief = {"id": customer.id, "email": customer.email, "phone": customer.phone}
            order_ids = [o.id for o in store.orders.values() if o.customer_id == customer.id]
            if topic == "customers/redact":
                return customers_redact_payload(state.config, brief, order_ids)
            if topic == "customers/data_request":
                return customers_data_request_payload(state.config, brief, order_ids, next_id())
            return customer_payload(customer)
    raise ControlError(
        "give 'payload', 'raw_body', or a record id (order_id, customer_id, fulfillment_id, "
        "product_id) to build the payload from"
    )


@bp.post("/webhooks/send")
def send() -> Response:
    """Deliver one event, ``repeat`` times (same Event-Id, new Webhook-Id each time).

    Body: ``topic`` (required), then ``payload`` (JSON), ``raw_body`` (string sent and
    signed as-is) or a record id to build the payload from state; optional ``repeat``,
    ``headers`` (override/add headers after signing; ``null`` removes one) and ``url``.
    """
    state = sim_state()
    data = request_body()
    topic = data.get("topic")
    if not topic:
        raise ControlError("'topic' is required")
    url = data.get("url") or state.config.webhook_target_url
    if not url:
        raise ControlError("no webhook_target_url configured and no 'url' given")
    if "raw_body" in data:
        event = make_event(topic, body=str(data["raw_body"]).encode("utf-8"), url=url)
    else:
        payload = data["payload"] if "payload" in data else _payload_for(state, topic, data)
        event = make_event(topic, payload, url=url)
    state.webhooks.remember(event)
    repeat = max(1, int(data.get("repeat", 1)))
    deliveries = [state.webhooks.deliver(event, headers=data.get("headers")) for _ in range(repeat)]
    return json_response(
        {
            "event_id": event.event_id,
            "topic": topic,
            "statuses": [d.status for d in deliveries],
            "deliveries": deliveries_json(list(deliveries)),
        }
    )


@bp.post("/webhooks/redeliver")
def redeliver() -> Response:
    """Re-send a remembered event: ``{"event_id": ..., "repeat": 1, "headers": {...}}``."""
    state = sim_state()
    data = request_body()
    event = state.webhooks.event(str(data.get("event_id")))
    if event is None:
        raise ControlError(f"unknown event {data.get('event_id')!r}", 404)
    repeat = max(1, int(data.get("repeat", 1)))
    deliveries = [
        state.webhooks.deliver(event, headers=data.get("headers"), url=data.get("url")) for _ in range(repeat)
    ]
    return json_response(
        {
            "event_id": event.event_id,
            "statuses": [d.status for d in deliveries],
            "deliveries": deliveries_json(list(deliveries)),
        }
    )


@bp.get("/webhooks")
def webhook_log() -> Response:
    """Every delivery attempted so far (automatic and explicit), oldest first."""
    deliveries = sim_state().webhooks.log()
    return json_response({"deliveries": deliveries, "count": len(deliveries)})


@bp.post("/webhooks/flush")
def webhook_flush() -> Response:
    """Wait (``timeout`` seconds, default 10) until background deliveries are done."""
    done = sim_state().webhooks.flush(float(request_body().get("timeout", 10)))
    return json_response({"flushed": done}, 200 if done else 504)
