"""The real Shopify plugin against the simulator, through the core: what support staff see."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.model import Role
from connector.core.redemptions import create_redemption, retry_redemption
from connector.core.reversal import reverse_redemption
from connector.core.tables import Member, Redemption, Shop

pytestmark = pytest.mark.slow
SUPPORT = Actor("support@acme", Role.SUPPORT)


@pytest.fixture
def shop_rt(make_runtime, sim):
    from tests.conftest import seed_world

    rt = make_runtime()
    world = seed_world(rt, api_base_url=sim.base_url, points=100_000)
    return rt, world


def _redeem(rt, world) -> Redemption:
    rid = create_redemption(rt, SUPPORT, member_id=world.member.id, reward_id=world.reward.id).redemption.id
    with rt.sessions() as s:
        return s.get(Redemption, rid)


def test_e2e_order_is_zero_priced_tagged_and_shipped_to_member(shop_rt, sim):
    rt, w = shop_rt
    r = _redeem(rt, w)
    assert r.status == "fulfilled", (r.error_code, r.error_message)
    [order] = sim.control(f"orders?tag=redemption-{r.code}")["orders"]
    assert order["source_identifier"] == f"redemption-{r.code}"
    assert float(order["total_price"]) == 0.0
    assert order["shipping_address"]["city"] == "Ottawa"
    assert order["shipping_address"]["province_code"] == "ON"
    with rt.sessions() as s:
        member = s.get(Member, w.member.id)
        assert member.shop_customer_id and member.shop_customer_id.startswith("gid://shopify/Customer/")


@pytest.mark.parametrize(
    ("breakage", "code", "message_words", "fix_words"),
    [
        ({"address1": None, "city": None}, "missing_user_information", "address", "address line 1, city"),
        ({"province_code": "XX"}, "crm_id_not_found", "XX", "state/province"),
        ({"phone": "call me maybe"}, "crm_id_not_found", "phone", "phone"),
    ],
)
def test_e2e_member_errors_show_message_and_fix_then_retry_works(
    shop_rt, sim, breakage, code, message_words, fix_words
):
    rt, w = shop_rt
    good = {k: getattr(w.member, k) for k in breakage}
    with transaction(rt.sessions) as s:
        member = s.get(Member, w.member.id)
        for key, value in breakage.items():
            setattr(member, key, value)
    r = _redeem(rt, w)
    assert (r.status, r.error_code) == ("error", code)
    assert message_words.lower() in r.error_message.lower()
    assert fix_words in r.error_fix
    assert sim.control(f"orders?tag=redemption-{r.code}")["orders"] == []
    with transaction(rt.sessions) as s:  # support corrects the member, then retries
        member = s.get(Member, w.member.id)
        for key, value in good.items():
            setattr(member, key, value)
    retry_redemption(rt, r.id, SUPPORT)
    with rt.sessions() as s:
        assert s.get(Redemption, r.id).status == "fulfilled"


@pytest.mark.parametrize(
    ("setup", "message_words"),
    [
        ({"sku": "TSHIRT-M-OLD"}, "TSHIRT-M"),  # the variant's SKU changed in the shop
        ({"status": "DRAFT"}, "DRAFT"),
        ({"inventory": 0}, "out of stock"),
    ],
)
def test_e2e_product_errors_name_the_sku_and_why(shop_rt, sim, setup, message_words):
    rt, w = shop_rt
    sim.control("variants/TSHIRT-M", setup, method="PATCH")
    r = _redeem(rt, w)
    assert (r.status, r.error_code) == ("error", "product_not_found")
    assert message_words in r.error_message
    assert "SKU" in r.error_fix


def test_e2e_revoked_static_token_marks_the_shop_for_reconnection_and_blocks_the_next_one(shop_rt, sim):
    rt, w = shop_rt
    with transaction(rt.sessions) as s:
        s.scalars(select(Shop)).one().access_token = "shpat_revoked"
    r = _redeem(rt, w)
    assert (r.status, r.error_code) == ("error", "shop_reconnect_needed")
    assert "HTTP 401" in r.error_message
    assert "Reconnect the shop" in r.error_fix
    with rt.sessions() as s:
        assert s.scalars(select(Shop)).one().status == "needs_reconnect"
    calls = sim.control("stats")["requests"]
    second = _redeem(rt, w)  # the shop is known to refuse: no call is made for the next redemption
    assert (second.status, second.error_code) == ("error", "shop_reconnect_needed")
    assert sim.control("stats")["requests"] == calls


def test_e2e_throttled_and_failing_calls_succeed_later(shop_rt, sim):
    rt, w = shop_rt
    sim.control("faults", {"queue": [{"kind": "throttled"}, {"kind": "429", "retry_after": "0.2"}]})
    first = _redeem(rt, w)
    assert first.status == "fulfilled"  # the client waited out the throttle instead of failing
    # The SKU's variant is cached now, so the 503 hits the one call left, orderCreate itself: in doubt.
    sim.control("faults", {"queue": [{"kind": "503"}]})
    second = _redeem(rt, w)
    assert second.status == "pending" and second.error_code == "shop_unavailable"
    assert second.next_attempt_at is not None and second.submitted_at is not None
    from datetime import timedelta

    from connector.plugins.shopify.config import ShopifyConfig

    # Past the order-lookup window the next attempt looks the order up, finds none, and creates it once.
    later = second.next_attempt_at + timedelta(seconds=ShopifyConfig().order_lookup_lag_seconds + 1)
    rt.dispatcher.run_due(until=later)
    rt.now = lambda: later
    from connector.core.fulfilment import fulfil_redemption

    fulfil_redemption(rt, second.id)
    with rt.sessions() as s:
        assert s.get(Redemption, second.id).status == "fulfilled"
    assert len(sim.control(f"orders?tag=redemption-{second.code}")["orders"]) == 1


def test_e2e_lost_answer_while_search_lags_never_makes_a_second_order(shop_rt, sim):
    import time
    from datetime import timedelta

    from connector.core.fulfilment import fulfil_redemption

    rt, w = shop_rt
    # orderCreate runs, the answer is lost (500), and Shopify's search will not show the order for 2 s.
    sim.control("config", {"search_lag_seconds": 2})
    sim.control("faults", {"queue": [{"kind": "after_effect_500", "operation": "orderCreate"}]})
    r = _redeem(rt, w)
    assert r.status == "pending" and r.submitted_at is not None
    due = r.next_attempt_at + timedelta(seconds=1)
    rt.now = lambda: due
    assert fulfil_redemption(rt, r.id) == "retry"  # not found yet: wait, do not create
    with rt.sessions() as s:
        assert s.get(Redemption, r.id).error_code == "order_lookup_pending"
    time.sleep(2.2)  # the search index catches up
    with rt.sessions() as s:
        later = s.get(Redemption, r.id).next_attempt_at + timedelta(seconds=1)
    rt.now = lambda: later
    assert fulfil_redemption(rt, r.id) == "fulfilled"
    assert len(sim.control(f"orders?tag=redemption-{r.code}")["orders"]) == 1


def _stock(sim, sku: str) -> int:
    products = sim.control("products")["products"]
    return next(v["inventory_quantity"] for p in products for v in p["variants"] if v["sku"] == sku)


@pytest.mark.parametrize("restock", [True, False])
def test_e2e_reversal_cancels_the_order_restocking_only_when_asked(shop_rt, sim, restock):
    rt, w = shop_rt
    before = _stock(sim, "TSHIRT-M")
    r = _redeem(rt, w)
    assert r.status == "fulfilled" and _stock(sim, "TSHIRT-M") == before - 1
    reverse_redemption(rt, r.id, SUPPORT, reason="wrong size", cancel_order=True, restock=restock)
    with rt.sessions() as s:
        assert s.get(Redemption, r.id).delivery_status == "cancelled"
    [order] = sim.control(f"orders?tag=redemption-{r.code}")["orders"]
    assert order["cancelled_at"] is not None
    assert _stock(sim, "TSHIRT-M") == (before if restock else before - 1)
