"""Running RQ workers configured for this product's promises (reliability.md §3.9).

* JSON serialiser: job arguments are ids, and nobody who can write to Redis can run code.
* The scheduler is on: delayed retries (``enqueue_at``) need it.
* Short worker TTL and maintenance interval: an abandoned job is noticed in
  about two minutes instead of ten.
* A sweeper thread re-enqueues what the database says is owed, so a Redis
  flush or a killed worker loses nothing even if RQ's own recovery does not run.
"""

from __future__ import annotations

import logging
import threading

from connector.config import Settings

log = logging.getLogger("connector.worker")


def _sweep_forever(settings: Settings, every: float, stop: threading.Event) -> None:
    from connector.bootstrap import build_runtime
    from connector.core.sweeper import sweep

    rt = build_runtime(settings)
    while not stop.wait(every):
        try:
            report = sweep(rt)
            if report.fulfilments or report.cancels or report.webhooks:
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

    if not settings.redis_url:
        raise ValueError("the worker needs CONNECTOR_REDIS_URL; without it jobs run inside `connector serve`")
    redis = Redis.from_url(settings.redis_url)
    queue = Queue(settings.queue_name, connection=redis, serializer=JSONSerializer)
    cls = SimpleWorker if simple else Worker
    worker = cls(
        [queue],
        connection=redis,
        serializer=JSONSerializer,
        worker_ttl=worker_ttl,
        maintenance_interval=maintenance_interval,
        name=name,
    )
    from connector.jobs import current_runtime

    current_runtime()  # build once here, so each forked job starts warm instead of importing plugins anew
    stop = threading.Event()
    sweeper = None
    if sweep_every > 0 and not burst:
        sweeper = threading.Thread(target=_sweep_forever, args=(settings, sweep_every, stop), daemon=True)
        sweeper.start()
    try:
        return worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
    finally:
        stop.set()
