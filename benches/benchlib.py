"""What both benchmarks share: a throw-away database, a dedicated Redis db, processes, figures.

Everything here talks to 127.0.0.1 only, and everything it starts it also stops.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

# Every bench runs as a script from benches/, which puts this directory on sys.path.
from shared import child_pids

ROOT = Path(__file__).resolve().parent.parent
BENCHES = ROOT / "benches"
PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_BASE_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")


def clean_up_on_sigterm() -> None:
    """Turn SIGTERM into ``SystemExit`` so a killed run still stops its servers and drops its database.

    Without this, ``kill <bench pid>`` skips every ``finally`` and leaves workers and ``bench_*``
    databases behind.
    """

    def _exit(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)


def say(*parts: object) -> None:
    print(*parts, flush=True)


# -- the machine --------------------------------------------------------------------------------------------


def machine_summary() -> dict[str, str]:
    """nproc, memory, CPU model and the versions the figures depend on."""
    cpu = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with contextlib.suppress(OSError), open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    info = {
        "nproc": str(os.cpu_count()),
        "cpu speed probe": f"{cpu_probe():.2f} s for 10M Python additions (lower is faster)",
        "memory": mem,
        "cpu": cpu,
        "python": platform.python_version(),
    }
    with contextlib.suppress(Exception):
        from sqlalchemy import create_engine, text

        engine = create_engine(PG_ADMIN_URL)
        with engine.connect() as c:
            info["postgresql"] = str(c.execute(text("SHOW server_version")).scalar())
            info["pg synchronous_commit"] = str(c.execute(text("SHOW synchronous_commit")).scalar())
        engine.dispose()
    with contextlib.suppress(Exception):
        from redis import Redis

        client = Redis.from_url(REDIS_BASE_URL + "/0")
        info["redis"] = str(client.info("server")["redis_version"])
        client.close()
    with contextlib.suppress(Exception):
        from importlib.metadata import version

        info["libs"] = ", ".join(
            f"{name} {version(name)}" for name in ("flask", "gunicorn", "rq", "redis", "sqlalchemy", "psycopg")
        )
    return info


def cpu_probe() -> float:
    """Seconds one core takes for a fixed pure-Python loop: compares this machine with another."""
    start = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - start


def print_machine() -> None:
    for key, value in machine_summary().items():
        say(f"  {key:<22} {value}")


# -- PostgreSQL and Redis -----------------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(prefix: str = "bench") -> Iterator[str]:
    """``CREATE DATABASE <prefix>_<random>``, migrate it, yield its URL, drop it afterwards."""
    from sqlalchemy import create_engine, text

    from connector.migrations import upgrade

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        sys.exit(f"cannot create a database at {PG_ADMIN_URL} ({type(exc).__name__}: {exc}); is PostgreSQL up?")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as c:
            c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@contextlib.contextmanager
def dedicated_redis(db: int) -> Iterator[str]:
    """A Redis database that must be empty at the start; it is flushed at the end."""
    from redis import Redis

    url = f"{REDIS_BASE_URL}/{db}"
    client = Redis.from_url(url)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        sys.exit(f"Redis is not reachable at {url}: {exc}")
    if client.dbsize():
        sys.exit(f"Redis db {db} at {REDIS_BASE_URL} is not empty; pick an unused one with --redis-db")
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


# -- processes ----------------------------------------------------------------------------------------------


def key_env() -> dict[str, str]:
    """``CONNECTOR_ENCRYPTION_KEYS`` with one key made for this bench run: every process it starts shares it."""
    if not os.environ.get("BENCH_ENCRYPTION_KEY"):
        from connector.core.credentials import generate_key

        os.environ["BENCH_ENCRYPTION_KEY"] = generate_key()
    return {"CONNECTOR_ENCRYPTION_KEYS": os.environ["BENCH_ENCRYPTION_KEY"]}


def bench_env(**extra: str) -> dict[str, str]:
    """The caller's environment without CONNECTOR_* (so nothing leaks in), the run's key, plus ``extra``.

    The benchmarks' shops live in the local Shopify simulator, which the connector talks to only when
    ``SHOPIFY_ALLOW_CUSTOM_API_BASE`` says so.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONNECTOR_", "BENCH_"))}
    env["SHOPIFY_ALLOW_CUSTOM_API_BASE"] = "true"
    env.update(key_env(), **extra)
    return env


class Gunicorn:
    """``gunicorn -w W --threads T <app>`` on 127.0.0.1, an ephemeral port read from its log."""

    def __init__(
        self,
        app: str,
        env: dict[str, str],
        *,
        workers: int,
        threads: int,
        log_path: Path,
        chdir: Path | None = None,
    ) -> None:
        cmd = [
            str(Path(sys.executable).parent / "gunicorn"),
            "--bind",
            "127.0.0.1:0",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread",
            "--log-level",
            "info",  # startup and shutdown lines only: the access log stays off
            "--error-logfile",
            "-",
            "--no-control-socket",  # gunicorn 27 would otherwise put one in ~/.gunicorn, shared by every run
        ]
        if chdir is not None:
            cmd += ["--chdir", str(chdir)]
        cmd.append(app)
        self.log_path = log_path
        self._log = open(log_path, "w+b")  # noqa: SIM115 - closed in stop()
        self.cmd = cmd
        self.workers = workers
        # gunicorn puts its working directory first on sys.path (before --chdir): start it in ``chdir``, or
        # this checkout's packages would shadow another checkout's (webhook_ingest.py --baseline).
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=chdir or ROOT)
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The bound port; waits (bounded) for gunicorn to listen and boot its workers."""
        if self._port is None:
            self._port = self._wait_for_port()
        return self._port

    def _wait_for_port(self, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        port = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.log_text()}")
            text = self.log_text()
            found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", text)
            if found:
                port = int(found.group(1))
            if port and text.count("Booting worker") >= self.workers:
                return port
            time.sleep(0.05)
        raise RuntimeError(f"gunicorn did not start within {timeout}s:\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log_path.read_bytes().decode("utf-8", "replace")

    def stop(self) -> None:
        stop_process(self.proc)
        self._log.close()


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM the process we started (it stops its own children), SIGKILL it if it does not exit.

    Its children (an RQ work horse mid-job) can outlive it, so any still running are killed
    too rather than left behind.
    """
    if proc.poll() is None:
        children = child_pids(proc.pid)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            children = children + child_pids(proc.pid)
            proc.kill()
            proc.wait(timeout=5)
        for pid in children:  # gone already, normally; reaped by init, so no zombie either way
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# -- figures ------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted values; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


class CpuSampler:
    """Average CPU busy % of the whole machine between start() and stop(), from /proc/stat."""

    def __init__(self) -> None:
        self._start: tuple[int, int] | None = None
        self.busy_percent = float("nan")
        #: CPU-seconds the whole machine (every core, every process) spent busy.
        self.busy_seconds = float("nan")

    @staticmethod
    def _read() -> tuple[int, int]:
        with open("/proc/stat") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields), idle

    def start(self) -> CpuSampler:
        with contextlib.suppress(OSError):
            self._start = self._read()
        return self

    def stop(self) -> float:
        if self._start is not None:
            with contextlib.suppress(OSError):
                total, idle = self._read()
                d_total, d_idle = total - self._start[0], idle - self._start[1]
                if d_total > 0:
                    self.busy_percent = 100.0 * (d_total - d_idle) / d_total
                    self.busy_seconds = (d_total - d_idle) / os.sysconf("SC_CLK_TCK")
        return self.busy_percent


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU-seconds ``pid`` has used so far (0 when it is gone), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ProcessCpu:
    """CPU-seconds used by a changing set of processes between start() and stop().

    On a machine shared with other work, the whole machine's busy time says little about one
    server; the CPU its own processes used does. ``pids`` is called at both ends, so processes
    that start in between (a new PostgreSQL backend) are counted from zero.
    """

    def __init__(self, pids: Callable[[], Sequence[int]]) -> None:
        self._pids = pids
        self._start: dict[int, float] = {}
        self.seconds = float("nan")

    def start(self) -> ProcessCpu:
        self._start = {pid: process_cpu_seconds(pid) for pid in self._pids()}
        return self

    def stop(self) -> float:
        self.seconds = sum(process_cpu_seconds(pid) - self._start.get(pid, 0.0) for pid in self._pids())
        return self.seconds


def postgres_backends(application_name: str) -> list[int]:
    """PIDs of the PostgreSQL backends connected under ``application_name`` (same machine: their /proc)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_ADMIN_URL)
    try:
        with engine.connect() as c:
            rows = c.execute(
                text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"), {"name": application_name}
            )
            return [int(pid) for (pid,) in rows]
    finally:
        engine.dispose()
