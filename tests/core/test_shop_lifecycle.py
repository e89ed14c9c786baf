"""A shop disconnected (app uninstalled) and reconnected: its redemptions park, no call is made, then each
resumes to exactly one order.

Real PostgreSQL; the shop is ``FakeShopPlugin`` (its ``requests`` count every call that reached the shop),
and one in-test plugin that finishes an order after the shop was disconnected under it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from connector import hookimpl
from connector.core import catalog
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import ProviderError
from connector.core.fulfilment import fulfil_redemption
from connector.core.hooktypes import FulfilmentRequest, FulfilmentResult, HookContext, PluginInfo
from connector.core.model import Role
from connector.core.redemptions import create_redemption
from connector.core.shop_lifecycle import disconnect_shop, resume_shop
from connector.core.tables import Brand, Redemption, RedemptionEventRow, Shop, ShopStatus
from tests.conftest import seed_world
from tests.fakes import FakeShopPlugin

SUPPORT = Actor("support@acme", Role.SUPPORT)
UNINSTALL = "shopify webhook app/uninstalled"
REASON = "the app was uninstalled from the shop"
LATER = timedelta(hours=1)


def _load(rt, rid: int) -> Redemption:
    with rt.sessions() as s:
        return s.get(Redemption, rid)


def _shop(rt, shop_id: int) -> Shop:
    with rt.sessions() as s:
        return s.get(Shop, shop_id)


def _events(rt, rid: int, kind: str | None = None) -> list[RedemptionEventRow]:
    with rt.sessions() as s:
        q = select(RedemptionEventRow).where(RedemptionEventRow.redemption_id == rid)
        if kind:
            q = q.where(RedemptionEventRow.kind == kind)
        return list(s.scalars(q.order_by(RedemptionEventRow.id)))


def _redeem(rt, w, *, member_id: int | None = None, reward_id: int | None = None) -> int:
    return create_redemption(
        rt, SUPPORT, member_id=member_id or w.member.id, reward_id=reward_id or w.reward.id
    ).redemption.id


def _disconnect(rt, shop_id: int, *, at: datetime | None = None) -> list[int]:
    with transaction(rt.sessions) as s:
        shop = s.scalars(select(Shop).where(Shop.id == shop_id).with_for_update()).one()
        return disconnect_shop(s, shop, reason=REASON, actor=UNINSTALL, now=at or rt.now(), uninstalled=True)


def _reinstall(rt, shop_id: int, token: str = "shpat_after_reinstall") -> None:
    """What a reinstall leaves on the shop row (the install flow stores a new token and marks it connected)."""
    now = rt.now()
    with transaction(rt.sessions) as s:
        shop = s.get(Shop, shop_id)
        shop.status, shop.status_reason, shop.status_changed_at = ShopStatus.CONNECTED, None, now
        shop.access_token, shop.installed_at = token, now


@pytest.fixture
def shop() -> FakeShopPlugin:
    return FakeShopPlugin()


@pytest.fixture
def rt(make_runtime, shop):
    return make_runtime(plugins=[shop])


@pytest.fixture
def world(rt):
    return seed_world(rt, points=100_000)


@pytest.fixture
def parked(rt, world, shop) -> dict[str, int]:
    """Redemptions of every kind a shop has when it is uninstalled; the two pending ones get parked."""
    done = _redeem(rt, world)
    shop.script.append(ProviderError("product_not_found", retryable=False, field="sku"))
    failed = _redeem(rt, world)
    shop.script.append(ProviderError("shop_unavailable", "HTTP 503", retryable=True))
    waiting = _redeem(rt, world)
    shop.script.append("crash_after_create")  # the order exists; the attempt never heard back
    in_doubt = _redeem(rt, world)
    assert [_load(rt, r).status for r in (done, failed, waiting, in_doubt)] == [
        "fulfilled",
        "error",
        "pending",
        "pending",
    ]
    assert _load(rt, in_doubt).submitted_at is not None and _load(rt, waiting).submitted_at is None
    return {"done": done, "failed": failed, "waiting": waiting, "in_doubt": in_doubt}


def test_disconnect_parks_pending_redemptions_with_the_error_and_fix(rt, world, parked):
    before = {k: _load(rt, rid) for k, rid in parked.items()}
    now = datetime.now(UTC)

    ids = _disconnect(rt, world.shop.id, at=now)

    assert sorted(ids) == sorted([parked["waiting"], parked["in_doubt"]])
    shop = _shop(rt, world.shop.id)
    assert (shop.status, shop.status_reason) == ("disconnected", REASON)
    assert shop.status_changed_at == now and shop.uninstalled_at == now
    assert (shop.access_token, shop.refresh_token, shop.access_token_expires_at) == ("", None, None)
    assert shop.active is True  # shop/redact, 48 h later, must still verify
    for key in ("waiting", "in_doubt"):
        r = _load(rt, parked[key])
        assert (r.status, r.error_code) == ("error", "shop_disconnected")
        assert r.error_message.startswith("Shop disconnected: acme-pets.myshopify.com") and REASON in r.error_message
        assert "reinstall the app" in r.error_fix and r.next_attempt_at is None
        [event] = _events(rt, r.id, "parked")
        assert (event.actor, event.from_status, event.to_status) == (UNINSTALL, "pending", "error")
        assert event.detail["fix"] == r.error_fix
    # The evidence that an order may exist is kept, so the resumed attempt looks it up first.
    assert _load(rt, parked["in_doubt"]).submitted_at == before["in_doubt"].submitted_at
    assert _events(rt, parked["in_doubt"], "parked")[0].detail["in_doubt"] is True
    for key in ("done", "failed"):  # not pending: untouched
        r, was = _load(rt, parked[key]), before[key]
        assert (r.status, r.error_code, r.updated_at) == (was.status, was.error_code, was.updated_at)
        assert _events(rt, r.id, "parked") == []


def test_disconnect_twice_changes_nothing_the_second_time(rt, world, parked):
    first = datetime.now(UTC)
    _disconnect(rt, world.shop.id, at=first)
    again = _disconnect(rt, world.shop.id, at=first + LATER)
    assert again == []
    shop = _shop(rt, world.shop.id)
    assert shop.status_changed_at == first and shop.uninstalled_at == first
    for rid in parked.values():
        assert len(_events(rt, rid, "parked")) <= 1


def test_no_call_reaches_a_disconnected_shop(rt, world, shop, parked):
    _disconnect(rt, world.shop.id)
    calls = len(shop.requests)
    # The retry that was scheduled before the uninstall, a job run again, and a redemption made afterwards.
    rt.dispatcher.run_due(until=datetime.now(UTC) + timedelta(days=1))
    assert fulfil_redemption(rt, parked["waiting"]) == "skipped"
    late = _redeem(rt, world)
    assert len(shop.requests) == calls
    r = _load(rt, late)
    assert (r.status, r.error_code) == ("error", "shop_disconnected") and "reinstall the app" in r.error_fix
    assert [e.kind for e in _events(rt, late)] == ["claimed", "attempt_started", "failed"]
    assert rt.dispatcher.delayed == []  # not retryable: nothing scheduled, nothing loops


def test_resume_after_reinstall_gives_each_parked_redemption_one_order(rt, world, shop, parked):
    order_before = shop.orders[_load(rt, parked["in_doubt"]).code]
    _disconnect(rt, world.shop.id)
    late = _redeem(rt, world)  # made while disconnected: failed at once, resumed too
    _reinstall(rt, world.shop.id)

    assert resume_shop(rt, world.shop.id) == 3

    for rid in (parked["waiting"], parked["in_doubt"], late):
        r = _load(rt, rid)
        assert (r.status, r.error_code) == ("fulfilled", None), (r.error_code, r.error_message)
        assert r.external_order_id == shop.orders[r.code]
        [retried] = _events(rt, rid, "retried")
        assert retried.actor == "system: shop reconnected" and "was reconnected" in retried.message
    doubt = _load(rt, parked["in_doubt"])
    assert doubt.external_order_id == order_before  # found, not made again
    [fulfilled] = _events(rt, doubt.id, "fulfilled")
    assert fulfilled.detail["found_existing"] is True
    creations = [q for q in shop.requests if q.code == doubt.code and q.submitted_at is None]
    assert len(creations) == 1  # the one attempt before the uninstall; the resumed one only looked
    assert _load(rt, parked["failed"]).status == "error"  # its own error (product): not resumed
    assert resume_shop(rt, world.shop.id) == 0  # nothing parked is left


def test_resume_does_nothing_while_the_shop_cannot_be_called(rt, world, parked):
    _disconnect(rt, world.shop.id)
    assert resume_shop(rt, world.shop.id) == 0
    assert _load(rt, parked["waiting"]).status == "error"
    assert resume_shop(rt, 999_999) == 0


def test_resume_reaches_only_the_reconnected_shop(rt, world, shop, parked):
    """Brand B's shop is uninstalled too; resuming brand A's shop leaves brand B's redemption parked."""
    with transaction(rt.sessions) as s:
        other = s.get(Brand, world.other_brand.id)
        other_shop = catalog.add_shop(
            s, other, domain="other-brand.myshopify.com", access_token="shpat_b", webhook_secret="whsec_b_0123456789"
        )
        reward = catalog.add_reward(s, other, name="Mug", sku="MUG", points_cost=10, shop=other_shop)
        other_shop_id, other_reward_id = other_shop.id, reward.id
    shop.script.append(ProviderError("shop_unavailable", "HTTP 503", retryable=True))
    theirs = _redeem(rt, world, member_id=world.other_member.id, reward_id=other_reward_id)
    _disconnect(rt, other_shop_id)
    _disconnect(rt, world.shop.id)
    assert _load(rt, theirs).error_code == "shop_disconnected"
    their_before = _load(rt, theirs)
    _reinstall(rt, world.shop.id)

    assert resume_shop(rt, world.shop.id) == 2

    r = _load(rt, theirs)
    assert (r.status, r.error_code, r.updated_at) == ("error", "shop_disconnected", their_before.updated_at)
    assert _events(rt, theirs, "retried") == []
    assert _shop(rt, other_shop_id).status == "disconnected"


def test_a_worker_mid_call_when_the_shop_is_uninstalled_creates_no_order(rt, world, shop):
    """Claimed, then uninstalled before its irreversible call: the checkpoint refuses, the shop sees no order."""
    shop.on_call = lambda request: _disconnect(rt, world.shop.id)
    rid = _redeem(rt, world)
    shop.on_call = None
    r = _load(rt, rid)
    assert (r.status, r.error_code, r.submitted_at) == ("error", "shop_disconnected", None)
    assert r.claim_token is None  # the worker stopped and gave its lease back
    assert shop.orders == {}
    _reinstall(rt, world.shop.id)
    assert resume_shop(rt, world.shop.id) == 1
    assert _load(rt, rid).status == "fulfilled" and len(shop.orders) == 1


class _OrderLandsAfterUninstall:
    """A shop that creates the order, but the app is uninstalled before the worker hears back."""

    __name__ = "order_lands_after_uninstall"

    def __init__(self, on_created) -> None:
        self.orders: dict[str, str] = {}
        self.creates = 0
        self.on_created = on_created

    @hookimpl
    def connector_plugin_info(self) -> PluginInfo:
        return PluginInfo(name="order_lands_after_uninstall", version="0", channels=("shopify",))

    @hookimpl(tryfirst=True)
    def connector_fulfil_redemption(self, request: FulfilmentRequest, ctx: HookContext) -> FulfilmentResult | None:
        if request.submitted_at is not None and request.code in self.orders:
            return FulfilmentResult(self.orders[request.code], "#found", found_existing=True)
        request.checkpoint()
        self.creates += 1
        self.orders[request.code] = f"gid://shopify/Order/{self.creates}"
        if self.on_created:
            self.on_created()
        return FulfilmentResult(self.orders[request.code], f"#{1000 + self.creates}")


def test_an_order_created_as_the_shop_is_uninstalled_is_kept_and_found_on_resume(make_runtime):
    holder: dict[str, object] = {}
    plugin = _OrderLandsAfterUninstall(lambda: _disconnect(holder["rt"], holder["shop_id"]))
    rt = make_runtime(plugins=[plugin])
    w = seed_world(rt)
    holder.update(rt=rt, shop_id=w.shop.id)
    rid = _redeem(rt, w)
    r = _load(rt, rid)
    # Parked while the order was being made; the order id is kept on the row so nothing is lost.
    assert (r.status, r.error_code, r.external_order_id) == ("error", "shop_disconnected", plugin.orders[r.code])
    assert len(_events(rt, rid, "order_created_after_reversal")) == 1
    plugin.on_created = None
    _reinstall(rt, w.shop.id)
    assert resume_shop(rt, w.shop.id) == 1
    r = _load(rt, rid)
    assert r.status == "fulfilled" and plugin.creates == 1
    assert _events(rt, rid, "fulfilled")[0].detail["found_existing"] is True


def test_resume_waits_for_a_lease_a_worker_still_holds(rt, world, shop):
    shop.script.append(ProviderError("shop_unavailable", "HTTP 503", retryable=True))
    rid = _redeem(rt, world)
    lease_end = datetime.now(UTC) + timedelta(minutes=5)
    with transaction(rt.sessions) as s:  # a worker claimed it and is still inside its call
        r = s.get(Redemption, rid)
        r.claim_token, r.claim_expires_at, r.next_attempt_at = "worker-a", lease_end, None
    _disconnect(rt, world.shop.id)
    _reinstall(rt, world.shop.id)
    rt.dispatcher.delayed.clear()  # the retry scheduled before the uninstall: not what this test is about
    calls = len(shop.requests)

    assert resume_shop(rt, world.shop.id) == 1

    assert _load(rt, rid).status == "pending" and len(shop.requests) == calls  # not beside the worker
    [(at, *_)] = rt.dispatcher.delayed
    assert at > lease_end
    rt.now = lambda: at  # the lease has ended
    assert rt.dispatcher.run_due(until=at) == 1
    assert _load(rt, rid).status == "fulfilled" and len(shop.requests) == calls + 1


def test_parked_and_resumed_counts_match_the_shops_pending_rows(rt, world, shop):
    """Many pending redemptions: every one parked once, every one resumed once, one order each."""
    for _ in range(12):
        shop.script.append(ProviderError("shop_unavailable", "HTTP 503", retryable=True))
        _redeem(rt, world)
    assert len(_disconnect(rt, world.shop.id)) == 12
    _reinstall(rt, world.shop.id)
    assert resume_shop(rt, world.shop.id) == 12
    with rt.sessions() as s:
        statuses = dict(s.execute(select(Redemption.status, func.count()).group_by(Redemption.status)).all())
        parked_events = s.scalar(select(func.count()).where(RedemptionEventRow.kind == "parked"))
        orders = set(s.scalars(select(Redemption.external_order_id)))
    assert statuses == {"fulfilled": 12} and parked_events == 12
    assert len(orders) == 12 and orders == set(shop.orders.values())


def test_a_redemption_failed_on_the_revoked_token_before_the_webhook_is_relabelled_and_resumed(rt, world, shop):
    """Shopify revokes the token, then sends app/uninstalled: an attempt in between failed as "reconnect"."""
    shop.script.append(ProviderError("shop_reconnect_needed", "HTTP 401 on the stored token", retryable=False))
    between = _redeem(rt, world)
    shop.script.append(ProviderError("product_not_found", retryable=False, field="sku"))
    own_fault = _redeem(rt, world)
    assert _load(rt, between).error_code == "shop_reconnect_needed"

    assert _disconnect(rt, world.shop.id) == [between]

    r = _load(rt, between)
    assert (r.status, r.error_code) == ("error", "shop_disconnected") and "reinstall the app" in r.error_fix
    [event] = _events(rt, between, "parked")
    assert (event.from_status, event.to_status) == ("error", "error")
    assert _load(rt, own_fault).error_code == "product_not_found"
    assert _disconnect(rt, world.shop.id) == []  # once
    _reinstall(rt, world.shop.id)
    assert resume_shop(rt, world.shop.id) == 1
    assert _load(rt, between).status == "fulfilled" and _load(rt, own_fault).status == "error"
