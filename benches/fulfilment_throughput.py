"""Fulfilment throughput: redemptions/s through real ``connector worker`` processes and Shopify's bucket.

One command (from the repository root)::

    .venv/bin/python benches/fulfilment_throughput.py

What it does, all on 127.0.0.1:

1. creates a throw-away PostgreSQL database (``bench_fulfil_<random>``) and uses a dedicated,
   empty Redis db (``--redis-db``, default 12); starts the Shopify simulator in this process with
   50 ms latency and a Standard-plan bucket (2000 points, 100 points/s);
2. seeds a brand, a shop pointing at the simulator, a reward whose SKU the simulator has in stock,
   and ``--count`` distinct members with valid Canadian addresses (Ottawa, ON), 100 points each;
3. for each ``--mode`` (``fork``: RQ's forking worker, ``connector worker``'s default; ``simple``:
   ``connector worker --simple``): creates ``--count`` redemptions with
   ``connector.core.redemptions.create_redemption`` on a runtime whose dispatcher is RQ, so the jobs
   wait in Redis; then starts ``--workers`` worker processes and times until no redemption is
   pending (bounded by ``--timeout``);
4. reports redemptions/s, the Shopify cost per redemption (from the simulator's request log), the
   most the bucket allows (restore rate / cost, plus what the full bucket pays for at the start),
   the achieved fraction of it, THROTTLED answers, redemptions in error and why, and duplicate
   orders (orders per ``redemption-<code>`` tag greater than one; must be 0);
5. stops the workers and the simulator, drops the database and flushes the Redis db.

Figures only; nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import collections
import math
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
from benchlib import say  # noqa: E402
from shared import ottawa_member  # noqa: E402

SHOP_DOMAIN = "bench-fulfil.myshopify.com"
SHOP_TOKEN = "shpat_bench_fulfil"
SHOP_SECRET = "whsec_bench_fulfil_0123456789"
SKU = "BENCH-TSHIRT-M"
POINTS = 100
LATENCY_MS = 50.0
BUCKET_SIZE = 2000.0
RESTORE_RATE = 100.0
MODES = ("fork", "simple")


@dataclass
class Run:
    mode: str
    count: int
    workers: int
    created_seconds: float = 0.0
    wall_seconds: float = 0.0  # workers launched -> nothing pending
    active_seconds: float = 0.0  # first attempt started -> last fulfilment (from the database)
    timed_out: bool = False
    statuses: Counter[str] = field(default_factory=Counter)
    error_codes: Counter[str] = field(default_factory=Counter)
    retry_codes: Counter[str] = field(default_factory=Counter)
    attempts: int = 0
    sim_stats: dict[str, Any] = field(default_factory=dict)
    spent_points: float = 0.0
    by_operation: dict[str, list[float]] = field(default_factory=dict)  # op -> [calls ok, points, throttled]
    orders: int = 0
    duplicate_tags: int = 0
    fulfilled_without_order: int = 0
    min_bucket: float | None = None

    @property
    def fulfilled(self) -> int:
        return self.statuses.get("fulfilled", 0)

    @property
    def rate(self) -> float:
        return self.fulfilled / self.wall_seconds if self.wall_seconds else float("nan")

    @property
    def active_rate(self) -> float:
        return self.fulfilled / self.active_seconds if self.active_seconds else float("nan")

    @property
    def cost_per_redemption(self) -> float:
        return self.spent_points / self.fulfilled if self.fulfilled else float("nan")

    @property
    def calls_per_redemption(self) -> float:
        calls = sum(v[0] for v in self.by_operation.values())
        return calls / self.fulfilled if self.fulfilled else float("nan")


def bucket_bound(count: int, cost: float, bucket: float = BUCKET_SIZE, rate: float = RESTORE_RATE) -> float:
    """Most redemptions/s the bucket allows for ``count`` redemptions starting from a full bucket."""
    if not cost or math.isnan(cost):
        return float("nan")
    seconds = (count * cost - bucket) / rate
    return count / seconds if seconds > 0 else float("inf")


def share(achieved: float, bound: float) -> str:
    """``achieved / bound`` as a percentage; "-" when the bound is unknown or never reached (inf)."""
    if math.isnan(bound) or math.isinf(bound) or not bound or math.isnan(achieved):
        return "-"
    return f"{achieved / bound:.0%}"


def combined_bound(count: int, cost: float, calls: float, workers: int, latency: float = LATENCY_MS / 1000) -> float:
    """Add the latency floor: ``workers`` jobs at a time, each ``calls`` sequential calls of ``latency``.

    Latency-bound (``workers / (calls * latency)``) while the bucket lasts, then bucket-bound.
    """
    if not cost or math.isnan(cost) or not calls or math.isnan(calls):
        return float("nan")
    fast = workers / (calls * latency)
    if fast * cost <= RESTORE_RATE:
        return fast
    drain = BUCKET_SIZE / (fast * cost - RESTORE_RATE)  # seconds until the bucket is empty
    done_fast = fast * drain
    if done_fast >= count:
        return fast
    return count / (drain + (count - done_fast) * cost / RESTORE_RATE)


def seed(rt: Any, sim_url: str) -> tuple[int, int]:
    """A brand, its shop on the simulator and a reward; their ids."""
    from connector.core import catalog
    from connector.core.database import transaction

    with transaction(rt.sessions) as s:
        brand = catalog.create_brand(s, "Bench Pets")
        shop = catalog.add_shop(
            s,
            brand,
            domain=SHOP_DOMAIN,
            access_token=SHOP_TOKEN,
            webhook_secret=SHOP_SECRET,
            api_base_url=sim_url,
            allow_custom_api_base=True,  # the bench's shop is the simulator
        )
        reward = catalog.add_reward(
            s, brand, name="Ambassador T-Shirt", sku=SKU, points_cost=POINTS, shop=shop, instructions="Ships soon."
        )
        return brand.id, reward.id


def add_members(rt: Any, brand_id: int, count: int, tag: str) -> list[int]:
    from connector.core import catalog
    from connector.core.database import transaction
    from connector.core.tables import Brand

    ids = []
    with transaction(rt.sessions) as s:
        brand = s.get(Brand, brand_id)
        assert brand is not None
        for i in range(count):
            member = catalog.add_member(s, brand, **ottawa_member(i, tag, surname_prefix="Bench"))
            catalog.award_points(s, member, POINTS, "bench welcome bonus")
            ids.append(member.id)
    return ids


def make_runtime(database_url: str, redis_url: str, queue: str, outbox: Path) -> Any:
    """A runtime like tests/integration's ``rq_runtime``: jobs go to Redis, none run here."""
    from connector.config import Settings
    from connector.core.database import make_engine, make_session_factory
    from connector.core.runtime import Runtime
    from connector.dispatch import RqDispatcher
    from connector.encryption import load_keyring
    from connector.mail import OutboxMailer
    from connector.plugin_manager import make_plugin_manager
    from connector.redis_buckets import RedisBuckets

    settings = Settings.from_env(
        {**benchlib.key_env(), "SHOPIFY_ALLOW_CUSTOM_API_BASE": "true"},  # the bench's shop is the simulator
        database_url=database_url,
        redis_url=redis_url,
        jobs_mode="rq",
        queue_name=queue,
        outbox_dir=outbox,
    )
    rt = Runtime(
        settings=settings,
        sessions=make_session_factory(make_engine(database_url, keyring=load_keyring(settings))),
        plugins=make_plugin_manager(),
        mailer=OutboxMailer(outbox, settings.mail_from),
    )
    rt.dispatcher = RqDispatcher(redis_url, queue)
    # Paced per shop at enqueue, as the web app's runtime is (connector.bootstrap): without it the bench
    # would queue every job at once and measure an unpaced product.
    rt.rate_buckets = RedisBuckets(redis_url, default_job_cost=settings.shop_job_cost_points)
    return rt


def status_counts(rt: Any, member_ids: list[int]) -> Counter[str]:
    from sqlalchemy import func, select

    from connector.core.tables import Redemption

    with rt.sessions() as s:
        rows = s.execute(
            select(Redemption.status, func.count())
            .where(Redemption.member_id.in_(member_ids))
            .group_by(Redemption.status)
        ).all()
    return Counter({status: int(n) for status, n in rows})


def run_mode(args: argparse.Namespace, mode: str, ctx: dict[str, Any]) -> Run:
    from sqlalchemy import func, select

    from connector.core.access import Actor
    from connector.core.model import Role
    from connector.core.redemptions import create_redemption
    from connector.core.tables import Redemption, RedemptionEventRow

    sim, tmp = ctx["sim"], ctx["tmp"]
    run = Run(mode=mode, count=args.count, workers=args.workers)
    queue = f"bench-fulfil-{mode}-{uuid.uuid4().hex[:6]}"
    rt = make_runtime(ctx["database_url"], ctx["redis_url"], queue, tmp / "outbox")
    say(
        f"\n[{mode}] {args.workers} x `connector worker{' --simple' if mode == 'simple' else ''}`, {args.count} "
        "redemptions"
    )
    # A fresh shop: no customers, no orders, a full bucket, zero stats, an empty request log.
    sim.control("reset", {})
    sim.control("products", {"title": "Ambassador T-Shirt", "variants": [{"sku": SKU, "inventory": args.count + 100}]})
    log: collections.deque[dict[str, Any]] = collections.deque(maxlen=max(100_000, args.count * 40))
    sim.state.request_log = log  # keep every request (the default keeps the last 1000)

    members = add_members(rt, ctx["brand_id"], args.count, mode)
    actor = Actor("bench", Role.SUPPORT)
    t0 = time.monotonic()
    for member_id in members:
        create_redemption(rt, actor, member_id=member_id, reward_id=ctx["reward_id"])
    run.created_seconds = time.monotonic() - t0
    queued = rt.dispatcher.queue.count
    say(f"  created {args.count} redemptions in {run.created_seconds:.1f}s; {queued} jobs waiting in Redis")

    env = benchlib.bench_env(
        CONNECTOR_DATABASE_URL=ctx["database_url"],
        CONNECTOR_REDIS_URL=ctx["redis_url"],
        CONNECTOR_QUEUE=queue,
        CONNECTOR_SECRET_KEY=uuid.uuid4().hex,
        CONNECTOR_DATA_DIR=str(tmp),
        CONNECTOR_OUTBOX_DIR=str(tmp / "outbox"),
    )
    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    min_bucket = None
    try:
        launched = time.monotonic()
        for i in range(args.workers):
            cmd = [sys.executable, "-m", "connector", "worker", "--name", f"{queue}-{i}"]
            if mode == "simple":
                cmd.append("--simple")
            log_file = open(tmp / f"worker-{mode}-{i}.log", "wb")  # noqa: SIM115 - closed below
            logs.append(log_file)
            procs.append(subprocess.Popen(cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=benchlib.ROOT))
        deadline = launched + args.timeout
        last_print = launched
        bucket = sim.state.buckets.get(SHOP_TOKEN)
        while True:
            time.sleep(0.25)
            level = bucket.status().currently_available
            min_bucket = level if min_bucket is None else min(min_bucket, level)
            counts = status_counts(rt, members)
            now = time.monotonic()
            if counts.get("pending", 0) == 0:
                run.wall_seconds = now - launched
                break
            if any(p.poll() is not None for p in procs):
                say("  a worker exited early; see its log below")
                run.wall_seconds = now - launched
                break
            if now >= deadline:
                run.timed_out = True
                run.wall_seconds = now - launched
                break
            if now - last_print >= 10:
                last_print = now
                say(
                    f"  t={now - launched:5.1f}s  fulfilled {counts.get('fulfilled', 0):4d}  pending "
                    f"{counts.get('pending', 0):4d}  error {counts.get('error', 0):3d}  bucket {level:6.0f} points"
                )
    finally:
        for p in procs:
            benchlib.stop_process(p)
        for f in logs:
            f.close()
    for i, p in enumerate(procs):
        if p.returncode not in (0, -15, None) or run.timed_out:
            tail = (tmp / f"worker-{mode}-{i}.log").read_bytes().decode("utf-8", "replace")[-2000:]
            say(f"  worker {i} exited with {p.returncode}; last log lines:\n{tail}")

    run.min_bucket = min_bucket
    run.statuses = status_counts(rt, members)
    with rt.sessions() as s:
        ids = select(Redemption.id).where(Redemption.member_id.in_(members))
        first = s.scalar(
            select(func.min(RedemptionEventRow.at)).where(
                RedemptionEventRow.redemption_id.in_(ids), RedemptionEventRow.kind == "attempt_started"
            )
        )
        last = s.scalar(select(func.max(Redemption.fulfilled_at)).where(Redemption.member_id.in_(members)))
        if first and last:
            run.active_seconds = (last - first).total_seconds()
        mine = Redemption.member_id.in_(members)
        run.attempts = int(s.scalar(select(func.sum(Redemption.attempts)).where(mine)) or 0)
        for code, n in s.execute(
            select(Redemption.error_code, func.count())
            .where(Redemption.member_id.in_(members), Redemption.status == "error")
            .group_by(Redemption.error_code)
        ):
            run.error_codes[str(code)] = int(n)
        for (message,) in s.execute(
            select(RedemptionEventRow.message).where(
                RedemptionEventRow.redemption_id.in_(ids), RedemptionEventRow.kind == "attempt_failed"
            )
        ):
            run.retry_codes[message.split(":", 1)[0]] += 1
        codes = {
            r.code: r.external_order_id
            for r in s.execute(select(Redemption.code, Redemption.external_order_id).where(mine))
        }

    run.sim_stats = sim.control("stats")
    for entry in list(log):
        op = str(entry.get("operation") or "?")
        row = run.by_operation.setdefault(op, [0.0, 0.0, 0.0])
        if entry.get("outcome") == "ok":
            row[0] += 1
            row[1] += float(entry.get("cost") or 0)
        elif entry.get("outcome") == "throttled":
            row[2] += 1
    run.spent_points = sum(v[1] for v in run.by_operation.values())

    orders = sim.control("orders")["orders"]
    run.orders = len(orders)
    per_tag: Counter[str] = Counter()
    for order in orders:
        tags = order.get("tags") or ""
        for tag in tags.split(",") if isinstance(tags, str) else tags:  # REST shape: "a, b"
            if str(tag).strip().startswith("redemption-"):
                per_tag[str(tag).strip()] += 1
    run.duplicate_tags = sum(1 for n in per_tag.values() if n > 1)
    run.fulfilled_without_order = sum(
        1 for code, order_id in codes.items() if order_id and per_tag.get(f"redemption-{code}", 0) != 1
    )
    rt.sessions.kw["bind"].dispose()
    report_run(run)
    return run


def report_run(run: Run) -> None:
    s = run.sim_stats
    c = run.cost_per_redemption
    bound = bucket_bound(run.count, c)
    both = combined_bound(run.count, c, run.calls_per_redemption, run.workers)
    say(
        f"  fulfilled {run.fulfilled}/{run.count} in {run.wall_seconds:.1f}s"
        f"{'  (TIMED OUT)' if run.timed_out else ''}; statuses {dict(run.statuses)}"
    )
    say(
        f"  redemptions/s: {run.rate:.2f} (workers launched -> none pending), {run.active_rate:.2f} "
        f"(first attempt -> last fulfilment, {run.active_seconds:.1f}s)"
    )
    say(
        f"  Shopify cost per redemption: {c:.1f} points in {run.calls_per_redemption:.2f} calls; attempts per "
        f"redemption {run.attempts / run.count:.2f}"
    )
    for op, (calls, points, throttled) in sorted(run.by_operation.items(), key=lambda kv: -kv[1][1]):
        say(
            f"    {op:<34} {calls:6.0f} calls  {points / calls if calls else 0:5.1f} points each  "
            f"{throttled:4.0f} THROTTLED"
        )
    say(
        f"  bucket limit: {RESTORE_RATE:g}/{c:.1f} = {RESTORE_RATE / c:.2f}/s steady; with the full bucket "
        f"({BUCKET_SIZE:g}) at the start, {bound:.2f}/s for {run.count} (inf: the bucket never runs dry); achieved "
        f"{share(run.active_rate, bound)} of it (first attempt -> last fulfilment), {share(run.rate, bound)} (wall)"
    )
    say(
        f"  with the latency floor too ({run.workers} workers x {run.calls_per_redemption:.2f} calls x "
        f"{LATENCY_MS:g} ms): {both:.2f}/s; achieved {share(run.active_rate, both)}"
    )
    say(
        f"  THROTTLED answers {s.get('throttled')}, HTTP statuses {s.get('http_statuses')}, lowest bucket "
        f"{s.get('min_currently_available')} (sampled {run.min_bucket:.0f}), overdraft {s.get('max_bucket_overdraft')}"
    )
    say(
        f"  redemptions in error: {sum(run.error_codes.values())} {dict(run.error_codes) or ''}; retried attempts "
        f"by cause: {dict(run.retry_codes) or 'none'}"
    )
    say(
        f"  orders in the shop {run.orders}; tags with more than one order (duplicates): {run.duplicate_tags}; "
        f"fulfilled without exactly one tagged order: {run.fulfilled_without_order}"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    import fulfil_scale  # the many-shop scenarios (which import this module's helpers)

    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--count", type=int, default=150, help="redemptions per mode (default 150; see benches/README.md)")
    p.add_argument("--workers", type=int, default=2, help="connector worker processes (default 2)")
    p.add_argument("--mode", default="fork", help="fork, simple, or both as 'fork,simple' (default fork)")
    p.add_argument("--timeout", type=float, default=240.0, help="seconds per mode before giving up (default 240)")
    p.add_argument("--redis-db", type=int, default=12, help="an empty Redis db to use and flush (default 12)")
    fulfil_scale.add_arguments(p)
    args = p.parse_args(argv)
    args.modes = [m for m in args.mode.split(",") if m]
    if not args.modes or set(args.modes) - set(MODES):
        p.error(f"--mode: choose from {MODES}")
    if not 1 <= args.count <= 5000 or not 1 <= args.workers <= 16 or not 0 < args.timeout <= 3600:
        p.error("keep it bounded: 1..5000 redemptions, 1..16 workers, a timeout up to 3600 s")
    fulfil_scale.check_arguments(p, args)
    return args


def main(argv: list[str] | None = None) -> int:
    import fulfil_scale

    args = parse_args(argv)
    benchlib.clean_up_on_sigterm()
    if args.shops > 1 or args.noisy_neighbour:
        return fulfil_scale.main(args)
    started = time.monotonic()
    from shopify_sim import SimServer

    say("fulfilment throughput benchmark: redemptions -> RQ -> connector workers -> Shopify simulator")
    say("machine:")
    benchlib.print_machine()
    say(
        f"settings: {args.count} redemptions per mode, {args.workers} workers, modes {', '.join(args.modes)}; "
        f"simulator latency {LATENCY_MS:g} ms, bucket {BUCKET_SIZE:g} points restoring {RESTORE_RATE:g}/s"
    )
    runs: list[Run] = []
    with (
        benchlib.fresh_database("bench_fulfil") as database_url,
        benchlib.dedicated_redis(args.redis_db) as redis_url,
        tempfile.TemporaryDirectory(prefix="bench-fulfil-") as tmp,
        SimServer(
            latency_ms=LATENCY_MS,
            bucket_size=BUCKET_SIZE,
            restore_rate=RESTORE_RATE,
            access_token=SHOP_TOKEN,
            webhook_secret=SHOP_SECRET,
            shop_domain=SHOP_DOMAIN,
        ) as sim,
    ):
        rt = make_runtime(database_url, redis_url, "bench-seed", Path(tmp) / "outbox")
        brand_id, reward_id = seed(rt, sim.base_url)
        rt.sessions.kw["bind"].dispose()
        ctx = {
            "sim": sim,
            "tmp": Path(tmp),
            "database_url": database_url,
            "redis_url": redis_url,
            "brand_id": brand_id,
            "reward_id": reward_id,
        }
        for mode in args.modes:
            runs.append(run_mode(args, mode, ctx))
    summary(runs)
    say(f"\ntotal run time {time.monotonic() - started:.0f}s")
    return 0 if all(r.duplicate_tags == 0 and not r.timed_out for r in runs) else 1


def summary(runs: list[Run]) -> None:
    say("\nsummary")
    say(
        f"{'mode':<8}{'workers':>8}{'done':>7}{'wall s':>8}{'red/s':>7}{'active/s':>9}{'pts/red':>8}"
        f"{'bucket max/s':>13}{'of max':>8}{'THROTTLED':>10}{'in error':>9}{'dup orders':>11}"
    )
    for r in runs:
        bound = bucket_bound(r.count, r.cost_per_redemption)
        say(
            f"{r.mode:<8}{r.workers:>8}{r.fulfilled:>7}{r.wall_seconds:8.1f}{r.rate:7.2f}{r.active_rate:9.2f}"
            f"{r.cost_per_redemption:8.1f}{bound:13.2f}{share(r.active_rate, bound):>8}"
            f"{r.sim_stats.get('throttled', 0):>10}{sum(r.error_codes.values()):>9}{r.duplicate_tags:>11}"
        )
    say("  red/s: fulfilled / (workers launched -> none pending); active/s: first attempt -> last fulfilment")
    say("  bucket max/s: N / ((N x cost - 2000) / 100), the best a full Standard bucket allows for N redemptions")


if __name__ == "__main__":
    sys.exit(main())
