"""Webhook subscriptions: CRUD over GraphQL with Shopify's userErrors, and deliveries that honour
each subscription's ``filter`` and ``includeFields``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shopify_sim import SimServer

from .conftest import Receiver, add_variant, data
from .documents import (
    CREATE_SUBSCRIPTION,
    DELETE_SUBSCRIPTION,
    LIST_SUBSCRIPTIONS,
    ORDER_CREATE,
    UPDATE_SUBSCRIPTION,
)

REWARD_FILTER = "tags:loyalty-reward OR source_identifier:redemption-*"


def create(sim: SimServer, topic: str, **sub: Any) -> dict[str, Any]:
    return data(sim, CREATE_SUBSCRIPTION, {"topic": topic, "sub": sub})["webhookSubscriptionCreate"]


def listed(sim: SimServer, **variables: Any) -> list[dict[str, Any]]:
    return data(sim, LIST_SUBSCRIPTIONS, {"first": 50, **variables})["webhookSubscriptions"]["nodes"]


def order(sim: SimServer, *, reward: bool, sku: str) -> dict[str, Any]:
    variant = add_variant(sim, sku, tracked=False)["variants"][0]["admin_graphql_api_id"]
    spec: dict[str, Any] = {"lineItems": [{"variantId": variant, "quantity": 1}], "email": "o@example.com"}
    if reward:
        spec |= {"tags": ["loyalty-reward", f"redemption-{sku}"], "sourceIdentifier": f"redemption-{sku}"}
    return data(sim, ORDER_CREATE, {"order": spec})["orderCreate"]["order"]


# -- CRUD ------------------------------------------------------------------------------------------


def test_create_list_update_delete(sim: SimServer, receiver: Receiver) -> None:
    made = create(
        sim, "ORDERS_FULFILLED", uri=receiver.url, filter=REWARD_FILTER, includeFields=["id", "fulfillments.status"]
    )
    assert made["userErrors"] == []
    sub = made["webhookSubscription"]
    assert sub["id"].startswith("gid://shopify/WebhookSubscription/")
    assert (sub["topic"], sub["uri"], sub["format"]) == ("ORDERS_FULFILLED", receiver.url, "JSON")
    assert (sub["filter"], sub["includeFields"]) == (REWARD_FILTER, ["id", "fulfillments.status"])
    other = create(sim, "PRODUCTS_UPDATE", uri=receiver.url)["webhookSubscription"]
    assert other["filter"] is None and other["includeFields"] == []

    assert [s["id"] for s in listed(sim)] == [sub["id"], other["id"]]
    assert [s["id"] for s in listed(sim, topics=["PRODUCTS_UPDATE"])] == [other["id"]]
    assert listed(sim, uri="https://elsewhere.example/hooks") == []

    changed = data(sim, UPDATE_SUBSCRIPTION, {"id": sub["id"], "sub": {"includeFields": ["id"]}})
    assert changed["webhookSubscriptionUpdate"]["userErrors"] == []
    after = changed["webhookSubscriptionUpdate"]["webhookSubscription"]
    assert after["includeFields"] == ["id"]
    assert after["filter"] == REWARD_FILTER and after["uri"] == receiver.url  # absent fields are kept
    cleared = data(sim, UPDATE_SUBSCRIPTION, {"id": sub["id"], "sub": {"filter": None}})
    assert cleared["webhookSubscriptionUpdate"]["webhookSubscription"]["filter"] is None

    deleted = data(sim, DELETE_SUBSCRIPTION, {"id": sub["id"]})["webhookSubscriptionDelete"]
    assert deleted == {"deletedWebhookSubscriptionId": sub["id"], "userErrors": []}
    assert [s["id"] for s in listed(sim)] == [other["id"]]


def test_pages_follow_the_cursor(sim: SimServer) -> None:
    ids = [
        create(sim, "ORDERS_FULFILLED", uri=f"https://hooks.example/{n}")["webhookSubscription"]["id"] for n in range(5)
    ]
    seen: list[str] = []
    after = None
    while True:
        page = data(sim, LIST_SUBSCRIPTIONS, {"first": 2, "after": after})["webhookSubscriptions"]
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ids


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("not a url", "Address is invalid"),
        ("ftp://hooks.example/x", "Address is invalid"),
        ("https://user:pw@hooks.example/x", "Address is invalid"),
        ("http://hooks.example/x", "Address protocol http:// is not supported"),
        ("", "Address can't be blank"),
    ],
)
def test_a_bad_address_is_a_user_error_and_stores_nothing(sim: SimServer, uri: str, message: str) -> None:
    made = create(sim, "ORDERS_FULFILLED", uri=uri)
    assert made == {
        "webhookSubscription": None,
        "userErrors": [{"field": ["webhookSubscription", "uri"], "message": message}],
    }
    assert listed(sim) == []


def test_pubsub_and_eventbridge_addresses_are_accepted(sim: SimServer) -> None:
    assert create(sim, "ORDERS_FULFILLED", uri="pubsub://my-project:shop-events")["userErrors"] == []
    arn = "arn:aws:events:us-east-1::event-source/aws.partner/shopify.com/1234/connector"
    assert create(sim, "ORDERS_FULFILLED", uri=arn)["userErrors"] == []


def test_one_topic_to_one_address_once(sim: SimServer, receiver: Receiver) -> None:
    assert create(sim, "ORDERS_FULFILLED", uri=receiver.url)["userErrors"] == []
    again = create(sim, "ORDERS_FULFILLED", uri=receiver.url, filter="id:*")
    assert again["userErrors"] == [
        {"field": ["webhookSubscription", "uri"], "message": "Address for this topic has already been taken"}
    ]
    assert create(sim, "ORDERS_CANCELLED", uri=receiver.url)["userErrors"] == []  # another topic is fine
    assert len(listed(sim)) == 2


@pytest.mark.parametrize("bad", ["loyalty-reward", "tags:", "(tags:a", "tags:a OR"])
def test_an_invalid_filter_is_a_user_error_on_create_and_update(sim: SimServer, receiver: Receiver, bad: str) -> None:
    made = create(sim, "ORDERS_FULFILLED", uri=receiver.url, filter=bad)
    assert made["webhookSubscription"] is None
    assert made["userErrors"][0]["field"] == ["webhookSubscription", "filter"]
    assert made["userErrors"][0]["message"].startswith("The specified filter is invalid")
    sub = create(sim, "ORDERS_FULFILLED", uri=receiver.url, filter="id:*")["webhookSubscription"]
    changed = data(sim, UPDATE_SUBSCRIPTION, {"id": sub["id"], "sub": {"filter": bad}})["webhookSubscriptionUpdate"]
    assert changed["webhookSubscription"] is None and changed["userErrors"]
    assert listed(sim)[0]["filter"] == "id:*"  # unchanged


def test_unknown_ids_are_user_errors(sim: SimServer) -> None:
    missing = "gid://shopify/WebhookSubscription/1"
    updated = data(sim, UPDATE_SUBSCRIPTION, {"id": missing, "sub": {"filter": "id:*"}})["webhookSubscriptionUpdate"]
    assert updated["userErrors"] == [{"field": ["id"], "message": "Webhook subscription does not exist"}]
    deleted = data(sim, DELETE_SUBSCRIPTION, {"id": missing})["webhookSubscriptionDelete"]
    assert deleted == {
        "deletedWebhookSubscriptionId": None,
        "userErrors": [{"field": ["id"], "message": "Webhook subscription does not exist"}],
    }


def test_privacy_topics_cannot_be_subscribed_through_the_api(sim: SimServer, receiver: Receiver) -> None:
    body = sim.graphql(CREATE_SUBSCRIPTION, {"topic": "CUSTOMERS_REDACT", "sub": {"uri": receiver.url}}).json()
    assert "data" not in body and body["errors"][0]["extensions"]["code"] == "INVALID_VARIABLE"


# -- deliveries ------------------------------------------------------------------------------------


def test_a_filtered_subscription_delivers_only_reward_orders_events(sim: SimServer, receiver: Receiver) -> None:
    sim.control("config", {"webhook_secret": "s"})
    create(sim, "ORDERS_FULFILLED", uri=receiver.url, filter=REWARD_FILTER, includeFields=["id", "tags"])
    orders = [order(sim, reward=n % 4 == 0, sku=f"F-{n}") for n in range(8)]
    for made in orders:
        sim.control(f"orders/{made['legacyResourceId']}/fulfil", {})
    received = receiver.wait_for(2)
    assert receiver.topics() == ["orders/fulfilled", "orders/fulfilled"]
    bodies = [json.loads(r.body) for r in received]
    assert [b["id"] for b in bodies] == [int(orders[0]["legacyResourceId"]), int(orders[4]["legacyResourceId"])]
    assert all(set(b) == {"id", "tags"} for b in bodies)  # trimmed to includeFields
    stats = sim.control("stats")
    assert stats["webhook_filtered"] == 6
    assert stats["webhook_bytes"] == sum(len(r.body) for r in received)


def test_each_subscription_gets_its_own_trim_with_one_event_id(sim: SimServer, receiver: Receiver) -> None:
    create(sim, "ORDERS_FULFILLED", uri=receiver.url, includeFields=["id", "fulfillments.shipment_status"])
    create(sim, "ORDERS_FULFILLED", uri=receiver.url + "/audit")
    made = order(sim, reward=False, sku="BOTH")
    sim.control(f"orders/{made['legacyResourceId']}/fulfil", {"shipment_status": "in_transit"})
    first, second = receiver.wait_for(2)
    assert (first.path, second.path) == ("/webhooks/shopify", "/webhooks/shopify/audit")
    assert json.loads(first.body) == {
        "id": int(made["legacyResourceId"]),
        "fulfillments": [{"shipment_status": "in_transit"}],
    }
    assert json.loads(second.body)["line_items"]  # the whole payload
    assert first.headers["X-Shopify-Event-Id"] == second.headers["X-Shopify-Event-Id"]
    assert first.headers["X-Shopify-Webhook-Id"] != second.headers["X-Shopify-Webhook-Id"]


def test_topics_without_subscriptions_keep_the_configured_target(sim: SimServer, receiver: Receiver) -> None:
    sim.control("config", {"webhook_target_url": receiver.url + "/configured"})
    create(sim, "ORDERS_FULFILLED", uri=receiver.url, filter="tags:nothing-has-this")
    made = order(sim, reward=True, sku="CFG")
    sim.control("webhooks/flush", {})
    sim.control(f"orders/{made['legacyResourceId']}/fulfil", {})
    # Topics without a subscription go to the configured target; orders/fulfilled has a subscription,
    # whose filter suppresses it, so the configured target does not get it either.
    assert receiver.topics() == ["products/create", "orders/create", "fulfillments/create"]
    assert {r.path for r in receiver.requests} == {"/webhooks/shopify/configured"}
    assert sim.control("stats")["webhook_filtered"] == 1


def test_privacy_topics_stay_with_the_apps_configuration(sim: SimServer, receiver: Receiver) -> None:
    sim.control("config", {"webhook_target_url": receiver.url})
    customer = sim.control("customers", {"email": "p@example.com"})["customer"]
    result = sim.control("webhooks/send", {"topic": "customers/redact", "customer_id": customer["id"]})
    assert result["statuses"] == [200]
    assert receiver.topics() == ["customers/create", "customers/redact"]


def test_a_background_delivery_is_filtered_too(sim: SimServer, receiver: Receiver) -> None:
    create(sim, "ORDERS_CREATE", uri=receiver.url, filter=REWARD_FILTER, includeFields=["id", "source_identifier"])
    order(sim, reward=False, sku="BG-1")
    reward = order(sim, reward=True, sku="BG-2")
    assert sim.control("webhooks/flush", {})["flushed"]
    assert [json.loads(r.body) for r in receiver.requests] == [
        {"id": int(reward["legacyResourceId"]), "source_identifier": "redemption-BG-2"}
    ]
