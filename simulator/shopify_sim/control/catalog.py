"""Control routes that seed and change the shop's catalogue: products, variants and customers."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from shopify_sim.control.common import control_blueprint, deliveries_json, request_body
from shopify_sim.json_response import json_response
from shopify_sim.mutations import ControlError, apply_customer_input, camelize, create_product, update_variants
from shopify_sim.payloads import customer_payload, product_payload
from shopify_sim.state import sim_state

bp = control_blueprint("catalog")


@bp.get("/products")
def list_products() -> Response:
    """Every product, REST-shaped."""
    state = sim_state()
    with state.store.lock:
        products = [product_payload(state.store, p) for p in state.store.products.values()]
    return json_response({"products": products, "count": len(products)})


@bp.post("/products")
def add_product() -> Response:
    """Create a product (sends ``products/create`` when subscribed)."""
    state = sim_state()
    with state.store.lock:
        product = create_product(state.store, request_body())
        payload = product_payload(state.store, product)
    delivery = state.webhooks.emit("products/create", payload, sync=True)
    return json_response({"product": payload, "webhooks": deliveries_json([delivery])}, 201)


@bp.patch("/variants/<path:sku>")
def patch_variants(sku: str) -> Response:
    """Change variants with this SKU (sends ``products/update`` per product)."""
    state = sim_state()
    with state.store.lock:
        products = update_variants(state.store, sku, request_body())
        payloads = [product_payload(state.store, p) for p in products]
    deliveries = [state.webhooks.emit("products/update", p, sync=True) for p in payloads]
    return json_response({"products": payloads, "webhooks": deliveries_json(deliveries)})


@bp.get("/customers")
def list_customers() -> Response:
    """Every customer, REST-shaped (``?email=`` filters, case-insensitive)."""
    state = sim_state()
    email = (request.args.get("email") or "").lower()
    with state.store.lock:
        customers = [
            customer_payload(c) for c in state.store.customers.values() if not email or (c.email or "").lower() == email
        ]
    return json_response({"customers": customers, "count": len(customers)})


def _customer_errors(errors: list[Any]) -> ControlError:
    return ControlError("; ".join(f"{e.field}: {e.message}" for e in errors), status=422)


@bp.post("/customers")
def add_customer() -> Response:
    """Create a customer from ``CustomerInput`` fields (snake or camel case); sends ``customers/create``."""
    state = sim_state()
    with state.store.lock:
        customer, errors = apply_customer_input(state.store, camelize(request_body()), None)
        if customer is None:
            raise _customer_errors(errors)
        payload = customer_payload(customer)
    delivery = state.webhooks.emit("customers/create", payload, sync=True)
    return json_response({"customer": payload, "webhooks": deliveries_json([delivery])}, 201)


@bp.patch("/customers/<int:customer_id>")
def patch_customer(customer_id: int) -> Response:
    """Update a customer; sends ``customers/update``."""
    state = sim_state()
    with state.store.lock:
        existing = state.store.customers.get(customer_id)
        if existing is None:
            raise ControlError(f"no customer {customer_id}", 404)
        customer, errors = apply_customer_input(state.store, camelize(request_body()), existing)
        if customer is None:
            raise _customer_errors(errors)
        payload = customer_payload(customer)
    delivery = state.webhooks.emit("customers/update", payload, sync=True)
    return json_response({"customer": payload, "webhooks": deliveries_json([delivery])})
