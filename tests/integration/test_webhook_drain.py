"""Stored webhooks are applied by one coalescing drain job: many wakes, one run, nothing left behind."""

from __future__ import annotations

import itertools
import time

import pytest
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy import select

from connector.core import webhook_intake
from connector.core.runtime import Runtime
from connector.core.sweeper import sweep
from connector.core.tables import WebhookDelivery
from connector.core.webhook_intake import DRAIN_JOB, DRAIN_KEY, process_received_webhooks, receive_webhook
from connector.dispatch import ThreadDispatcher
from connector.jobs import run_job
from tests.conftest import seed_world
from tests.integration.conftest import run_cli
from tests.web.support import as_body, fulfillment_payload, shopify_headers

pytestmark = pytest.mark.redis
_numbers = itertools.count()


def _deliver(rt: Runtime, n: int) -> list[int]:
    """``n`` distinct, validly signed deliveries for an order nobody has (stored, applied with no effect)."""
    ids = []
    for _ in range(n):
        i = next(_numbers)
        body = as_body(fulfillment_payload(990_000 + i, "in_transit", f"2026-07-01T10:{i % 60:02d}:00-04:00"))
        received = receive_webhook(rt, "shopify", shopify_headers(body, "fulfillments/update"), body)
        assert received.delivery_id is not None
        ids.append(received.delivery_id)
    return ids


def _statuses(rt: Runtime) -> list[str]:
    with rt.sessions() as s:
        return list(s.scalars(select(WebhookDelivery.status).order_by(WebhookDelivery.id)))


def _queued(rt: Runtime) -> list[str]:
    queue = Queue(rt.settings.queue_name, connection=Redis.from_url(rt.settings.redis_url), serializer=JSONSerializer)
    return [job.args[0] for job in queue.get_jobs()]


def test_a_burst_of_deliveries_queues_one_drain_run_that_applies_them_all(rq_runtime):
    rt = rq_runtime
    seed_world(rt)
    _deliver(rt, 25)
    assert _queued(rt) == [DRAIN_JOB]  # 25 wakes, one waiting run: not one job per delivery
    done = run_cli(rt, "worker", "--burst")
    assert done.returncode == 0, done.stderr
    assert _statuses(rt) == ["processed"] * 25


def test_a_delivery_stored_after_a_run_started_wakes_a_run_of_its_own(rq_runtime):
    rt = rq_runtime
    seed_world(rt)
    _deliver(rt, 3)
    assert _queued(rt) == [DRAIN_JOB]
    # The run starts: it clears the flag before it looks. What arrives now must not wait for a sweep.
    rt.woken(DRAIN_KEY)
    _deliver(rt, 2)
    assert _queued(rt) == [DRAIN_JOB, DRAIN_JOB]
    assert run_cli(rt, "worker", "--burst").returncode == 0
    assert _statuses(rt) == ["processed"] * 5


def test_two_runs_racing_over_the_same_deliveries_apply_each_once(rq_runtime):
    rt = rq_runtime
    seed_world(rt)
    _deliver(rt, 4)
    assert process_received_webhooks(rt) == "applied 4"
    assert process_received_webhooks(rt) == "applied 0"  # the rows were flipped by the first run
    assert run_job(DRAIN_JOB, 0, rt) == "applied 0"


def test_a_delivery_that_fails_to_apply_does_not_hold_up_the_ones_behind_it(rq_runtime, monkeypatch):
    rt = rq_runtime
    seed_world(rt)
    first, poison, *rest = _deliver(rt, 5)
    real = webhook_intake.process_webhook

    def failing(rt_: Runtime, delivery_id: int) -> str:
        if delivery_id == poison:
            raise RuntimeError("a bug in applying this one delivery")
        return real(rt_, delivery_id)

    monkeypatch.setattr(webhook_intake, "process_webhook", failing)
    assert process_received_webhooks(rt) == "applied 4, failed 1"
    with rt.sessions() as s:
        left = s.scalars(select(WebhookDelivery.id).where(WebhookDelivery.status == "received")).all()
    assert left == [poison]  # still owed: the sweeper's per-delivery job retries it
    monkeypatch.undo()
    assert sweep(rt, webhook_grace_seconds=0).webhooks == 1
    assert run_cli(rt, "worker", "--burst").returncode == 0
    assert _statuses(rt) == ["processed"] * 5


def test_a_lost_wake_is_recovered_by_the_sweeper(rq_runtime):
    rt = rq_runtime
    seed_world(rt)
    _deliver(rt, 2)
    Redis.from_url(rt.settings.redis_url).flushdb()  # Redis restarted empty: the run and its flag are gone
    assert run_cli(rt, "worker", "--burst").returncode == 0
    assert _statuses(rt) == ["received"] * 2  # nothing left in Redis to apply them
    assert sweep(rt, webhook_grace_seconds=0).webhooks == 2
    assert run_cli(rt, "worker", "--burst").returncode == 0
    assert _statuses(rt) == ["processed"] * 2


def test_the_embedded_thread_runner_applies_woken_deliveries(make_runtime):
    rt = make_runtime(jobs_mode="thread")
    seed_world(rt)
    dispatcher = ThreadDispatcher(rt, sweep_every=3600)
    rt.dispatcher = dispatcher
    try:
        _deliver(rt, 10)
        deadline = time.monotonic() + 10
        while _statuses(rt) != ["processed"] * 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _statuses(rt) == ["processed"] * 10
    finally:
        dispatcher.stop()
