"""Running RQ workers configured for this product's promises (reliability.md §3.9).

* JSON serialiser: job arguments are ids, and nobody who can write to Redis can run code.
* The scheduler is on: delayed retries (``enqueue_at``) need it.
* Short worker TTL and maintenance interval: an abandoned job is noticed in
  about two minutes instead of ten.
* A sweeper thread re-enqueues what the database says is owed, so a Redis
  flush or a killed worker loses nothing even if RQ's own recovery does not run.
* The sweeper thread never runs while the worker forks a work horse: a fork
  copies locks as they are, and a horse forked while the sweep held one (e.g.
  SQLAlchemy's mapper-configuration lock on the first sweep) would wait on it
  forever (tests/reliability/test_postgres_outage.py found one stuck for ten
  minutes, until RQ's job timeout).
* Losing Redis does not end the process: RQ's work loop quits when Redis goes
  away while a job runs, so the worker waits for Redis to answer again and
  starts a fresh work loop (tests/reliability/test_redis_loss.py).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from typing import Any

from connector.config import Settings

log = logging.getLogger("connector.worker")


#: Held by the sweeper thread while it works and by whichever thread forks (``os.register_at_fork``).
_SWEEP_OR_FORK = threading.Lock()
_fork_guard_installed = False


def _install_fork_guard() -> None:
    """Make every fork of this process wait until the sweeper thread holds no lock of any library."""
    global _fork_guard_installed
    if not _fork_guard_installed:
        os.register_at_fork(
            before=_SWEEP_OR_FORK.acquire,
            after_in_parent=_SWEEP_OR_FORK.release,
            after_in_child=_SWEEP_OR_FORK.release,
        )
        _fork_guard_installed = True


def _sweep_forever(settings: Settings, every: float, stop: threading.Event) -> None:
    from connector.bootstrap import build_runtime
    from connector.core.sweeper import sweep

    with _SWEEP_OR_FORK:
        rt = build_runtime(settings)
    while not stop.wait(every):
        with _SWEEP_OR_FORK:
            try:
                report = sweep(rt)
                if report.fulfilments or report.cancels or report.webhooks or report.outbound:
                    log.info("sweep re-enqueued %s", report)
            except Exception:  # noqa: BLE001 - the sweeper must outlive a database blip
                log.exception("sweep failed; trying again in %ss", every)


def run_worker(
    settings: Settings,
    *,
    simple: bool = False,
    burst: bool = False,
    sweep_every: float = 60.0,
    worker_ttl: int = 60,
    maintenance_interval: int = 30,
    name: str | None = None,
) -> bool:
    """Work the connector queue until stopped (or until empty with ``burst``)."""
    from redis import Redis
    from rq import Queue, SimpleWorker, Worker
    from rq.serializers import JSONSerializer

    from connector.dispatch import later_queue_name

    if not settings.redis_url:
        raise ValueError("the worker needs CONNECTOR_REDIS_URL; without it jobs run inside `connector serve`")
    redis = Redis.from_url(settings.redis_url)
    queue = Queue(settings.queue_name, connection=redis, serializer=JSONSerializer)
    # Delayed jobs come due into their own queue, taken when the first is empty (dispatch.RqDispatcher.later).
    later = Queue(later_queue_name(settings.queue_name), connection=redis, serializer=JSONSerializer)
    cls = SimpleWorker if simple else Worker
    from connector.jobs import current_runtime

    current_runtime()  # build once here, so each forked job starts warm instead of importing plugins anew
    stop = threading.Event()
    sweeper = None
    if sweep_every > 0 and not burst:
        _install_fork_guard()
        sweeper = threading.Thread(target=_sweep_forever, args=(settings, sweep_every, stop), daemon=True)
        sweeper.start()
    try:
        while True:
            worker = cls(
                [queue, later],
                connection=redis,
                serializer=JSONSerializer,
                worker_ttl=worker_ttl,
                maintenance_interval=maintenance_interval,
                name=name,
            )
            worked = False
            try:
                worked = worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
            except _redis_down_errors():
                if burst or _stop_requested(worker):
                    raise
            if burst or _stop_requested(worker):
                return worked
            # Without a stop request, RQ's loop only ends on an error: in practice Redis went away mid-job.
            _recover_from_lost_redis(worker, redis)
    finally:
        stop.set()


def _stop_requested(worker: Any) -> bool:
    """Whether SIGTERM/SIGINT ended RQ's work loop (RQ sets the date on either signal, busy or idle)."""
    return getattr(worker, "_shutdown_requested_date", None) is not None or getattr(worker, "_stop_requested", False)


def _redis_down_errors() -> tuple[type[Exception], ...]:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return (RedisConnectionError, RedisTimeoutError)


def _answers(redis: Any) -> bool:
    try:
        redis.ping()
        return True
    except _redis_down_errors():
        return False


def _recover_from_lost_redis(worker: Any, redis: Any, horse_grace: float = 30.0) -> None:
    """After RQ's work loop quit on an error (Redis went away): wait for Redis, then let the caller start anew.

    The job that was running when Redis went away keeps running in its work horse and commits to the
    database as usual; it is reaped here (killed after ``horse_grace`` seconds: an attempt cut short is
    taken over after its claim lease, like any killed worker's). Jobs lost with Redis's data are the
    sweeper's to restore.
    """
    # RQ's SIGTERM/SIGINT handlers point at the finished work loop: restore the defaults while waiting.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    log.warning("worker %s: the work loop ended on an error (lost Redis?); starting a new one", worker.name)
    horse = getattr(worker, "horse_pid", 0) or 0
    deadline = time.monotonic() + horse_grace
    while horse:
        try:
            done, _ = os.waitpid(horse, os.WNOHANG)
        except ChildProcessError:
            break
        if done:
            break
        if time.monotonic() >= deadline:
            log.warning("worker %s: work horse %s still running after %ss; killing it", worker.name, horse, horse_grace)
            os.kill(horse, signal.SIGKILL)
            os.waitpid(horse, 0)
            break
        time.sleep(0.1)
    delay = 0.5
    time.sleep(delay)  # never a hot loop, whatever ended the work loop
    while not _answers(redis):
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
    with contextlib.suppress(*_redis_down_errors()):
        worker.register_death()  # if Redis kept its data, the old registration would block the name
    log.warning("worker %s: Redis answers again; starting a new work loop", worker.name)
