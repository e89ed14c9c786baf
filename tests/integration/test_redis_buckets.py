"""The shared rate-limit bucket in Redis (connector/redis_buckets.py): its Lua scripts against real Redis.

A separate ``RedisBuckets`` per thread stands for a separate worker process: they share nothing but Redis.
"""

from __future__ import annotations

import threading
import time

import pytest
from redis import Redis

from connector.core.hooktypes import RateLimitStatus
from connector.core.rate_buckets import metering
from connector.redis_buckets import PREFIX, RedisBuckets, bucket_keys

pytestmark = pytest.mark.redis
SHOP = "acme-pets.myshopify.com"


def _report(available: float, maximum: float = 100.0, rate: float = 10.0) -> RateLimitStatus:
    return RateLimitStatus(available=available, maximum=maximum, restore_rate=rate)


def _teach(buckets: RedisBuckets, key: str, *, available: float, cost: float, maximum: float = 100, rate: float = 10):
    """One answered request: the bucket and the operation's cost become known."""
    reservation, _ = buckets.reserve(key, "Op")
    assert reservation is not None
    buckets.settle(reservation, "Op", _report(available, maximum, rate), cost)


def test_redis_bucket_unknown_shop_lets_one_probe_through_at_a_time(redis_url):
    one, two = RedisBuckets(redis_url), RedisBuckets(redis_url)
    probe, wait = one.reserve(SHOP, "Op")
    assert probe is not None and wait == 0.0
    blocked, wait = two.reserve(SHOP, "Op")  # another process: waits for the probe's answer
    assert blocked is None and wait > 0
    one.settle(probe, "Op", _report(100), 30.0)
    after, _ = two.reserve(SHOP, "Op")
    assert after is not None and after.points == 30.0  # the learned cost, not the default


def test_redis_bucket_reserves_until_the_estimate_is_spent_then_says_when(redis_url):
    buckets = RedisBuckets(redis_url)
    _teach(buckets, SHOP, available=70, cost=30)
    first, _ = buckets.reserve(SHOP, "Op")
    second, _ = buckets.reserve(SHOP, "Op")
    third, wait = buckets.reserve(SHOP, "Op")
    assert first is not None and second is not None
    assert third is None
    # 70 - 2 * 30 in flight = 10 left; 20 more at 10 points/s (what passed since is a few ms at most).
    assert wait == pytest.approx(2.0, abs=0.1)
    assert buckets.wait_for(SHOP, 30) == pytest.approx(2.0, abs=0.1)


def test_redis_bucket_answer_older_than_the_adopted_one_is_not_adopted(redis_url):
    buckets = RedisBuckets(redis_url)
    _teach(buckets, SHOP, available=100, cost=10)
    older, _ = buckets.reserve(SHOP, "Op")
    newer, _ = buckets.reserve(SHOP, "Op")
    assert older is not None and newer is not None
    buckets.settle(newer, "Op", _report(40), 10.0)
    buckets.settle(older, "Op", _report(90), 10.0)  # arrives last, but reported the bucket before `newer` spent
    # Adopting 90 would forget `newer`'s spend; the estimate stays at most 40 - 10 (refill aside).
    assert buckets.wait_for(SHOP, 40) > 0.5


def test_redis_bucket_keys_are_per_shop_exact(redis_url):
    buckets = RedisBuckets(redis_url)
    longer = SHOP + ".example"  # the first shop's name is a prefix of this one's
    _teach(buckets, SHOP, available=0, cost=30)
    _teach(buckets, longer, available=100, cost=30)
    assert buckets.wait_for(SHOP, 30) > 0
    assert buckets.wait_for(longer, 30) == 0.0
    keys = {k.decode() for k in Redis.from_url(redis_url).scan_iter(match=PREFIX + "*")}
    assert keys == {*bucket_keys(SHOP), *bucket_keys(longer)} - {bucket_keys(SHOP)[1], bucket_keys(longer)[1]}
    buckets.forget(SHOP)
    assert "max" not in buckets.stats(SHOP)
    assert buckets.stats(longer)["max"] == 100.0


def test_redis_bucket_reservation_of_a_killed_worker_stops_counting(redis_url, monkeypatch):
    monkeypatch.setattr("connector.redis_buckets.RESERVATION_TTL", 0.2)
    buckets = RedisBuckets(redis_url)
    _teach(buckets, SHOP, available=30, cost=30)
    held, _ = buckets.reserve(SHOP, "Op")  # its worker dies: never settled
    assert held is not None
    time.sleep(0.3)
    # The bucket restores 3 points in that time; the lost reservation no longer counts against it.
    assert buckets.wait_for(SHOP, 30) == 0.0


def test_redis_bucket_never_overdrawn_by_many_processes(redis_url):
    """Eight "processes" against one server bucket of 100 points at 50/s: not one request is refused."""
    from shopify_sim.cost import LeakyBucket

    server = LeakyBucket(100.0, 50.0)
    refused, spent = [], []
    deadline = time.monotonic() + 1.5

    def worker() -> None:
        mine = RedisBuckets(redis_url)
        while time.monotonic() < deadline:
            reservation, wait = mine.reserve(SHOP, "Op")
            if reservation is None:
                time.sleep(min(wait, 0.05))
                continue
            ok, status = server.try_spend(7.0)
            (spent if ok else refused).append(1)
            report = RateLimitStatus(status.currently_available, status.maximum_available, status.restore_rate)
            mine.settle(reservation, "Op", report, 7.0)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert refused == []
    assert len(spent) > 14  # more than the first full bucket: the restore was used too


def test_redis_bucket_paces_a_shops_jobs_after_a_burst_of_half_the_bucket(redis_url):
    buckets = RedisBuckets(redis_url)
    _teach(buckets, SHOP, available=100, cost=10, maximum=100, rate=10)
    delays = [buckets.pace(SHOP, 10.0) for _ in range(8)]
    # One job now and half the bucket (50 points, five jobs) booked ahead start at once; then one per second.
    assert delays[:6] == [0.0] * 6
    assert delays[6] == pytest.approx(1.0, abs=0.05) and delays[7] == pytest.approx(2.0, abs=0.05)
    assert buckets.pace("other.myshopify.com", 10.0) == 0.0  # another shop's job is not behind them
    assert buckets.stats(SHOP)["paced"] == 2


def test_redis_bucket_learns_the_cost_of_a_job_from_what_it_was_charged(redis_url):
    buckets = RedisBuckets(redis_url, default_job_cost=50)
    assert buckets.job_cost(SHOP) == 50
    with metering() as meter:
        _teach(buckets, SHOP, available=100, cost=12)
        _teach(buckets, SHOP, available=88, cost=10)
    assert (meter.points, meter.requests) == (22.0, 2)
    buckets.learn_job_cost(SHOP, meter.points)
    assert buckets.job_cost(SHOP) == 22.0
    buckets.learn_job_cost(SHOP, 32.0)
    assert buckets.job_cost(SHOP) == pytest.approx(24.0)  # a moving average, not the last job alone


def test_redis_bucket_grant_pays_for_a_whole_jobs_calls_and_gives_the_rest_back(redis_url):
    from connector.core.rate_buckets import granted

    buckets, other = RedisBuckets(redis_url), RedisBuckets(redis_url)
    _teach(buckets, SHOP, available=60, cost=20)
    grant, _ = buckets.try_grant(SHOP, 50.0)
    assert grant is not None and grant.points == 50.0
    assert other.try_grant(SHOP, 50.0)[0] is None  # a second job of the shop waits: 10 points are left
    with granted(buckets, grant):
        first, _ = buckets.reserve(SHOP, "Op")  # paid for by the grant, though only 10 points are free
        assert first is not None and first.points == 0.0
        buckets.settle(first, "Op", _report(40), 20.0)
    # The grant is given back: the report (40) is the bucket, nothing else is held.
    assert buckets.wait_for(SHOP, 40) == 0.0


def test_delayed_jobs_are_scheduled_on_a_whole_second_never_before_they_are_due():
    from datetime import UTC, datetime

    from connector.dispatch import _whole_second_after

    due = datetime(2026, 12, 6, 12, 0, 0, 800_000, tzinfo=UTC)
    assert _whole_second_after(due) == datetime(2026, 12, 6, 12, 0, 1, tzinfo=UTC)
    assert _whole_second_after(due.replace(microsecond=0)) == due.replace(microsecond=0)
