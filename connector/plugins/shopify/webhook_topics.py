"""Turn a verified Shopify delivery's payload into effects the core applies.

Payloads are Shopify's REST shapes (snake_case, numeric ids plus
``admin_graphql_api_id``). Because no header is signed, a captured body could
be replayed under another topic: the verify step refuses a body whose shape
does not fit its topic (``payload_shapes``), and ``interpret`` checks again, so
a row stored before that check existed yields no effect either.

Effects name customers, orders and SKUs as the payload does; the host confines
them to the shop that signed the delivery (its brand's members, its own orders).
A tracking URL is passed on only when it is an http(s) link: the console shows
it as a link, and a ``javascript:`` URL is not one.

Delivery status mapping (fulfilment ``shipment_status`` first, then ``status``):

=========================================================  ===============
``label_printed``, ``label_purchased``, ``confirmed``,      IN_PROGRESS
``ready_for_pickup``, status ``pending``/``open``
``in_transit``, ``out_for_delivery``,                        SHIPPED
``attempted_delivery``, ``carrier_picked_up``, ``delayed``,
status ``success`` without carrier news
``delivered``, ``picked_up``                                 DELIVERED
``failure``, status ``failure``/``error``                    FAILURE
status ``cancelled``                                         IN_PROGRESS
=========================================================  ===============

A *cancelled fulfilment* is not a cancelled order: the merchant voided a
label or a shipment and the order is back to being worked on. It maps to
IN_PROGRESS, which the core's forward-only rule ignores once the order has
shipped; ``orders/cancelled`` is what reports a cancelled order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from connector.core.hooktypes import (
    CustomerDataRequest,
    DeliveryUpdate,
    ForgetCached,
    RedactCustomer,
    RedactShop,
    RetryErrorsForCustomer,
    RetryErrorsForSku,
    ShopUninstalled,
    VerifiedWebhook,
    WebhookEffect,
)
from connector.core.model import DeliveryStatus
from connector.plugins.shopify.identifiers import gid
from connector.plugins.shopify.payload_shapes import json_object, shape_problem
from connector.plugins.shopify.variant_cache import MAX_CACHE_KEY, product_tag, sku_key
from connector.plugins.shopify.webhooks import parse_timestamp

logger = logging.getLogger("connector.plugins.shopify")

SHIPMENT_STATUS: dict[str, DeliveryStatus] = {
    "label_printed": DeliveryStatus.IN_PROGRESS,
    "label_purchased": DeliveryStatus.IN_PROGRESS,
    "confirmed": DeliveryStatus.IN_PROGRESS,
    "ready_for_pickup": DeliveryStatus.IN_PROGRESS,
    "in_transit": DeliveryStatus.SHIPPED,
    "out_for_delivery": DeliveryStatus.SHIPPED,
    "attempted_delivery": DeliveryStatus.SHIPPED,
    "carrier_picked_up": DeliveryStatus.SHIPPED,
    "delayed": DeliveryStatus.SHIPPED,
    "delivered": DeliveryStatus.DELIVERED,
    "picked_up": DeliveryStatus.DELIVERED,
    "failure": DeliveryStatus.FAILURE,
}

FULFILLMENT_STATUS: dict[str, DeliveryStatus] = {
    "pending": DeliveryStatus.IN_PROGRESS,
    "open": DeliveryStatus.IN_PROGRESS,
    "success": DeliveryStatus.SHIPPED,
    "cancelled": DeliveryStatus.IN_PROGRESS,
    "error": DeliveryStatus.FAILURE,
    "failure": DeliveryStatus.FAILURE,
}


def interpret(delivery: VerifiedWebhook, payload: Mapping[str, Any]) -> list[WebhookEffect]:
    """The effects of one delivery; an empty list for topics (or payloads) that change nothing."""
    handler = TOPICS.get(delivery.topic)
    if handler is None:
        return []
    problem = shape_problem(delivery.topic, payload, delivery.shop_domain)
    if problem is not None:
        logger.warning("shopify %s delivery %s: %s; no effect", delivery.topic, delivery.webhook_id, problem)
        return []
    effects = handler(delivery, payload)
    if not effects:
        logger.info("shopify %s delivery %s: no effect", delivery.topic, delivery.webhook_id)
    return effects


# -- fulfilment and orders ---------------------------------------------------------------------------------


def fulfillment_status(fulfillment: Mapping[str, Any]) -> DeliveryStatus | None:
    """Where one fulfilment is, by the table above; None when the payload says nothing usable."""
    status = str(fulfillment.get("status") or "").lower()
    if status == "cancelled":
        return DeliveryStatus.IN_PROGRESS
    shipment = str(fulfillment.get("shipment_status") or "").lower()
    if shipment in SHIPMENT_STATUS:
        return SHIPMENT_STATUS[shipment]
    return FULFILLMENT_STATUS.get(status)


def _tracking(fulfillment: Mapping[str, Any]) -> tuple[str | None, str | None]:
    number = fulfillment.get("tracking_number")
    url = fulfillment.get("tracking_url")
    numbers = fulfillment.get("tracking_numbers")
    urls = fulfillment.get("tracking_urls")
    if not number and isinstance(numbers, list) and numbers:
        number = numbers[0]
    if not url and isinstance(urls, list) and urls:
        url = urls[0]
    return (str(number) if number else None, _http_url(url))


def _http_url(value: Any) -> str | None:
    """An absolute http(s) URL, or None: ``javascript:``, ``data:`` and relative links are dropped."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        return None
    return url


def _on_fulfillment(delivery: VerifiedWebhook, payload: Mapping[str, Any]) -> list[WebhookEffect]:
    order_id = gid("Order", payload.get("order_id"))
    status = fulfillment_status(payload)
    if order_id is None or status is None:
        return []
    number, url = _tracking(payload)
    return [
        DeliveryUpdate(
            order_id=order_id,
            status=status,
            updated_at=parse_timestamp(payload.get("updated_at")) or delivery.triggered_at,
            tracking_number=number,
            tracking_url=url,
        )
    ]


def _order_id(payload: Mapping[str, Any]) -> str | None:
    api_id = payload.get("admin_graphql_api_id")
    if isinstance(api_id, str):
        return gid("Order", api_id)
    return gid("Order", payload.get("id"))


def _on_order_fulfilled(delivery: VerifiedWebhook, payload: Mapping[str, Any]) -> list[WebhookEffect]:
    order_id = _order_id(payload)
    if order_id is None:
        return []
    fulfillments = [f for f in payload.get("fulfillments") or [] if isinstance(f, Mapping)]
    live = [f for f in fulfillments if str(f.get("status") or "").lower() != "cancelled"]
    delivered = bool(live) and all(fulfillment_status(f) == DeliveryStatus.DELIVERED for f in live)
    number = url = None
    for fulfillment in reversed(live):  # the newest fulfilment with tracking tells the member most
        number, url = _tracking(fulfillment)
        if number or url:
            break
    return [
        DeliveryUpdate(
            order_id=order_id,
            status=DeliveryStatus.DELIVERED if delivered else DeliveryStatus.SHIPPED,
            updated_at=parse_timestamp(payload.get("updated_at")) or delivery.triggered_at,
            tracking_number=number,
            tracking_url=url,
        )
    ]


def _on_order_cancelled(delivery: VerifiedWebhook, payload: Mapping[str, Any]) -> list[WebhookEffect]:
    order_id = _order_id(payload)
    if order_id is None or not payload.get("cancelled_at"):
        return []
    return [
        DeliveryUpdate(
            order_id=order_id,
            status=DeliveryStatus.CANCELLED,
            updated_at=parse_timestamp(payload.get("updated_at"))
            or parse_timestamp(payload.get("cancelled_at"))
            or delivery.triggered_at,
        )
    ]


# -- products and customers ---------------------------------------------------------------------------------


def _on_product_update(delivery: VerifiedWebhook, payload: Mapping[str, Any]) -> list[WebhookEffect]:
    """Any change to a product makes the cached variants of its SKUs stale (``variant_cache``): the product's
    tag covers a SKU renamed away, the SKUs a SKU moved here from another product. An active product may
    also have become orderable again: redemptions that failed on its SKUs retry."""
    skus = sorted(
        {
            str(variant["sku"]).strip()
            for variant in payload.get("variants") or []
            if isinstance(variant, Mapping) and variant.get("sku") and str(variant["sku"]).strip()
        }
    )
    api_id = payload.get("admin_graphql_api_id")
    tag = product_tag(api_id if isinstance(api_id, str) else payload.get("id"))
    keys = tuple(sku_key(sku) for sku in skus if len(sku_key(sku)) <= MAX_CACHE_KEY)
    effects: list[WebhookEffect] = []
    if tag or keys:
        effects.append(ForgetCached(keys=keys, tags=(tag,) if tag else ()))
    if skus and str(payload.get("status") or "").lower() == "active":
        effects.append(RetryErrorsForSku(skus=tuple(skus)))
    return effects


def _on_customer_update(delivery: VerifiedWebhook, payload: Mapping[str, Any]) -> list[WebhookEffect]:
    customer_id = delivery.customer_ref or _customer_id(payload)
    if customer_id is None:
        return []
    return [
        RetryErrorsForCustomer(customer_id=customer_id, email=_text(payload, "email"), phone=_text(payload, "phone"))
    ]


def _on_customer_redact(delivery: VerifiedWebhook, payload: Mapping[str, Any]) -> list[WebhookEffect]:
    customer = json_object(payload, "customer")
    customer_id = _customer_id(customer)
    email, phone = _text(customer, "email"), _text(customer, "phone")
    if not (customer_id or email or phone):
        return []
    return [RedactCustomer(customer_id=customer_id, email=email, phone=phone)]


def _on_shop_redact(delivery: VerifiedWebhook, payload: Mapping[str, Any]) -> list[WebhookEffect]:
    # The signed payload names the shop; a mismatch with the (unsigned) header means a replayed body.
    domain = str(payload.get("shop_domain") or delivery.shop_domain).strip().lower()
    if domain != delivery.shop_domain:
        logger.warning("shopify shop/redact for %s delivered as %s: ignored", domain, delivery.shop_domain)
        return []
    return [RedactShop(shop_domain=domain)]


def _on_app_uninstalled(delivery: VerifiedWebhook, payload: Mapping[str, Any]) -> list[WebhookEffect]:
    # The signed payload names the shop (the shape check insists): a mismatch means a replayed body.
    domain = str(payload.get("myshopify_domain") or "").strip().lower()
    if domain != delivery.shop_domain:
        logger.warning("shopify app/uninstalled for %s delivered as %s: ignored", domain, delivery.shop_domain)
        return []
    return [ShopUninstalled(shop_domain=domain, uninstalled_at=delivery.triggered_at)]


def _on_data_request(delivery: VerifiedWebhook, payload: Mapping[str, Any]) -> list[WebhookEffect]:
    customer = json_object(payload, "customer")
    request = json_object(payload, "data_request")
    request_id = request.get("id")
    return [
        CustomerDataRequest(
            customer_id=_customer_id(customer),
            email=_text(customer, "email"),
            phone=_text(customer, "phone"),
            request_id=None if request_id is None else str(request_id),
        )
    ]


def _customer_id(customer: Mapping[str, Any]) -> str | None:
    api_id = customer.get("admin_graphql_api_id")
    return gid("Customer", api_id if isinstance(api_id, str) else customer.get("id"))


def _text(mapping: Mapping[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    if value is None or isinstance(value, dict | list):
        return None
    return str(value).strip() or None


TOPICS: dict[str, Callable[[VerifiedWebhook, Mapping[str, Any]], list[WebhookEffect]]] = {
    "fulfillments/create": _on_fulfillment,
    "fulfillments/update": _on_fulfillment,
    "orders/fulfilled": _on_order_fulfilled,
    "orders/cancelled": _on_order_cancelled,
    "products/update": _on_product_update,
    "customers/update": _on_customer_update,
    "customers/redact": _on_customer_redact,
    "shop/redact": _on_shop_redact,
    "customers/data_request": _on_data_request,
    "app/uninstalled": _on_app_uninstalled,
}
