"""orderCreate (zero-priced reward orders), order search incl. lag, inventory claims, orderCancel."""

from __future__ import annotations

import time
from typing import Any

from shopify_sim import SimServer

from .conftest import Receiver, add_variant, data, gql
from .documents import CUSTOMER_CREATE, FIND_ORDERS, FIND_VARIANT, GET_ORDER, JOB_STATUS, ORDER_CANCEL, ORDER_CREATE

SHIPPING = {
    "firstName": "A",
    "lastName": "B",
    "address1": "1 Main",
    "city": "Ottawa",
    "provinceCode": "ON",
    "countryCode": "CA",
    "zip": "K2P 2L8",
    "phone": "+16135550142",
}


def variant_gid(sim: SimServer, sku: str, **spec: Any) -> str:
    return add_variant(sim, sku, **spec)["variants"][0]["admin_graphql_api_id"]


def reward_order(variant: str, redemption: str, quantity: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "lineItems": [
            {
                "variantId": variant,
                "quantity": quantity,
                "priceSet": {"shopMoney": {"amount": "0.00", "currencyCode": "USD"}},
            }
        ],
        "financialStatus": "PAID",
        "tags": ["loyalty-reward", f"redemption-{redemption}"],
        "sourceIdentifier": f"redemption-{redemption}",
        "note": f"Loyalty reward redemption {redemption}",
        "shippingAddress": SHIPPING,
        **extra,
    }


def create_order(sim: SimServer, order: dict[str, Any], behaviour: str = "DECREMENT_OBEYING_POLICY") -> dict:
    options = {"inventoryBehaviour": behaviour, "sendReceipt": False, "sendFulfillmentReceipt": False}
    return data(sim, ORDER_CREATE, {"order": order, "options": options})["orderCreate"]


def find_orders(sim: SimServer, query: str) -> list[dict[str, Any]]:
    return data(sim, FIND_ORDERS, {"query": query})["orders"]["nodes"]


def inventory(sim: SimServer, sku: str) -> int:
    nodes = data(sim, FIND_VARIANT, {"query": f'sku:"{sku}"', "first": 1})["productVariants"]["nodes"]
    return nodes[0]["inventoryQuantity"]


def test_zero_priced_reward_order_is_created_and_listed(sim: SimServer) -> None:
    variant = variant_gid(sim, "REWARD-MUG", price="15.00", inventory=3)
    customer = data(sim, CUSTOMER_CREATE, {"input": {"email": "m@example.com", "firstName": "M"}})
    customer_id = customer["customerCreate"]["customer"]["id"]
    result = create_order(
        sim, reward_order(variant, "abc123", quantity=2, customer={"toAssociate": {"id": customer_id}})
    )
    assert result["userErrors"] == []
    order = result["order"]
    assert order["name"] == "#1001"
    assert order["id"].startswith("gid://shopify/Order/")
    assert order["tags"] == ["loyalty-reward", "redemption-abc123"]
    assert order["sourceIdentifier"] == "redemption-abc123"
    assert order["displayFinancialStatus"] == "PAID"
    assert order["displayFulfillmentStatus"] == "UNFULFILLED"
    assert order["totalPriceSet"]["shopMoney"] == {"amount": "0.0", "currencyCode": "USD"}
    assert order["customer"] == {"id": customer_id, "email": "m@example.com"}
    assert order["email"] == "m@example.com"
    assert order["shippingAddress"]["provinceCode"] == "ON"
    line = order["lineItems"]["nodes"][0]
    assert (line["sku"], line["quantity"], line["variant"]["id"]) == ("REWARD-MUG", 2, variant)
    assert order["fulfillments"] == [] and order["cancelledAt"] is None and order["closed"] is False
    assert inventory(sim, "REWARD-MUG") == 1  # DECREMENT_OBEYING_POLICY claimed 2

    second = create_order(sim, reward_order(variant, "def456"))
    assert second["order"]["name"] == "#1002"
    listed = sim.control("orders")
    assert listed["count"] == 2
    first_payload = listed["orders"][0]
    assert first_payload["source_identifier"] == "redemption-abc123"
    assert first_payload["tags"] == "loyalty-reward, redemption-abc123"
    assert sim.control("orders?source_identifier=redemption-def456")["count"] == 1
    assert sim.control("orders?tag=redemption-abc123")["count"] == 1

    fetched = data(sim, GET_ORDER, {"id": order["id"]})["order"]
    assert fetched["name"] == "#1001"


def test_search_by_tag_source_identifier_and_name(sim: SimServer) -> None:
    variant = variant_gid(sim, "REWARD-CAP", tracked=False)
    create_order(sim, reward_order(variant, "r1"))
    create_order(sim, reward_order(variant, "r2"))
    assert [o["name"] for o in find_orders(sim, "tag:redemption-r2")] == ["#1002"]
    assert [o["name"] for o in find_orders(sim, "source_identifier:redemption-r1")] == ["#1001"]
    assert [o["name"] for o in find_orders(sim, "name:#1002")] == ["#1002"]
    assert sorted(o["name"] for o in find_orders(sim, "tag:loyalty-reward")) == ["#1001", "#1002"]
    assert find_orders(sim, "tag:redemption-r3") == []
    assert [o["name"] for o in find_orders(sim, "tag:loyalty-reward -tag:redemption-r1")] == ["#1002"]


def test_search_lag_hides_new_orders_from_search_only(sim: SimServer) -> None:
    sim.control("config", {"search_lag_seconds": 0.6})
    variant = variant_gid(sim, "REWARD-LAG", tracked=False)
    created = create_order(sim, reward_order(variant, "lag1"))["order"]
    assert find_orders(sim, "tag:redemption-lag1") == []  # index not caught up yet
    assert data(sim, GET_ORDER, {"id": created["id"]})["order"]["name"] == "#1001"  # reads by id are immediate
    assert sim.control("orders?tag=redemption-lag1")["count"] == 1
    time.sleep(0.7)
    assert [o["id"] for o in find_orders(sim, "tag:redemption-lag1")] == [created["id"]]


def test_inventory_claim_failure_changes_nothing(sim: SimServer) -> None:
    variant = variant_gid(sim, "REWARD-LAST", inventory=1)
    result = create_order(sim, reward_order(variant, "short", quantity=2))
    assert result["order"] is None
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [
        (["order", "lineItems", "0"], "INVENTORY_CLAIM_FAILED")
    ]
    assert inventory(sim, "REWARD-LAST") == 1
    assert sim.control("orders")["count"] == 0
    # BYPASS does not look at stock; DECREMENT_IGNORING_POLICY decrements below zero.
    assert create_order(sim, reward_order(variant, "bypass", quantity=5), "BYPASS")["userErrors"] == []
    assert inventory(sim, "REWARD-LAST") == 1
    assert create_order(sim, reward_order(variant, "ignore", quantity=3), "DECREMENT_IGNORING_POLICY")["order"]
    assert inventory(sim, "REWARD-LAST") == -2


def test_continue_policy_and_untracked_never_fail_the_claim(sim: SimServer) -> None:
    backorder = variant_gid(sim, "REWARD-BACK", inventory=0, policy="CONTINUE")
    untracked = variant_gid(sim, "REWARD-FREE", inventory=0, tracked=False)
    assert create_order(sim, reward_order(backorder, "b1"))["userErrors"] == []
    assert create_order(sim, reward_order(untracked, "u1"))["userErrors"] == []
    assert inventory(sim, "REWARD-BACK") == -1
    assert inventory(sim, "REWARD-FREE") == 0


def test_order_create_validation(sim: SimServer) -> None:
    variant = variant_gid(sim, "REWARD-V", inventory=5)
    missing = create_order(sim, reward_order("gid://shopify/ProductVariant/1", "x"))
    assert missing["userErrors"] == [
        {"field": ["order", "lineItems", "0", "variantId"], "message": "Variant does not exist", "code": "INVALID"}
    ]
    empty = create_order(sim, {**reward_order(variant, "y"), "lineItems": []})
    assert empty["userErrors"] == [
        {"field": ["order", "lineItems"], "message": "Line items must have at least one line item", "code": "INVALID"}
    ]
    ghost = create_order(sim, reward_order(variant, "z", customer={"toAssociate": {"id": "gid://shopify/Customer/1"}}))
    assert ghost["userErrors"][0]["field"] == ["order", "customer", "toAssociate", "id"]
    bad_address = create_order(sim, reward_order(variant, "w", shippingAddress={**SHIPPING, "provinceCode": "TX"}))
    assert bad_address["userErrors"] == [
        {"field": ["order", "shippingAddress", "province"], "message": "Province is invalid", "code": "INVALID"}
    ]
    assert sim.control("orders")["count"] == 0


def test_upsert_customer_and_custom_line_item(sim: SimServer) -> None:
    order = {
        "lineItems": [
            {
                "title": "Gift card reward",
                "quantity": 1,
                "priceSet": {"shopMoney": {"amount": "0", "currencyCode": "CAD"}},
            }
        ],
        "customer": {"toUpsert": {"email": "new@example.com", "firstName": "New"}},
    }
    result = create_order(sim, order, "BYPASS")
    assert result["userErrors"] == []
    assert result["order"]["customer"]["email"] == "new@example.com"
    assert result["order"]["totalPriceSet"]["shopMoney"]["currencyCode"] == "CAD"
    assert result["order"]["lineItems"]["nodes"][0]["variant"] is None
    assert sim.control("customers")["count"] == 1


def cancel(sim: SimServer, order_id: str, restock: bool = True) -> dict[str, Any]:
    variables = {"orderId": order_id, "reason": "CUSTOMER", "restock": restock, "staffNote": "reversed"}
    return data(sim, ORDER_CANCEL, variables)["orderCancel"]


def test_cancel_is_async_and_second_cancel_is_invalid(sim: SimServer) -> None:
    variant = variant_gid(sim, "REWARD-C", inventory=2)
    order = create_order(sim, reward_order(variant, "c1"))["order"]
    assert inventory(sim, "REWARD-C") == 1

    first = cancel(sim, order["id"])
    assert first["orderCancelUserErrors"] == [] and first["userErrors"] == []
    assert first["job"]["id"].startswith("gid://shopify/Job/")
    assert first["job"]["done"] is False
    assert data(sim, JOB_STATUS, {"id": first["job"]["id"]})["job"]["done"] is True

    after = data(sim, GET_ORDER, {"id": order["id"]})["order"]
    assert after["cancelledAt"] is not None
    assert after["closed"] is True
    assert after["cancelReason"] == "CUSTOMER"
    assert inventory(sim, "REWARD-C") == 2  # restocked

    second = cancel(sim, order["id"])
    assert second["job"] is None
    assert second["orderCancelUserErrors"] == [
        {"field": ["orderId"], "code": "INVALID", "message": "Cannot cancel an order that has already been canceled"}
    ]
    assert second["userErrors"] == [
        {"field": ["orderId"], "message": "Cannot cancel an order that has already been canceled"}
    ]
    assert sim.control("orders")["orders"][0]["cancelled_at"] is not None


def test_cancel_fulfilled_order_and_unknown_order(sim: SimServer) -> None:
    variant = variant_gid(sim, "REWARD-F", tracked=False)
    order = create_order(sim, reward_order(variant, "f1"))["order"]
    numeric = order["id"].rsplit("/", 1)[1]
    sim.control(f"orders/{numeric}/fulfil", {"tracking_number": "1Z999", "tracking_company": "UPS"})
    fulfilled = data(sim, GET_ORDER, {"id": order["id"]})["order"]
    assert fulfilled["displayFulfillmentStatus"] == "FULFILLED"
    assert fulfilled["fulfillments"][0]["trackingInfo"] == [{"number": "1Z999", "url": None, "company": "UPS"}]
    refused = cancel(sim, order["id"])
    assert refused["orderCancelUserErrors"] == [
        {"field": ["orderId"], "code": "INVALID", "message": "Cannot cancel an order that has been fulfilled"}
    ]
    unknown = cancel(sim, "gid://shopify/Order/1")
    assert unknown["orderCancelUserErrors"][0]["code"] == "NOT_FOUND"


def test_job_delay_is_configurable(sim: SimServer) -> None:
    sim.control("config", {"job_delay_seconds": 30})
    variant = variant_gid(sim, "REWARD-J", tracked=False)
    order = create_order(sim, reward_order(variant, "j1"))["order"]
    job = cancel(sim, order["id"])["job"]
    assert data(sim, JOB_STATUS, {"id": job["id"]})["job"]["done"] is False
    assert data(sim, JOB_STATUS, {"id": "gid://shopify/Job/nope"})["job"] is None


# -- orderCreate's customer: toUpsert / toAssociate, as the connector places reward orders -----------------


def seeded_customer(sim: SimServer, email: str, phone: str | None = None, first: str = "Old") -> str:
    customer_input: dict[str, Any] = {"email": email, "firstName": first, "lastName": "Name"}
    if phone:
        customer_input["phone"] = phone
    created = data(sim, CUSTOMER_CREATE, {"input": customer_input})["customerCreate"]
    assert created["userErrors"] == []
    return created["customer"]["id"]


def customer_named(sim: SimServer, customer_id: str) -> dict[str, Any]:
    return next(c for c in sim.control("customers")["customers"] if c["admin_graphql_api_id"] == customer_id)


def test_upsert_by_email_updates_the_customer_with_that_email_in_any_case(sim: SimServer) -> None:
    variant = variant_gid(sim, "REWARD-U1", inventory=5)
    existing = seeded_customer(sim, "Ada@Example.com")
    upsert = {"toUpsert": {"email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace"}}
    result = create_order(sim, reward_order(variant, "u1", customer=upsert))
    assert result["userErrors"] == []
    assert result["order"]["customer"]["id"] == existing
    assert sim.control("customers")["count"] == 1  # matched, not duplicated
    stored = customer_named(sim, existing)
    assert (stored["first_name"], stored["last_name"]) == ("Ada", "Lovelace")
    # The order's shipping address became the customer's default address.
    assert stored["default_address"]["address1"] == SHIPPING["address1"]


def test_upsert_without_a_match_creates_the_customer(sim: SimServer) -> None:
    variant = variant_gid(sim, "REWARD-U2", inventory=5)
    upsert = {"toUpsert": {"email": "new@example.com", "phone": "+16135550199", "firstName": "N", "lastName": "M"}}
    result = create_order(sim, reward_order(variant, "u2", customer=upsert))
    assert result["userErrors"] == []
    stored = customer_named(sim, result["order"]["customer"]["id"])
    assert (stored["email"], stored["phone"]) == ("new@example.com", "+16135550199")
    assert len(stored["addresses"]) == 1  # the shipping address, once


def test_upsert_by_id_updates_that_customer_and_an_unknown_id_makes_nothing(sim: SimServer) -> None:
    variant = variant_gid(sim, "REWARD-U3", inventory=5)
    linked = seeded_customer(sim, "old@example.com")
    upsert = {"toUpsert": {"id": linked, "email": "renamed@example.com", "firstName": "Ada", "lastName": "L"}}
    result = create_order(sim, reward_order(variant, "u3", customer=upsert))
    assert result["userErrors"] == [] and result["order"]["customer"]["id"] == linked
    assert customer_named(sim, linked)["email"] == "renamed@example.com"

    gone = {"toUpsert": {"id": "gid://shopify/Customer/1", "email": "x@example.com", "firstName": "X"}}
    refused = create_order(sim, reward_order(variant, "u4", customer=gone))
    assert refused["order"] is None
    assert refused["userErrors"] == [
        {"field": ["order", "customer", "toUpsert", "id"], "message": "Customer does not exist", "code": "INVALID"}
    ]
    assert sim.control("orders")["count"] == 1 and sim.control("customers")["count"] == 1
    assert inventory(sim, "REWARD-U3") == 4  # the refused order claimed nothing


def test_upsert_of_another_customers_phone_is_refused_and_makes_nothing(sim: SimServer) -> None:
    variant = variant_gid(sim, "REWARD-U5", inventory=5)
    seeded_customer(sim, "holder@example.com", phone="+16135550142")
    upsert = {"toUpsert": {"email": "ada@example.com", "phone": "+16135550142", "firstName": "Ada"}}
    refused = create_order(sim, reward_order(variant, "u5", customer=upsert))
    assert refused["order"] is None
    assert refused["userErrors"] == [
        {
            "field": ["order", "customer", "toUpsert", "phone"],
            "message": "Phone has already been taken",
            "code": "INVALID",
        }
    ]
    assert sim.control("orders")["count"] == 0 and sim.control("customers")["count"] == 1


def test_order_create_with_its_customer_costs_a_mutations_flat_ten_points(sim: SimServer) -> None:
    variant = variant_gid(sim, "REWARD-U6", inventory=5)
    upsert = {"toUpsert": {"email": "cost@example.com", "firstName": "C", "lastName": "P"}}
    options = {"inventoryBehaviour": "DECREMENT_OBEYING_POLICY", "sendReceipt": False}
    body = gql(sim, ORDER_CREATE, {"order": reward_order(variant, "u6", customer=upsert), "options": options})
    cost = body["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (10, 10)
    logged = [e for e in sim.state.logged_requests() if e.get("operation") == "RewardOrderCreate"]
    assert [e["cost"] for e in logged] == [10]


def test_order_create_sends_the_customer_webhooks_of_the_customer_it_wrote(sim: SimServer, receiver: Receiver) -> None:
    sim.control("config", {"webhook_target_url": receiver.url})
    variant = variant_gid(sim, "REWARD-U7", inventory=5)
    upsert = {"toUpsert": {"email": "hooks@example.com", "firstName": "H", "lastName": "K"}}
    assert create_order(sim, reward_order(variant, "u7", customer=upsert))["userErrors"] == []
    assert create_order(sim, reward_order(variant, "u8", customer=upsert))["userErrors"] == []
    receiver.wait_for(5)  # products/create, then two customer and two order events
    topics = [t for t in receiver.topics() if t.startswith(("customers/", "orders/"))]
    assert topics == ["customers/create", "orders/create", "customers/update", "orders/create"]
