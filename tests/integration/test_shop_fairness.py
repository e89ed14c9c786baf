"""Fulfilment at Shopify's limit, fair across shops: real Redis, real ``connector worker`` processes, simulators.

* Several worker processes of both kinds share each shop's bucket in Redis: none overdraws it.
* A job whose shop's bucket is empty is deferred, not slept on: its worker takes another shop's job.
* One brand's backlog is paced into RQ's scheduled registry: another brand's redemption is not behind it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest
from redis import Redis
from rq import Queue
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import select

from benches.shared import child_pids
from connector.core import catalog
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.hooktypes import RateLimitStatus
from connector.core.model import Role
from connector.core.rate_buckets import bucket_key
from connector.core.redemptions import create_redemption
from connector.core.scheduling import fulfil_job_key
from connector.core.sweeper import sweep
from connector.core.tables import Redemption, RedemptionEventRow
from connector.dispatch import later_queue_name
from connector.redis_buckets import RedisBuckets, bucket_keys
from tests.conftest import seed_world
from tests.integration.conftest import run_cli, worker_env

pytestmark = [pytest.mark.redis, pytest.mark.slow]
SUPPORT = Actor("support", Role.SUPPORT)
SHOP_A = "acme-pets.myshopify.com"
SHOP_B = "other-brand.myshopify.com"
TOKEN_B = "shpat_other_brand_token"


@pytest.fixture
def sim_b() -> Iterator[object]:
    """Brand B's shop: a second simulator (its own bucket, as a second Shopify shop has)."""
    from shopify_sim import SimServer

    server = SimServer(access_token=TOKEN_B, webhook_secret="whsec_b_secret_0123456789", shop_domain=SHOP_B)
    server.start()
    server.control("products", {"title": "Mug", "variants": [{"sku": "MUG", "inventory": 1000}]})
    yield server
    server.stop()


def _brand_b(rt, w, sim_b) -> tuple[int, int]:
    """Brand B's shop, reward and a member with a full address: (member id, reward id)."""
    with transaction(rt.sessions) as s:
        brand = s.merge(w.other_brand)
        shop = catalog.add_shop(
            s,
            brand,
            domain=SHOP_B,
            access_token=TOKEN_B,
            webhook_secret="whsec_b_secret_0123456789",
            api_base_url=sim_b.base_url,
            allow_custom_api_base=True,
        )
        reward = catalog.add_reward(s, brand, name="Mug", sku="MUG", points_cost=10, shop=shop)
        member = catalog.add_member(
            s,
            brand,
            first_name="Grace",
            last_name="Hopper",
            email="grace@example.com",
            phone="+16135550143",
            address1="1 Main St",
            city="Ottawa",
            province_code="ON",
            country_code="CA",
            zip="K2P 1L4",
        )
        catalog.award_points(s, member, 1000, "welcome bonus")
        s.flush()
        return member.id, reward.id


@contextlib.contextmanager
def _workers(rt, *, forking: int, simple: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Long-running ``connector worker`` processes (no sweeper thread: each test sweeps when it means to)."""
    env = worker_env(rt, SHOPIFY_ALLOW_CUSTOM_API_BASE="true")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "connector", "worker", "--sweep-every", "0", *(["--simple"] if plain else [])],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for plain in [False] * forking + [True] * simple
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            for pid in child_pids(proc.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            proc.kill()
            proc.wait(timeout=10)


def _wait_until(condition: Callable[[], bool], what: str, procs: list[subprocess.Popen[bytes]], limit: float = 120):
    deadline = time.monotonic() + limit
    while not condition():
        assert all(p.poll() is None for p in procs), "a worker exited"
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.2)


def _statuses(rt, ids: list[int]) -> dict[str, int]:
    with rt.sessions() as s:
        rows = s.scalars(select(Redemption.status).where(Redemption.id.in_(ids))).all()
    return {status: rows.count(status) for status in set(rows)}


def _redeem(rt, member_id: int, reward_id: int, n: int = 1) -> list[int]:
    return [create_redemption(rt, SUPPORT, member_id=member_id, reward_id=reward_id).redemption.id for _ in range(n)]


def test_four_workers_of_both_kinds_never_overdraw_one_shops_bucket(rq_runtime, sim):
    rt = rq_runtime  # enqueues without pacing: every job is in the queue at once, and the workers race
    # 16 jobs of ~50 points on a 100-point bucket restoring 30/s: 4 workers outrun it on any machine.
    sim.control("config", {"bucket_size": 100, "restore_rate": 30, "latency_ms": 5})
    w = seed_world(rt, api_base_url=sim.base_url, points=100_000)
    ids = _redeem(rt, w.member.id, w.reward.id, 16)
    with _workers(rt, forking=2, simple=2) as procs:
        _wait_until(lambda: _statuses(rt, ids) == {"fulfilled": 16}, "every redemption fulfilled", procs)
    stats = sim.control("stats")
    assert stats["throttled"] == 0
    assert len({o["name"] for o in sim.control("orders")["orders"]}) == 16
    shared = RedisBuckets(rt.settings.redis_url).stats(bucket_key(SHOP_A))
    assert shared.get("deferred", 0) > 0  # the bucket was the limit, and jobs waited their turn off the workers
    assert shared.get("throttled", 0) == 0


def test_a_shop_with_an_empty_bucket_does_not_hold_the_only_worker(rq_runtime, sim, sim_b):
    rt = rq_runtime
    w = seed_world(rt, api_base_url=sim.base_url, points=100_000)
    member_b, reward_b = _brand_b(rt, w, sim_b)
    # Shop A's bucket is empty and restores one point a second, and the workers know it (an answer said so).
    sim.control("config", {"bucket_size": 1000, "restore_rate": 1})
    sim.control("bucket", {"drain": None})
    buckets = RedisBuckets(rt.settings.redis_url)
    reservation, _ = buckets.reserve(bucket_key(SHOP_A), "")
    assert reservation is not None
    buckets.settle(reservation, "", RateLimitStatus(available=0, maximum=1000, restore_rate=1), None)
    [a] = _redeem(rt, w.member.id, w.reward.id)
    [b] = _redeem(rt, member_b, reward_b)  # queued behind A's job
    with _workers(rt, forking=1, simple=0) as procs:
        _wait_until(lambda: _statuses(rt, [b]) == {"fulfilled": 1}, "brand B's redemption fulfilled", procs)
    with rt.sessions() as s:
        row = s.get(Redemption, a)
        assert (row.status, row.attempts, row.error_code) == ("pending", 0, None)  # not an attempt, not an error
        assert row.next_attempt_at is not None  # when its shop will afford it: the sweeper leaves it until then
        kinds = s.scalars(select(RedemptionEventRow.kind).where(RedemptionEventRow.redemption_id == a)).all()
    assert "attempt_failed" not in kinds and "attempt_started" not in kinds
    assert buckets.stats(bucket_key(SHOP_A))["deferred"] >= 1
    assert sim.control("stats")["throttled"] == 0
    assert sweep(rt).fulfilments == 0  # deferred, not owed: a sweep does not run it early
    scheduled = ScheduledJobRegistry(
        later_queue_name(rt.settings.queue_name), connection=Redis.from_url(rt.settings.redis_url)
    )
    assert any(job_id.startswith(fulfil_job_key(a, 0) + "-at") for job_id in scheduled.get_job_ids())


def test_one_brands_backlog_does_not_delay_another_brands_redemption(rq_runtime, sim, sim_b):
    rt = rq_runtime
    redis = Redis.from_url(rt.settings.redis_url)
    rt.rate_buckets = RedisBuckets(rt.settings.redis_url)  # the web process paces, as in production
    sim.control("config", {"bucket_size": 120, "restore_rate": 40})
    w = seed_world(rt, api_base_url=sim.base_url, points=1_000_000)
    member_b, reward_b = _brand_b(rt, w, sim_b)
    # One redemption of A first: the workers learn A's bucket and what one of its jobs costs.
    [first] = _redeem(rt, w.member.id, w.reward.id)
    assert run_cli(rt, "worker", "--burst", SHOPIFY_ALLOW_CUSTOM_API_BASE="true").returncode == 0
    assert _statuses(rt, [first]) == {"fulfilled": 1}
    backlog = _redeem(rt, w.member.id, w.reward.id, 200)
    [b] = _redeem(rt, member_b, reward_b)

    queue = Queue(rt.settings.queue_name, connection=redis, serializer=JSONSerializer)
    scheduled = ScheduledJobRegistry(queue=Queue(later_queue_name(rt.settings.queue_name), connection=redis))
    # A's backlog waits in the scheduled registry; B's job is in the queue behind a burst of A's at most.
    assert scheduled.count >= 180
    assert queue.job_ids.index(fulfil_job_key(b, 0)) < 10 and queue.count < 12
    next_slot = redis.hget(bucket_keys(bucket_key(SHOP_A))[0], "next")
    assert sweep(rt).fulfilments == 201  # everything pending is owed a job, and already has one:
    assert scheduled.count >= 180 and redis.hget(bucket_keys(bucket_key(SHOP_A))[0], "next") == next_slot

    with _workers(rt, forking=1, simple=1) as procs:
        _wait_until(lambda: _statuses(rt, [b]) == {"fulfilled": 1}, "brand B's redemption fulfilled", procs)
        a_before_b = _statuses(rt, backlog).get("fulfilled", 0)
        # A keeps going at its bucket's pace after B.
        _wait_until(lambda: _statuses(rt, backlog).get("fulfilled", 0) >= a_before_b + 3, "A's backlog moves", procs)
    assert a_before_b < 15  # B did not wait for A's 200
    assert sim.control("stats")["throttled"] == 0 and sim_b.control("stats")["throttled"] == 0
    assert RedisBuckets(rt.settings.redis_url).stats(bucket_key(SHOP_A))["paced"] >= 180
