"""Fulfilment attempts: outcomes, retries with backoff, and one order per redemption."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from connector.core.access import Actor
from connector.core.errors import IllegalTransitionError, ProviderError
from connector.core.fulfilment import fulfil_redemption
from connector.core.model import Role
from connector.core.redemptions import create_redemption, points_balance, retry_redemption
from connector.core.tables import Redemption, RedemptionEventRow
from tests.conftest import event_kinds, seed_world
from tests.fakes import FakeShopPlugin

SUPPORT = Actor("support@acme", Role.SUPPORT)


def _load(rt, rid: int) -> Redemption:
    with rt.sessions() as s:
        return s.get(Redemption, rid)


def test_fulfilment_success_creates_one_order_and_spends_points(make_runtime):
    shop = FakeShopPlugin()
    rt = make_runtime(plugins=[shop])
    w = seed_world(rt)
    created = create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=w.reward.id)
    r = _load(rt, created.redemption.id)
    assert r.status == "fulfilled"
    assert r.delivery_status == "unfulfilled"
    assert r.external_order_id == shop.orders[r.code]
    assert event_kinds(rt, r.id) == ["claimed", "attempt_started", "fulfilled", "confirmation_sent"]
    with rt.sessions() as s:
        assert points_balance(s, w.member.id) == 500


def test_fulfilment_job_run_twice_makes_one_order(make_runtime):
    shop = FakeShopPlugin()
    rt = make_runtime(plugins=[shop])
    w = seed_world(rt)
    rid = create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=w.reward.id).redemption.id
    assert fulfil_redemption(rt, rid) == "skipped"
    assert fulfil_redemption(rt, rid) == "skipped"
    assert len(shop.orders) == 1 and len(shop.requests) == 1


def test_fulfilment_transient_error_schedules_retry_with_backoff(make_runtime):
    shop = FakeShopPlugin(script=[ProviderError("throttled", retry_after=2.5)])
    rt = make_runtime(plugins=[shop])
    w = seed_world(rt)
    rid = create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=w.reward.id).redemption.id
    r = _load(rt, rid)
    assert r.status == "pending" and r.error_code == "throttled"
    assert r.next_attempt_at is not None
    wait = (r.next_attempt_at - datetime.now(UTC)).total_seconds()
    assert 1.5 <= wait <= 3.0  # at least the provider's Retry-After, less the test's own run time
    # Running before the next attempt time does nothing; after it, the attempt succeeds.
    assert fulfil_redemption(rt, rid) == "skipped"
    rt.now = lambda: datetime.now(UTC) + timedelta(seconds=10)
    assert fulfil_redemption(rt, rid) == "fulfilled"
    assert event_kinds(rt, rid) == [
        "claimed",
        "attempt_started",
        "attempt_failed",
        "attempt_started",
        "fulfilled",
        "confirmation_sent",
    ]


def test_fulfilment_in_doubt_attempt_looks_up_instead_of_creating_again(make_runtime):
    shop = FakeShopPlugin(script=["crash_after_create"])
    rt = make_runtime(plugins=[shop])
    w = seed_world(rt)
    rid = create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=w.reward.id).redemption.id
    r = _load(rt, rid)
    assert r.status == "pending" and r.submitted_at is not None
    rt.now = lambda: datetime.now(UTC) + timedelta(hours=1)
    assert fulfil_redemption(rt, rid) == "fulfilled"
    assert len(shop.orders) == 1
    assert shop.requests[-1].submitted_at is not None
    assert any("found the order an earlier attempt created" in m for m in _event_messages(rt, rid))


def _event_messages(rt, rid):
    with rt.sessions() as s:
        return list(s.scalars(select(RedemptionEventRow.message).where(RedemptionEventRow.redemption_id == rid)))


@pytest.mark.parametrize(
    ("code", "fix_words"),
    [
        ("crm_id_not_found", "State, City, Date of Birth and Address"),
        ("missing_user_information", "address field"),
        ("product_not_found", "SKU"),
        ("shop_auth_failed", "Reconnect the shop"),
    ],
)
def test_fulfilment_permanent_error_shows_message_and_fix(make_runtime, code, fix_words):
    shop = FakeShopPlugin(script=[ProviderError(code, field="province_code")])
    rt = make_runtime(plugins=[shop])
    w = seed_world(rt)
    rid = create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=w.reward.id).redemption.id
    r = _load(rt, rid)
    assert r.status == "error" and r.error_code == code
    assert fix_words in r.error_fix
    assert r.error_message
    # Stays in error until someone retries; then it is fulfilled.
    assert fulfil_redemption(rt, rid) == "skipped"
    retry_redemption(rt, rid, SUPPORT)
    assert _load(rt, rid).status == "fulfilled"


def test_fulfilment_transient_errors_exhaust_to_error(make_runtime):
    shop = FakeShopPlugin(script=[ProviderError("shop_unavailable")] * 3)
    rt = make_runtime(plugins=[shop], max_attempts=3)
    w = seed_world(rt)
    rid = create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=w.reward.id).redemption.id
    for hours in (1, 2, 3):
        rt.now = lambda h=hours: datetime.now(UTC) + timedelta(hours=h)
        fulfil_redemption(rt, rid)
    r = _load(rt, rid)
    assert r.status == "error" and r.error_code == "retries_exhausted" and "shop_unavailable" in r.error_message
    assert r.attempts == 3


def test_retry_only_from_error(make_runtime):
    rt = make_runtime(plugins=[FakeShopPlugin()])
    w = seed_world(rt)
    rid = create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=w.reward.id).redemption.id
    before = _load(rt, rid)
    with pytest.raises(IllegalTransitionError, match="only a redemption in error can be retried"):
        retry_redemption(rt, rid, SUPPORT)
    after = _load(rt, rid)
    assert (after.status, after.updated_at, after.attempts) == (before.status, before.updated_at, before.attempts)


@pytest.mark.parametrize("nothing_created", [True, False])
def test_a_failure_proving_no_order_was_made_forgets_the_checkpoint(make_runtime, nothing_created: bool):
    """After the checkpoint, only the plugin's proof that the shop refused the call clears ``submitted_at``;
    any other failure keeps it, so the next attempt looks the order up before creating one."""
    refused = ProviderError("product_not_found", "out of stock", retryable=False, nothing_created=nothing_created)
    shop = FakeShopPlugin(script=[refused], on_call=lambda request: request.checkpoint())
    rt = make_runtime(plugins=[shop])
    w = seed_world(rt)
    r = _load(rt, create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=w.reward.id).redemption.id)
    assert (r.status, r.error_code) == ("error", "product_not_found")
    assert (r.submitted_at is None) is nothing_created
    in_doubt = ProviderError("shop_unavailable", retryable=True, in_doubt=True, nothing_created=True)
    assert not in_doubt.nothing_created  # a request that may have taken effect proves nothing
