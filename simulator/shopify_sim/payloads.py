"""Webhook bodies: the REST resource JSON Shopify sends (also what the control API answers with).

Snake_case keys, numeric ``id`` plus ``admin_graphql_api_id``, ``tags`` as one comma-separated string;
the privacy topics' bodies (``customers/redact``, ``customers/data_request``, ``shop/redact``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shopify_sim.config import SimConfig
from shopify_sim.store import (
    Address,
    Customer,
    Fulfillment,
    LineItem,
    Order,
    Product,
    Store,
    gid,
    rest_time,
)


def money(amount: Decimal) -> str:
    """REST money string, two decimals."""
    return f"{amount:.2f}"


def _money_set(amount: Decimal, currency: str) -> dict[str, Any]:
    one = {"amount": money(amount), "currency_code": currency}
    return {"shop_money": one, "presentment_money": dict(one)}


def address_payload(
    address: Address | None, *, customer_id: int | None = None, default: bool | None = None
) -> dict[str, Any] | None:
    """REST address object (customer default address or order shipping address)."""
    if address is None:
        return None
    data: dict[str, Any] = {
        "first_name": address.first_name,
        "last_name": address.last_name,
        "company": address.company,
        "address1": address.address1,
        "address2": address.address2,
        "city": address.city,
        "province": address.province,
        "country": address.country,
        "zip": address.zip,
        "phone": address.phone,
        "name": address.name,
        "province_code": address.province_code,
        "country_code": address.country_code,
        "country_name": address.country,
    }
    if customer_id is not None:
        data = {"id": address.id, "customer_id": customer_id, **data, "default": bool(default)}
    return data


def customer_payload(customer: Customer) -> dict[str, Any]:
    """``customers/create`` / ``customers/update`` body (and ``order.customer``)."""
    return {
        "id": customer.id,
        "email": customer.email,
        "created_at": rest_time(customer.created_at),
        "updated_at": rest_time(customer.updated_at),
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "state": "disabled",
        "note": customer.note,
        "verified_email": True,
        "multipass_identifier": None,
        "tax_exempt": False,
        "phone": customer.phone,
        "tags": ", ".join(customer.tags),
        "currency": "USD",
        "tax_exemptions": [],
        "admin_graphql_api_id": gid("Customer", customer.id),
        "addresses": [
            address_payload(a, customer_id=customer.id, default=i == 0) for i, a in enumerate(customer.addresses)
        ],
        "default_address": address_payload(customer.default_address, customer_id=customer.id, default=True),
    }


def line_item_payload(item: LineItem, order: Order, fulfilled: bool) -> dict[str, Any]:
    """One ``line_items`` entry of an order payload."""
    return {
        "id": item.id,
        "admin_graphql_api_id": gid("LineItem", item.id),
        "variant_id": item.variant_id,
        "product_id": item.product_id,
        "sku": item.sku,
        "title": item.title,
        "variant_title": item.variant_title,
        "name": f"{item.title} - {item.variant_title}" if item.variant_title else item.title,
        "quantity": item.quantity,
        "current_quantity": 0 if order.cancelled_at else item.quantity,
        "fulfillable_quantity": 0 if fulfilled or order.cancelled_at else item.quantity,
        "fulfillment_status": "fulfilled" if fulfilled else None,
        "price": money(item.price),
        "price_set": _money_set(item.price, order.currency),
        "requires_shipping": item.requires_shipping,
        "properties": [dict(p) for p in item.properties],
    }


def fulfillment_payload(store: Store, fulfillment: Fulfillment) -> dict[str, Any]:
    """``fulfillments/create`` / ``fulfillments/update`` body."""
    order = store.orders[fulfillment.order_id]
    numbers = [fulfillment.tracking_number] if fulfillment.tracking_number else []
    urls = [fulfillment.tracking_url] if fulfillment.tracking_url else []
    return {
        "id": fulfillment.id,
        "admin_graphql_api_id": gid("Fulfillment", fulfillment.id),
        "order_id": order.id,
        "name": fulfillment.name,
        "status": fulfillment.status.lower(),
        "shipment_status": fulfillment.shipment_status,
        "service": "manual",
        "location_id": None,
        "origin_address": None,
        "email": order.email,
        "destination": address_payload(order.shipping_address),
        "tracking_company": fulfillment.tracking_company,
        "tracking_number": fulfillment.tracking_number,
        "tracking_numbers": numbers,
        "tracking_url": fulfillment.tracking_url,
        "tracking_urls": urls,
        "receipt": {},
        "created_at": rest_time(fulfillment.created_at),
        "updated_at": rest_time(fulfillment.updated_at),
        "line_items": [line_item_payload(li, order, True) for li in order.line_items],
    }


def order_payload(store: Store, order: Order) -> dict[str, Any]:
    """``orders/*`` body (also what ``GET /_sim/orders`` lists)."""
    fulfilled = store.display_fulfillment_status(order) == "FULFILLED"
    customer = store.customers.get(order.customer_id) if order.customer_id else None
    total = order.total
    return {
        "id": order.id,
        "admin_graphql_api_id": gid("Order", order.id),
        "name": order.name,
        "number": order.number - 1000,
        "order_number": order.number,
        "email": order.email,
        "contact_email": order.email,
        "phone": order.phone,
        "tags": ", ".join(order.tags),
        "source_identifier": order.source_identifier,
        "source_name": order.source_name or "api",
        "note": order.note,
        "note_attributes": [],
        "test": order.test,
        "confirmed": True,
        "created_at": rest_time(order.created_at),
        "updated_at": rest_time(order.updated_at),
        "processed_at": rest_time(order.processed_at),
        "cancelled_at": rest_time(order.cancelled_at),
        "cancel_reason": order.cancel_reason.lower() if order.cancel_reason else None,
        "closed_at": rest_time(order.closed_at),
        "currency": order.currency,
        "financial_status": order.financial_status.lower(),
        "fulfillment_status": "fulfilled" if fulfilled else None,
        "total_price": money(total),
        "subtotal_price": money(total - order.shipping_total),
        "total_price_set": _money_set(total, order.currency),
        "current_total_price": money(Decimal(0) if order.cancelled_at else total),
        "line_items": [line_item_payload(li, order, fulfilled) for li in order.line_items],
        "fulfillments": [fulfillment_payload(store, f) for f in store.order_fulfillments(order)],
        "shipping_address": address_payload(order.shipping_address),
        "billing_address": address_payload(order.billing_address),
        "customer": customer_payload(customer) if customer else None,
        "refunds": [],
    }


def product_payload(store: Store, product: Product) -> dict[str, Any]:
    """``products/create`` / ``products/update`` body."""
    variants = [store.variants[v] for v in product.variant_ids]
    return {
        "id": product.id,
        "admin_graphql_api_id": gid("Product", product.id),
        "title": product.title,
        "status": product.status.lower(),
        "vendor": product.vendor,
        "created_at": rest_time(product.created_at),
        "updated_at": rest_time(product.updated_at),
        "variants": [
            {
                "id": v.id,
                "admin_graphql_api_id": gid("ProductVariant", v.id),
                "product_id": product.id,
                "sku": v.sku,
                "title": v.title,
                "price": money(v.price),
                "position": v.position,
                "inventory_quantity": v.inventory_quantity,
                "inventory_policy": v.policy.lower(),
                "inventory_management": "shopify" if v.tracked else None,
                "inventory_item_id": v.inventory_item_id,
                "created_at": rest_time(v.created_at),
                "updated_at": rest_time(v.updated_at),
            }
            for v in variants
        ],
    }


def customers_redact_payload(config: SimConfig, customer: dict[str, Any], orders_to_redact: list[int]) -> dict:
    """``customers/redact`` body."""
    return {
        "shop_id": config.shop_id,
        "shop_domain": config.shop_domain,
        "customer": customer,
        "orders_to_redact": orders_to_redact,
    }


def customers_data_request_payload(
    config: SimConfig, customer: dict[str, Any], orders_requested: list[int], request_id: int
) -> dict:
    """``customers/data_request`` body."""
    return {
        "shop_id": config.shop_id,
        "shop_domain": config.shop_domain,
        "orders_requested": orders_requested,
        "customer": customer,
        "data_request": {"id": request_id},
    }


def shop_redact_payload(config: SimConfig) -> dict:
    """``shop/redact`` body."""
    return {"shop_id": config.shop_id, "shop_domain": config.shop_domain}
