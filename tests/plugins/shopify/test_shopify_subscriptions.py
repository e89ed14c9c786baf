"""Webhook subscriptions: the wanted set, its documents, and the sync against the simulator over real HTTP.

The simulator stands in for Shopify (its filter and includeFields follow Shopify's documentation, see
``simulator/shopify_sim/webhook_filter.py``); what is proven here is that the connector asks for the
right subscriptions, that a second sync sends no mutation, that trimmed payloads still drive the
handlers, that filtered subscriptions deliver reward orders' events only, and that one shop's sync
never reaches another shop.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from graphql import GraphQLSchema, NoDeprecatedCustomRule, parse, specified_rules, validate
from graphql.execution.values import get_variable_values
from shopify_fakes import make_member

from connector.core.errors import ProviderError
from connector.core.hooktypes import HookContext, InboundWebhook, ShopInfo, WebhookSyncReport
from connector.plugins.shopify import hooks, orders
from connector.plugins.shopify.customers import order_customer_input
from connector.plugins.shopify.documents import ORDER_CREATE
from connector.plugins.shopify.member_validation import validate_member
from connector.plugins.shopify.payload_shapes import shape_problem
from connector.plugins.shopify.subscriptions import (
    APP_CONFIGURED_TOPICS,
    PLANS,
    REWARD_ORDER_FILTER,
    SUBSCRIPTION_DOCUMENTS,
    ZERO_PRICED_LINE_FILTER,
    changes_input,
    desired_subscriptions,
    subscription_input,
)
from connector.plugins.shopify.variants import find_orderable_variant
from connector.plugins.shopify.webhook_topics import TOPICS, interpret
from connector.plugins.shopify.webhooks import verify_delivery
from shopify_sim import SimServer
from shopify_sim.schema import base_schema
from shopify_sim.webhook_filter import matches, trim
from tests.webhook_receiver import Receiver, receiving

DOMAIN = "reward-shop.myshopify.com"
SECRET = "sim-app-client-secret"
URI = "https://rewards.example.com/webhooks/shopify"
#: The simulator listens on 127.0.0.1 over plain HTTP: allowed only with this setting, as in the tests' env.
CONFIG = {"SHOPIFY_ALLOW_CUSTOM_API_BASE": "true"}
MUTATIONS = {"webhookSubscriptionCreate", "webhookSubscriptionUpdate", "webhookSubscriptionDelete"}
DOCS = {d.name: d for d in SUBSCRIPTION_DOCUMENTS}


def start_sim(domain: str = DOMAIN) -> SimServer:
    server = SimServer(webhook_secret=SECRET, shop_domain=domain, access_token=f"shpat_{domain.split('.')[0]}")
    return server.start()


@pytest.fixture
def sim() -> Iterator[SimServer]:
    server = start_sim()
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


def shop_of(sim: SimServer, shop_id: int = 1) -> ShopInfo:
    domain = sim.state.config.shop_domain
    return ShopInfo(id=shop_id, domain=domain, api_base_url=sim.base_url, access_token=sim.state.config.access_token)


def context(**config: str) -> HookContext:
    return HookContext(config={**CONFIG, **config}, logger=logging.getLogger("tests.shopify.subscriptions"))


def sync(sim: SimServer, uri: str = URI, **config: str) -> WebhookSyncReport:
    report = hooks.connector_sync_webhooks(
        shop=shop_of(sim), webhook_uri=uri, provider="shopify", ctx=context(**config)
    )
    assert report is not None
    return report


def stored(sim: SimServer) -> dict[str, tuple[str, str | None, tuple[str, ...]]]:
    """The shop's subscriptions as the simulator holds them: topic -> (uri, filter, includeFields)."""
    with sim.state.store.lock:
        subs = list(sim.state.store.webhook_subscriptions.values())
    return {f"{s.topic}@{s.uri}": (s.uri, s.filter, tuple(s.include_fields)) for s in subs}


def mutations_sent(sim: SimServer) -> list[str]:
    return [f for entry in sim.state.logged_requests() for f in entry.get("root_fields", []) if f in MUTATIONS]


# -- what is asked for ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DOCS))
def test_documents_are_valid_against_the_admin_schema_and_use_nothing_deprecated(admin_schema: GraphQLSchema, name):
    # NoDeprecatedCustomRule: neither the deprecated callbackUrl nor endpoint is read or sent.
    assert validate(admin_schema, parse(DOCS[name].text), [*specified_rules, NoDeprecatedCustomRule]) == []


@pytest.mark.parametrize("name", sorted(DOCS))
def test_documents_select_only_what_the_simulator_serves(name):
    assert validate(base_schema(), parse(DOCS[name].text)) == []


def _examples() -> list[tuple[str, dict[str, Any]]]:
    examples: list[tuple[str, dict[str, Any]]] = [("WebhookSubscriptions", {"after": None})]
    for filters in (True, False):
        for wanted in desired_subscriptions(URI, filters=filters):
            examples.append(
                (
                    "WebhookSubscriptionCreate",
                    {"topic": wanted.topic_name, "webhookSubscription": subscription_input(wanted)},
                )
            )
            examples.append(
                (
                    "WebhookSubscriptionUpdate",
                    {"id": "gid://shopify/WebhookSubscription/1", "webhookSubscription": changes_input(wanted)},
                )
            )
    examples.append(("WebhookSubscriptionDelete", {"id": "gid://shopify/WebhookSubscription/1"}))
    return examples


@pytest.mark.parametrize(("name", "variables"), _examples())
def test_the_variables_the_plugin_builds_coerce_against_the_admin_schema(admin_schema: GraphQLSchema, name, variables):
    operation = parse(DOCS[name].text).definitions[0]
    coerced = get_variable_values(admin_schema, operation.variable_definitions or (), variables)  # type: ignore[attr-defined]
    assert not isinstance(coerced, list), [e.message for e in coerced]


def test_subscriptions_are_made_with_uri_never_the_deprecated_callback_url():
    for wanted in desired_subscriptions(URI):
        made = subscription_input(wanted)
        assert made["uri"] == URI and "callbackUrl" not in made
        assert "callbackUrl" not in changes_input(wanted)
    assert all("callbackUrl" not in d.text for d in SUBSCRIPTION_DOCUMENTS)


def test_the_wanted_topics_are_the_handled_ones_except_those_the_app_configures():
    wanted = {d.topic for d in desired_subscriptions(URI)}
    assert wanted == set(TOPICS) - APP_CONFIGURED_TOPICS
    assert {"customers/redact", "customers/data_request", "shop/redact"} <= APP_CONFIGURED_TOPICS
    assert set(PLANS) == wanted, "a handled topic has no subscription plan (filter, includeFields)"
    assert {d.topic: d.filter for d in desired_subscriptions(URI)} == {
        "customers/update": None,
        "fulfillments/create": ZERO_PRICED_LINE_FILTER,
        "fulfillments/update": ZERO_PRICED_LINE_FILTER,
        "orders/cancelled": REWARD_ORDER_FILTER,
        "orders/fulfilled": REWARD_ORDER_FILTER,
        "products/update": None,  # a product set to draft must reach the handler: its cached variants go stale
    }
    assert all(d.filter is None for d in desired_subscriptions(URI, filters=False))


# -- the shop's side: orders made by the plugin's own code ------------------------------------------------


def reward_order(sim: SimServer, sku: str, code: str) -> dict[str, Any]:
    """A reward order exactly as the fulfil hook makes it (tags, source identifier, zero price)."""
    sim.control("products", {"sku": sku, "title": f"Reward {sku}", "inventory": 10})
    ctx = context()
    member = validate_member(make_member(email=f"{code.lower()}@example.com", phone=None), date(2026, 9, 1))
    with hooks.make_client(shop_of(sim), ctx, hooks.ShopifyConfig.from_mapping(ctx.config)) as client:
        variant = find_orderable_variant(client, sku)
        made = orders.create_reward_order(
            client, code=code, variant=variant, customer=order_customer_input(member), member=member, currency="USD"
        )
    return sim.control(f"orders/{made.id.rsplit('/', 1)[1]}")["order"]


def ordinary_order(sim: SimServer, sku: str) -> dict[str, Any]:
    """A shopper's paid order: the variables of a reward order without its marks, at a price."""
    sim.control("products", {"sku": sku, "title": f"Retail {sku}", "inventory": 10, "price": "25.00"})
    ctx = context()
    with hooks.make_client(shop_of(sim), ctx, hooks.ShopifyConfig.from_mapping(ctx.config)) as client:
        variant = find_orderable_variant(client, sku)
        line = {
            "variantId": variant.id,
            "quantity": 1,
            "priceSet": {"shopMoney": {"amount": "25.00", "currencyCode": "USD"}},
        }
        data = client.execute(ORDER_CREATE, {"order": {"lineItems": [line], "email": f"{sku.lower()}@example.com"}})
    order_id = data["orderCreate"]["order"]["id"].rsplit("/", 1)[1]
    return sim.control(f"orders/{order_id}")["order"]


def ship(sim: SimServer, order: dict[str, Any]) -> None:
    """Fulfil (fulfillments/create, orders/fulfilled), then deliver (fulfillments/update)."""
    made = sim.control(f"orders/{order['id']}/fulfil", {"shipment_status": "in_transit", "tracking_number": "1Z9"})
    sim.control(f"fulfillments/{made['fulfillment']['id']}/update", {"shipment_status": "delivered"})


def deliveries_by_topic(receiver: Receiver) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for r in receiver.received():
        found.setdefault(r.headers["X-Shopify-Topic"], []).append(json.loads(r.body))
    return found


@pytest.fixture
def whole_payloads(sim: SimServer, receiver: Receiver) -> dict[str, dict[str, Any]]:
    """One whole (untrimmed) delivery of every planned topic, about a reward order where there is one."""
    sim.control("config", {"webhook_target_url": receiver.url})
    shipped = reward_order(sim, "REWARD-SHIP", "SHIP1")
    ship(sim, shipped)
    cancelled = reward_order(sim, "REWARD-CANCEL", "CANCEL1")
    ctx = context()
    with hooks.make_client(shop_of(sim), ctx, hooks.ShopifyConfig.from_mapping(ctx.config)) as client:
        orders.cancel_order(
            client,
            order_id=f"gid://shopify/Order/{cancelled['id']}",
            code="CANCEL1",
            poll_seconds=0,
            sleep=lambda s: None,
        )
    sim.control("variants/REWARD-SHIP", {"inventory": 3}, method="PATCH")
    customer = sim.control("customers", {"email": "member@example.com", "phone": "+16135550199"})["customer"]
    sim.control(f"customers/{customer['id']}", {"first_name": "Grace"}, method="PATCH")
    assert sim.control("webhooks/flush", {})["flushed"]
    found = {topic: bodies[-1] for topic, bodies in deliveries_by_topic(receiver).items()}
    assert set(PLANS) <= set(found)
    return found


def test_trimmed_payloads_give_the_handlers_exactly_what_whole_ones_do(whole_payloads: dict[str, dict[str, Any]]):
    for topic, plan in PLANS.items():
        whole = whole_payloads[topic]
        trimmed = trim(whole, plan.include_fields)
        assert len(json.dumps(trimmed)) < len(json.dumps(whole)), topic
        assert matches(plan.filter, whole), f"{topic}: a reward order's event fails its own filter"
        assert matches(plan.filter, trimmed), f"{topic}: the filter's fields are not kept"
        assert shape_problem(topic, trimmed, DOMAIN) is None, topic
        seen = [verified(topic, body) for body in (whole, trimmed)]
        assert seen[0] == seen[1], topic  # the identity the host dedupes by
        effects = [interpret(seen[0], body) for body in (whole, trimmed)]
        assert effects[0] and effects[0] == effects[1], topic


def verified(topic: str, payload: dict[str, Any]):
    from connector.plugins.shopify.webhooks import sign

    body = json.dumps(payload).encode()
    headers = {
        "x-shopify-topic": topic,
        "x-shopify-shop-domain": DOMAIN,
        "x-shopify-hmac-sha256": sign(SECRET, body),
        "x-shopify-webhook-id": "w-1",
        "x-shopify-event-id": "e-1",
        "x-shopify-triggered-at": "2026-09-01T12:00:00Z",
    }
    return verify_delivery(InboundWebhook("shopify", headers, body), lambda domain: [SECRET])


def test_no_member_address_or_name_is_sent_in_order_and_fulfilment_events(whole_payloads: dict[str, dict[str, Any]]):
    for topic in ("orders/fulfilled", "orders/cancelled", "fulfillments/create", "fulfillments/update"):
        assert "Lovelace" in json.dumps(whole_payloads[topic]), topic  # the whole payload names the member
        text = json.dumps(trim(whole_payloads[topic], PLANS[topic].include_fields))
        assert "Lovelace" not in text and "O'Connor" not in text and "@example.com" not in text, topic


# -- the sync -----------------------------------------------------------------------------------------------


def test_first_sync_subscribes_every_topic_and_a_second_changes_nothing(sim: SimServer):
    first = sync(sim)
    assert (first.created, first.updated, first.deleted, first.unchanged) == (6, 0, 0, 0)
    assert first.changed and first.healthy
    assert stored(sim) == {
        f"{d.topic_name}@{URI}": (URI, d.filter, d.include_fields) for d in desired_subscriptions(URI)
    }
    assert {t.status for t in first.topics} == {"created"}
    assert mutations_sent(sim) == ["webhookSubscriptionCreate"] * 6

    before = len(sim.state.logged_requests())
    second = sync(sim)
    assert (second.created, second.updated, second.deleted, second.unchanged) == (0, 0, 0, 6)
    assert not second.changed and {t.status for t in second.topics} == {"ok"}
    requests = sim.state.logged_requests()[before:]
    assert [r["root_fields"] for r in requests] == [["webhookSubscriptions"]]  # one read, no mutation
    assert [t.subscription_id for t in second.topics] == [t.subscription_id for t in first.topics]


def test_fields_listed_in_another_order_or_a_filter_spaced_otherwise_are_not_drift(sim: SimServer):
    sync(sim)
    with sim.state.store.lock:
        for sub in sim.state.store.webhook_subscriptions.values():
            sub.include_fields = list(reversed(sub.include_fields))
            sub.filter = sub.filter.replace(" OR ", "  OR   ") if sub.filter else None
    again = sync(sim)
    assert not again.changed and again.unchanged == 6
    assert mutations_sent(sim) == ["webhookSubscriptionCreate"] * 6  # the first sync's only


def test_sync_corrects_drift_deletes_stale_ones_and_leaves_other_addresses_alone(sim: SimServer):
    sync(sim)
    with sim.state.store.lock:
        subs = {s.topic: s for s in sim.state.store.webhook_subscriptions.values()}
        subs["ORDERS_FULFILLED"].filter = None  # someone widened it by hand
        subs["PRODUCTS_UPDATE"].include_fields = ["id"]
    ctx = context()
    with hooks.make_client(shop_of(sim), ctx, hooks.ShopifyConfig.from_mapping(ctx.config)) as client:
        from connector.plugins.shopify.subscriptions import WEBHOOK_SUBSCRIPTION_CREATE

        for topic, uri in (("ORDERS_CREATE", URI), ("ORDERS_CREATE", "https://other-app.example/hooks?key=s3cret")):
            client.execute(WEBHOOK_SUBSCRIPTION_CREATE, {"topic": topic, "webhookSubscription": {"uri": uri}})
        client.execute(
            WEBHOOK_SUBSCRIPTION_CREATE,
            {"topic": "ORDERS_FULFILLED", "webhookSubscription": {"uri": "https://other-app.example/hooks?key=s3cret"}},
        )
    foreign_before = {k: v for k, v in stored(sim).items() if "other-app" in k}

    report = sync(sim)
    assert (report.created, report.updated, report.deleted, report.unchanged) == (0, 2, 1, 4)
    assert {t.topic: t.status for t in report.topics if t.status != "ok"} == {
        "orders/fulfilled": "updated",
        "products/update": "updated",
        "orders/create": "deleted",
    }
    assert report.foreign_uris == ("https://other-app.example/hooks?key=s3cret",)
    after = stored(sim)
    assert {k: v for k, v in after.items() if "other-app" in k} == foreign_before  # untouched
    assert after[f"ORDERS_FULFILLED@{URI}"][1] == REWARD_ORDER_FILTER
    assert f"ORDERS_CREATE@{URI}" not in after
    assert not sync(sim).changed


def test_filters_can_be_turned_off_and_on_again(sim: SimServer):
    sync(sim)
    off = sync(sim, SHOPIFY_WEBHOOK_FILTERS="false")
    assert (off.updated, off.unchanged) == (4, 2)  # customers/update and products/update never had a filter
    assert all(f is None for _, f, _ in stored(sim).values())
    on = sync(sim)
    assert on.updated == 4 and stored(sim)[f"ORDERS_CANCELLED@{URI}"][1] == REWARD_ORDER_FILTER


def test_a_filter_the_shop_refuses_falls_back_to_an_unfiltered_subscription(sim: SimServer):
    sync(sim)
    with sim.state.store.lock:  # the fulfilment subscription went missing
        store = sim.state.store.webhook_subscriptions
        del store[next(i for i, s in store.items() if s.topic == "FULFILLMENTS_CREATE")]
    refused = {"field": ["webhookSubscription", "filter"], "message": "The specified filter is invalid"}
    sim.control(
        "faults", {"queue": [{"kind": "user_error", "operation": "webhookSubscriptionCreate", "user_error": refused}]}
    )

    report = sync(sim)
    fell_back = {t.topic: t for t in report.topics}["fulfillments/create"]
    assert fell_back.status == "unfiltered" and fell_back.filter is None
    assert "refused the filter 'line_items.price:<=0'" in fell_back.detail and DOMAIN in fell_back.detail
    assert report.healthy and report.created == 1  # subscribed: every fulfilment arrives, none is lost
    assert stored(sim)[f"FULFILLMENTS_CREATE@{URI}"][1] is None

    again = sync(sim)  # the next sync asks for the filter again
    assert again.updated == 1 and stored(sim)[f"FULFILLMENTS_CREATE@{URI}"][1] == ZERO_PRICED_LINE_FILTER


def test_a_topic_the_shop_refuses_is_reported_and_the_others_still_sync(sim: SimServer):
    refused = {"field": ["webhookSubscription", "uri"], "message": "Address is invalid"}
    sim.control(
        "faults", {"queue": [{"kind": "user_error", "operation": "webhookSubscriptionCreate", "user_error": refused}]}
    )
    report = sync(sim)
    errors = [t for t in report.topics if t.status == "error"]
    assert len(errors) == 1 and not report.healthy and report.created == 5
    assert "Address is invalid" in errors[0].detail and DOMAIN in errors[0].detail
    healed = sync(sim)
    assert (healed.created, healed.unchanged) == (1, 5) and healed.healthy


@pytest.mark.parametrize(
    ("uri", "config"),
    [
        ("http://rewards.example.com/webhooks/shopify", {"SHOPIFY_ALLOW_CUSTOM_API_BASE": "false"}),
        ("https://rewards.example.com/webhooks/shopify?token=1", {}),
        ("https://user:pw@rewards.example.com/webhooks/shopify", {}),
        ("/webhooks/shopify", {}),
    ],
)
def test_an_address_shopify_cannot_deliver_to_is_refused_before_any_call(sim: SimServer, uri: str, config: dict):
    with pytest.raises(ProviderError) as caught:
        hooks.connector_sync_webhooks(shop=shop_of(sim), webhook_uri=uri, provider="shopify", ctx=context(**config))
    assert caught.value.code == "plugin_config_invalid" and "CONNECTOR_PUBLIC_URL" in caught.value.fix
    assert sim.state.logged_requests() == [] and stored(sim) == {}


def test_other_providers_are_not_the_plugins():
    assert hooks.connector_sync_webhooks(shop=None, webhook_uri=URI, provider="other", ctx=context()) is None


def test_a_filtered_subscription_delivers_only_reward_orders_events(sim: SimServer, receiver: Receiver):
    assert sync(sim, receiver.url).created == 6
    reward = reward_order(sim, "REWARD-TEE", "TEE42")
    shoppers = [ordinary_order(sim, f"RETAIL-{n}") for n in range(9)]
    for made in [*shoppers[:4], reward, *shoppers[4:]]:
        ship(sim, made)
    assert sim.control("webhooks/flush", {})["flushed"]

    received = receiver.received()
    assert sorted(r.headers["X-Shopify-Topic"] for r in received) == [
        "fulfillments/create",
        "fulfillments/update",
        "orders/fulfilled",
    ]
    reward_gid = f"gid://shopify/Order/{reward['id']}"
    statuses = []
    for r in received:
        body = json.loads(r.body)
        assert (body.get("order_id") or body.get("id")) == reward["id"]
        delivery = verify_delivery(
            InboundWebhook("shopify", {k.lower(): v for k, v in r.headers.items()}, r.body), lambda d: [SECRET]
        )
        effects = interpret(delivery, body)
        assert [e.order_id for e in effects] == [reward_gid]
        statuses.append(effects[0].status.value)
    assert sorted(statuses) == ["delivered", "shipped", "shipped"]
    assert sim.control("stats")["webhook_filtered"] == 9 * 3


def test_syncing_one_shop_never_touches_another_shops_subscriptions(sim: SimServer):
    other = start_sim("other-brand.myshopify.com")
    try:
        sync(other, "https://rewards.example.com/webhooks/shopify")
        ctx = context()
        with hooks.make_client(shop_of(other, 2), ctx, hooks.ShopifyConfig.from_mapping(ctx.config)) as client:
            from connector.plugins.shopify.subscriptions import WEBHOOK_SUBSCRIPTION_CREATE

            client.execute(WEBHOOK_SUBSCRIPTION_CREATE, {"topic": "ORDERS_CREATE", "webhookSubscription": {"uri": URI}})
        with other.state.store.lock:
            before = {s.id: replace(s) for s in other.state.store.webhook_subscriptions.values()}
        requests_before = len(other.state.logged_requests())

        sync(sim)
        sync(sim, SHOPIFY_WEBHOOK_FILTERS="false")

        with other.state.store.lock:
            after = {s.id: replace(s) for s in other.state.store.webhook_subscriptions.values()}
        assert after == before
        assert len(other.state.logged_requests()) == requests_before
        assert len(stored(sim)) == 6
    finally:
        other.stop()
