"""Redis dies mid-run and comes back empty: every queued job is gone, no redemption is.

The test's own ``redis-server`` (no persistence) is SIGKILLed while two ``connector worker``
processes are fulfilling, and a fresh, empty one is started on the same port one second later.
The database still says which redemptions are owed; ``connector sweep`` (run here once, as cron
would) and the workers' sweeper threads re-enqueue them, and the workers reconnect by themselves.

Found with this test: RQ's work loop quits (and the process exits) when Redis goes away while a
job is running, so "the workers reconnect" was false; ``connector.worker.run_worker`` now waits for
Redis and starts a new work loop. No supervisor restarts anything here.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.integration.conftest import run_cli
from tests.reliability.services import (
    check_invariants,
    fast_recovery_env,
    progress,
    redeem_all,
    say,
    seed_members,
    settled,
    status_counts,
    wait_fulfilled,
    wait_until,
    workers_running,
)

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(200)]

COUNT = 80
LEASE_SECONDS = 6


def test_redis_restarted_empty_loses_no_redemption(make_rq_runtime, private_redis, fast_sim, tmp_path):
    rt = make_rq_runtime()
    seeded = seed_members(rt, fast_sim.base_url, COUNT)
    ids = redeem_all(rt, seeded)
    with workers_running(fast_recovery_env(rt, LEASE_SECONDS), tmp_path, "a", "b", sweep_every=2) as workers:
        tick = progress(rt, ids, workers)
        wait_fulfilled(rt, ids, COUNT // 4, tick=tick)
        queued = rt.dispatcher.queue.count
        private_redis.kill()
        before = status_counts(rt, ids)
        time.sleep(1.0)  # Redis is away: the workers' connections fail
        away = 1.0 + private_redis.restart_empty()
        restarted_at = time.monotonic()
        assert rt.dispatcher.queue.count == 0, "the new Redis should be empty"
        say(
            f"redis loss: SIGKILLed Redis with {queued} jobs queued and {dict(before)}; an empty Redis answered "
            f"{away:.1f}s later"
        )

        swept = run_cli(rt, "sweep", timeout=60)
        assert swept.returncode == 0, swept.stderr
        match = re.search(r"re-enqueued (\d+) fulfilments", swept.stdout)
        assert match, swept.stdout + swept.stderr
        say(f"`connector sweep` after the restart: {swept.stdout.strip()}")

        wait_until(lambda: settled(rt, ids), timeout=150, what="no redemption pending", tick=tick)
        wall = time.monotonic() - workers.started_at
        recovery = time.monotonic() - restarted_at
        alive = workers.alive()
        new_loops = workers.grep("the work loop ended on an error")

    outcome = check_invariants(rt, fast_sim, ids)
    say(
        f"redis loss: all settled {recovery:.1f}s after the empty Redis came back ({wall:.1f}s in all); "
        f"workers alive {alive}; {new_loops} work loops restarted after losing Redis"
    )
    assert int(match.group(1)) > 0, "the sweep found nothing owed, so the test lost Redis too late"
    assert outcome.statuses == {"fulfilled": COUNT}, outcome.line()
    assert sorted(alive) == ["a", "b"], "a worker died with Redis instead of reconnecting:\n" + "\n".join(
        workers.tail(n) for n in workers.procs if n not in alive
    )
