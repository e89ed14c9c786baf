"""A redemption's Shopify cost, measured by the simulator, and the per-shop variant cache behind it.

The real thing end to end: the connector's runtime and database (``ShopInfo.cache`` is the
``shop_cache_entries`` table), the Shopify plugin, the simulator over HTTP charging each request
its calculated cost, and webhooks signed by the simulator and received by the connector. Cost is a
behaviour here (points a shop's bucket pays per redemption), not a timing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from connector.core import catalog
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.model import Role
from connector.core.redemptions import create_redemption, retry_redemption
from connector.core.runtime import Runtime
from connector.core.shop_cache_tables import ShopCacheEntry
from connector.core.tables import Brand, Member, Redemption
from connector.core.webhook_intake import process_received_webhooks, receive_webhook
from shopify_sim import SimServer
from tests.conftest import World, seed_world
from tests.webhook_receiver import Receiver, receiving

SUPPORT = Actor("support@acme", Role.SUPPORT)
DOMAIN, TOKEN, SECRET = "acme-pets.myshopify.com", "shpat_test_token", "whsec_test_secret_0123456789"
OTHER_DOMAIN, OTHER_TOKEN, OTHER_SECRET = "other-brand.myshopify.com", "shpat_other_token", "whsec_other_0123456789"
SKU = "TSHIRT-M"  # seed_world's reward
#: The issue's ceiling for a redemption in steady state, new or returning member.
MAX_POINTS = 12


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


@pytest.fixture
def sim(receiver: Receiver) -> Iterator[SimServer]:
    with SimServer(access_token=TOKEN, shop_domain=DOMAIN, webhook_secret=SECRET) as server:
        server.control("config", {"webhook_target_url": receiver.url})
        server.control("products", {"sku": SKU, "title": "Ambassador T-Shirt", "inventory": 100})
        yield server


class Meter:
    """What the shop was asked since the last reading: operations and the points they cost."""

    def __init__(self, sim: SimServer) -> None:
        self.sim = sim
        self.seen = len(sim.state.logged_requests())

    def read(self) -> tuple[list[str], float]:
        entries = self.sim.state.logged_requests()
        new, self.seen = entries[self.seen :], len(entries)
        return [str(e.get("operation")) for e in new], sum(float(e.get("cost") or 0) for e in new)


def add_member(rt: Runtime, brand: Brand, first: str, email: str, phone: str | None = None) -> int:
    with transaction(rt.sessions) as s:
        member = catalog.add_member(
            s,
            s.merge(brand),
            first_name=first,
            last_name="Member",
            email=email,
            phone=phone,
            address1="150 Elgin St",
            city="Ottawa",
            province_code="ON",
            country_code="CA",
            zip="K2P 1L4",
        )
        catalog.award_points(s, member, 5000, "welcome bonus")
        s.flush()
        return member.id


def redeem(rt: Runtime, member_id: int, reward_id: int) -> Redemption:
    rid = create_redemption(rt, SUPPORT, member_id=member_id, reward_id=reward_id).redemption.id
    with rt.sessions() as s:
        return s.get(Redemption, rid)


def member(rt: Runtime, member_id: int) -> Member:
    with rt.sessions() as s:
        return s.get(Member, member_id)


def cached(rt: Runtime, shop_id: int) -> dict[str, str]:
    with rt.sessions() as s:
        rows = s.scalars(select(ShopCacheEntry).where(ShopCacheEntry.shop_id == shop_id)).all()
        return {r.key: r.value for r in rows}


def deliver(rt: Runtime, receiver: Receiver, topic: str) -> int:
    """Hand the connector every ``topic`` delivery the simulator sent, as its webhook route would."""
    sent = [r for r in receiver.received() if r.headers.get("X-Shopify-Topic") == topic]
    for r in sent:
        receive_webhook(rt, "shopify", r.headers, r.body)
    process_received_webhooks(rt)
    receiver.requests.clear()
    return len(sent)


def sim_customer(sim: SimServer, customer_id: str) -> dict[str, Any]:
    return next(c for c in sim.control("customers")["customers"] if c["admin_graphql_api_id"] == customer_id)


def order_variant(sim: SimServer, order_id: str) -> str:
    order = sim.control(f"orders/{order_id.rsplit('/', 1)[1]}")["order"]
    return f"gid://shopify/ProductVariant/{order['line_items'][0]['variant_id']}"


@pytest.fixture
def world(make_runtime, sim: SimServer) -> tuple[Runtime, World]:
    rt = make_runtime()
    return rt, seed_world(rt, api_base_url=sim.base_url, points=5000)


def test_new_and_returning_members_cost_one_order_create_each_in_steady_state(world, sim: SimServer):
    rt, w = world
    meter = Meter(sim)

    first = redeem(rt, w.member.id, w.reward.id)  # new member, cold cache: the variant is looked up once
    assert first.status == "fulfilled"
    assert meter.read() == (["FindVariantsBySku", "RewardOrderCreate"], 18)
    ada = member(rt, w.member.id).shop_customer_id
    assert ada and ada.startswith("gid://shopify/Customer/")

    grace_id = add_member(rt, w.brand, "Grace", "grace@example.com", "+16135550199")
    second = redeem(rt, grace_id, w.reward.id)  # new member, warm cache
    assert second.status == "fulfilled"
    operations, points = meter.read()
    assert operations == ["RewardOrderCreate"] and points <= MAX_POINTS
    grace = member(rt, grace_id).shop_customer_id
    assert grace and grace != ada
    assert (sim_customer(sim, grace)["email"], sim_customer(sim, grace)["phone"]) == (
        "grace@example.com",
        "+16135550199",
    )

    third = redeem(rt, w.member.id, w.reward.id)  # returning member: linked, never searched again
    assert third.status == "fulfilled"
    operations, points = meter.read()
    assert operations == ["RewardOrderCreate"] and points <= MAX_POINTS
    assert member(rt, w.member.id).shop_customer_id == ada
    assert sim.control("customers")["count"] == 2  # one customer per member, however many redemptions
    assert len({first.external_order_id, second.external_order_id, third.external_order_id}) == 3

    # CRM sync as before: the member's details win over the customer's, in the same single call.
    with transaction(rt.sessions) as s:
        s.get(Member, w.member.id).last_name = "King"
    assert redeem(rt, w.member.id, w.reward.id).status == "fulfilled"
    operations, points = meter.read()
    assert operations == ["RewardOrderCreate"] and points <= MAX_POINTS
    assert sim_customer(sim, ada)["last_name"] == "King"


def test_a_sku_moved_to_another_variant_is_seen_after_products_update(world, sim: SimServer, receiver: Receiver):
    rt, w = world
    meter = Meter(sim)
    old_variant = sim.control("variants/" + SKU, {"title": "M"}, method="PATCH")["products"][0]["variants"][0]
    receiver.requests.clear()
    assert redeem(rt, w.member.id, w.reward.id).status == "fulfilled"
    assert list(cached(rt, w.shop.id)) == [f"variant-by-sku:{SKU}"]

    # The merchant gives the SKU to a new product: the old one's products/update drops the cached variant.
    sim.control(f"variants/{SKU}", {"sku": f"{SKU}-2025"}, method="PATCH")
    assert deliver(rt, receiver, "products/update") == 1
    assert cached(rt, w.shop.id) == {}
    new_variant = sim.control("products", {"sku": SKU, "title": "Ambassador T-Shirt 2026", "inventory": 5})["product"]
    meter.read()

    again = redeem(rt, w.member.id, w.reward.id)
    assert again.status == "fulfilled"
    assert meter.read()[0] == ["FindVariantsBySku", "RewardOrderCreate"]
    assert order_variant(sim, again.external_order_id) == new_variant["variants"][0]["admin_graphql_api_id"]
    assert order_variant(sim, again.external_order_id) != old_variant["admin_graphql_api_id"]

    # A product set to draft is forgotten too (the subscription has no status filter): no order from the cache.
    sim.control(f"variants/{SKU}", {"status": "DRAFT"}, method="PATCH")
    deliver(rt, receiver, "products/update")
    orders_before = sim.control("orders")["count"]
    draft = redeem(rt, w.member.id, w.reward.id)
    assert (draft.status, draft.error_code, draft.error_field) == ("error", "product_not_found", "sku")
    assert "which is DRAFT" in (draft.error_message or "") and draft.error_fix
    assert sim.control("orders")["count"] == orders_before


def test_a_product_not_found_answer_forgets_the_variant_and_says_why(world, sim: SimServer, receiver: Receiver):
    rt, w = world
    meter = Meter(sim)
    assert redeem(rt, w.member.id, w.reward.id).status == "fulfilled"
    meter.read()
    sim.control(f"variants/{SKU}", {"inventory": 0}, method="PATCH")
    receiver.requests.clear()  # the products/update is lost: only orderCreate's answer can tell

    out = redeem(rt, w.member.id, w.reward.id)
    assert (out.status, out.error_code, out.error_field) == ("error", "product_not_found", "sku")
    assert "is out of stock (0 available)" in (out.error_message or "")  # the lookup's precise reason
    assert meter.read()[0] == ["RewardOrderCreate", "FindVariantsBySku"]
    assert cached(rt, w.shop.id) == {}
    assert sim.control("orders")["count"] == 1

    sim.control(f"variants/{SKU}", {"inventory": 3}, method="PATCH")
    retried = retry_redemption(rt, out.id, SUPPORT)
    with rt.sessions() as s:
        after = s.get(Redemption, retried.id)
        assert after.status == "fulfilled", (after.error_code, after.error_message)
    assert meter.read()[0] == ["FindVariantsBySku", "RewardOrderCreate"]  # looked up afresh, then cached again
    assert list(cached(rt, w.shop.id)) == [f"variant-by-sku:{SKU}"]


def test_another_shops_products_update_leaves_this_shops_cache_alone(world, sim: SimServer, receiver: Receiver):
    rt, w = world
    with (
        receiving() as other_receiver,
        SimServer(access_token=OTHER_TOKEN, shop_domain=OTHER_DOMAIN, webhook_secret=OTHER_SECRET) as other,
    ):
        other.control("config", {"webhook_target_url": other_receiver.url})
        other.control("products", {"sku": SKU, "title": "Other brand's shirt", "inventory": 10})
        with transaction(rt.sessions) as s:
            brand = s.get(Brand, w.other_brand.id)
            shop = catalog.add_shop(
                s,
                brand,
                domain=OTHER_DOMAIN,
                access_token=OTHER_TOKEN,
                webhook_secret=OTHER_SECRET,
                api_base_url=other.base_url,
                allow_custom_api_base=True,
            )
            reward = catalog.add_reward(s, brand, name="Shirt", sku=SKU, points_cost=500, shop=shop)
            s.flush()
            other_shop_id, other_reward_id = shop.id, reward.id
        bob_id = add_member(rt, w.other_brand, "Bob", "bob.other@example.com")

        assert redeem(rt, w.member.id, w.reward.id).status == "fulfilled"
        assert redeem(rt, bob_id, other_reward_id).status == "fulfilled"
        mine = cached(rt, w.shop.id)
        assert list(mine) == list(cached(rt, other_shop_id)) == [f"variant-by-sku:{SKU}"]
        assert mine != cached(rt, other_shop_id)  # same SKU, each shop's own variant

        other.control(f"variants/{SKU}", {"title": "renamed"}, method="PATCH")
        assert deliver(rt, other_receiver, "products/update") == 1
        assert cached(rt, other_shop_id) == {}
        assert cached(rt, w.shop.id) == mine  # the other shop's webhook names the same SKU: not ours

        meter = Meter(sim)
        assert redeem(rt, w.member.id, w.reward.id).status == "fulfilled"
        assert meter.read()[0] == ["RewardOrderCreate"]


def test_the_rare_cases_that_match_the_customer_separately_and_their_cost(world, sim: SimServer):
    """The upsert is refused, so no order is made, and the order is placed again: one extra orderCreate."""
    rt, w = world
    assert redeem(rt, w.member.id, w.reward.id).status == "fulfilled"  # warms the variant cache
    meter = Meter(sim)

    # 1. The linked customer was deleted or merged in Shopify since.
    with transaction(rt.sessions) as s:
        s.get(Member, w.member.id).shop_customer_id = "gid://shopify/Customer/1"
    gone = redeem(rt, w.member.id, w.reward.id)
    assert gone.status == "fulfilled"
    operations, points = meter.read()
    assert operations == ["RewardOrderCreate", "RewardOrderCreate"]  # refused, then upserted by email
    assert points == 20
    relinked = member(rt, w.member.id).shop_customer_id
    assert relinked and relinked != "gid://shopify/Customer/1"
    assert len(sim.control(f"orders?tag=redemption-{gone.code}")["orders"]) == 1

    # 2. A new member's phone belongs to a customer with another email: matched by phone, as before.
    holder = sim.control("customers", {"email": "old.address@example.com", "phone": "+16135550177"})["customer"]
    kim_id = add_member(rt, w.brand, "Kim", "kim@example.com", "+16135550177")
    taken = redeem(rt, kim_id, w.reward.id)
    assert taken.status == "fulfilled"
    operations, points = meter.read()
    assert operations == ["RewardOrderCreate", "FindCustomers", "CustomerUpdate", "RewardOrderCreate"]
    assert points == 52
    assert member(rt, kim_id).shop_customer_id == holder["admin_graphql_api_id"]
    assert sim_customer(sim, holder["admin_graphql_api_id"])["email"] == "kim@example.com"


def test_a_sku_renamed_without_its_webhook_is_caught_on_the_order_and_forgotten(
    world, sim: SimServer, receiver: Receiver, caplog: pytest.LogCaptureFixture
):
    """The residual risk of the cache, bounded: one order, reported, then the SKU is looked up again."""
    rt, w = world
    assert redeem(rt, w.member.id, w.reward.id).status == "fulfilled"
    sim.control(f"variants/{SKU}", {"sku": f"{SKU}-2025"}, method="PATCH")
    receiver.requests.clear()  # the products/update is lost

    with caplog.at_level("WARNING", logger="connector.plugins.shopify"):
        stale = redeem(rt, w.member.id, w.reward.id)
    assert stale.status == "fulfilled"
    assert any(
        stale.external_order_id in r.getMessage() and "check the order" in r.getMessage() for r in caplog.records
    )
    assert cached(rt, w.shop.id) == {}

    meter = Meter(sim)
    after = redeem(rt, w.member.id, w.reward.id)
    assert (after.status, after.error_code) == ("error", "product_not_found")
    assert f"SKU '{SKU}' does not exist" in (after.error_message or "")
    assert meter.read()[0] == ["FindVariantsBySku"]
