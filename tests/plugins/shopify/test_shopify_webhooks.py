"""Webhook verification (HMAC over the raw body, precise 401 reasons) and topic → effect mapping."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime

import pytest

from connector.core.errors import WebhookPayloadError, WebhookRejectedError
from connector.core.hooktypes import (
    CustomerDataRequest,
    DeliveryUpdate,
    ForgetCached,
    HookContext,
    InboundWebhook,
    RedactCustomer,
    RedactShop,
    RetryErrorsForCustomer,
    RetryErrorsForSku,
    VerifiedWebhook,
)
from connector.core.model import DeliveryStatus
from connector.plugins.shopify import hooks
from connector.plugins.shopify.webhooks import SIGNATURE_MISMATCH, sign

DOMAIN = "reward-shop.myshopify.com"
SECRET = "current-client-secret"
OLD_SECRET = "previous-client-secret"
CTX = HookContext(config={}, logger=logging.getLogger("tests.shopify"))

ORDER_ID = 820982911946154508
ORDER = {
    "id": ORDER_ID,
    "admin_graphql_api_id": f"gid://shopify/Order/{ORDER_ID}",
    "name": "#9999",
    "updated_at": "2026-09-01T08:15:00-04:00",
    "cancelled_at": None,
    "tags": "loyalty-reward, redemption-ABC123",
    "customer": {"id": 115310627314723954, "email": "john@example.com", "phone": None},
    "line_items": [],
    "fulfillments": [],
}
FULFILLMENT = {
    "id": 123456,
    "order_id": ORDER_ID,
    "status": "success",
    "created_at": "2026-09-01T08:00:00-04:00",
    "updated_at": "2026-09-01T09:00:00-04:00",
    "tracking_company": "UPS",
    "shipment_status": None,
    "tracking_number": "1z827wk74630",
    "tracking_numbers": ["1z827wk74630"],
    "tracking_url": "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=1z827wk74630",
    "tracking_urls": [],
    "name": "#9999.1",
    "admin_graphql_api_id": "gid://shopify/Fulfillment/123456",
}


def secrets_for(domain: str) -> list[str]:
    return [SECRET, OLD_SECRET] if domain == DOMAIN else []


def delivery(
    payload: object = ORDER,
    *,
    topic: str = "orders/updated",
    secret: str = SECRET,
    body: bytes | None = None,
    drop: tuple[str, ...] = (),
    **header_overrides: str,
) -> InboundWebhook:
    raw = body if body is not None else json.dumps(payload).encode()
    headers = {
        "x-shopify-hmac-sha256": sign(secret, raw),
        "x-shopify-shop-domain": DOMAIN,
        "x-shopify-topic": topic,
        "x-shopify-webhook-id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "x-shopify-event-id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
        "x-shopify-triggered-at": "2026-09-01T13:15:47.000000Z",
        "x-shopify-api-version": "2026-07",
    }
    headers.update({k.replace("_", "-"): v for k, v in header_overrides.items()})
    for name in drop:
        headers.pop(name)
    return InboundWebhook(provider="shopify", headers=headers, body=raw)


def verify(webhook: InboundWebhook) -> VerifiedWebhook | None:
    return hooks.connector_verify_webhook(webhook=webhook, secrets_for=secrets_for, ctx=CTX)


def rejected(webhook: InboundWebhook) -> str:
    with pytest.raises(WebhookRejectedError) as caught:
        verify(webhook)
    assert caught.value.status_code == 401
    return caught.value.message


def refused(webhook: InboundWebhook) -> str:
    """A signed body that is unusable: 400 (not 401: the sender did hold the secret)."""
    with pytest.raises(WebhookPayloadError) as caught:
        verify(webhook)
    assert caught.value.status_code == 400
    return caught.value.message


# -- verification ----------------------------------------------------------------------------------------


def test_valid_signature_gives_the_delivery_identity():
    verified = verify(delivery())
    assert verified == VerifiedWebhook(
        provider="shopify",
        shop_domain=DOMAIN,
        topic="orders/updated",
        webhook_id="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        event_id="98880550-7158-44d4-b7cd-2c97c8a091b5",
        triggered_at=datetime(2026, 9, 1, 13, 15, 47, tzinfo=UTC),
        resource_id=f"gid://shopify/Order/{ORDER_ID}",
        resource_updated_at=datetime(2026, 9, 1, 12, 15, tzinfo=UTC),
        customer_ref="gid://shopify/Customer/115310627314723954",
    )
    assert verified.resource_updated_at.tzinfo is not None


def test_rotated_secret_is_still_accepted():
    assert verify(delivery(secret=OLD_SECRET)) is not None


def test_other_providers_are_not_ours():
    webhook = InboundWebhook(provider="stripe", headers={}, body=b"{}")
    assert verify(webhook) is None


def test_tampered_body_is_rejected():
    original = delivery()
    tampered = InboundWebhook(original.provider, original.headers, original.body.replace(b"9999", b"9998"))
    assert rejected(tampered) == SIGNATURE_MISMATCH


def test_wrong_secret_is_rejected():
    with pytest.raises(WebhookRejectedError) as caught:
        verify(delivery(secret="someone-elses-secret"))
    assert caught.value.message == SIGNATURE_MISMATCH
    assert caught.value.reason == f"signature does not match any of the 2 webhook secret(s) of {DOMAIN}"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("x-shopify-hmac-sha256", "missing X-Shopify-Hmac-Sha256 header"),
        ("x-shopify-shop-domain", "missing X-Shopify-Shop-Domain header"),
        ("x-shopify-topic", "missing X-Shopify-Topic header"),
    ],
)
def test_missing_headers_are_rejected_with_the_header_named(header, reason):
    assert rejected(delivery(drop=(header,))) == reason


def test_unknown_shop_is_rejected_with_the_answer_of_a_wrong_signature():
    with pytest.raises(WebhookRejectedError) as caught:
        verify(delivery(**{"x-shopify-shop-domain": "stranger.myshopify.com"}))
    assert caught.value.message == SIGNATURE_MISMATCH  # what the sender is told
    assert caught.value.reason.startswith("unknown shop stranger.myshopify.com")  # what the log says


@pytest.mark.parametrize("signature", ["not base64!!", "c2hvcnQ="])
def test_malformed_signature_answers_alike_for_known_and_unknown_shops(signature):
    known = rejected(delivery(**{"x-shopify-hmac-sha256": signature}))
    unknown = rejected(delivery(**{"x-shopify-hmac-sha256": signature, "x-shopify-shop-domain": "x.myshopify.com"}))
    assert known == unknown


@pytest.mark.parametrize("signature", ["not base64!!", "c2hvcnQ=", "é" * 44, "ÿÿÿÿ"])
def test_malformed_or_non_ascii_signature_is_a_rejection_not_a_crash(signature):
    reason = rejected(delivery(**{"x-shopify-hmac-sha256": signature}))
    assert "base64" in reason or "digest" in reason


def test_non_ascii_signature_of_the_right_length_is_rejected():
    # Werkzeug decodes header bytes as latin-1: a str compare_digest would raise TypeError (a 500).
    good = delivery().headers["x-shopify-hmac-sha256"]
    assert rejected(delivery(**{"x-shopify-hmac-sha256": good[:-2] + "é="})).startswith("signature is not valid")


def test_non_ascii_shop_domain_is_rejected():
    assert "shop domain" in rejected(delivery(**{"x-shopify-shop-domain": "réward-shop.myshopify.com"}))


def test_body_that_is_not_json_is_refused_after_a_valid_signature():
    assert refused(delivery(body=b"<xml/>")) == "body is not valid JSON"
    assert refused(delivery(body=b"[1, 2]")) == "body is not a JSON object"
    assert refused(delivery(body=b"\xff{}")) == "body is not UTF-8 text"


def test_body_nested_too_deep_is_refused_not_a_crash():
    deep = b"[" * 30_000 + b"]" * 30_000
    assert refused(delivery(body=b'{"a": ' + deep + b"}")) == "body nests JSON arrays or objects too deeply to read"


def test_headers_in_any_case_are_read():
    webhook = delivery()
    shouting = InboundWebhook("shopify", {k.upper(): v for k, v in webhook.headers.items()}, webhook.body)
    assert verify(shouting) is not None


def test_signature_is_base64_of_the_raw_body_hmac():
    body = b'{"id": 1}'
    expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    assert sign(SECRET, body) == expected


# -- topics ------------------------------------------------------------------------------------------------


def interpret(topic: str, payload: dict) -> list:
    verified = verify(delivery(payload, topic=topic))
    assert verified is not None
    return hooks.connector_interpret_webhook(delivery=verified, payload=payload, ctx=CTX)


@pytest.mark.parametrize(
    ("shipment_status", "status", "expected"),
    [
        ("label_printed", "success", DeliveryStatus.IN_PROGRESS),
        ("label_purchased", "success", DeliveryStatus.IN_PROGRESS),
        ("confirmed", "success", DeliveryStatus.IN_PROGRESS),
        ("ready_for_pickup", "success", DeliveryStatus.IN_PROGRESS),
        ("in_transit", "success", DeliveryStatus.SHIPPED),
        ("out_for_delivery", "success", DeliveryStatus.SHIPPED),
        ("attempted_delivery", "success", DeliveryStatus.SHIPPED),
        ("carrier_picked_up", "success", DeliveryStatus.SHIPPED),
        ("delayed", "success", DeliveryStatus.SHIPPED),
        (None, "success", DeliveryStatus.SHIPPED),
        ("delivered", "success", DeliveryStatus.DELIVERED),
        ("failure", "success", DeliveryStatus.FAILURE),
        (None, "pending", DeliveryStatus.IN_PROGRESS),
        (None, "failure", DeliveryStatus.FAILURE),
        ("in_transit", "cancelled", DeliveryStatus.IN_PROGRESS),
    ],
)
def test_fulfillment_topics_map_to_delivery_updates(shipment_status, status, expected):
    payload = {**FULFILLMENT, "shipment_status": shipment_status, "status": status}
    for topic in ("fulfillments/create", "fulfillments/update"):
        assert interpret(topic, payload) == [
            DeliveryUpdate(
                order_id=f"gid://shopify/Order/{ORDER_ID}",
                status=expected,
                updated_at=datetime(2026, 9, 1, 13, 0, tzinfo=UTC),
                tracking_number="1z827wk74630",
                tracking_url=FULFILLMENT["tracking_url"],
            )
        ]


def test_orders_fulfilled_is_shipped_or_delivered():
    shipped = {**ORDER, "fulfillments": [{**FULFILLMENT, "shipment_status": "in_transit"}]}
    delivered = {**ORDER, "fulfillments": [{**FULFILLMENT, "shipment_status": "delivered"}]}
    [update] = interpret("orders/fulfilled", shipped)
    assert update.status == DeliveryStatus.SHIPPED and update.tracking_number == "1z827wk74630"
    assert update.order_id == f"gid://shopify/Order/{ORDER_ID}"
    assert interpret("orders/fulfilled", delivered)[0].status == DeliveryStatus.DELIVERED


def test_orders_cancelled_is_a_cancelled_delivery():
    payload = {**ORDER, "cancelled_at": "2026-09-01T08:15:00-04:00"}
    assert interpret("orders/cancelled", payload) == [
        DeliveryUpdate(
            order_id=f"gid://shopify/Order/{ORDER_ID}",
            status=DeliveryStatus.CANCELLED,
            updated_at=datetime(2026, 9, 1, 12, 15, tzinfo=UTC),
        )
    ]


def test_payload_that_does_not_fit_its_topic_is_refused_and_has_no_effect():
    # A replayed order body under orders/cancelled, though the order is not cancelled.
    assert "needs a cancelled_at" in refused(delivery(ORDER, topic="orders/cancelled"))
    # An order body under a fulfilment topic: no order_id.
    assert "needs a numeric order_id" in refused(delivery(ORDER, topic="fulfillments/update"))
    # A row stored before the check existed is interpreted to nothing, too.
    for topic in ("orders/cancelled", "fulfillments/update"):
        stored = VerifiedWebhook("shopify", DOMAIN, topic, None, None, None, None, None)
        assert hooks.connector_interpret_webhook(delivery=stored, payload=ORDER, ctx=CTX) == []


def test_products_update_forgets_the_cached_variants_and_retries_the_skus_of_an_active_product():
    product = {
        "id": 788032119674292922,
        "admin_graphql_api_id": "gid://shopify/Product/788032119674292922",
        "status": "active",
        "updated_at": "2026-09-01T08:15:00-04:00",
        "variants": [{"sku": "REWARD-TSHIRT-M"}, {"sku": "REWARD-TSHIRT-L"}, {"sku": ""}, {"sku": None}],
    }
    # The product's tag reaches a SKU renamed away (no longer in the payload); the keys a SKU that moved here.
    forget = ForgetCached(
        keys=("variant-by-sku:REWARD-TSHIRT-L", "variant-by-sku:REWARD-TSHIRT-M"),
        tags=("product:gid://shopify/Product/788032119674292922",),
    )
    assert interpret("products/update", product) == [
        forget,
        RetryErrorsForSku(skus=("REWARD-TSHIRT-L", "REWARD-TSHIRT-M")),
    ]
    # A product no longer active retries nothing, but its variants must not be ordered from the cache.
    assert interpret("products/update", {**product, "status": "draft"}) == [forget]
    # A trimmed payload without admin_graphql_api_id names the product by its numeric id.
    trimmed = {k: v for k, v in product.items() if k != "admin_graphql_api_id"}
    assert interpret("products/update", {**trimmed, "variants": []}) == [
        ForgetCached(keys=(), tags=("product:gid://shopify/Product/788032119674292922",))
    ]


def test_customers_update_retries_the_customers_errors():
    customer = {
        "id": 706405506930370084,
        "admin_graphql_api_id": "gid://shopify/Customer/706405506930370084",
        "email": "bob@biller.com",
        "phone": "+16135550142",
        "updated_at": "2026-09-01T08:15:00-04:00",
    }
    verified = verify(delivery(customer, topic="customers/update"))
    assert verified.customer_ref == "gid://shopify/Customer/706405506930370084"
    assert interpret("customers/update", customer) == [
        RetryErrorsForCustomer(
            customer_id="gid://shopify/Customer/706405506930370084", email="bob@biller.com", phone="+16135550142"
        )
    ]


def test_customers_redact():
    payload = {
        "shop_id": 954889,
        "shop_domain": DOMAIN,
        "customer": {"id": 191167, "email": "john@example.com", "phone": "555-625-1199"},
        "orders_to_redact": [299938, 280263, 220458],
    }
    verified = verify(delivery(payload, topic="customers/redact"))
    assert verified.resource_id == verified.customer_ref == "gid://shopify/Customer/191167"
    assert interpret("customers/redact", payload) == [
        RedactCustomer(customer_id="gid://shopify/Customer/191167", email="john@example.com", phone="555-625-1199")
    ]


def test_shop_redact():
    payload = {"shop_id": 954889, "shop_domain": DOMAIN}
    assert verify(delivery(payload, topic="shop/redact")).resource_id == "gid://shopify/Shop/954889"
    assert interpret("shop/redact", payload) == [RedactShop(shop_domain=DOMAIN)]
    # A body naming another shop, replayed with this shop's headers, is refused and redacts nothing.
    other = {"shop_id": 1, "shop_domain": "other.myshopify.com"}
    assert "shop_domain is not the shop that signed it" in refused(delivery(other, topic="shop/redact"))
    stored = VerifiedWebhook("shopify", DOMAIN, "shop/redact", None, None, None, None, None)
    assert hooks.connector_interpret_webhook(delivery=stored, payload=other, ctx=CTX) == []


def test_customers_data_request():
    payload = {
        "shop_id": 954889,
        "shop_domain": DOMAIN,
        "orders_requested": [299938],
        "customer": {"id": 191167, "email": "john@example.com", "phone": "555-625-1199"},
        "data_request": {"id": 9999},
    }
    assert interpret("customers/data_request", payload) == [
        CustomerDataRequest(
            customer_id="gid://shopify/Customer/191167",
            email="john@example.com",
            phone="555-625-1199",
            request_id="9999",
        )
    ]


def test_other_topics_have_no_effect_and_other_providers_are_not_ours():
    assert interpret("orders/create", ORDER) == []
    other = VerifiedWebhook("stripe", DOMAIN, "charge.succeeded", None, None, None, None, None)
    assert hooks.connector_interpret_webhook(delivery=other, payload={}, ctx=CTX) is None
