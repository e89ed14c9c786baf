"""Reversals return points exactly once, however many times and however concurrently they are asked."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from connector.core.access import Actor
from connector.core.errors import ConflictError, IllegalTransitionError, NotFoundError, PermissionDeniedError
from connector.core.model import Role
from connector.core.redemptions import create_redemption, points_balance
from connector.core.reversal import reverse_redemption
from connector.core.tables import LedgerEntry, Redemption, RedemptionEventRow
from tests.conftest import seed_world
from tests.fakes import FakeShopPlugin

SUPPORT = Actor("support@acme", Role.SUPPORT)


def _setup(make_runtime, shop=None):
    shop = shop or FakeShopPlugin()
    rt = make_runtime(plugins=[shop])
    w = seed_world(rt)
    rid = create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=w.reward.id).redemption.id
    return rt, w, rid, shop


def _returned_rows(rt, rid):
    with rt.sessions() as s:
        return s.scalar(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.redemption_id == rid, LedgerEntry.kind == "returned")
        )


def test_reverse_returns_points_once_and_leaves_order_by_default(make_runtime):
    rt, w, rid, shop = _setup(make_runtime)
    r = reverse_redemption(rt, rid, SUPPORT, reason="wrong size")
    assert r.status == "reversed" and r.cancel_requested_at is None
    assert shop.cancelled == []
    with rt.sessions() as s:
        assert points_balance(s, w.member.id) == 1000
        event = s.scalars(select(RedemptionEventRow).where(RedemptionEventRow.kind == "reversed")).one()
        assert event.actor == "support@acme" and "left as it is" in event.message
    with pytest.raises(IllegalTransitionError, match="already reversed"):
        reverse_redemption(rt, rid, SUPPORT)
    assert _returned_rows(rt, rid) == 1


@pytest.mark.hook("connector_cancel_order")
def test_reverse_with_cancel_cancels_the_unshipped_order(make_runtime):
    rt, w, rid, shop = _setup(make_runtime)
    reverse_redemption(rt, rid, SUPPORT, cancel_order=True)
    with rt.sessions() as s:
        r = s.get(Redemption, rid)
        assert r.order_cancelled_at is not None and r.delivery_status == "cancelled"
    assert shop.cancelled == [r.external_order_id]


def test_reverse_with_cancel_refused_once_shipped_and_nothing_changes(make_runtime):
    rt, w, rid, shop = _setup(make_runtime)
    with rt.sessions() as s, s.begin():
        s.get(Redemption, rid).delivery_status = "shipped"
    with pytest.raises(Exception, match="cannot be cancelled"):
        reverse_redemption(rt, rid, SUPPORT, cancel_order=True)
    with rt.sessions() as s:
        assert s.get(Redemption, rid).status == "fulfilled"
        assert points_balance(s, w.member.id) == 500


def test_reverse_ten_concurrent_reversals_return_points_once(make_runtime):
    rt, w, rid, _ = _setup(make_runtime)
    barrier = threading.Barrier(10)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait()
        try:
            reverse_redemption(rt, rid, SUPPORT)
            result = "ok"
        except (IllegalTransitionError, ConflictError):
            result = "refused"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] + ["refused"] * 9
    assert _returned_rows(rt, rid) == 1
    with rt.sessions() as s:
        assert points_balance(s, w.member.id) == 1000
        kinds = list(s.scalars(select(RedemptionEventRow.kind).where(RedemptionEventRow.redemption_id == rid)))
        assert kinds.count("reversed") == 1


def test_reverse_scope_and_role(make_runtime):
    rt, w, rid, _ = _setup(make_runtime)
    with pytest.raises(NotFoundError):
        reverse_redemption(rt, rid, Actor("admin@other", Role.BRAND_ADMIN, brand_id=w.other_brand.id))
    with pytest.raises(PermissionDeniedError):
        reverse_redemption(rt, rid, Actor("viewer@acme", Role.VIEWER, brand_id=w.brand.id))
    assert _returned_rows(rt, rid) == 0
