"""Signed webhook deliveries to a local receiver, shaped like Shopify's."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from shopify_sim import SimServer, sign

from .conftest import Receiver, add_variant, data
from .documents import ORDER_CANCEL, ORDER_CREATE

SECRET = "test-secret"
HEADERS = (
    "X-Shopify-Topic",
    "X-Shopify-Hmac-Sha256",
    "X-Shopify-Shop-Domain",
    "X-Shopify-Api-Version",
    "X-Shopify-Webhook-Id",
    "X-Shopify-Event-Id",
    "X-Shopify-Triggered-At",
)


def verified(body: bytes, header: str, secret: str = SECRET) -> bool:
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, header.encode())


def subscribe(sim: SimServer, receiver: Receiver, **extra: Any) -> None:
    sim.control(
        "config",
        {
            "webhook_target_url": receiver.url,
            "webhook_secret": SECRET,
            "shop_domain": "reward-shop.myshopify.com",
            **extra,
        },
    )


def make_order(sim: SimServer, redemption: str = "w1") -> dict[str, Any]:
    variant = add_variant(sim, f"SKU-{redemption}", tracked=False)["variants"][0]["admin_graphql_api_id"]
    order = {
        "lineItems": [{"variantId": variant, "quantity": 1}],
        "email": "w@example.com",
        "tags": ["loyalty-reward", f"redemption-{redemption}"],
        "sourceIdentifier": redemption,
    }
    return data(sim, ORDER_CREATE, {"order": order})["orderCreate"]["order"]


def test_sign_matches_a_known_vector() -> None:
    assert sign("", b"") == "thNnmggU2ex3L5XXeMNfxf8Wl8STcVZTxscSFEKSxa0="
    assert verified(b'{"a":1}', sign(SECRET, b'{"a":1}'))


def test_fulfilment_sends_signed_fulfillment_and_order_webhooks(sim: SimServer, receiver: Receiver) -> None:
    order = make_order(sim)
    sim.control("webhooks/flush", {})  # let orders/create (sent before subscribing: none) settle
    subscribe(sim, receiver)
    numeric = int(order["legacyResourceId"])
    result = sim.control(
        f"orders/{numeric}/fulfil",
        {
            "shipment_status": "in_transit",
            "tracking_number": "1Z1",
            "tracking_url": "https://t.example/1Z1",
            "tracking_company": "UPS",
        },
    )
    assert [w["status"] for w in result["webhooks"]] == [200, 200]
    deliveries = receiver.wait_for(2)
    assert [d.headers["X-Shopify-Topic"] for d in deliveries] == ["fulfillments/create", "orders/fulfilled"]
    for delivery in deliveries:
        for header in HEADERS:
            assert delivery.headers.get(header), header
        assert verified(delivery.body, delivery.headers["X-Shopify-Hmac-Sha256"])
        assert delivery.headers["X-Shopify-Shop-Domain"] == "reward-shop.myshopify.com"
        assert delivery.headers["X-Shopify-Api-Version"] == "2026-07"
        assert delivery.headers["Content-Type"] == "application/json"
    fulfillment = json.loads(deliveries[0].body)
    assert fulfillment["order_id"] == numeric
    assert fulfillment["admin_graphql_api_id"] == f"gid://shopify/Fulfillment/{fulfillment['id']}"
    assert (fulfillment["status"], fulfillment["shipment_status"]) == ("success", "in_transit")
    assert (fulfillment["tracking_number"], fulfillment["tracking_company"]) == ("1Z1", "UPS")
    assert fulfillment["tracking_url"] == "https://t.example/1Z1"
    order_body = json.loads(deliveries[1].body)
    assert order_body["id"] == numeric and order_body["name"] == "#1001"
    assert order_body["tags"] == "loyalty-reward, redemption-w1"
    assert order_body["source_identifier"] == "w1"
    assert order_body["fulfillment_status"] == "fulfilled"
    assert order_body["fulfillments"][0]["id"] == fulfillment["id"]
    assert deliveries[0].headers["X-Shopify-Event-Id"] != deliveries[1].headers["X-Shopify-Event-Id"]

    update = sim.control(f"fulfillments/{fulfillment['id']}/update", {"shipment_status": "delivered"})
    assert update["webhooks"][0]["status"] == 200
    third = receiver.wait_for(3)[2]
    assert third.headers["X-Shopify-Topic"] == "fulfillments/update"
    assert json.loads(third.body)["shipment_status"] == "delivered"


def test_redelivery_keeps_event_id_with_new_webhook_ids(sim: SimServer, receiver: Receiver) -> None:
    subscribe(sim, receiver)
    order = make_order(sim, "dup")
    sim.control("webhooks/flush", {})
    before = len(receiver.requests)
    sent = sim.control(
        "webhooks/send", {"topic": "orders/updated", "order_id": int(order["legacyResourceId"]), "repeat": 3}
    )
    assert sent["statuses"] == [200, 200, 200]
    deliveries = receiver.wait_for(before + 3)[before:]
    assert {d.headers["X-Shopify-Event-Id"] for d in deliveries} == {sent["event_id"]}
    assert len({d.headers["X-Shopify-Webhook-Id"] for d in deliveries}) == 3
    assert len({d.body for d in deliveries}) == 1
    assert all(verified(d.body, d.headers["X-Shopify-Hmac-Sha256"]) for d in deliveries)

    again = sim.control("webhooks/redeliver", {"event_id": sent["event_id"]})
    redelivered = receiver.wait_for(before + 4)[-1]
    assert again["statuses"] == [200]
    assert redelivered.headers["X-Shopify-Event-Id"] == sent["event_id"]
    assert redelivered.headers["X-Shopify-Webhook-Id"] not in {d.headers["X-Shopify-Webhook-Id"] for d in deliveries}


def test_graphql_mutations_deliver_in_the_background(sim: SimServer, receiver: Receiver) -> None:
    subscribe(sim, receiver, webhook_topics=["orders/create", "orders/cancelled"])
    order = make_order(sim, "bg")
    data(sim, ORDER_CANCEL, {"orderId": order["id"], "reason": "OTHER", "restock": False})
    assert sim.control("webhooks/flush", {"timeout": 5})["flushed"] is True
    assert receiver.topics() == ["orders/create", "orders/cancelled"]  # products/create not subscribed
    cancelled = json.loads(receiver.requests[1].body)
    assert cancelled["cancel_reason"] == "other" and cancelled["cancelled_at"] is not None
    log = sim.control("webhooks")["deliveries"]
    assert [d["topic"] for d in log] == ["orders/create", "orders/cancelled"]
    assert all(d["ok"] for d in log)


def test_control_api_changes_send_product_and_customer_webhooks(sim: SimServer, receiver: Receiver) -> None:
    subscribe(sim, receiver)
    product = add_variant(sim, "HOOK-1", inventory=2)
    sim.control("variants/HOOK-1", {"inventory": 0}, method="PATCH")
    customer = sim.control("customers", {"email": "hook@example.com"})["customer"]
    sim.control(f"customers/{customer['id']}", {"first_name": "Hook"}, method="PATCH")
    deliveries = receiver.wait_for(4)
    assert [d.headers["X-Shopify-Topic"] for d in deliveries] == [
        "products/create",
        "products/update",
        "customers/create",
        "customers/update",
    ]
    updated = json.loads(deliveries[1].body)
    assert updated["id"] == product["id"] and updated["status"] == "active"
    assert updated["variants"][0] == {
        **updated["variants"][0],
        "sku": "HOOK-1",
        "inventory_quantity": 0,
        "product_id": product["id"],
    }
    customer_body = json.loads(deliveries[3].body)
    assert (customer_body["first_name"], customer_body["email"]) == ("Hook", "hook@example.com")
    assert customer_body["admin_graphql_api_id"] == f"gid://shopify/Customer/{customer['id']}"


def test_privacy_payloads_and_header_overrides(sim: SimServer, receiver: Receiver) -> None:
    subscribe(sim, receiver)
    customer = sim.control("customers", {"email": "gdpr@example.com", "phone": "+16135550199"})["customer"]
    receiver.wait_for(1)
    redact = sim.control("webhooks/send", {"topic": "customers/redact", "customer_id": customer["id"]})
    request_ = sim.control("webhooks/send", {"topic": "customers/data_request", "customer_id": customer["id"]})
    shop = sim.control("webhooks/send", {"topic": "shop/redact"})
    assert [redact["statuses"], request_["statuses"], shop["statuses"]] == [[200], [200], [200]]
    bodies = [json.loads(r.body) for r in receiver.wait_for(4)[1:]]
    assert bodies[0] == {
        "shop_id": 548380009,
        "shop_domain": "reward-shop.myshopify.com",
        "customer": {"id": customer["id"], "email": "gdpr@example.com", "phone": "+16135550199"},
        "orders_to_redact": [],
    }
    assert bodies[1]["orders_requested"] == [] and isinstance(bodies[1]["data_request"]["id"], int)
    assert bodies[2] == {"shop_id": 548380009, "shop_domain": "reward-shop.myshopify.com"}

    sim.control(
        "webhooks/send",
        {"topic": "orders/updated", "payload": {"id": 1}, "headers": {"X-Shopify-Hmac-Sha256": "forged"}},
    )
    sim.control("webhooks/send", {"topic": "orders/updated", "raw_body": "not json"})
    forged, raw = receiver.wait_for(6)[4:]
    assert forged.headers["X-Shopify-Hmac-Sha256"] == "forged"
    assert raw.body == b"not json" and verified(raw.body, raw.headers["X-Shopify-Hmac-Sha256"])


def test_receiver_failures_are_reported(sim: SimServer, receiver: Receiver) -> None:
    subscribe(sim, receiver)
    receiver.status = 500
    sent = sim.control("webhooks/send", {"topic": "shop/redact"})
    assert sent["statuses"] == [500]
    assert sent["deliveries"][0]["ok"] is False
    unreachable = sim.control("webhooks/send", {"topic": "shop/redact", "url": "http://127.0.0.1:9/nothing"})
    assert unreachable["statuses"] == [None]
    assert unreachable["deliveries"][0]["error"]


def test_every_handled_topic_the_simulator_sends_fits_the_connectors_shape_check(
    sim: SimServer, receiver: Receiver
) -> None:
    """The connector refuses a body that does not fit its topic (issue 10): the simulator's bodies must fit."""
    from connector.plugins.shopify.payload_shapes import SHAPES, shape_problem

    subscribe(sim, receiver)
    order = make_order(sim, "shape")
    numeric = int(order["legacyResourceId"])
    fulfilment = sim.control(f"orders/{numeric}/fulfil", {"shipment_status": "in_transit"})
    sim.control(f"fulfillments/{fulfilment['fulfillment']['id']}/update", {"shipment_status": "delivered"})
    other = make_order(sim, "shape-cancel")
    data(sim, ORDER_CANCEL, {"orderId": other["id"], "reason": "OTHER", "restock": False})
    add_variant(sim, "SHAPE-1", inventory=2)
    sim.control("variants/SHAPE-1", {"inventory": 0}, method="PATCH")
    customer = sim.control("customers", {"email": "shape@example.com", "phone": "+16135550100"})["customer"]
    sim.control(f"customers/{customer['id']}", {"first_name": "Shape"}, method="PATCH")
    for topic in ("customers/redact", "customers/data_request"):
        sim.control("webhooks/send", {"topic": topic, "customer_id": customer["id"]})
    sim.control("webhooks/send", {"topic": "shop/redact"})
    sim.control("app/uninstall", {"url": receiver.url})
    assert sim.control("webhooks/flush", {"timeout": 5})["flushed"] is True
    seen = set()
    for delivery in receiver.requests:
        topic = delivery.headers["X-Shopify-Topic"]
        seen.add(topic)
        assert shape_problem(topic, json.loads(delivery.body), "reward-shop.myshopify.com") is None, topic
    assert set(SHAPES) <= seen, set(SHAPES) - seen
