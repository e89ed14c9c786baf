"""The workers' own ceiling: how many near no-op jobs/s ``connector worker`` (forking) and ``--simple`` run here.

One command (from the repository root)::

    .venv/bin/python benches/worker_ceiling.py          # --jobs N (400), --workers N (2), --mode fork,simple

Each job is a real connector job through the real entry point (``connector.jobs.run_job``, queued the
way ``RqDispatcher`` queues every job): ``process_webhook`` for a delivery id that does not exist, so
it costs the worker's job handling, the process runtime and one primary-key SELECT, and nothing else.
A forking worker adds a fork and a work horse per job; ``--simple`` runs jobs in the worker process.
The jobs are queued first, then the workers start; the rate is timed from the first job's start to the
last job's end as RQ recorded them, so process start-up is not counted. ``fulfilment_throughput.py``
runs the same measurement next to its redemptions, as the ceiling they cannot pass.

Figures only; nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
from benchlib import say  # noqa: E402

MODES = ("fork", "simple")
#: No delivery has this id (ids start at 1): the job looks it up, finds nothing and returns "skipped".
NO_SUCH_DELIVERY = 10**15


@dataclass
class Ceiling:
    mode: str
    workers: int
    jobs: int
    finished: int = 0
    seconds: float = float("nan")  # first job started -> last job ended
    timed_out: bool = False

    @property
    def rate(self) -> float:
        return self.finished / self.seconds if self.seconds and self.seconds > 0 else float("nan")


def jobs_per_second(started: list[float], ended: list[float]) -> tuple[int, float]:
    """Jobs that ran, and the seconds from the first start to the last end (NaN when none ran)."""
    if not started or not ended:
        return 0, float("nan")
    return len(ended), max(ended) - min(started)


def worker_command(queue: str, index: int, mode: str) -> list[str]:
    cmd = [sys.executable, "-m", "connector", "worker", "--name", f"{queue}-{index}", "--sweep-every", "0"]
    return [*cmd, "--simple"] if mode == "simple" else cmd


def measure(
    database_url: str,
    redis_url: str,
    tmp: Path,
    *,
    mode: str,
    workers: int,
    jobs: int,
    timeout: float = 120.0,
) -> Ceiling:
    """Queue ``jobs`` no-op jobs, run them with ``workers`` worker processes, time them from RQ's records."""
    from redis import Redis
    from rq import Queue
    from rq.job import Job
    from rq.serializers import JSONSerializer

    from connector.core.scheduling import PROCESS_JOB
    from connector.dispatch import RqDispatcher

    queue = f"bench-noop-{mode}-{uuid.uuid4().hex[:6]}"
    dispatcher = RqDispatcher(redis_url, queue)
    ids = [f"{queue}-job-{i}" for i in range(jobs)]
    for i, key in enumerate(ids):
        dispatcher.enqueue(PROCESS_JOB, NO_SUCH_DELIVERY + i, key=key)
    env = benchlib.bench_env(
        CONNECTOR_DATABASE_URL=database_url,
        CONNECTOR_REDIS_URL=redis_url,
        CONNECTOR_QUEUE=queue,
        CONNECTOR_SECRET_KEY=uuid.uuid4().hex,
        CONNECTOR_DATA_DIR=str(tmp),
        CONNECTOR_OUTBOX_DIR=str(tmp / "outbox"),
    )
    result = Ceiling(mode=mode, workers=workers, jobs=jobs)
    redis = Redis.from_url(redis_url)
    q = Queue(queue, connection=redis, serializer=JSONSerializer)
    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        for i in range(workers):
            log = open(tmp / f"noop-{queue}-{i}.log", "wb")  # noqa: SIM115 - closed below
            logs.append(log)
            procs.append(
                subprocess.Popen(
                    worker_command(queue, i, mode), env=env, stdout=log, stderr=subprocess.STDOUT, cwd=benchlib.ROOT
                )
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(0.25)
            if q.count == 0 and q.started_job_registry.count == 0:
                break
            if any(p.poll() is not None for p in procs):
                break
        else:
            result.timed_out = True
    finally:
        for p in procs:
            benchlib.stop_process(p)
        for log in logs:
            log.close()
    started, ended = [], []
    for job in Job.fetch_many(ids, connection=redis, serializer=JSONSerializer):
        if job is not None and job.started_at and job.ended_at:
            started.append(job.started_at.timestamp())
            ended.append(job.ended_at.timestamp())
    result.finished, result.seconds = jobs_per_second(started, ended)
    q.empty()
    redis.close()
    return result


def describe(c: Ceiling) -> str:
    label = "`connector worker --simple`" if c.mode == "simple" else "`connector worker` (forking)"
    return f"{c.workers} x {label}: {c.finished}/{c.jobs} no-op jobs in {c.seconds:.1f}s = {c.rate:.1f} jobs/s" + (
        "  (TIMED OUT)" if c.timed_out else ""
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--jobs", type=int, default=400, help="no-op jobs per mode (default 400)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--mode", default="fork,simple", help="fork, simple, or both (default fork,simple)")
    p.add_argument("--redis-db", type=int, default=12, help="an empty Redis db to use and flush (default 12)")
    args = p.parse_args(argv)
    modes = [m for m in args.mode.split(",") if m]
    if not modes or set(modes) - set(MODES):
        p.error(f"--mode: choose from {MODES}")
    if not 1 <= args.jobs <= 20_000 or not 1 <= args.workers <= 16:
        p.error("keep it bounded: 1..20,000 jobs, 1..16 workers")
    benchlib.clean_up_on_sigterm()
    say("worker ceiling: near no-op connector jobs through real worker processes")
    benchlib.print_machine()
    results = []
    with (
        benchlib.fresh_database("bench_noop") as database_url,
        benchlib.dedicated_redis(args.redis_db) as redis_url,
        tempfile.TemporaryDirectory(prefix="bench-noop-") as tmp,
    ):
        for mode in modes:
            results.append(measure(database_url, redis_url, Path(tmp), mode=mode, workers=args.workers, jobs=args.jobs))
            say("  " + describe(results[-1]))
    return 0 if all(r.finished == r.jobs and not r.timed_out for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
