"""Claiming rewards: balance checks, idempotency keys, confirmations."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from connector.core.access import Actor
from connector.core.errors import ConflictError, ValidationError
from connector.core.model import Role
from connector.core.redemptions import create_redemption, points_balance, resend_confirmation
from connector.core.tables import OutboundMessage, Redemption
from tests.conftest import seed_world
from tests.fakes import FakeShopPlugin

SUPPORT = Actor("support@acme", Role.SUPPORT)


def test_create_refuses_insufficient_points_and_stores_nothing(make_runtime):
    rt = make_runtime(plugins=[FakeShopPlugin()])
    w = seed_world(rt, points=100)
    with pytest.raises(ValidationError, match="has 100, the reward costs 500"):
        create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=w.reward.id)
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Redemption)) == 0
        assert points_balance(s, w.member.id) == 100


def test_create_with_same_idempotency_key_returns_same_redemption(make_runtime):
    shop = FakeShopPlugin()
    rt = make_runtime(plugins=[shop])
    w = seed_world(rt)
    first = create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=w.reward.id, idempotency_key="k1")
    again = create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=w.reward.id, idempotency_key="k1")
    assert again.replayed and again.redemption.id == first.redemption.id
    assert len(shop.orders) == 1
    with rt.sessions() as s:
        assert points_balance(s, w.member.id) == 500


def test_create_idempotency_key_with_other_body_is_refused(make_runtime):
    rt = make_runtime(plugins=[FakeShopPlugin()])
    w = seed_world(rt, points=5000)
    create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=w.reward.id, idempotency_key="k1")
    with rt.sessions() as s, s.begin():
        from connector.core import catalog

        other = catalog.add_reward(s, s.merge(w.brand), name="Mug", sku="MUG", points_cost=100)
        other_id = other.id
    with pytest.raises(ConflictError, match="different request"):
        create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=other_id, idempotency_key="k1")


def test_create_concurrent_same_key_makes_one(make_runtime):
    shop = FakeShopPlugin()
    rt = make_runtime(plugins=[shop])
    w = seed_world(rt, points=10_000)
    ids: list[int] = []
    barrier = threading.Barrier(5)

    def go() -> None:
        barrier.wait()
        ids.append(
            create_redemption(
                rt, SUPPORT, member_id=w.member.id, reward_id=w.reward.id, idempotency_key="same"
            ).redemption.id
        )

    threads = [threading.Thread(target=go) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1 and len(ids) == 5
    with rt.sessions() as s:
        assert points_balance(s, w.member.id) == 9500


def test_resend_confirmation_logs_each_send(make_runtime):
    rt = make_runtime(plugins=[FakeShopPlugin()])
    w = seed_world(rt)
    rid = create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=w.reward.id).redemption.id
    resend_confirmation(rt, rid, SUPPORT)
    resend_confirmation(rt, rid, SUPPORT)
    with rt.sessions() as s:
        sent = s.scalars(
            select(OutboundMessage).where(OutboundMessage.redemption_id == rid).order_by(OutboundMessage.id)
        ).all()
    assert [(m.status, m.actor) for m in sent] == [
        ("sent", "system"),
        ("sent", "support@acme"),
        ("sent", "support@acme"),
    ]
    files = list(rt.settings.outbox_dir.glob("*.eml"))
    assert len(files) == 3  # the confirmation when the order was created, then two resends
    assert all("Ambassador T-Shirt" in f.read_text() for f in files)


def test_create_concurrent_claims_never_overspend_points(make_runtime):
    shop = FakeShopPlugin()
    rt = make_runtime(plugins=[shop])
    w = seed_world(rt, points=1500)  # enough for exactly three 500-point rewards
    outcomes: list[str] = []
    barrier = threading.Barrier(10)

    def go() -> None:
        barrier.wait()
        try:
            create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=w.reward.id)
            outcomes.append("ok")
        except ValidationError as exc:
            assert "not enough points" in exc.message
            outcomes.append("refused")

    threads = [threading.Thread(target=go) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] * 3 + ["refused"] * 7
    with rt.sessions() as s:
        assert points_balance(s, w.member.id) == 0
        assert s.scalar(select(func.count()).select_from(Redemption)) == 3
    assert len(shop.orders) == 3
