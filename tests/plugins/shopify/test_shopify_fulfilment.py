"""The fulfil and cancel hooks end to end against a fake Admin API.

What matters most here: one shop order per redemption. An attempt that may
already have created the order looks it up and never calls orderCreate; the
checkpoint is taken exactly once, right before orderCreate.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
import requests
from shopify_fakes import (
    NOW,
    SHOP,
    FakeShopify,
    Reply,
    customer_node,
    customer_payload,
    customers,
    make_member,
    make_reward,
    ok,
    order_created,
    order_node,
    orders,
    throttled,
    variant_node,
    variants,
)

from connector.core.errors import ProviderError
from connector.core.hooktypes import CancelRequest, FulfilmentRequest, FulfilmentResult, HookContext
from connector.plugin_manager import make_plugin_manager
from connector.plugins.shopify import hooks


class Checkpoint:
    def __init__(self, shopify: FakeShopify) -> None:
        self.shopify = shopify
        self.calls_before: list[int] = []

    def __call__(self) -> None:
        self.calls_before.append(len(self.shopify.calls))


def request(shopify: FakeShopify, **changes) -> tuple[FulfilmentRequest, Checkpoint]:
    checkpoint = Checkpoint(shopify)
    base = FulfilmentRequest(
        redemption_id=42,
        code="ABC123",
        channel="shopify",
        attempt=1,
        member=make_member(),
        reward=make_reward(),
        shop=SHOP,
        submitted_at=None,
        checkpoint=checkpoint,
    )
    return replace(base, **changes), checkpoint


def happy_shop(shopify: FakeShopify) -> None:
    shopify.on("FindVariantsBySku", variants(variant_node()))
    shopify.on("RewardOrderCreate", order_created(order_node(9000)))


#: The member of ``make_member`` as ``orderCreate`` upserts their customer: no search, no customerCreate.
UPSERT_ADA = {
    "toUpsert": {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "phone": "+16135550142"}
}


def fulfil(req: FulfilmentRequest, ctx: HookContext) -> FulfilmentResult | None:
    return hooks.connector_fulfil_redemption(request=req, ctx=ctx)


# -- the happy path ----------------------------------------------------------------------------------------


def test_creates_a_zero_priced_tagged_order(shopify, ctx):
    happy_shop(shopify)
    req, checkpoint = request(shopify)
    result = fulfil(req, ctx)

    assert result == FulfilmentResult(
        external_order_id="gid://shopify/Order/9000",
        external_order_name="#9000",
        shop_customer_id="gid://shopify/Customer/500",
    )
    assert shopify.operations == ["FindVariantsBySku", "RewardOrderCreate"]
    assert shopify.calls[0].variables == {"query": 'sku:"REWARD-TSHIRT-M"'}
    variables = shopify.calls_to("RewardOrderCreate")[0].variables
    order = variables["order"]
    assert order["lineItems"] == [
        {
            "variantId": "gid://shopify/ProductVariant/1",
            "quantity": 1,
            "priceSet": {"shopMoney": {"amount": "0.00", "currencyCode": "USD"}},
        }
    ]
    assert order["tags"] == ["loyalty-reward", "redemption-ABC123"]
    assert order["sourceIdentifier"] == "redemption-ABC123"
    assert order["sourceName"] == "connector"
    assert order["note"] == "Loyalty reward redemption ABC123"
    assert order["financialStatus"] == "PAID"
    assert order["customer"] == UPSERT_ADA
    assert order["shippingAddress"]["phone"] == "+16135550142"
    assert order["shippingAddress"]["provinceCode"] == "ON"
    assert variables["options"] == {
        "inventoryBehaviour": "DECREMENT_OBEYING_POLICY",
        "sendReceipt": False,
        "sendFulfillmentReceipt": True,
    }
    # Checkpoint exactly once, after every read and before orderCreate.
    assert checkpoint.calls_before == [1]


def test_currency_comes_from_config(shopify, ctx):
    happy_shop(shopify)
    req, _ = request(shopify)
    fulfil(req, replace(ctx, config={"SHOPIFY_CURRENCY": "cad"}))
    price = shopify.calls_to("RewardOrderCreate")[0].variables["order"]["lineItems"][0]["priceSet"]
    assert price == {"shopMoney": {"amount": "0.00", "currencyCode": "CAD"}}


def test_other_channels_are_not_ours(shopify, ctx):
    req, checkpoint = request(shopify, channel="email")
    assert fulfil(req, ctx) is None
    assert shopify.calls == [] and checkpoint.calls_before == []


def test_no_shop_is_shop_auth_failed(shopify, ctx):
    req, _ = request(shopify, shop=None)
    with pytest.raises(ProviderError) as caught:
        fulfil(req, ctx)
    assert caught.value.code == "shop_auth_failed" and not caught.value.retryable


def test_hooks_register_with_the_plugin_manager(shopify, ctx):
    happy_shop(shopify)
    pm = make_plugin_manager(load_entrypoints=False, extra=[hooks])
    req, _ = request(shopify)
    assert pm.hook.connector_fulfil_redemption(request=req, ctx=ctx).external_order_id.endswith("/9000")
    assert pm.hook.connector_fulfil_redemption(request=replace(req, channel="email"), ctx=ctx) is None
    [info] = pm.hook.connector_plugin_info()
    assert (info.name, info.channels, info.webhook_providers) == ("shopify", ("shopify",), ("shopify",))


# -- products ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nodes", "reason"),
    [
        ([], "SKU 'REWARD-TSHIRT-M' does not exist in reward-shop.myshopify.com"),
        ([variant_node("REWARD-TSHIRT-M-RED")], "does not exist"),  # search near miss is not the SKU
        ([variant_node(status="DRAFT")], "which is DRAFT"),
        ([variant_node(status="ARCHIVED")], "which is ARCHIVED"),
        ([variant_node(quantity=0)], "is out of stock (0 available)"),
    ],
)
def test_unorderable_sku_is_product_not_found_and_no_order_is_made(shopify, ctx, nodes, reason):
    shopify.on("FindVariantsBySku", variants(*nodes))
    req, checkpoint = request(shopify)
    with pytest.raises(ProviderError) as caught:
        fulfil(req, ctx)
    assert caught.value.code == "product_not_found"
    assert reason in caught.value.message
    assert caught.value.field == "sku" and not caught.value.retryable
    assert shopify.operations == ["FindVariantsBySku"]
    assert checkpoint.calls_before == []


@pytest.mark.parametrize("node", [variant_node(quantity=0, policy="CONTINUE"), variant_node(quantity=0, tracked=False)])
def test_untracked_or_oversellable_variant_can_be_ordered_at_zero_stock(shopify, ctx, node):
    happy_shop(shopify)
    shopify.on("FindVariantsBySku", variants(node))
    req, _ = request(shopify)
    assert fulfil(req, ctx).external_order_id


def test_invalid_member_fails_before_any_shopify_call(shopify, ctx):
    req, checkpoint = request(shopify, member=make_member(city="Ottawa 2"))
    with pytest.raises(ProviderError) as caught:
        fulfil(req, ctx)
    assert caught.value.code == "crm_id_not_found" and caught.value.field == "city"
    assert shopify.calls == [] and checkpoint.calls_before == []


# -- one order per redemption ------------------------------------------------------------------------------


def test_in_doubt_attempt_finds_the_existing_order_and_does_not_create_another(shopify, ctx):
    shopify.on("FindOrders", orders(order_node(9001)))
    req, checkpoint = request(shopify, submitted_at=NOW - timedelta(minutes=1), attempt=2)
    result = fulfil(req, ctx)
    assert result == FulfilmentResult(
        external_order_id="gid://shopify/Order/9001",
        external_order_name="#9001",
        shop_customer_id="gid://shopify/Customer/500",
        found_existing=True,
    )
    assert shopify.operations == ["FindOrders"]
    assert shopify.calls[0].variables == {"query": "tag:redemption-ABC123"}
    assert "RewardOrderCreate" not in shopify.operations
    assert checkpoint.calls_before == []


def test_lookup_falls_back_to_source_identifier_and_ignores_orders_without_the_mark(shopify, ctx):
    stranger = order_node(8000, code="OTHER", tags=["redemption-ABC1234"])  # search near miss
    shopify.on("FindOrders", orders(stranger), orders(order_node(9002, tags=[])))
    req, _ = request(shopify, submitted_at=NOW - timedelta(minutes=1))
    assert fulfil(req, ctx).external_order_id == "gid://shopify/Order/9002"
    assert [c.variables["query"] for c in shopify.calls] == [
        "tag:redemption-ABC123",
        "source_identifier:redemption-ABC123",
    ]


def test_when_duplicates_exist_the_earliest_live_order_is_kept(shopify, ctx):
    shopify.on(
        "FindOrders",
        orders(
            order_node(9005, created_at="2026-09-01T11:05:00Z"),
            order_node(9003, created_at="2026-09-01T11:00:00Z", cancelled_at="2026-09-01T11:30:00Z"),
            order_node(9004, created_at="2026-09-01T11:01:00Z"),
        ),
    )
    req, _ = request(shopify, submitted_at=NOW - timedelta(minutes=1))
    assert fulfil(req, ctx).external_order_id == "gid://shopify/Order/9004"


def test_not_found_within_the_lag_window_is_order_lookup_pending(shopify, ctx):
    shopify.on("FindOrders", orders())
    req, checkpoint = request(shopify, submitted_at=NOW - timedelta(seconds=100))
    lagging = replace(ctx, config={"SHOPIFY_ORDER_LOOKUP_LAG_SECONDS": "300"})
    with pytest.raises(ProviderError) as caught:
        fulfil(req, lagging)
    assert caught.value.code == "order_lookup_pending"
    assert caught.value.retryable and caught.value.retry_after == pytest.approx(200)
    assert shopify.operations == ["FindOrders", "FindOrders"]
    assert checkpoint.calls_before == []


def test_not_found_after_the_lag_window_creates_the_order(shopify, ctx):
    happy_shop(shopify)
    shopify.on("FindOrders", orders())
    req, checkpoint = request(shopify, submitted_at=NOW - timedelta(seconds=400))
    lagging = replace(ctx, config={"SHOPIFY_ORDER_LOOKUP_LAG_SECONDS": "300"})
    assert fulfil(req, lagging).found_existing is False
    assert shopify.operations == [
        "FindOrders",
        "FindOrders",
        "FindVariantsBySku",
        "RewardOrderCreate",
    ]
    assert checkpoint.calls_before == [3]


def test_lost_answer_to_order_create_is_in_doubt_after_the_checkpoint(shopify, ctx):
    happy_shop(shopify)
    shopify.on("RewardOrderCreate", Reply(raises=requests.ReadTimeout("read timed out")))
    req, checkpoint = request(shopify)
    with pytest.raises(ProviderError) as caught:
        fulfil(req, ctx)
    assert caught.value.code == "network_error"
    assert caught.value.retryable and caught.value.in_doubt and not caught.value.nothing_created
    assert checkpoint.calls_before == [1]
    assert shopify.operations == ["FindVariantsBySku", "RewardOrderCreate"]  # an in-doubt answer is never retried


def test_throttled_order_create_is_retried_after_the_wait(shopify, ctx, fake_time):
    happy_shop(shopify)
    shopify.on("RewardOrderCreate", throttled(requested=30, available=0, rate=100), order_created(order_node(9000)))
    req, checkpoint = request(shopify)
    assert fulfil(req, ctx).external_order_id == "gid://shopify/Order/9000"
    assert fake_time.sleeps == [pytest.approx(0.3)]
    assert len(shopify.calls_to("RewardOrderCreate")) == 2
    assert checkpoint.calls_before == [1]  # the retry is inside the same call: one checkpoint


# -- orderCreate userErrors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code", "field"),
    [
        (
            {
                "field": ["order", "lineItems", "0"],
                "message": "Unable to reserve inventory",
                "code": "INVENTORY_CLAIM_FAILED",
            },
            "product_not_found",
            "sku",
        ),
        (
            {"field": ["order", "lineItems", "0", "variantId"], "message": "Variant is invalid", "code": "INVALID"},
            "product_not_found",
            "sku",
        ),
        (
            {
                "field": ["order", "shippingAddress", "provinceCode"],
                "message": "Province is invalid",
                "code": "INVALID",
            },
            "crm_id_not_found",
            "province_code",
        ),
        (
            {"field": ["order", "shippingAddress", "zip"], "message": "Zip can't be blank", "code": "INVALID"},
            "missing_user_information",
            "zip",
        ),
        (
            {"field": ["order"], "message": "Processed at is invalid", "code": "PROCESSED_AT_INVALID"},
            "order_rejected",
            None,
        ),
    ],
)
def test_order_create_user_errors_are_mapped(shopify, ctx, error, code, field):
    happy_shop(shopify)
    shopify.on("RewardOrderCreate", order_created(None, error))
    req, _ = request(shopify)
    with pytest.raises(ProviderError) as caught:
        fulfil(req, ctx)
    assert caught.value.code == code and caught.value.field == field
    assert error["message"] in caught.value.message
    assert not caught.value.retryable
    # Shopify answered with errors, so no order exists: the host may forget this attempt's checkpoint.
    assert caught.value.nothing_created and not caught.value.in_doubt


def test_a_refused_order_after_an_earlier_submission_keeps_the_checkpoint(shopify, ctx):
    """The earlier attempt's order may still surface in search: only a first submission proves nothing exists."""
    happy_shop(shopify)
    shopify.on("FindOrders", orders())
    shopify.on(
        "RewardOrderCreate",
        order_created(None, {"field": ["order", "lineItems", "0"], "message": "No", "code": "INVENTORY_CLAIM_FAILED"}),
    )
    req, _ = request(shopify, submitted_at=NOW - timedelta(seconds=400))
    with pytest.raises(ProviderError) as caught:
        fulfil(req, replace(ctx, config={"SHOPIFY_ORDER_LOOKUP_LAG_SECONDS": "300"}))
    assert caught.value.code == "product_not_found" and not caught.value.nothing_created


# -- cancel -----------------------------------------------------------------------------------------------------


def cancel_request(**changes) -> CancelRequest:
    base = CancelRequest(
        redemption_id=42,
        code="ABC123",
        channel="shopify",
        shop=SHOP,
        external_order_id="gid://shopify/Order/9000",
        reason="member asked",
    )
    return replace(base, **changes)


def cancel_payload(job_done: bool = False, *errors) -> dict:
    job = None if errors else {"id": "gid://shopify/Job/1", "done": job_done}
    return ok({"orderCancel": {"job": job, "orderCancelUserErrors": list(errors)}})


def test_cancel_restocks_without_refund_or_email_and_confirms(shopify, ctx, fake_time):
    shopify.on("RewardOrderCancel", cancel_payload(job_done=False))
    shopify.on(
        "JobStatus", ok({"job": {"id": "gid://shopify/Job/1", "done": False}}), ok({"job": {"id": "j", "done": True}})
    )
    shopify.on("OrderById", ok({"order": order_node(9000, cancelled_at="2026-09-01T12:00:01Z")}))
    result = hooks.connector_cancel_order(request=cancel_request(), ctx=ctx)
    assert result.cancelled is True and "#9000" in result.message
    assert shopify.calls[0].variables == {
        "orderId": "gid://shopify/Order/9000",
        "reason": "OTHER",
        "restock": True,
        "notifyCustomer": False,
        "staffNote": "Loyalty redemption ABC123 reversed",
    }
    assert "refund: false" in shopify.calls[0].query
    assert shopify.operations == ["RewardOrderCancel", "JobStatus", "JobStatus", "OrderById"]
    assert fake_time.sleeps == [1.0, 1.0]


def test_cancel_without_restock_asks_shopify_not_to_restock(shopify, ctx):
    shopify.on("RewardOrderCancel", cancel_payload(job_done=True))
    shopify.on("OrderById", ok({"order": order_node(9000, cancelled_at="2026-09-01T12:00:01Z")}))
    result = hooks.connector_cancel_order(request=cancel_request(restock=False), ctx=ctx)
    assert result.cancelled is True
    assert shopify.calls[0].variables["restock"] is False


def test_cancel_of_an_already_cancelled_order_is_success(shopify, ctx):
    error = {
        "field": ["orderId"],
        "message": "Cannot cancel an order that has already been canceled",
        "code": "INVALID",
    }
    shopify.on("RewardOrderCancel", cancel_payload(False, error))
    result = hooks.connector_cancel_order(request=cancel_request(), ctx=ctx)
    assert result.cancelled is True and "already" in result.message


def test_cancel_refused_for_a_fulfilled_order_is_a_permanent_error(shopify, ctx):
    error = {"field": ["orderId"], "message": "Cannot cancel an order with fulfilled line items", "code": "INVALID"}
    shopify.on("RewardOrderCancel", cancel_payload(False, error))
    with pytest.raises(ProviderError) as caught:
        hooks.connector_cancel_order(request=cancel_request(), ctx=ctx)
    assert caught.value.code == "order_not_cancellable" and not caught.value.retryable
    assert "fulfilled line items" in caught.value.message


def test_cancel_job_still_running_after_the_poll_budget_is_accepted(shopify, ctx):
    shopify.on("RewardOrderCancel", cancel_payload(job_done=False))
    shopify.on("JobStatus", ok({"job": {"id": "gid://shopify/Job/1", "done": False}}))
    result = hooks.connector_cancel_order(
        request=cancel_request(), ctx=replace(ctx, config={"SHOPIFY_CANCEL_POLL_SECONDS": "2"})
    )
    assert result.cancelled is True and "background" in result.message
    assert shopify.operations == ["RewardOrderCancel", "JobStatus", "JobStatus"]


def test_cancel_job_done_but_order_not_cancelled_is_reported(shopify, ctx):
    shopify.on("RewardOrderCancel", cancel_payload(job_done=True))
    shopify.on("OrderById", ok({"order": order_node(9000)}))
    with pytest.raises(ProviderError) as caught:
        hooks.connector_cancel_order(request=cancel_request(), ctx=ctx)
    assert caught.value.code == "order_not_cancellable"


def test_cancel_for_other_channels_and_bad_ids(shopify, ctx):
    assert hooks.connector_cancel_order(request=cancel_request(channel="email"), ctx=ctx) is None
    with pytest.raises(ProviderError) as caught:
        hooks.connector_cancel_order(request=cancel_request(external_order_id="#1001"), ctx=ctx)
    assert caught.value.code == "order_not_found"
    assert shopify.calls == []


def test_customer_created_when_unknown_then_order_placed_for_it(shopify, ctx):
    happy_shop(shopify)
    shopify.on("RewardOrderCreate", order_created(order_node(9000, customer="gid://shopify/Customer/777")))
    req, checkpoint = request(shopify)
    assert fulfil(req, ctx).shop_customer_id == "gid://shopify/Customer/777"
    assert shopify.calls_to("RewardOrderCreate")[0].variables["order"]["customer"] == UPSERT_ADA
    assert shopify.operations == ["FindVariantsBySku", "RewardOrderCreate"]
    assert checkpoint.calls_before == [1]


def test_a_linked_member_names_their_customer_and_is_not_searched_for(shopify, ctx):
    happy_shop(shopify)
    req, _ = request(shopify, member=make_member(shop_customer_id="500"))
    assert fulfil(req, ctx).shop_customer_id == "gid://shopify/Customer/500"
    upsert = shopify.calls_to("RewardOrderCreate")[0].variables["order"]["customer"]["toUpsert"]
    assert upsert == {**UPSERT_ADA["toUpsert"], "id": "gid://shopify/Customer/500"}
    assert shopify.operations == ["FindVariantsBySku", "RewardOrderCreate"]


def upsert_refused(field: str, message: str) -> dict:
    return order_created(
        None, {"field": ["order", "customer", "toUpsert", field], "message": message, "code": "INVALID"}
    )


def test_a_linked_customer_gone_since_is_matched_again_and_the_order_placed_once(shopify, ctx):
    happy_shop(shopify)
    shopify.on(
        "RewardOrderCreate",
        upsert_refused("id", "Customer does not exist"),
        order_created(order_node(9000, customer="gid://shopify/Customer/777")),
    )
    req, checkpoint = request(shopify, member=make_member(shop_customer_id="500"))
    result = fulfil(req, ctx)
    assert result.shop_customer_id == "gid://shopify/Customer/777" and result.external_order_id
    # The refused orderCreate made nothing, so placing it again, upserting by email as for a new member, is safe.
    assert shopify.operations == ["FindVariantsBySku", "RewardOrderCreate", "RewardOrderCreate"]
    assert shopify.calls_to("RewardOrderCreate")[1].variables["order"]["customer"] == UPSERT_ADA
    assert checkpoint.calls_before == [1]


def test_a_gone_customer_of_a_member_without_email_is_matched_by_search(shopify, ctx):
    happy_shop(shopify)
    shopify.on(
        "RewardOrderCreate",
        upsert_refused("id", "Customer does not exist"),
        order_created(order_node(9000, customer="gid://shopify/Customer/777")),
    )
    shopify.on("FindCustomers", customers())
    shopify.on("CustomerCreate", customer_payload("customerCreate", customer_node(777, email=None)))
    req, _ = request(shopify, member=make_member(shop_customer_id="500", email=None))
    assert fulfil(req, ctx).shop_customer_id == "gid://shopify/Customer/777"
    # The gone customer is not read again: the search by phone finds nobody, so the customer is created.
    assert shopify.operations == [
        "FindVariantsBySku",
        "RewardOrderCreate",
        "FindCustomers",
        "CustomerCreate",
        "RewardOrderCreate",
    ]
    assert shopify.calls_to("RewardOrderCreate")[1].variables["order"]["customer"] == {
        "toAssociate": {"id": "gid://shopify/Customer/777"}
    }


def test_phone_of_another_customer_is_matched_the_slow_way_with_todays_answer(shopify, ctx):
    """The email matched customer 500 (or nobody) but customer 600 holds the phone: as before, say to merge."""
    happy_shop(shopify)
    shopify.on("RewardOrderCreate", upsert_refused("phone", "Phone has already been taken"))
    shopify.on("FindCustomers", customers(customer_node(500, phone=None), customer_node(600, email=None)))
    shopify.on(
        "CustomerUpdate",
        customer_payload("customerUpdate", None, {"field": ["phone"], "message": "Phone has already been taken"}),
    )
    req, _ = request(shopify)
    with pytest.raises(ProviderError) as caught:
        fulfil(req, ctx)
    assert caught.value.code == "crm_id_not_found" and caught.value.field == "phone"
    assert "Merge the two customers" in (caught.value.fix or "")
    assert shopify.operations == ["FindVariantsBySku", "RewardOrderCreate", "FindCustomers", "CustomerUpdate"]


@pytest.mark.parametrize(
    ("error", "code", "field", "shown"),
    [
        (
            {"field": ["order", "customer", "toUpsert", "email"], "message": "Email is invalid"},
            "crm_id_not_found",
            "email",
            "Shopify rejected the member's email: Email is invalid",
        ),
        (
            {"field": ["order", "customer", "toUpsert", "lastName"], "message": "Last name can't be blank"},
            "missing_user_information",
            "last_name",
            "last name: Last name can't be blank",
        ),
        (
            {
                "field": ["order", "customer", "toUpsert"],
                "message": "A name, phone number, or email address must be present",
            },
            "missing_user_information",
            "first_name,last_name,email,phone",
            "A name, phone number, or email address must be present",
        ),
    ],
)
def test_upsert_user_errors_read_as_customer_create_errors_did(shopify, ctx, error, code, field, shown):
    happy_shop(shopify)
    shopify.on("RewardOrderCreate", order_created(None, {**error, "code": "INVALID"}))
    req, _ = request(shopify)
    with pytest.raises(ProviderError) as caught:
        fulfil(req, ctx)
    assert (caught.value.code, caught.value.field) == (code, field)
    assert shown in caught.value.message and caught.value.fix and not caught.value.retryable
    assert shopify.operations == ["FindVariantsBySku", "RewardOrderCreate"]


def test_a_gone_customer_whose_member_phone_is_taken_is_matched_by_search_without_reading_it_again(shopify, ctx):
    happy_shop(shopify)
    shopify.on(
        "RewardOrderCreate",
        upsert_refused("id", "Customer does not exist"),
        upsert_refused("phone", "Phone has already been taken"),
        order_created(order_node(9000, customer="gid://shopify/Customer/600")),
    )
    shopify.on("FindCustomers", customers(customer_node(600, email=None)))
    shopify.on("CustomerUpdate", customer_payload("customerUpdate", customer_node(600)))
    req, checkpoint = request(shopify, member=make_member(shop_customer_id="500"))
    assert fulfil(req, ctx).shop_customer_id == "gid://shopify/Customer/600"
    assert shopify.operations == [
        "FindVariantsBySku",
        "RewardOrderCreate",
        "RewardOrderCreate",
        "FindCustomers",
        "CustomerUpdate",
        "RewardOrderCreate",
    ]
    assert shopify.calls_to("CustomerUpdate")[0].variables["input"] == {
        "id": "gid://shopify/Customer/600",
        "email": "ada@example.com",
    }
    assert checkpoint.calls_before == [1]
