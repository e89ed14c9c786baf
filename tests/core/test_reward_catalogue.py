"""The Rewards catalogue (``core.reward_catalogue``) and the limits a reward sets at claim (``core.reward_rules``).

The SKU is checked live through ``connector_check_sku``: the Shopify plugin asks the simulator over real
HTTP, with the same ``productVariants`` lookup the fulfilment makes (the test runtime runs jobs inline).
"""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from connector.core import catalog, reward_catalogue
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from connector.core.model import Role
from connector.core.redemptions import create_redemption
from connector.core.reversal import reverse_redemption
from connector.core.runtime import Runtime
from connector.core.shop_tokens import shop_for_plugin
from connector.core.tables import Brand, Redemption, Reward, Shop
from shopify_sim import SimServer
from tests.conftest import World, seed_world

SUPPORT = Actor("user:sam@support.example", Role.SUPPORT)


@pytest.fixture
def sim(sim: SimServer) -> SimServer:
    """The T-shirt store of ``conftest.py``, also with a Hoodie in DRAFT (a SKU the shop cannot order)."""
    sim.control("products", {"title": "Hoodie", "status": "DRAFT", "variants": [{"sku": "HOODIE-L"}]})
    return sim


@pytest.fixture
def world(rt: Runtime, sim: SimServer) -> World:
    return seed_world(rt, api_base_url=sim.base_url, points=100_000)  # room for many claims


def reward(rt: Runtime, reward_id: int) -> Reward:
    with rt.sessions() as s:
        r = s.get(Reward, reward_id)
        assert r is not None
        s.expunge(r)
        return r


def status(rt: Runtime, redemption_id: int) -> tuple[str, str | None]:
    with rt.sessions() as s:
        r = s.get(Redemption, redemption_id)
        assert r is not None
        return r.status, r.error_code


def claim(rt: Runtime, world: World, reward_id: int | None = None, member_id: int | None = None) -> int:
    created = create_redemption(
        rt, SUPPORT, member_id=member_id or world.member.id, reward_id=reward_id or world.reward.id
    )
    return created.redemption.id


def set_reward(rt: Runtime, reward_id: int, **values: object) -> None:
    with transaction(rt.sessions) as s:
        r = s.get(Reward, reward_id)
        for name, value in values.items():
            setattr(r, name, value)


@pytest.mark.hook("connector_check_sku")
def test_the_shop_answers_the_sku_check_as_the_fulfilment_would(rt: Runtime, world: World):
    with rt.sessions() as s:
        info = shop_for_plugin(rt, s.get(Shop, world.shop.id))

    def ask(sku: str, provider: str = "shopify") -> object:
        return rt.plugins.hook.connector_check_sku(shop=info, sku=sku, provider=provider, ctx=rt.hook_context(provider))

    assert ask("TSHIRT-M") == []
    missing = ask("TSHIRT-XXL")
    assert [(p.code, p.fields) for p in missing] == [("product_not_found", ("sku",))]  # type: ignore[attr-defined]
    assert "does not exist in acme-pets.myshopify.com" in missing[0].message  # type: ignore[index]
    draft = ask("HOODIE-L")
    assert "which is DRAFT (only ACTIVE products can be ordered)" in draft[0].message  # type: ignore[index]
    assert ask("TSHIRT-M", provider="elsewhere") is None


def test_fix_the_sku_then_save_and_retry_fulfils_once(rt: Runtime, world: World):
    set_reward(rt, world.reward.id, sku="TSHIRT-MM")
    rid = claim(rt, world)
    assert status(rt, rid) == ("error", "product_not_found")
    result = reward_catalogue.update_reward(rt, SUPPORT, world.reward.id, {"sku": "TSHIRT-M"}, retry=True)
    assert result.changed == ("sku",) and result.sku is not None and result.sku.ok
    assert result.retried == (rid,)
    assert status(rt, rid) == ("fulfilled", None)
    again = reward_catalogue.update_reward(rt, SUPPORT, world.reward.id, {"sku": "TSHIRT-M"}, retry=True)
    assert again.retried == ()
    with rt.sessions() as s:
        assert s.scalar(select(Redemption.external_order_id).where(Redemption.id == rid))


def test_a_sku_the_shop_cannot_order_is_refused_and_nothing_is_stored(rt: Runtime, world: World):
    set_reward(rt, world.reward.id, sku="TSHIRT-MM")
    rid = claim(rt, world)
    with pytest.raises(ValidationError) as refused:
        reward_catalogue.update_reward(rt, SUPPORT, world.reward.id, {"sku": "HOODIE-L", "name": "Hoodie"}, retry=True)
    assert set(refused.value.fields) == {"sku"}
    assert "which is DRAFT" in refused.value.message and "Set the product to Active in Shopify" in refused.value.message
    assert (reward(rt, world.reward.id).sku, reward(rt, world.reward.id).name) == ("TSHIRT-MM", "Ambassador T-Shirt")
    assert status(rt, rid) == ("error", "product_not_found")


def test_a_shop_that_cannot_be_asked_does_not_block_the_save_but_nothing_is_retried(rt: Runtime, world: World):
    set_reward(rt, world.reward.id, sku="TSHIRT-MM")
    rid = claim(rt, world)
    with transaction(rt.sessions) as s:
        s.get(Shop, world.shop.id).api_base_url = "http://127.0.0.1:9"  # type: ignore[union-attr]
    result = reward_catalogue.update_reward(rt, SUPPORT, world.reward.id, {"sku": "TSHIRT-M"}, retry=True)
    assert result.sku is not None and result.sku.unchecked and "could not be asked" in result.sku.unchecked
    assert result.retried == () and rid in result.still_blocked
    assert reward(rt, world.reward.id).sku == "TSHIRT-M"


def test_bad_input_names_every_field_and_stores_nothing(rt: Runtime, world: World):
    admin = Actor("user:bea", Role.BRAND_ADMIN, brand_id=world.brand.id)
    with pytest.raises(ValidationError) as refused:
        reward_catalogue.update_reward(
            rt,
            admin,
            world.reward.id,
            {"points_cost": "-5", "sku": "T SHIRT", "available_from": "tomorrow", "per_member_limit": "x"},
        )
    assert set(refused.value.fields) == {"points_cost", "sku", "available_from", "per_member_limit"}
    assert "SKU contains spaces" in refused.value.fields["sku"]
    with pytest.raises(ValidationError) as dates:
        reward_catalogue.update_reward(
            rt, admin, world.reward.id, {"available_from": "2026-08-01", "available_until": "2026-07-01"}
        )
    assert dates.value.fields == {"available_until": "available until is before available from"}
    with pytest.raises(ValidationError) as created:
        reward_catalogue.create_reward(rt, admin, world.brand.id, {"name": "", "points_cost": "10"})
    assert {"name", "sku", "channel"} <= set(created.value.fields)
    with pytest.raises(ValidationError) as nul:
        reward_catalogue.update_reward(rt, admin, world.reward.id, {"name": "Tee\x00", "instructions": "a\nb"})
    assert nul.value.fields == {"name": "name contains invisible control characters: remove them"}
    with pytest.raises(ValidationError) as no_shop:  # an id no shop has: a clear 422, not a foreign-key failure
        reward_catalogue.update_reward(rt, admin, world.reward.id, {"shop_id": 65_861}, retry=True)
    assert no_shop.value.fields == {"shop_id": "no such shop in the reward's brand"}
    r = reward(rt, world.reward.id)
    assert (r.points_cost, r.sku, r.available_from, r.per_member_limit) == (500, "TSHIRT-M", None, None)
    assert r.shop_id == world.shop.id


def test_create_with_a_live_check_and_who_may_do_what(rt: Runtime, world: World):
    admin = Actor("user:bea", Role.BRAND_ADMIN, brand_id=world.brand.id)
    made = reward_catalogue.create_reward(
        rt,
        admin,
        world.brand.id,
        {"name": "Tee", "sku": "TSHIRT-M", "points_cost": "300", "channel": "shopify", "shop_id": str(world.shop.id)},
    )
    assert made.sku is not None and made.sku.ok and reward(rt, made.reward_id).points_cost == 300
    with pytest.raises(PermissionDeniedError):  # creating and switching off are configuration
        reward_catalogue.create_reward(rt, SUPPORT, world.brand.id, {"name": "X", "sku": "X", "points_cost": 1})
    with pytest.raises(PermissionDeniedError):
        reward_catalogue.set_active(rt, SUPPORT, made.reward_id, False)
    viewer = Actor("user:vic", Role.VIEWER, brand_id=world.brand.id)
    with pytest.raises(PermissionDeniedError):
        reward_catalogue.update_reward(rt, viewer, made.reward_id, {"name": "Y"})
    other = Actor("user:oscar", Role.BRAND_ADMIN, brand_id=world.other_brand.id)
    for attempt in (
        lambda: reward_catalogue.update_reward(rt, other, made.reward_id, {"name": "Mine"}),
        lambda: reward_catalogue.set_active(rt, other, made.reward_id, False),
        lambda: reward_catalogue.create_reward(
            rt, other, world.brand.id, {"name": "A", "sku": "B", "points_cost": 1, "channel": "email"}
        ),
    ):
        with pytest.raises(NotFoundError):
            attempt()
    with rt.sessions() as s:
        assert [row.reward.name for row in reward_catalogue.list_rewards(s, other)] == []
    assert reward(rt, made.reward_id).name == "Tee"
    with pytest.raises(ValidationError) as foreign_shop:  # another brand's shop cannot serve this brand's reward
        with transaction(rt.sessions) as s:
            shop = catalog.add_shop(
                s,
                s.get(Brand, world.other_brand.id),
                domain="other.myshopify.com",
                access_token="t",  # type: ignore[arg-type]
                webhook_secret="0123456789abcdef",
                api_base_url="http://127.0.0.1:9",
                allow_custom_api_base=True,
            )
            other_shop = shop.id
        reward_catalogue.update_reward(rt, admin, made.reward_id, {"shop_id": str(other_shop)})
    assert foreign_shop.value.fields == {"shop_id": "no such shop in the reward's brand"}


def test_dates_limits_and_caps_are_enforced_at_claim_with_clear_errors(rt: Runtime, world: World):
    today = rt.now().date()
    set_reward(rt, world.reward.id, available_from=today + timedelta(days=1))
    with pytest.raises(ValidationError, match="is not available yet") as early:
        claim(rt, world)
    assert early.value.fields == {"reward_id": f"it can be claimed from {(today + timedelta(days=1)).isoformat()}"}
    set_reward(rt, world.reward.id, available_from=None, available_until=today - timedelta(days=1))
    with pytest.raises(ValidationError, match="is no longer available"):
        claim(rt, world)
    set_reward(rt, world.reward.id, available_until=today, per_member_limit=1)
    first = claim(rt, world)
    with pytest.raises(ValidationError, match="the most one member may claim"):
        claim(rt, world)
    reverse_redemption(rt, first, SUPPORT, reason="test")  # a reversed claim gives its unit back
    claim(rt, world)
    set_reward(rt, world.reward.id, per_member_limit=None, total_quantity=2)
    with transaction(rt.sessions) as s:
        second = catalog.add_member(
            s,
            s.get(Brand, world.brand.id),
            first_name="Grace",
            last_name="Hopper",
            email="g@example.com",  # type: ignore[arg-type]
            address1="1 Main St",
            city="Ottawa",
            province_code="ON",
            country_code="CA",
            zip="K1A 0A1",
        )
        catalog.award_points(s, second, 10_000, "welcome")
        second_id = second.id
    claim(rt, world, member_id=second_id)
    with pytest.raises(ValidationError, match="is sold out: all 2 have been claimed"):
        claim(rt, world, member_id=second_id)
    set_reward(rt, world.reward.id, total_quantity=None, active=False)
    with pytest.raises(ValidationError, match="reward is not active"):
        claim(rt, world)


def test_two_claims_racing_for_the_last_unit_cannot_both_win(rt: Runtime, world: World):
    set_reward(rt, world.reward.id, total_quantity=1)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def go() -> None:
        barrier.wait()
        try:
            claim(rt, world)
            outcomes.append("won")
        except ValidationError as exc:
            outcomes.append(exc.message)

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes)[1] == "won" and "sold out" in sorted(outcomes)[0]
    with rt.sessions() as s:
        assert s.scalar(select(Redemption.id).where(Redemption.reward_id == world.reward.id).limit(2).offset(1)) is None


def test_availability_dates_are_inclusive(rt: Runtime, world: World):
    today: date = rt.now().date()
    set_reward(rt, world.reward.id, available_from=today, available_until=today)
    assert status(rt, claim(rt, world))[0] == "fulfilled"
