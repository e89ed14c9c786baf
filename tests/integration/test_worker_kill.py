"""A worker SIGKILLed between Shopify creating the order and the local commit: still one order."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import select

from benches.shared import child_pids
from connector.core.access import Actor
from connector.core.model import Role
from connector.core.redemptions import create_redemption
from connector.core.tables import Redemption, RedemptionEventRow
from tests.conftest import seed_world
from tests.integration.conftest import run_cli, worker_env

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def _orders_for(sim, code: str) -> list[dict]:
    return sim.control(f"orders?tag=redemption-{code}")["orders"]


def test_worker_sigkilled_mid_order_creates_one_order(rq_runtime, sim):
    rt = rq_runtime
    w = seed_world(rt, api_base_url=sim.base_url)
    # orderCreate runs in the shop, then the answer is held: the worker is inside the remote call.
    sim.control("faults", {"queue": [{"kind": "after_effect_timeout", "operation": "orderCreate", "seconds": 60}]})
    r = create_redemption(rt, Actor("t", Role.SUPPORT), member_id=w.member.id, reward_id=w.reward.id).redemption
    env = worker_env(rt, CONNECTOR_CLAIM_LEASE_SECONDS="2")
    worker = subprocess.Popen(
        [sys.executable, "-m", "connector", "worker", "--sweep-every", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not _orders_for(sim, r.code):
            assert time.monotonic() < deadline, "the worker never reached orderCreate"
            assert worker.poll() is None, "the worker exited early"
            time.sleep(0.1)
        # Machine death: the work horse and the worker both die at once.
        for pid in child_pids(worker.pid):
            os.kill(pid, signal.SIGKILL)
        worker.kill()
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    with rt.sessions() as s:
        row = s.get(Redemption, r.id)
        assert row.status == "pending" and row.submitted_at is not None and row.external_order_id is None
    sim.control("faults", method="DELETE")
    time.sleep(2.5)  # the dead attempt's lease runs out
    swept = run_cli(rt, "sweep")
    assert "re-enqueued 1 fulfilments" in swept.stdout, swept.stdout + swept.stderr
    done = run_cli(rt, "worker", "--burst")
    assert done.returncode == 0, done.stderr
    orders = _orders_for(sim, r.code)
    assert len(orders) == 1
    with rt.sessions() as s:
        row = s.get(Redemption, r.id)
        assert row.status == "fulfilled"
        assert row.external_order_id == orders[0]["admin_graphql_api_id"]
        messages = list(s.scalars(select(RedemptionEventRow.message).where(RedemptionEventRow.redemption_id == r.id)))
    assert any("found the order an earlier attempt created" in m for m in messages)


def test_worker_job_run_twice_against_shop_makes_one_order(rq_runtime, sim):
    rt = rq_runtime
    w = seed_world(rt, api_base_url=sim.base_url)
    r = create_redemption(rt, Actor("t", Role.SUPPORT), member_id=w.member.id, reward_id=w.reward.id).redemption
    rt.dispatcher.enqueue("fulfil_redemption", r.id, key="fulfil-again-1")
    rt.dispatcher.enqueue("fulfil_redemption", r.id, key="fulfil-again-2")
    assert run_cli(rt, "worker", "--burst").returncode == 0
    assert len(_orders_for(sim, r.code)) == 1
    with rt.sessions() as s:
        assert s.get(Redemption, r.id).status == "fulfilled"
