"""SIGKILL workers in the middle of a run of fulfilments: every redemption ends with exactly one shop order.

500 redemptions, the issue's size (``RELIABILITY_WORKER_KILL_COUNT`` picks another; the kills land
at 20% and 60% done whatever the count).

Two kills, both real ``kill -9`` on real ``connector worker`` processes (RQ's forking worker):

1. machine death: one worker and its children (work horse, RQ scheduler) die together while the horse is inside
   ``orderCreate`` for one redemption (the simulator created the order and holds the answer, so
   the kill lands after Shopify executed and before the local commit, the worst moment);
2. OOM-killer style: only the work horse of worker ``b`` dies, whatever job it was running; its
   parent survives and carries on.

A replacement worker ``c`` is started after the first kill. Recovery is the product's own: the
claim lease runs out (6 s here) and the workers' sweeper threads (every 1 s here) re-enqueue what
the database says is owed; the next attempt looks the order up by its ``redemption-<code>`` tag
before it would create one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

import pytest
from rq import Queue
from rq.job import Job
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import select

from connector.core.tables import Redemption, RedemptionEventRow
from tests.reliability.services import (
    check_invariants,
    child_pids,
    fast_recovery_env,
    progress,
    redeem_all,
    say,
    seed_members,
    settled,
    status_counts,
    wait_fulfilled,
    wait_until,
    work_horses,
    workers_running,
)

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(290)]

COUNT = int(os.environ.get("RELIABILITY_WORKER_KILL_COUNT", "500"))  # the size
LEASE_SECONDS = 6


def _held_redemption(rt, sim) -> int | None:
    """The redemption whose order exists in the shop while it is still pending locally (the held call)."""
    with rt.sessions() as s:
        pending = dict(
            s.execute(
                select(Redemption.code, Redemption.id).where(
                    Redemption.status == "pending", Redemption.submitted_at.is_not(None)
                )
            ).all()
        )
    for order in sim.control("orders")["orders"]:
        tags = order.get("tags") or ""
        for tag in tags.split(",") if isinstance(tags, str) else tags:
            code = str(tag).strip().removeprefix("redemption-")
            if code in pending:
                return pending[code]
    return None


def _worker_running(rt, redemption_id: int) -> str | None:
    """The name of the RQ worker whose started job is fulfilling ``redemption_id``."""
    queue = Queue(rt.settings.queue_name, connection=rt.dispatcher.redis, serializer=JSONSerializer)
    ids = StartedJobRegistry(queue=queue).get_job_ids()
    for job in Job.fetch_many(ids, connection=rt.dispatcher.redis, serializer=JSONSerializer):
        if job is not None and list(job.args) == ["fulfil_redemption", redemption_id]:
            return job.worker_name
    return None


def test_sigkilled_workers_lose_nothing_and_double_nothing(make_rq_runtime, fast_sim, tmp_path):
    rt = make_rq_runtime()
    seeded = seed_members(rt, fast_sim.base_url, COUNT)
    t0 = time.monotonic()
    ids = redeem_all(rt, seeded)
    say(f"worker kill: {COUNT} redemptions created in {time.monotonic() - t0:.1f}s, {rt.dispatcher.queue.count} queued")
    with workers_running(fast_recovery_env(rt, LEASE_SECONDS), tmp_path, "a", "b", sweep_every=1) as workers:
        tick = progress(rt, ids, workers)
        wait_fulfilled(rt, ids, COUNT // 5, tick=tick)

        # Kill 1: the next orderCreate executes in the shop and its answer is held for 20 s.
        fast_sim.control(
            "faults", {"queue": [{"kind": "after_effect_timeout", "operation": "orderCreate", "seconds": 20}]}
        )
        held: list[int] = []

        def found_held() -> bool:
            rid = _held_redemption(rt, fast_sim)
            if rid is None:
                return False
            time.sleep(0.3)  # a normal attempt commits within milliseconds of its order; the held one cannot
            if _held_redemption(rt, fast_sim) != rid:
                return False
            held.append(rid)
            return True

        wait_until(found_held, timeout=60, what="a worker inside the held orderCreate")
        victim = _worker_running(rt, held[0])
        assert victim in workers.procs, f"no live job of ours holds redemption {held[0]} (found {victim!r})"
        proc = workers.procs[victim]
        horses = child_pids(proc.pid)
        for pid in horses:
            with contextlib.suppress(ProcessLookupError):  # a child that just exited (RQ's scheduler)
                os.kill(pid, signal.SIGKILL)
        proc.kill()
        proc.wait(timeout=10)
        killed_at = time.monotonic()
        done_at_kill = status_counts(rt, ids)["fulfilled"]
        say(
            f"SIGKILLed worker {victim} (pid {proc.pid}) and its work horse {horses} inside orderCreate of "
            f"redemption {held[0]}; {done_at_kill} fulfilled at that moment"
        )
        fast_sim.control("faults", method="DELETE")
        workers.start("c")

        # Kill 2: only the other worker's work horse, whatever it is doing.
        survivor = "b" if victim == "a" else "a"
        wait_fulfilled(rt, ids, COUNT * 3 // 5, tick=tick, timeout=150)
        horse: list[int] = []
        survivor_pid = workers.procs[survivor].pid

        def kill_a_live_horse() -> bool:
            for pid in work_horses(survivor_pid, rt.settings.redis_url):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue  # its job ended between the look and the kill: wait for the next horse
                horse.append(pid)
                return True
            return False

        wait_until(kill_a_live_horse, timeout=20, every=0.01, what=f"a live work horse of worker {survivor}")
        say(f"SIGKILLed the work horse {horse[0]} of worker {survivor}; its parent keeps running")

        wait_until(lambda: settled(rt, ids), timeout=150, what="no redemption pending", tick=tick)
        wall = time.monotonic() - workers.started_at
        with rt.sessions() as s:
            held_row = s.get(Redemption, held[0])
            fulfilled_event = s.scalar(
                select(RedemptionEventRow.at).where(
                    RedemptionEventRow.redemption_id == held[0], RedemptionEventRow.kind == "fulfilled"
                )
            )
            messages = list(
                s.scalars(select(RedemptionEventRow.message).where(RedemptionEventRow.redemption_id == held[0]))
            )
        alive = workers.alive()

    outcome = check_invariants(rt, fast_sim, ids)
    say(
        f"worker kill: settled {wall:.1f}s after the workers started, {time.monotonic() - killed_at:.1f}s after "
        f"the first kill; killed redemption took {held_row.attempts} attempts, fulfilled at {fulfilled_event}"
    )
    assert outcome.statuses == {"fulfilled": COUNT}, outcome.line()
    assert held_row.status == "fulfilled" and held_row.attempts >= 2
    assert any("found the order an earlier attempt created" in m for m in messages), messages
    assert sorted(alive) == sorted({"a", "b", "c"} - {victim}), f"workers alive at the end: {alive}"
