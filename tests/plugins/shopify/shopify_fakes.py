"""Test doubles and canned Shopify objects shared by the Shopify plugin tests.

Kept out of ``conftest.py`` (which holds only fixtures) so tests can import
them by a name no other test directory uses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import requests
import responses

from connector.core.hooktypes import MemberInfo, RewardInfo, ShopInfo

SHOP = ShopInfo(
    id=1,
    domain="reward-shop.myshopify.com",
    api_base_url="https://reward-shop.myshopify.com",
    access_token="shpat_test_token",
)
ENDPOINT = "https://reward-shop.myshopify.com/admin/api/2026-07/graphql.json"
NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


# -- time ----------------------------------------------------------------------------------------------


class FakeTime:
    """A monotonic clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[float], None] | None = None

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        if self.on_sleep:
            self.on_sleep(seconds)
        self.sleeps.append(seconds)
        self.now += seconds


# -- the fake Admin API ------------------------------------------------------------------------------------


def cost_extensions(requested: float = 10, available: float = 1990, maximum: float = 2000, rate: float = 100):
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": requested,
            "throttleStatus": {
                "maximumAvailable": maximum,
                "currentlyAvailable": available,
                "restoreRate": rate,
            },
        }
    }


def ok(data: dict[str, Any], **cost: float) -> dict[str, Any]:
    return {"data": data, "extensions": cost_extensions(**cost)}


def throttled(requested: float = 50, available: float = 10, rate: float = 100) -> dict[str, Any]:
    return {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": None,
                "throttleStatus": {"maximumAvailable": 2000, "currentlyAvailable": available, "restoreRate": rate},
            }
        },
    }


@dataclass
class Reply:
    """One canned answer: a JSON body, or a status/headers/raw body, or an exception to raise."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    raises: Exception | None = None


@dataclass
class Call:
    operation: str
    variables: dict[str, Any]
    query: str
    headers: dict[str, str]


class FakeShopify:
    """Routes each POST by ``operationName`` to queued replies and records every call.

    ``on(op, a, b)`` answers the first call with ``a`` and every later one with ``b``.
    A reply may be a callable taking the variables, for answers that depend on them.
    """

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.replies: dict[str, list[Any]] = {}
        self.calls: list[Call] = []
        mock.add_callback(responses.POST, ENDPOINT, callback=self._answer)

    def on(self, operation: str, *replies: Any) -> FakeShopify:
        self.replies[operation] = list(replies)
        return self

    @property
    def operations(self) -> list[str]:
        return [call.operation for call in self.calls]

    def calls_to(self, operation: str) -> list[Call]:
        return [call for call in self.calls if call.operation == operation]

    def _answer(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        payload = json.loads(request.body)
        operation = payload.get("operationName")
        self.calls.append(Call(operation, payload.get("variables") or {}, payload["query"], dict(request.headers)))
        queue = self.replies.get(operation)
        if not queue:
            raise AssertionError(f"unexpected Shopify call {operation}")
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if callable(reply):
            reply = reply(payload.get("variables") or {})
        if not isinstance(reply, Reply):
            reply = Reply(body=reply)
        if reply.raises is not None:
            raise reply.raises
        body = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
        return reply.status, {"Content-Type": "application/json", **reply.headers}, body


# -- domain objects --------------------------------------------------------------------------------------


def make_member(**changes: Any) -> MemberInfo:
    member = MemberInfo(
        id=7,
        first_name="Ada",
        last_name="Lovelace",
        email="ada@example.com",
        phone="(613) 555-0142",
        date_of_birth=date(1990, 5, 17),
        address1="151 O'Connor Street",
        address2=None,
        city="Ottawa",
        province_code="ON",
        country_code="CA",
        zip="K2P 2L8",
        shop_customer_id=None,
    )
    return replace(member, **changes)


def make_reward(**changes: Any) -> RewardInfo:
    return replace(
        RewardInfo(id=3, name="Reward T-shirt", sku="REWARD-TSHIRT-M", points_cost=500, channel="shopify"), **changes
    )


# -- canned Shopify objects ------------------------------------------------------------------------------


def variant_node(
    sku: str = "REWARD-TSHIRT-M",
    *,
    status: str = "ACTIVE",
    quantity: int | None = 12,
    tracked: bool = True,
    policy: str = "DENY",
    number: int = 1,
) -> dict[str, Any]:
    return {
        "id": f"gid://shopify/ProductVariant/{number}",
        "legacyResourceId": str(number),
        "sku": sku,
        "title": "M",
        "price": "25.00",
        "availableForSale": True,
        "inventoryQuantity": quantity,
        "inventoryPolicy": policy,
        "inventoryItem": {"id": f"gid://shopify/InventoryItem/{number}", "tracked": tracked},
        "product": {
            "id": "gid://shopify/Product/10",
            "title": "Reward T-shirt",
            "status": status,
            "tracksInventory": tracked,
            "totalInventory": quantity or 0,
        },
    }


def variants(*nodes: dict[str, Any]) -> dict[str, Any]:
    return ok({"productVariants": {"nodes": list(nodes), "pageInfo": {"hasNextPage": False, "endCursor": None}}})


def customer_node(
    number: int = 500,
    *,
    email: str | None = "ada@example.com",
    phone: str | None = "+16135550142",
    first: str = "Ada",
    last: str = "Lovelace",
) -> dict[str, Any]:
    return {
        "id": f"gid://shopify/Customer/{number}",
        "legacyResourceId": str(number),
        "firstName": first,
        "lastName": last,
        "displayName": f"{first} {last}",
        "defaultEmailAddress": {"emailAddress": email} if email else None,
        "defaultPhoneNumber": {"phoneNumber": phone} if phone else None,
        "defaultAddress": None,
        "tags": [],
        "note": None,
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:00Z",
    }


def customers(*nodes: dict[str, Any]) -> dict[str, Any]:
    return ok({"customers": {"nodes": list(nodes), "pageInfo": {"hasNextPage": False, "endCursor": None}}})


def customer_payload(mutation: str, node: dict[str, Any] | None, *errors: dict[str, Any]) -> dict[str, Any]:
    return ok({mutation: {"customer": node, "userErrors": list(errors)}})


def order_node(
    number: int = 9000,
    *,
    code: str = "ABC123",
    cancelled_at: str | None = None,
    created_at: str = "2026-09-01T11:00:00Z",
    customer: str | None = "gid://shopify/Customer/500",
    tags: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "id": f"gid://shopify/Order/{number}",
        "legacyResourceId": str(number),
        "name": f"#{number}",
        "email": "ada@example.com",
        "tags": tags if tags is not None else ["loyalty-reward", f"redemption-{code}"],
        "sourceIdentifier": f"redemption-{code}",
        "note": f"Loyalty reward redemption {code}",
        "createdAt": created_at,
        "updatedAt": created_at,
        "cancelledAt": cancelled_at,
        "cancelReason": "OTHER" if cancelled_at else None,
        "closed": bool(cancelled_at),
        "test": False,
        "displayFinancialStatus": "PAID",
        "displayFulfillmentStatus": "UNFULFILLED",
        "totalPriceSet": {"shopMoney": {"amount": "0.0", "currencyCode": "USD"}},
        "customer": {"id": customer} if customer else None,
        "shippingAddress": None,
        "lineItems": {"nodes": []},
        "fulfillments": [],
    }


def orders(*nodes: dict[str, Any]) -> dict[str, Any]:
    return ok({"orders": {"nodes": list(nodes), "pageInfo": {"hasNextPage": False, "endCursor": None}}})


def order_created(node: dict[str, Any] | None, *errors: dict[str, Any]) -> dict[str, Any]:
    return ok({"orderCreate": {"order": node, "userErrors": list(errors)}})
