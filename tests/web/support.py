"""Helpers for the web tests: tokens, auth headers, signed Shopify deliveries, row counts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from typing import Any

from sqlalchemy import func, select

from connector.core import catalog
from connector.core.database import transaction
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.tables import Brand, RedemptionEventRow, WebhookDelivery

SHOP_DOMAIN = "acme-pets.myshopify.com"
SHOP_SECRET = "whsec_test_secret_0123456789"
ATTACKER_URL = "https://attacker.example/track"
ADA_EMAIL, ADA_PHONE, ADA_GID = "ada@example.com", "+16135550142", "gid://shopify/Customer/1"
_ids = itertools.count(1)


def make_token(rt: Runtime, role: Role, brand: Brand | None = None, name: str | None = None) -> str:
    with transaction(rt.sessions) as s:
        _, plain = catalog.create_api_token(s, name or f"{role.value}-{next(_ids)}", role, brand)
    return plain


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def shopify_signature(body: bytes, secret: str = SHOP_SECRET) -> str:
    """What Shopify sends in X-Shopify-Hmac-Sha256: base64 of HMAC-SHA256 over the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_headers(
    body: bytes,
    topic: str,
    *,
    webhook_id: str | None = None,
    event_id: str | None = None,
    triggered_at: str = "2026-07-01T16:00:00.000Z",
    secret: str = SHOP_SECRET,
    domain: str = SHOP_DOMAIN,
) -> dict[str, str]:
    n = next(_ids)
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": shopify_signature(body, secret),
        "X-Shopify-Shop-Domain": domain,
        "X-Shopify-Webhook-Id": webhook_id or f"b54557e4-bdd9-4b37-8a5f-bf7d70bc{n:04d}",
        "X-Shopify-Event-Id": event_id or f"98880550-7158-44d4-b7cd-2c97c8a0{n:04d}",
        "X-Shopify-Triggered-At": triggered_at,
        "X-Shopify-API-Version": "2026-07",
    }


def as_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def fulfillment_payload(
    order_number: int, shipment_status: str, updated_at: str, *, tracking: str = "1Z999AA10123456784"
) -> dict[str, Any]:
    return {
        "id": 255858046,
        "order_id": order_number,
        "status": "success",
        "shipment_status": shipment_status,
        "tracking_company": "UPS",
        "tracking_number": tracking,
        "tracking_url": f"https://www.ups.com/track?tracknum={tracking}",
        "created_at": "2026-07-01T10:00:00-04:00",
        "updated_at": updated_at,
        "admin_graphql_api_id": "gid://shopify/Fulfillment/255858046",
    }


def delivery_count(rt: Runtime) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(WebhookDelivery)) or 0)


def event_count(rt: Runtime, redemption_id: int, kind: str) -> int:
    with rt.sessions() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(RedemptionEventRow)
                .where(RedemptionEventRow.redemption_id == redemption_id, RedemptionEventRow.kind == kind)
            )
            or 0
        )


# -- one payload per handled topic, aimed at the seeded world (Ada, her order gid://shopify/Order/1) -----------

ORDER_1 = {
    "id": 1,
    "admin_graphql_api_id": "gid://shopify/Order/1",
    "name": "#1001",
    "updated_at": "2026-07-05T10:00:00Z",
    "cancelled_at": None,
    "customer": {"id": 1, "email": ADA_EMAIL, "phone": ADA_PHONE},
    "line_items": [],
}
DELIVERED = {**fulfillment_payload(1, "delivered", "2026-07-05T10:00:00Z"), "tracking_url": ATTACKER_URL}


def topic_payload(topic: str, domain: str = SHOP_DOMAIN) -> dict[str, Any]:
    """A well-formed ``topic`` body about Ada and Order/1, as the shop ``domain`` would sign it."""
    customer = {"id": 1, "email": ADA_EMAIL, "phone": ADA_PHONE}
    return {
        "fulfillments/create": DELIVERED,
        "fulfillments/update": DELIVERED,
        "orders/fulfilled": {**ORDER_1, "fulfillment_status": "fulfilled", "fulfillments": [DELIVERED]},
        "orders/cancelled": {**ORDER_1, "cancelled_at": "2026-07-05T10:00:00Z", "cancel_reason": "other"},
        "products/update": {
            "id": 788032119674292922,
            "admin_graphql_api_id": "gid://shopify/Product/788032119674292922",
            "title": "Ambassador T-Shirt",
            "status": "active",
            "updated_at": "2026-07-05T10:00:00Z",
            "variants": [{"id": 1, "sku": "TSHIRT-M"}],
        },
        "customers/update": {
            **customer,
            "first_name": "Ada",
            "last_name": "Lovelace",
            "updated_at": "2026-07-05T10:00:00Z",
            "admin_graphql_api_id": ADA_GID,
        },
        "customers/redact": {"shop_id": 954889, "shop_domain": domain, "customer": customer, "orders_to_redact": [1]},
        "customers/data_request": {
            "shop_id": 954889,
            "shop_domain": domain,
            "orders_requested": [1],
            "customer": customer,
            "data_request": {"id": 9999},
        },
        "shop/redact": {"shop_id": 954889, "shop_domain": domain},
        "app/uninstalled": shop_payload(domain),
    }[topic]


def shop_payload(domain: str = SHOP_DOMAIN, updated_at: str = "2026-07-05T10:00:00-04:00") -> dict[str, Any]:
    """The REST ``Shop`` object Shopify sends as the ``app/uninstalled`` body (the fields that matter, and a few)."""
    return {
        "id": 954889,
        "name": domain.split(".")[0].replace("-", " ").title(),
        "email": f"owner@{domain}",
        "domain": domain,
        "myshopify_domain": domain,
        "country_code": "CA",
        "currency": "CAD",
        "plan_name": "partner_test",
        "created_at": "2024-01-15T10:00:00-05:00",
        "updated_at": updated_at,
    }


HANDLED_TOPICS = [
    "fulfillments/create",
    "fulfillments/update",
    "orders/fulfilled",
    "orders/cancelled",
    "products/update",
    "customers/update",
    "customers/redact",
    "customers/data_request",
    "shop/redact",
    "app/uninstalled",
]
