"""A shop's last successful call and rate-limit bucket: recorded when a call succeeds, at most every 30 s.

Real database and the fulfilment path; the FakeShopPlugin stands in for Shopify and reports a bucket the
way the Shopify client does (``ShopInfo.report_rate_limit``; the client's side is in
tests/plugins/shopify/test_shopify_graphql_client.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from connector.core.access import Actor
from connector.core.errors import ProviderError
from connector.core.hooktypes import RateLimitStatus
from connector.core.model import Role
from connector.core.redemptions import create_redemption
from connector.core.reversal import reverse_redemption
from connector.core.shop_health import WRITE_INTERVAL
from connector.core.tables import Shop
from tests.conftest import seed_world
from tests.fakes import FakeShopPlugin

SUPPORT = Actor("support@acme", Role.SUPPORT)
T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _shop(rt, shop_id: int) -> Shop:
    with rt.sessions() as s:
        return s.get(Shop, shop_id)


def _redeem(rt, w) -> None:
    create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=w.reward.id)


def test_a_successful_fulfilment_records_the_time_and_the_last_bucket_once_per_interval(make_runtime):
    buckets = iter(
        [RateLimitStatus(1800, 2000, 100), RateLimitStatus(1500, 2000, 100), RateLimitStatus(900, 2000, 100)]
    )
    plugin = FakeShopPlugin(on_call=lambda request: request.shop.report_rate_limit(next(buckets)))
    rt = make_runtime(plugins=[plugin])
    clock = rt.now = Clock()
    w = seed_world(rt, points=5000)
    assert _shop(rt, w.shop.id).last_success_at is None and _shop(rt, w.shop.id).rate_limit is None

    _redeem(rt, w)
    first = _shop(rt, w.shop.id)
    assert first.last_success_at == T0
    assert json.loads(first.rate_limit) == {
        "available": 1800,
        "maximum": 2000,
        "restore_rate": 100,
        "at": "2026-12-06T09:00:00Z",
    }

    # A second success 10 s later: no write (the hot path does not write per request).
    clock.now = T0 + timedelta(seconds=10)
    _redeem(rt, w)
    assert _shop(rt, w.shop.id).last_success_at == T0
    assert json.loads(_shop(rt, w.shop.id).rate_limit)["available"] == 1800

    # Past the interval: the newest time and the newest bucket.
    clock.now = T0 + WRITE_INTERVAL + timedelta(seconds=1)
    _redeem(rt, w)
    third = _shop(rt, w.shop.id)
    assert third.last_success_at == clock.now
    assert json.loads(third.rate_limit)["available"] == 900
    assert len(plugin.orders) == 3


def test_a_failed_call_records_no_success(make_runtime):
    plugin = FakeShopPlugin(script=[ProviderError("product_not_found", "no such SKU", retryable=False)])
    rt = make_runtime(plugins=[plugin])
    rt.now = Clock()
    w = seed_world(rt, points=5000)
    _redeem(rt, w)
    assert _shop(rt, w.shop.id).last_success_at is None


def test_the_throttle_is_per_shop_and_per_runtime(make_runtime):
    """Two processes (runtimes) each write once per interval; one shop's write does not hold back another's."""
    rt = make_runtime(plugins=[FakeShopPlugin()])
    w = seed_world(rt)
    other = make_runtime(plugins=[FakeShopPlugin()])
    with rt.sessions.begin() as s:
        assert rt.shop_health.record_success(s, w.shop.id, T0) is True
        assert rt.shop_health.record_success(s, w.shop.id, T0 + timedelta(seconds=5)) is False
        assert rt.shop_health.record_success(s, w.shop.id + 1, T0 + timedelta(seconds=5)) is True
    with other.sessions.begin() as s:
        assert other.shop_health.record_success(s, w.shop.id, T0 + timedelta(seconds=5)) is True
    # The later write wins; an earlier one never moves the time back.
    assert _shop(rt, w.shop.id).last_success_at == T0 + timedelta(seconds=5)
    with other.sessions.begin() as s:
        other.shop_health.record_success(s, w.shop.id, T0 + timedelta(minutes=5))
    with rt.sessions.begin() as s:
        rt.shop_health.record_success(s, w.shop.id, T0 + timedelta(minutes=1))
    assert _shop(rt, w.shop.id).last_success_at == T0 + timedelta(minutes=5)


def test_a_cancelled_order_counts_as_a_successful_call(make_runtime):
    plugin = FakeShopPlugin()
    rt = make_runtime(plugins=[plugin])
    clock = rt.now = Clock()
    w = seed_world(rt, points=5000)
    rid = create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=w.reward.id).redemption.id
    assert _shop(rt, w.shop.id).last_success_at == T0
    clock.now = T0 + WRITE_INTERVAL + timedelta(seconds=5)
    reverse_redemption(rt, rid, SUPPORT, reason="member moved", cancel_order=True)
    assert plugin.cancelled and _shop(rt, w.shop.id).last_success_at == clock.now
