"""The in-process buckets of zero-config mode (connector/core/rate_buckets.py), on a clock the test moves."""

from __future__ import annotations

import pytest

from connector.core.hooktypes import RateLimitStatus
from connector.core.rate_buckets import LocalBuckets, bucket_key, gcra, metering

SHOP = "acme-pets.myshopify.com"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _teach(buckets: LocalBuckets, *, available: float, cost: float, maximum: float = 100, rate: float = 10) -> None:
    reservation, _ = buckets.reserve(SHOP, "Op")
    assert reservation is not None
    buckets.settle(reservation, "Op", RateLimitStatus(available, maximum, rate), cost)


def test_local_bucket_probes_an_unknown_shop_once_then_reserves_learned_costs():
    buckets = LocalBuckets(Clock())
    probe, _ = buckets.reserve(SHOP, "Op")
    assert probe is not None
    assert buckets.reserve(SHOP, "Op")[0] is None  # the bucket is not known until the probe's answer
    buckets.settle(probe, "Op", RateLimitStatus(70, 100, 10), 30.0)
    assert [buckets.reserve(SHOP, "Op")[0] is not None for _ in range(3)] == [True, True, False]


def test_local_bucket_waits_exactly_the_refill_and_restores_over_time():
    clock = Clock()
    buckets = LocalBuckets(clock)
    _teach(buckets, available=10, cost=30)
    reservation, wait = buckets.reserve(SHOP, "Op")
    assert reservation is None and wait == pytest.approx(2.0)
    assert buckets.wait_for(SHOP, 30) == pytest.approx(2.0)
    clock.now += 2.0
    assert buckets.wait_for(SHOP, 30) == 0.0
    assert buckets.reserve(SHOP, "Op")[0] is not None


def test_local_bucket_does_not_adopt_an_answer_older_than_the_adopted_one():
    buckets = LocalBuckets(Clock())
    _teach(buckets, available=100, cost=10)
    older, _ = buckets.reserve(SHOP, "Op")
    newer, _ = buckets.reserve(SHOP, "Op")
    assert older is not None and newer is not None
    buckets.settle(newer, "Op", RateLimitStatus(40, 100, 10), 10.0)
    buckets.settle(older, "Op", RateLimitStatus(90, 100, 10), 10.0)
    assert buckets.wait_for(SHOP, 40) == pytest.approx(1.0)  # 40 - 10 = 30 held: 10 more at 10/s


def test_local_bucket_paces_after_a_burst_and_learns_job_costs():
    buckets = LocalBuckets(Clock(), default_job_cost=50)
    _teach(buckets, available=100, cost=10)
    assert [buckets.pace(SHOP, 10.0) for _ in range(8)] == [0.0] * 6 + [pytest.approx(1.0), pytest.approx(2.0)]
    assert buckets.stats(SHOP)["paced"] == 2
    with metering() as meter:
        _teach(buckets, available=90, cost=12)
    buckets.learn_job_cost(SHOP, meter.points)
    assert buckets.job_cost(SHOP) == 12.0 and buckets.job_cost("other.myshopify.com") == 50


def test_gcra_and_bucket_key():
    assert gcra(10.0, 0.0, 1.0, 0.0) == (10.0, 11.0)
    assert gcra(10.0, 12.0, 1.0, 1.0) == (11.0, 13.0)
    assert bucket_key(" Acme-Pets.MyShopify.com ") == SHOP
