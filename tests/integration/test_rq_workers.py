"""Fulfilment through real Redis and real ``connector worker`` processes."""

from __future__ import annotations

import json

import pytest
from redis import Redis
from sqlalchemy import select

from connector.core import catalog
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.fulfilment import fulfil_job_key
from connector.core.model import Role
from connector.core.redemptions import create_redemption
from connector.core.tables import Redemption
from tests.conftest import seed_world
from tests.integration.conftest import run_cli

pytestmark = [pytest.mark.redis, pytest.mark.slow]
SUPPORT = Actor("support", Role.SUPPORT)


def _example_reward(rt, w) -> int:
    with transaction(rt.sessions) as s:
        return catalog.add_reward(s, s.merge(w.brand), name="Sticker", sku="STK", points_cost=10, channel="example").id


def _orders(rt) -> list[str]:
    path = rt.settings.plugin_env["EXAMPLE_ORDERS_FILE"]
    try:
        with open(path) as fh:
            return [json.loads(line)["order_id"] for line in fh]
    except FileNotFoundError:
        return []


def _statuses(rt) -> list[str]:
    with rt.sessions() as s:
        return list(s.scalars(select(Redemption.status).order_by(Redemption.id)))


def test_rq_worker_fulfils_queued_redemptions(rq_runtime):
    rt = rq_runtime
    w = seed_world(rt, points=10_000)
    reward_id = _example_reward(rt, w)
    for _ in range(20):
        create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=reward_id)
    assert _statuses(rt) == ["pending"] * 20  # queued in Redis, nothing ran in this process
    done = run_cli(rt, "worker", "--burst")
    assert done.returncode == 0, done.stderr
    assert _statuses(rt) == ["fulfilled"] * 20
    orders = _orders(rt)
    assert len(orders) == 20 and len(set(orders)) == 20


def test_rq_job_enqueued_twice_makes_one_order(rq_runtime):
    rt = rq_runtime
    w = seed_world(rt)
    reward_id = _example_reward(rt, w)
    rid = create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=reward_id).redemption.id
    # The same key again is refused by RQ; a second key (as a sweeper or a bug might add) still runs.
    assert rt.dispatcher.enqueue("fulfil_redemption", rid, key=fulfil_job_key(rid, 0)) is False
    assert rt.dispatcher.enqueue("fulfil_redemption", rid, key="fulfil-dup-by-bug") is True
    assert run_cli(rt, "worker", "--burst").returncode == 0
    assert _statuses(rt) == ["fulfilled"]
    assert len(_orders(rt)) == 1


def test_rq_redis_flush_loses_nothing_after_sweep(rq_runtime):
    rt = rq_runtime
    w = seed_world(rt, points=10_000)
    reward_id = _example_reward(rt, w)
    for _ in range(5):
        create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=reward_id)
    Redis.from_url(rt.settings.redis_url).flushdb()  # Redis restarted without persistence
    assert run_cli(rt, "worker", "--burst").returncode == 0
    assert _statuses(rt) == ["pending"] * 5  # the jobs were gone
    swept = run_cli(rt, "sweep")
    assert swept.returncode == 0 and "re-enqueued 5 fulfilments" in swept.stdout, swept.stderr
    assert run_cli(rt, "worker", "--burst").returncode == 0
    assert _statuses(rt) == ["fulfilled"] * 5
    assert len(set(_orders(rt))) == 5
