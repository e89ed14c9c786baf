"""Reconciliation reads each shop's reward orders through ``connector_list_reward_orders``.

The Shopify plugin answers the hook against the simulator over real HTTP; the host compares what
it lists with its redemptions. (tests/integration/test_reconcile.py covers duplicates and orphans.)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from connector.core import catalog
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.model import Role
from connector.core.reconcile import reconcile
from connector.core.redemptions import create_redemption
from connector.core.runtime import Runtime
from connector.core.shop_tokens import shop_for_plugin
from connector.core.tables import Brand, Redemption, Shop
from shopify_sim import SimServer
from tests.conftest import World, seed_world

TOKEN = "shpat_test_token"  # seed_world's shop token
OTHER_DOMAIN = "other-brand.myshopify.com"
OTHER_TOKEN = "shpat_other_token"
ORDER_CREATE = """
mutation($order: OrderCreateOrderInput!) { orderCreate(order: $order) { order { id } userErrors { message } } }
"""


@pytest.fixture
def sim() -> Iterator[SimServer]:
    with SimServer(access_token=TOKEN, shop_domain="acme-pets.myshopify.com") as server:
        server.control("products", {"title": "Ambassador T-Shirt", "variants": [{"sku": "TSHIRT-M", "inventory": 100}]})
        yield server


@pytest.fixture
def other_sim() -> Iterator[SimServer]:
    with SimServer(access_token=OTHER_TOKEN, shop_domain=OTHER_DOMAIN) as server:
        server.control("products", {"title": "Mug", "variants": [{"sku": "MUG", "inventory": 100}]})
        yield server


def add_other_shop(s: Session, w: World, other_sim: SimServer) -> tuple[Brand, Shop]:
    """The other brand's own shop, on its own simulator: its orders must never be read as Acme's."""
    other_brand = s.get(Brand, w.other_brand.id)
    assert other_brand is not None
    other_shop = catalog.add_shop(
        s,
        other_brand,
        domain=OTHER_DOMAIN,
        access_token=OTHER_TOKEN,
        webhook_secret="whsec_other_secret_0123456789",
        api_base_url=other_sim.base_url,
        allow_custom_api_base=True,
    )
    return other_brand, other_shop


def redeem(rt: Runtime, member_id: int, reward_id: int) -> Redemption:
    """One redemption, fulfilled at once (the test runtime's jobs run inline)."""
    created = create_redemption(rt, Actor("t", Role.SUPPORT), member_id=member_id, reward_id=reward_id)
    with rt.sessions() as s:
        r = s.get(Redemption, created.redemption.id)
        assert r is not None and r.external_order_id, r and (r.status, r.error_code, r.error_message)
        s.expunge(r)
        return r


def list_orders(rt: Runtime, shop_id: int, **changes: object) -> object:
    with rt.sessions() as s:
        shop = s.get(Shop, shop_id)
        assert shop is not None
        info = shop_for_plugin(rt, shop)
    args = {"shop": info, "provider": "shopify", "since": rt.now() - timedelta(days=1), **changes}
    return rt.plugins.hook.connector_list_reward_orders(ctx=rt.hook_context(str(args["provider"])), **args)


@pytest.mark.hook("connector_list_reward_orders")
def test_the_shops_reward_orders_are_listed_with_their_redemption_codes(make_runtime, sim: SimServer):
    rt = make_runtime()
    w = seed_world(rt, api_base_url=sim.base_url, points=10_000)
    r = redeem(rt, w.member.id, w.reward.id)
    variant_id = sim.control("products")["products"][0]["variants"][0]["admin_graphql_api_id"]
    sim.graphql(ORDER_CREATE, {"order": {"lineItems": [{"variantId": variant_id, "quantity": 1}], "tags": ["x"]}})

    listed = list_orders(rt, w.shop.id)
    assert isinstance(listed, list)
    assert [(o.order_id, o.redemption_code, o.cancelled) for o in listed] == [(r.external_order_id, r.code, False)]
    # Orders from before ``since`` are not the reconciliation's; another provider's shops are not this plugin's.
    assert list_orders(rt, w.shop.id, since=rt.now() + timedelta(days=1)) == []
    assert list_orders(rt, w.shop.id, provider="elsewhere") is None


@pytest.mark.hook("connector_list_reward_orders")
def test_reconcile_asks_each_shop_for_its_own_orders_only(make_runtime, sim: SimServer, other_sim: SimServer):
    rt = make_runtime()
    w = seed_world(rt, api_base_url=sim.base_url, points=10_000)
    with transaction(rt.sessions) as s:
        other_brand, other_shop = add_other_shop(s, w, other_sim)
        other_reward = catalog.add_reward(s, other_brand, name="Mug", sku="MUG", points_cost=100, shop=other_shop)
        grace = catalog.add_member(
            s,
            other_brand,
            first_name="Grace",
            last_name="Hopper",
            email="grace@example.com",
            address1="1 Main St",
            city="Halifax",
            province_code="NS",
            country_code="CA",
            zip="B3H 1A1",
        )
        catalog.award_points(s, grace, 1000, "welcome bonus")
        s.flush()
        other_shop_id, other_reward_id, grace_id = other_shop.id, other_reward.id, grace.id
    redeem(rt, w.member.id, w.reward.id)
    redeem(rt, grace_id, other_reward_id)
    redeem(rt, grace_id, other_reward_id)

    reports = {report.shop_domain: report for report in reconcile(rt)}
    assert {d: (r.orders_seen, r.duplicates, r.orphans, r.error) for d, r in reports.items()} == {
        "acme-pets.myshopify.com": (1, {}, [], None),
        OTHER_DOMAIN: (2, {}, [], None),
    }
    assert len(list_orders(rt, other_shop_id)) == 2  # type: ignore[arg-type]


def test_an_order_carrying_another_brands_code_is_the_shops_orphan_and_changes_nothing_there(
    make_runtime, sim: SimServer, other_sim: SimServer
):
    """Brand B's shop holds an order tagged with brand A's redemption code: A's redemption is not touched."""
    rt = make_runtime()
    w = seed_world(rt, api_base_url=sim.base_url, points=10_000)
    with transaction(rt.sessions) as s:
        add_other_shop(s, w, other_sim)
    acme = redeem(rt, w.member.id, w.reward.id)
    variant_id = other_sim.control("products")["products"][0]["variants"][0]["admin_graphql_api_id"]
    planted = other_sim.graphql(
        ORDER_CREATE,
        {
            "order": {
                "lineItems": [{"variantId": variant_id, "quantity": 1}],
                "tags": ["loyalty-reward", f"redemption-{acme.code}"],
                "sourceIdentifier": f"redemption-{acme.code}",
            }
        },
    )
    planted_id = planted.json()["data"]["orderCreate"]["order"]["id"]
    with rt.sessions() as s:
        events_before = len(s.get(Redemption, acme.id).events)  # type: ignore[union-attr]

    reports = {report.shop_domain: report for report in reconcile(rt)}

    assert reports[OTHER_DOMAIN].orphans == [(planted_id, acme.code, "no redemption has this code")]
    assert reports[OTHER_DOMAIN].duplicates == {}
    assert reports["acme-pets.myshopify.com"].duplicates == {}
    with rt.sessions() as s:
        assert len(s.get(Redemption, acme.id).events) == events_before  # type: ignore[union-attr]
