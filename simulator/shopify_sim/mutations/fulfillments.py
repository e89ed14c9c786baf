"""Fulfillments: fulfilling an order (control API, orderCreate's ``fulfillment``), its shipment status."""

from __future__ import annotations

import time
from typing import Any

from shopify_sim.mutations.common import ControlError
from shopify_sim.store import Fulfillment, Order, Store, next_id

#: Webhook ``shipment_status`` values -> GraphQL ``FulfillmentDisplayStatus``.
SHIPMENT_STATUSES: dict[str, str] = {
    "label_printed": "LABEL_PRINTED",
    "label_purchased": "LABEL_PURCHASED",
    "attempted_delivery": "ATTEMPTED_DELIVERY",
    "ready_for_pickup": "READY_FOR_PICKUP",
    "picked_up": "PICKED_UP",
    "confirmed": "CONFIRMED",
    "in_transit": "IN_TRANSIT",
    "out_for_delivery": "OUT_FOR_DELIVERY",
    "delivered": "DELIVERED",
    "failure": "FAILURE",
    "delayed": "DELAYED",
    "carrier_picked_up": "CARRIER_PICKED_UP",
}
FULFILLMENT_STATUSES = frozenset({"PENDING", "OPEN", "SUCCESS", "CANCELLED", "ERROR", "FAILURE"})


def fulfil_order(store: Store, order: Order, spec: dict[str, Any]) -> Fulfillment:
    """``POST /_sim/orders/<id>/fulfil``: fulfil every line with one fulfillment."""
    if order.cancelled_at is not None:
        raise ControlError("cannot fulfil a cancelled order", status=409)
    if store.display_fulfillment_status(order) == "FULFILLED":
        raise ControlError("order is already fulfilled", status=409)
    shipment_status = _shipment_status(spec.get("shipment_status"))
    status = str(spec.get("status") or "SUCCESS").upper()
    if status not in FULFILLMENT_STATUSES:
        raise ControlError(f"status must be one of {sorted(FULFILLMENT_STATUSES)}")
    now = time.time()
    fulfillment = Fulfillment(
        id=next_id(),
        order_id=order.id,
        name=f"{order.name}.{len(order.fulfillment_ids) + 1}",
        status=status,
        shipment_status=shipment_status,
        tracking_number=spec.get("tracking_number"),
        tracking_url=spec.get("tracking_url"),
        tracking_company=spec.get("tracking_company"),
        created_at=now,
        updated_at=now,
    )
    store.fulfillments[fulfillment.id] = fulfillment
    order.fulfillment_ids.append(fulfillment.id)
    order.updated_at = now
    return fulfillment


def _shipment_status(value: Any) -> str | None:
    if value in (None, ""):
        return None
    status = str(value).lower()
    if status not in SHIPMENT_STATUSES:
        raise ControlError(f"shipment_status must be one of {sorted(SHIPMENT_STATUSES)}")
    return status


def update_fulfillment(store: Store, fulfillment: Fulfillment, spec: dict[str, Any]) -> Fulfillment:
    """``POST /_sim/fulfillments/<id>/update``: shipment status, status or tracking changes."""
    allowed = {"shipment_status", "status", "tracking_number", "tracking_url", "tracking_company"}
    unknown = set(spec) - allowed
    if unknown:
        raise ControlError(f"unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    if "shipment_status" in spec:
        fulfillment.shipment_status = _shipment_status(spec["shipment_status"])
    if "status" in spec:
        status = str(spec["status"]).upper()
        if status not in FULFILLMENT_STATUSES:
            raise ControlError(f"status must be one of {sorted(FULFILLMENT_STATUSES)}")
        fulfillment.status = status
    for key in ("tracking_number", "tracking_url", "tracking_company"):
        if key in spec:
            setattr(fulfillment, key, spec[key])
    now = time.time()
    fulfillment.updated_at = now
    store.orders[fulfillment.order_id].updated_at = now
    return fulfillment


def display_status(fulfillment: Fulfillment) -> str:
    """GraphQL ``Fulfillment.displayStatus`` derived from status and shipment status."""
    if fulfillment.status == "CANCELLED":
        return "CANCELED"
    if fulfillment.status in ("ERROR", "FAILURE"):
        return "FAILURE"
    if fulfillment.shipment_status:
        return SHIPMENT_STATUSES[fulfillment.shipment_status]
    return "FULFILLED"
