"""Private services and shared helpers for the fault-injection tests.

Nothing here touches the shared PostgreSQL or Redis servers: a test that kills Redis or stops
PostgreSQL does it to a private instance it started itself (``PrivateRedis``, ``PrivatePostgres``).
The shared PostgreSQL is used only through ``tests/conftest.py``'s per-test database.

``check_invariants`` is the one place that states what "nothing lost, nothing doubled" means.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from benches.shared import child_pids, ottawa_member
from connector.core import catalog
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.model import LedgerKind, Role
from connector.core.redemptions import create_redemption
from connector.core.runtime import Runtime
from connector.core.tables import LedgerEntry, Redemption, RedemptionEventRow
from tests.integration.conftest import worker_env

SHOP_DOMAIN = "acme-pets.myshopify.com"
SHOP_TOKEN = "shpat_test_token"
SHOP_SECRET = "whsec_test_secret_0123456789"
SKU = "TSHIRT-M"
POINTS = 100
SUPPORT = Actor("reliability", Role.SUPPORT)


def say(message: str) -> None:
    """Print a progress line that shows in CI logs (pytest -q shows it for failures, -s always)."""
    print(f"[reliability {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def stop_process(proc: subprocess.Popen[Any], grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; never raises."""
    if proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    except OSError:
        pass


# -- Redis ------------------------------------------------------------------------------------------


class ServiceUnavailable(RuntimeError):
    """A private service could not be started on this machine."""


class PrivateRedis:
    """A ``redis-server`` with no persistence on a free port; ``restart_empty`` loses every key."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceUnavailable("redis-server is not installed")
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        log = open(self.workdir / f"redis-{self.restarts}.log", "wb")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
        )
        log.close()
        if not _wait_port(self.port, 10):
            self.kill()
            raise ServiceUnavailable(f"redis-server did not listen on {self.port}")

    def kill(self) -> None:
        """SIGKILL: every key is gone (no persistence is configured)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def restart_empty(self) -> float:
        """Kill and start again on the same port with no data; returns the seconds Redis was away."""
        started = time.monotonic()
        self.kill()
        self.restarts += 1
        self.start()
        return time.monotonic() - started

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, grace=3)


# -- PostgreSQL ---------------------------------------------------------------------------------------


def _pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PrivatePostgres:
    """A throw-away PostgreSQL cluster (trust auth, fsync off) on a free port, stoppable at will.

    As root, initdb and pg_ctl run as the ``postgres`` OS user (initdb refuses root); the cluster
    lives in a temporary directory that user owns.
    """

    def __init__(self) -> None:
        bindir = _pg_bindir()
        if bindir is None:
            raise ServiceUnavailable("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="connector-reliability-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                raise ServiceUnavailable("running as root without runuser: cannot start PostgreSQL as another user")
            shutil.chown(self.root, "postgres", "postgres")
            self.as_user = [runuser, "-u", "postgres", "--"]

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.as_user, *args], capture_output=True, text=True, timeout=timeout, check=False, cwd=self.root
        )

    def init(self) -> None:
        done = self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        )
        if done.returncode != 0:
            raise ServiceUnavailable(f"initdb failed: {done.stderr.strip()[-500:]}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        done = self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        if done.returncode != 0:
            tail = self.log.read_text(errors="replace")[-800:] if self.log.exists() else ""
            raise ServiceUnavailable(f"pg_ctl start failed: {done.stderr.strip()[-300:]} {tail}")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "status").returncode == 0

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)

    def destroy(self) -> None:
        if self.data.exists():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


# -- workers ------------------------------------------------------------------------------------------


def fast_recovery_env(rt: Runtime, lease_seconds: int) -> dict[str, str]:
    """A worker environment in which an interrupted attempt is taken over in seconds, not minutes.

    A short claim lease and retry cap; the order lookup lag only has to outlive a stalled live
    attempt, because the simulator's search shows an order at once.
    """
    return worker_env(
        rt,
        CONNECTOR_CLAIM_LEASE_SECONDS=str(lease_seconds),
        CONNECTOR_RETRY_CAP_SECONDS="4",
        SHOPIFY_ORDER_LOOKUP_LAG_SECONDS=str(lease_seconds),
    )


@dataclass
class Workers:
    """``connector worker`` processes, each with its own log file."""

    env: dict[str, str]
    logdir: Path
    sweep_every: float = 1.0
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    #: ``time.monotonic()`` when the first worker was started: a run's wall time counts from there.
    started_at: float = 0.0

    def start(self, name: str, *extra: str) -> subprocess.Popen[bytes]:
        if not self.procs:
            self.started_at = time.monotonic()
        cmd = [
            sys.executable,
            "-m",
            "connector",
            "worker",
            "--name",
            name,
            "--sweep-every",
            str(self.sweep_every),
            *extra,
        ]
        log = open(self.logdir / f"{name}.log", "wb")  # noqa: SIM115 - the child owns it
        proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.procs[name] = proc
        return proc

    def alive(self) -> list[str]:
        return [name for name, p in self.procs.items() if p.poll() is None]

    def tail(self, name: str, chars: int = 1500) -> str:
        path = self.logdir / f"{name}.log"
        return path.read_bytes().decode("utf-8", "replace")[-chars:] if path.exists() else ""

    def grep(self, needle: str) -> int:
        """How many log lines, over every worker, contain ``needle``."""
        total = 0
        for path in self.logdir.glob("*.log"):
            total += sum(1 for line in path.read_bytes().decode("utf-8", "replace").splitlines() if needle in line)
        return total

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            stop_process(proc, grace=8)


@contextmanager
def workers_running(env: dict[str, str], logdir: Path, *names: str, sweep_every: float) -> Iterator[Workers]:
    """Start one ``connector worker`` per name; however the block ends, every worker is stopped."""
    workers = Workers(env, logdir, sweep_every=sweep_every)
    try:
        for name in names:
            workers.start(name)
        yield workers
    finally:
        workers.stop_all()


def scheduler_pids(redis_url: str) -> set[int]:
    """PIDs of RQ scheduler processes (a forking worker's other child, besides its work horse)."""
    from redis import Redis

    redis = Redis.from_url(redis_url)
    pids = set()
    for key in redis.scan_iter("rq:scheduler:*"):
        if redis.type(key) == b"hash" and (pid := redis.hget(key, "pid")):
            pids.add(int(pid))
    redis.close()
    return pids


def work_horses(worker_pid: int, redis_url: str) -> list[int]:
    """The work horse(s) a forking ``connector worker`` is running a job in right now."""
    children = child_pids(worker_pid)
    if not children:
        return []
    schedulers = scheduler_pids(redis_url)
    return [pid for pid in children if pid not in schedulers]


# -- data ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    reward_id: int
    shop_id: int
    member_ids: list[int]


def seed_members(rt: Runtime, api_base_url: str, count: int) -> Seeded:
    """A brand, its shop at ``api_base_url``, a 100-point reward and ``count`` members with 100 points each."""
    with transaction(rt.sessions) as s:
        brand = catalog.create_brand(s, "Acme Pets")
        shop = catalog.add_shop(
            s,
            brand,
            domain=SHOP_DOMAIN,
            access_token=SHOP_TOKEN,
            webhook_secret=SHOP_SECRET,
            api_base_url=api_base_url,
            allow_custom_api_base=rt.settings.allow_custom_shop_api_base,
        )
        reward = catalog.add_reward(s, brand, name="Ambassador T-Shirt", sku=SKU, points_cost=POINTS, shop=shop)
        ids = []
        for i in range(count):
            member = catalog.add_member(s, brand, **ottawa_member(i, "reliability"))
            catalog.award_points(s, member, POINTS, "welcome bonus")
            ids.append(member.id)
        s.flush()
        return Seeded(reward_id=reward.id, shop_id=shop.id, member_ids=ids)


def redeem_all(rt: Runtime, seeded: Seeded) -> list[int]:
    """One redemption per member, through the runtime's dispatcher (RQ: the jobs wait in Redis)."""
    return [
        create_redemption(rt, SUPPORT, member_id=m, reward_id=seeded.reward_id).redemption.id for m in seeded.member_ids
    ]


def status_counts(rt: Runtime, ids: Iterable[int] | None = None) -> Counter[str]:
    query = select(Redemption.status, func.count()).group_by(Redemption.status)
    if ids is not None:
        query = query.where(Redemption.id.in_(list(ids)))
    with rt.sessions() as s:
        return Counter({status: int(n) for status, n in s.execute(query)})


def wait_until(
    predicate: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    every: float = 0.25,
    tick: Callable[[], str] | None = None,
) -> float:
    """Poll ``predicate`` until true; fail with ``what`` (and the last ``tick``) after ``timeout``."""
    started = time.monotonic()
    last_print = started
    while True:
        try:
            if predicate():
                return time.monotonic() - started
        except Exception as exc:  # noqa: BLE001 - e.g. the database is down right now: keep polling
            last_error = exc
        else:
            last_error = None
        now = time.monotonic()
        if now - started > timeout:
            detail = tick() if tick else ""
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; {detail} {last_error or ''}")
        if tick and now - last_print >= 5:
            last_print = now
            say(f"  t={now - started:5.1f}s {tick()}")
        time.sleep(every)


def settled(rt: Runtime, ids: list[int]) -> bool:
    return status_counts(rt, ids).get("pending", 0) == 0


def progress(rt: Runtime, ids: list[int], workers: Workers) -> Callable[[], str]:
    """The ``tick`` of a wait over a worker run: redemptions by status and the workers still alive."""
    return lambda: f"{dict(status_counts(rt, ids))}, workers alive {workers.alive()}"


def wait_fulfilled(
    rt: Runtime, ids: list[int], at_least: int, *, tick: Callable[[], str], timeout: float = 120
) -> None:
    """Wait until ``at_least`` of ``ids`` are fulfilled: the moment a test strikes mid-run."""
    reached = lambda: status_counts(rt, ids)["fulfilled"] >= at_least  # noqa: E731
    wait_until(reached, timeout=timeout, what=f"{at_least} fulfilled", tick=tick)


# -- the invariants ---------------------------------------------------------------------------------


def live_fulfil_jobs(redis_url: str, queue_name: str) -> set[int]:
    """Redemption ids with a fulfil job waiting, scheduled or running in this RQ queue."""
    from redis import Redis
    from rq import Queue
    from rq.job import Job
    from rq.registry import ScheduledJobRegistry, StartedJobRegistry
    from rq.serializers import JSONSerializer

    from connector.dispatch import later_queue_name

    redis = Redis.from_url(redis_url)
    job_ids: set[str] = set()
    for name in (queue_name, later_queue_name(queue_name)):  # delayed jobs wait in the second
        queue = Queue(name, connection=redis, serializer=JSONSerializer)
        job_ids |= set(queue.job_ids)
        job_ids |= set(StartedJobRegistry(queue=queue).get_job_ids())
        job_ids |= set(ScheduledJobRegistry(queue=queue).get_job_ids())
    owed = set()
    for job in Job.fetch_many(list(job_ids), connection=redis, serializer=JSONSerializer):
        if job is not None and job.args and job.args[0] == "fulfil_redemption":
            owed.add(int(job.args[1]))
    redis.close()
    return owed


def _tags(order: dict[str, Any]) -> list[str]:
    tags = order.get("tags") or ""
    return [t.strip() for t in (tags.split(",") if isinstance(tags, str) else tags)]


@dataclass
class Outcome:
    total: int
    statuses: Counter[str]
    error_codes: Counter[str]
    orders: int
    attempts: int
    found_existing: int
    retried: int

    def line(self) -> str:
        return (
            f"{self.total} redemptions: {dict(self.statuses)}; errors {dict(self.error_codes) or 'none'}; "
            f"{self.orders} shop orders; {self.attempts} attempts ({self.retried} redemptions needed more than "
            f"one); {self.found_existing} fulfilled by finding an earlier attempt's order"
        )


def check_invariants(rt: Runtime, sim: Any, ids: list[int]) -> Outcome:
    """Assert the promises after a run has settled, print what happened, and return the counts.

    * none lost: no redemption is pending without a fulfil job waiting, scheduled or running;
    * every error is stated: ``error_code`` and ``error_message`` are set;
    * none doubled: at most one shop order per redemption, exactly one for a fulfilled one (the one whose
      id it stored), none for one in error; orders in the shop == fulfilled redemptions;
    * points: exactly one spend of the reward's cost per redemption, no refund (nothing was reversed),
      and no member's balance below zero.
    """
    with rt.sessions() as s:
        rows = s.execute(
            select(
                Redemption.id,
                Redemption.code,
                Redemption.status,
                Redemption.error_code,
                Redemption.error_message,
                Redemption.external_order_id,
                Redemption.attempts,
                Redemption.points_cost,
                Redemption.member_id,
            ).where(Redemption.id.in_(ids))
        ).all()
        ledger = s.execute(
            select(LedgerEntry.redemption_id, LedgerEntry.kind, LedgerEntry.delta).where(
                LedgerEntry.redemption_id.in_(ids)
            )
        ).all()
        member_ids = {r.member_id for r in rows}
        balances = dict(
            s.execute(
                select(LedgerEntry.member_id, func.sum(LedgerEntry.delta))
                .where(LedgerEntry.member_id.in_(member_ids))
                .group_by(LedgerEntry.member_id)
            ).all()
        )
        found_existing = int(
            s.scalar(
                select(func.count()).where(
                    RedemptionEventRow.redemption_id.in_(ids),
                    RedemptionEventRow.kind == "fulfilled",
                    RedemptionEventRow.message.like("%found the order an earlier attempt created%"),
                )
            )
            or 0
        )
    assert len(rows) == len(ids), f"{len(ids) - len(rows)} redemptions vanished from the database"

    orders = sim.control("orders")["orders"]
    by_tag: dict[str, list[dict[str, Any]]] = {}
    for order in orders:
        for tag in _tags(order):
            if tag.startswith("redemption-"):
                by_tag.setdefault(tag.removeprefix("redemption-"), []).append(order)

    statuses: Counter[str] = Counter(r.status for r in rows)
    error_codes: Counter[str] = Counter(r.error_code for r in rows if r.status == "error")
    outcome = Outcome(
        total=len(rows),
        statuses=statuses,
        error_codes=error_codes,
        orders=sum(len(v) for v in by_tag.values()),
        attempts=sum(r.attempts for r in rows),
        found_existing=found_existing,
        retried=sum(1 for r in rows if r.attempts > 1),
    )
    say("outcome: " + outcome.line())

    problems: list[str] = []
    pending = [r.id for r in rows if r.status == "pending"]
    if pending:
        redis_url, queue_name = rt.settings.redis_url, rt.settings.queue_name
        live = live_fulfil_jobs(redis_url, queue_name) if redis_url and queue_name else set()
        lost = [i for i in pending if i not in live]
        if lost:
            problems.append(f"{len(lost)} pending redemptions have no fulfil job (lost): {lost[:10]}")
    unstated = [r.id for r in rows if r.status == "error" and not (r.error_code and r.error_message)]
    if unstated:
        problems.append(f"{len(unstated)} errors without error_code and message: {unstated[:10]}")
    doubled = {code: len(v) for code, v in by_tag.items() if len(v) > 1}
    if doubled:
        problems.append(f"{len(doubled)} redemptions with more than one shop order: {dict(list(doubled.items())[:10])}")
    for r in rows:
        mine = by_tag.get(r.code, [])
        if r.status == "fulfilled":
            if len(mine) != 1:
                problems.append(f"fulfilled redemption {r.code} has {len(mine)} shop orders")
            elif mine[0].get("admin_graphql_api_id") != r.external_order_id:
                problems.append(f"redemption {r.code} stored {r.external_order_id}, the shop has {mine[0]['id']}")
        elif r.status == "error" and mine:
            problems.append(f"redemption {r.code} is in error ({r.error_code}) but the shop has its order")
    codes = {r.code for r in rows}
    strays = [code for code in by_tag if code not in codes]
    if strays:
        problems.append(f"shop orders for unknown redemptions: {strays[:10]}")
    if outcome.orders != statuses.get("fulfilled", 0):
        problems.append(f"{outcome.orders} shop orders for {statuses.get('fulfilled', 0)} fulfilled redemptions")

    spends = Counter(rid for rid, kind, _ in ledger if kind == LedgerKind.SPENT)
    cost = {r.id: r.points_cost for r in rows}
    bad_spend = [rid for rid in ids if spends.get(rid) != 1]
    if bad_spend:
        problems.append(f"{len(bad_spend)} redemptions without exactly one points spend: {bad_spend[:10]}")
    wrong_amount = [rid for rid, kind, delta in ledger if kind == LedgerKind.SPENT and delta != -cost[rid]]
    if wrong_amount:
        problems.append(f"spends of the wrong amount: {wrong_amount[:10]}")
    refunds = [rid for rid, kind, _ in ledger if kind == LedgerKind.RETURNED]
    if refunds:
        problems.append(f"points returned for redemptions nobody reversed: {refunds[:10]}")
    negative = {m: b for m, b in balances.items() if b < 0}
    if negative:
        problems.append(f"members below zero points: {negative}")

    assert not problems, "invariants broken:\n  " + "\n  ".join(problems[:30])
    return outcome
