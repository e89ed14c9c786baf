"""Job runners behind the core's ``Dispatcher`` port.

* ``RqDispatcher``: production; jobs go to Redis and ``rq worker`` processes run them.
* ``ThreadDispatcher``: embedded mode; a background thread runs the same jobs
  in-process and sweeps periodically, so the product works with only Python.
* ``SyncDispatcher``: runs due jobs inline after the caller's commit; tests and
  CLI one-shots, where determinism beats concurrency.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from connector.core.job_table import run_job
from connector.core.runtime import Runtime
from connector.core.scheduling import SWEEP_JOB

log = logging.getLogger("connector.dispatch")


class SyncDispatcher:
    """Runs an immediate job at once, in the caller's thread; delayed jobs wait for ``run_due``."""

    def __init__(self, runtime: Runtime, clock: Callable[[], datetime] | None = None) -> None:
        self.runtime = runtime
        self.clock = clock or (lambda: datetime.now(UTC))
        self.delayed: list[tuple[datetime, int, str, int, str]] = []
        self._seq = itertools.count()
        self._depth = 0

    def enqueue(
        self,
        job: str,
        arg: int,
        *,
        key: str,
        at: datetime | None = None,
        pace: Callable[[], datetime | None] | None = None,
    ) -> bool:
        # ``pace`` is ignored: jobs run inline, one at a time, so there is no queue to be fair in.
        if at is not None and at > self.clock():
            heapq.heappush(self.delayed, (at, next(self._seq), job, arg, key))
            return True
        if self._depth > 20:  # guard against a job that re-enqueues itself forever
            heapq.heappush(self.delayed, (self.clock(), next(self._seq), job, arg, key))
            return True
        self._depth += 1
        try:
            run_job(job, arg, self.runtime)
        finally:
            self._depth -= 1
        return True

    def wake(self, job: str, *, key: str) -> bool:
        return self.enqueue(job, 0, key=key)

    def woken(self, key: str) -> None:
        """Nothing to clear: every wake runs the job at once."""

    def run_due(self, until: datetime | None = None) -> int:
        """Run delayed jobs whose time has come (or all up to ``until``); returns how many ran."""
        ran = 0
        limit = until or self.clock()
        while self.delayed and self.delayed[0][0] <= limit:
            _, _, job, arg, _ = heapq.heappop(self.delayed)
            run_job(job, arg, self.runtime)
            ran += 1
        return ran


class ThreadDispatcher:
    """One background thread: runs queued jobs in order, delayed ones when due, and sweeps."""

    def __init__(self, runtime: Runtime, sweep_every: float = 30.0) -> None:
        self.runtime = runtime
        self.sweep_every = sweep_every
        self._heap: list[tuple[datetime, int, str, int, str]] = []
        self._keys: set[str] = set()
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._stop = False
        self._running = False
        self._thread = threading.Thread(target=self._loop, name="connector-jobs", daemon=True)
        self._thread.start()

    def enqueue(
        self,
        job: str,
        arg: int,
        *,
        key: str,
        at: datetime | None = None,
        pace: Callable[[], datetime | None] | None = None,
    ) -> bool:
        if pace is not None and key not in self._keys:  # a racing duplicate books one slot too many: harmless
            at = pace()
        with self._cv:
            if key in self._keys:
                return False
            self._keys.add(key)
            heapq.heappush(self._heap, (at or datetime.now(UTC), next(self._seq), job, arg, key))
            self._cv.notify()
        return True

    def wake(self, job: str, *, key: str) -> bool:
        # ``enqueue`` already coalesces: a key is held while its job waits and released as it starts.
        return self.enqueue(job, 0, key=key)

    def woken(self, key: str) -> None:
        """Nothing to clear: the key was released when the job was taken off the heap."""

    def stop(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify()
        self._thread.join(timeout=10)

    def idle(self) -> bool:
        """True when no job runs and none is due now (delayed retries may still wait)."""
        with self._cv:
            return not self._running and (not self._heap or self._heap[0][0] > datetime.now(UTC))

    def _loop(self) -> None:
        next_sweep = datetime.now(UTC).timestamp() + self.sweep_every
        while True:
            with self._cv:
                while not self._stop:
                    now = datetime.now(UTC)
                    if self._heap and self._heap[0][0] <= now:
                        break
                    if now.timestamp() >= next_sweep:
                        break
                    wait = next_sweep - now.timestamp()
                    if self._heap:
                        wait = min(wait, (self._heap[0][0] - now).total_seconds())
                    self._cv.wait(timeout=max(0.01, wait))
                if self._stop:
                    return
                item = heapq.heappop(self._heap) if self._heap and self._heap[0][0] <= datetime.now(UTC) else None
                if item is not None:
                    self._keys.discard(item[4])
                self._running = True
            try:
                if item is None:
                    next_sweep = datetime.now(UTC).timestamp() + self.sweep_every
                    self._run(SWEEP_JOB, 0)
                else:
                    self._run(item[2], item[3])
            finally:
                with self._cv:
                    self._running = False

    def _run(self, job: str, arg: int) -> None:
        try:
            run_job(job, arg, self.runtime)
        except Exception:  # noqa: BLE001 - one failing job must not stop the embedded runner
            log.exception("job %s(%s) failed", job, arg)


class RqDispatcher:
    """Enqueues to RQ with deterministic, unique job ids; JSON-serialised, ids only."""

    def __init__(self, redis_url: str, queue_name: str = "connector") -> None:
        from redis import Redis
        from rq import Queue
        from rq.serializers import JSONSerializer

        self.redis = Redis.from_url(redis_url)
        self.queue = Queue(queue_name, connection=self.redis, serializer=JSONSerializer)
        #: Where delayed jobs (paced, deferred, retries) wait and, once due, queue: workers take them only when
        #: ``queue`` is empty, so a shop's due backlog never stands in front of another shop's new job even
        #: when the workers fall behind the shops' buckets (architecture.md, "Rate limits and fairness").
        self.later = Queue(later_queue_name(queue_name), connection=self.redis, serializer=JSONSerializer)
        self._wake_prefix = f"connector:{queue_name}:waiting:"

    def wake(self, job: str, *, key: str) -> bool:
        """One ``SET NX`` per wake; an RQ job only when no run is waiting.

        The flag means "a run is queued and has not started". The run clears it as it starts
        (``woken``), so work stored after that sets it again and gets a run of its own. If the
        enqueue is lost (Redis restarted without its data), the flag goes with it; if only the
        enqueue fails, the flag expires, and the sweeper covers the gap either way.
        """
        if not self.redis.set(self._wake_prefix + key, b"1", nx=True, ex=60):
            return False
        # A fresh id per run: a run that has started must not swallow the next wake as a duplicate.
        return self.enqueue(job, 0, key=f"{key}-{uuid.uuid4().hex}")

    def woken(self, key: str) -> None:
        self.redis.delete(self._wake_prefix + key)

    def enqueue(
        self,
        job: str,
        arg: int,
        *,
        key: str,
        at: datetime | None = None,
        pace: Callable[[], datetime | None] | None = None,
    ) -> bool:
        from rq.exceptions import DuplicateJobError
        from rq.job import Job

        options = {
            "job_id": key,
            "unique": True,
            "result_ttl": 300,
            "failure_ttl": 30 * 24 * 3600,
            "job_timeout": 600,
            "description": f"{job}({arg})",
        }
        if pace is not None:
            # Book the shop's slot only for a job that is new: a sweep over a paced backlog must not push
            # the backlog's slots further out (each existing job would book one more).
            if self._waiting(key):
                return False
            at = pace()
        for _ in range(2):
            try:
                if at is not None and at > datetime.now(UTC):
                    self.later.enqueue_at(_whole_second_after(at), "connector.jobs.run_job", job, arg, **options)
                else:
                    self.queue.enqueue("connector.jobs.run_job", job, arg, **options)
                return True
            except DuplicateJobError:
                # A job with this key exists. If it is still waiting or running, nothing to do;
                # if it already ended, the work is owed again (the sweeper says so): replace it.
                existing = Job.fetch(key, connection=self.redis, serializer=self.queue.serializer)
                status = existing.get_status(refresh=True)
                if status in _waiting_statuses():
                    return False
                existing.delete()
        return False

    def _waiting(self, key: str) -> bool:
        """Whether a job with this key is queued, scheduled or running (so enqueueing it again adds nothing)."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        try:
            job = Job.fetch(key, connection=self.redis, serializer=self.queue.serializer)
            return job.get_status(refresh=True) in _waiting_statuses()
        except NoSuchJobError:
            return False


def later_queue_name(queue_name: str) -> str:
    """The queue of delayed jobs that come due, behind ``queue_name`` in every worker's order."""
    return f"{queue_name}-later"


def _waiting_statuses() -> frozenset[object]:
    from rq.job import JobStatus

    return frozenset({JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED})


def _whole_second_after(at: datetime) -> datetime:
    """RQ's scheduled registry keeps whole seconds and releases a job once its second has begun: rounded down,
    a job due at 12:00:00.8 would run up to 0.8 s early, find its redemption not due yet, and leave it to
    the sweeper. Rounded up, it runs on time or just after."""
    if at.microsecond == 0:
        return at
    return at.replace(microsecond=0) + timedelta(seconds=1)
