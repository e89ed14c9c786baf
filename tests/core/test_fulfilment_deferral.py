"""A fulfilment job whose shop's rate-limit bucket is short is deferred: not an attempt, not an error."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from connector.core.access import Actor
from connector.core.errors import RateLimitDeferral
from connector.core.fulfilment import fulfil_redemption
from connector.core.hooktypes import FulfilmentRequest, RateLimitStatus
from connector.core.model import Role
from connector.core.rate_buckets import LocalBuckets, bucket_key
from connector.core.redemptions import create_redemption
from connector.core.sweeper import sweep
from connector.core.tables import Redemption, RedemptionEventRow
from tests.conftest import seed_world
from tests.fakes import FakeShopPlugin

SUPPORT = Actor("support@acme", Role.SUPPORT)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _events(rt, rid: int) -> list[str]:
    with rt.sessions() as s:
        return list(
            s.scalars(
                select(RedemptionEventRow.kind)
                .where(RedemptionEventRow.redemption_id == rid)
                .order_by(RedemptionEventRow.id)
            )
        )


def _empty_bucket(buckets: LocalBuckets, domain: str) -> None:
    """What an answer reporting an empty bucket (restoring 10 points/s) teaches the host."""
    reservation, _ = buckets.reserve(bucket_key(domain), "")
    assert reservation is not None
    buckets.settle(reservation, "", RateLimitStatus(available=0, maximum=100, restore_rate=10), None)


def test_job_of_a_shop_with_an_empty_bucket_is_deferred_without_an_attempt(make_runtime):
    shop = FakeShopPlugin()
    rt = make_runtime(plugins=[shop])
    clock = Clock()
    rt.rate_buckets = LocalBuckets(clock, default_job_cost=50)
    w = seed_world(rt)
    _empty_bucket(rt.rate_buckets, w.shop.domain)
    rid = create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=w.reward.id).redemption.id
    with rt.sessions() as s:
        r = s.get(Redemption, rid)
        assert (r.status, r.attempts, r.error_code) == ("pending", 0, None)
        due = r.next_attempt_at
    assert due is not None and due - rt.now() > timedelta(seconds=4)  # 50 points at 10/s
    assert _events(rt, rid) == ["claimed"]  # the timeline is as it was
    assert shop.requests == []
    assert rt.rate_buckets.stats(bucket_key(w.shop.domain))["deferred"] == 1
    [(at, _, job, arg, key)] = rt.dispatcher.delayed
    assert (job, arg, at) == ("fulfil_redemption", rid, due) and key.startswith(f"fulfil-{rid}-0-at")
    assert sweep(rt).fulfilments == 0  # not due: the sweeper does not run it early
    assert fulfil_redemption(rt, rid) == "skipped"  # nor does a duplicate job

    clock.now += 6  # the bucket refilled; the deferred job comes due
    rt.now = lambda: due
    assert rt.dispatcher.run_due(until=due) == 1
    with rt.sessions() as s:
        r = s.get(Redemption, rid)
        assert (r.status, r.attempts) == ("fulfilled", 1)
    assert len(shop.orders) == 1


def test_plugin_deferral_gives_the_claim_back_and_does_not_spend_the_retry_budget(make_runtime):
    calls: list[int] = []

    def short_once(request: FulfilmentRequest) -> None:
        calls.append(request.attempt)
        if len(calls) == 1:
            raise RateLimitDeferral("the bucket affords the variant lookup in 2.00s", retry_after=2.0)

    shop = FakeShopPlugin(on_call=short_once)
    rt = make_runtime(plugins=[shop])
    rt.rate_buckets = LocalBuckets(Clock())
    w = seed_world(rt)
    rid = create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=w.reward.id).redemption.id
    with rt.sessions() as s:
        r = s.get(Redemption, rid)
        assert (r.status, r.error_code, r.claim_token, r.submitted_at) == ("pending", None, None, None)
        assert (r.attempts, r.attempt_budget_from) == (1, 1)  # numbered, but not counted against the budget
        due = r.next_attempt_at
    assert _events(rt, rid) == ["claimed", "attempt_started", "attempt_deferred"]
    assert due is not None
    [(_, _, _, _, key)] = rt.dispatcher.delayed
    assert key.startswith(f"fulfil-{rid}-1-at")
    rt.now = lambda: due
    assert rt.dispatcher.run_due(until=due) == 1
    assert fulfil_redemption(rt, rid) == "skipped"  # the deferred job run twice: one order
    with rt.sessions() as s:
        assert s.get(Redemption, rid).status == "fulfilled"
    assert len(shop.orders) == 1 and calls == [1, 2]
