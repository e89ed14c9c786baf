"""PostgreSQL stops for about three seconds mid-run: nothing lost, nothing doubled, webhooks get 503.

The test starts its own PostgreSQL cluster (``initdb`` in a temporary directory, run as the
``postgres`` OS user when the tests run as root), migrates the connector database into it, and
runs two ``connector worker`` processes against it. Once a quarter of the redemptions are
fulfilled it stops the cluster with ``pg_ctl stop -m fast`` (every connection is cut), waits about
three seconds and starts it again. Just before, one worker is held inside ``orderCreate`` (the
simulator creates the order and answers 2 s later), so one fulfilment reaches Shopify and cannot
be recorded: the order exists, the database does not know it.

While the database is down, a signed Shopify webhook posted to the app (Flask test client, same
database) must answer 503 ``unavailable`` with ``Retry-After``, not 500; once it is back, the same
delivery is accepted.

Workers: nothing restarts them; the test asserts both worker processes are still alive at the end.
A job whose database calls fail during the outage fails in RQ (its redemption stays pending, or
its claim lease runs out), and the workers' sweeper threads re-enqueue it once PostgreSQL answers.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from connector.app import create_app
from connector.migrations import upgrade
from tests.reliability.services import (
    SHOP_DOMAIN,
    SHOP_SECRET,
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
from tests.web.support import as_body, shopify_headers

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(240)]

COUNT = 80
LEASE_SECONDS = 6
OUTAGE_SECONDS = 3.0


def _delivery() -> tuple[bytes, dict[str, str]]:
    body = as_body({"id": 820982911946154508, "email": "ada.reliability.0000@example.com", "tags": ""})
    return body, shopify_headers(body, "customers/update", secret=SHOP_SECRET, domain=SHOP_DOMAIN)


def test_postgres_stopped_mid_run_loses_nothing_and_webhooks_get_503(
    make_rq_runtime, private_postgres, fast_sim, tmp_path
):
    url = private_postgres.create_database("connector")
    upgrade(url)
    rt = make_rq_runtime(database_url=url)
    seeded = seed_members(rt, fast_sim.base_url, COUNT)
    ids = redeem_all(rt, seeded)
    client = create_app(runtime=rt).test_client()
    body, headers = _delivery()
    with workers_running(fast_recovery_env(rt, LEASE_SECONDS), tmp_path, "a", "b", sweep_every=1) as workers:
        tick = progress(rt, ids, workers)
        wait_fulfilled(rt, ids, COUNT // 4, tick=tick)
        # One worker is inside orderCreate when the database goes: the shop creates the order and answers
        # 2 s later, when the worker cannot record it. The next attempt must find that order, not make another.
        fast_sim.control(
            "faults", {"queue": [{"kind": "after_effect_timeout", "operation": "orderCreate", "seconds": 2.0}]}
        )
        wait_until(
            lambda: fast_sim.control("faults")["fired"].get("after_effect_timeout") == 1,
            timeout=30,
            every=0.02,
            what="a worker inside orderCreate",
        )
        before = status_counts(rt, ids)
        down_at = time.monotonic()
        private_postgres.stop("fast")
        stopped_in = time.monotonic() - down_at
        during = client.post("/webhooks/shopify", data=body, headers=headers)
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
        private_postgres.start()
        outage = time.monotonic() - down_at
        say(
            f"postgres outage: stopped PostgreSQL (took {stopped_in:.1f}s) with {dict(before)}; it answered again "
            f"{outage:.1f}s after the stop began; webhook during the outage: HTTP {during.status_code}"
        )
        after = client.post("/webhooks/shopify", data=body, headers=headers)

        wait_until(lambda: settled(rt, ids), timeout=150, what="no redemption pending", tick=tick)
        recovery = time.monotonic() - down_at - outage
        wall = time.monotonic() - workers.started_at
        alive = workers.alive()
        failed_sweeps = workers.grep("sweep failed")
        failed_jobs = workers.grep("OperationalError")

    outcome = check_invariants(rt, fast_sim, ids)
    say(
        f"postgres outage: all settled {recovery:.1f}s after PostgreSQL came back ({wall:.1f}s in all); workers "
        f"alive {alive}; {failed_sweeps} sweeps failed during the outage; {failed_jobs} worker log lines name "
        "an OperationalError"
    )

    assert during.status_code == 503, during.get_data(as_text=True)
    error = during.get_json()["error"]
    assert error["code"] == "unavailable" and "database is unavailable" in error["message"]
    assert during.headers["Retry-After"] == "5"
    assert after.status_code == 200 and after.get_json()["status"] == "accepted", after.get_data(as_text=True)
    assert outcome.statuses == {"fulfilled": COUNT}, outcome.line()
    assert outcome.found_existing >= 1, "the order created while the database was down was not found again"
    assert sorted(alive) == ["a", "b"], "a worker died with PostgreSQL:\n" + "\n".join(
        workers.tail(n) for n in workers.procs if n not in alive
    )


def test_worker_never_forks_a_work_horse_while_its_sweeper_holds_a_lock(monkeypatch, tmp_path):
    """The bug the outage test found: a horse forked mid-sweep inherited a held lock and hung.

    On its first sweep the worker's sweeper thread configures SQLAlchemy's mappers under a global
    lock; a work horse forked at that moment got a copy of the lock, held by a thread that does not
    exist in the child, and waited for it forever (until RQ's 600 s job timeout). Here the sweep
    holds that same lock for a moment while the main thread forks, as RQ does for every job.
    """
    from sqlalchemy.orm.mapper import _CONFIGURE_MUTEX

    import connector.bootstrap
    import connector.core.sweeper
    from connector import worker
    from connector.config import Settings

    holding, release = threading.Event(), threading.Event()

    def slow_sweep(_rt):
        with _CONFIGURE_MUTEX:
            holding.set()
            release.wait(0.5)
        raise RuntimeError("end of the test sweep")  # logged and retried by _sweep_forever

    monkeypatch.setattr(connector.bootstrap, "build_runtime", lambda settings: None)
    monkeypatch.setattr(connector.core.sweeper, "sweep", slow_sweep)
    worker._install_fork_guard()
    stop = threading.Event()
    sweeper = threading.Thread(
        target=worker._sweep_forever, args=(Settings(database_url="sqlite://"), 0.01, stop), daemon=True
    )
    sweeper.start()
    try:
        assert holding.wait(10)
        pid = os.fork()
        if pid == 0:  # the "work horse": it must be able to take the lock
            os._exit(0 if _CONFIGURE_MUTEX.acquire(timeout=3) else 1)
        _, status = os.waitpid(pid, 0)
    finally:
        stop.set()
        release.set()
        sweeper.join(10)
    assert os.waitstatus_to_exitcode(status) == 0, "the forked child inherited a lock held by the sweeper"
