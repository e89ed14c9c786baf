"""Many shops for ``fulfilment_throughput.py``: ``--shops N`` and ``--noisy-neighbour``.

Each shop is a brand of its own with its own Shopify simulator (its own port, its own Standard
bucket), reward and members, so the figures come from outside the connector: each simulator's
request log (calls, points, THROTTLED answers, orders) and the redemption rows. Nothing here
depends on how the connector schedules or throttles, so the same command shows what a change to
either does.

* ``--shops N``: ``--count`` redemptions spread evenly over N shops and queued round-robin, then
  ``--workers`` worker processes run them. Achieved redemptions/s is set against two ceilings
  measured in the same run: the sum of the shops' bucket limits, and the workers' no-op job
  ceiling (``worker_ceiling.py``, same worker class and count).
* ``--noisy-neighbour``: brand A queues a backlog of ``--count`` redemptions; once the workers
  run, brand B makes ``--b-redemptions`` single redemptions, one every ``--b-interval`` seconds.
  Reported: B's latency (claimed -> fulfilled) p50/p99, and A's achieved rate against its bucket.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
import fulfilment_throughput as ft  # noqa: E402
import worker_ceiling  # noqa: E402
from benchlib import percentile, say  # noqa: E402


@dataclass
class BenchShop:
    label: str
    domain: str
    token: str
    sim: Any  # shopify_sim.SimServer
    brand_id: int = 0
    reward_id: int = 0
    log: collections.deque[dict[str, Any]] = field(default_factory=collections.deque)


@dataclass
class ShopFigures:
    """One shop's side of a run, from its simulator and its redemption rows."""

    label: str
    count: int
    fulfilled: int = 0
    first_attempt: datetime | None = None
    last_fulfilled: datetime | None = None
    calls: int = 0
    points: float = 0.0
    throttled: int = 0
    orders: int = 0
    duplicate_tags: int = 0
    latencies: list[float] = field(default_factory=list)  # claimed -> fulfilled, seconds

    @property
    def cost(self) -> float:
        return self.points / self.fulfilled if self.fulfilled else float("nan")

    @property
    def active_seconds(self) -> float:
        if self.first_attempt and self.last_fulfilled:
            return (self.last_fulfilled - self.first_attempt).total_seconds()
        return float("nan")

    @property
    def rate(self) -> float:
        seconds = self.active_seconds
        return self.fulfilled / seconds if seconds and seconds > 0 else float("nan")


def split(count: int, shops: int) -> list[int]:
    """``count`` redemptions over ``shops`` shops, as evenly as whole numbers allow (the first get one more)."""
    base, extra = divmod(count, shops)
    return [base + (1 if i < extra else 0) for i in range(shops)]


def round_robin(per_shop: list[list[int]]) -> list[tuple[int, int]]:
    """(shop index, member id) pairs, one shop after the other, so the queue mixes shops like real traffic."""
    order: list[tuple[int, int]] = []
    for i in range(max((len(m) for m in per_shop), default=0)):
        order += [(s, members[i]) for s, members in enumerate(per_shop) if i < len(members)]
    return order


def steady_limit(costs: list[float], rate: float = ft.RESTORE_RATE) -> float:
    """Redemptions/s the shops' buckets allow together once drained: the sum of restore rate / cost."""
    return sum(rate / c for c in costs if c and c == c)


def sum_of_bucket_bounds(counts: list[int], costs: list[float]) -> float:
    """The sum over shops of the most each bucket allows for its count from full (``ft.bucket_bound``)."""
    return sum(ft.bucket_bound(n, c) for n, c in zip(counts, costs, strict=True))


def start_shops(stack: contextlib.ExitStack, rt: Any, labels: list[str], stock: int) -> list[BenchShop]:
    """One simulator, brand, shop and reward per label."""
    from connector.core import catalog
    from connector.core.database import transaction
    from shopify_sim import SimServer

    shops = []
    for i, label in enumerate(labels):
        domain, token = f"bench-fulfil-{i:02d}.myshopify.com", f"shpat_bench_fulfil_{i:02d}"
        sim = stack.enter_context(
            SimServer(
                latency_ms=ft.LATENCY_MS,
                bucket_size=ft.BUCKET_SIZE,
                restore_rate=ft.RESTORE_RATE,
                access_token=token,
                webhook_secret=f"{ft.SHOP_SECRET}_{i:02d}",
                shop_domain=domain,
            )
        )
        shop = BenchShop(label=label, domain=domain, token=token, sim=sim)
        with transaction(rt.sessions) as s:
            brand = catalog.create_brand(s, f"Bench Brand {label}")
            row = catalog.add_shop(
                s,
                brand,
                domain=domain,
                access_token=token,
                webhook_secret=f"{ft.SHOP_SECRET}_{i:02d}",
                api_base_url=sim.base_url,
                allow_custom_api_base=True,  # the bench's shops are simulators
            )
            reward = catalog.add_reward(
                s, brand, name="Ambassador T-Shirt", sku=ft.SKU, points_cost=ft.POINTS, shop=row, instructions="Soon."
            )
            shop.brand_id, shop.reward_id = brand.id, reward.id
        reset_shop(shop, stock)
        shops.append(shop)
    return shops


def reset_shop(shop: BenchShop, stock: int) -> None:
    """A fresh shop: no customers or orders, a full bucket, a stocked SKU and an empty, unbounded request log."""
    shop.sim.control("reset", {})
    shop.sim.control("products", {"title": "Ambassador T-Shirt", "variants": [{"sku": ft.SKU, "inventory": stock}]})
    shop.log = collections.deque(maxlen=max(100_000, stock * 40))
    shop.sim.state.request_log = shop.log


def start_workers(args: argparse.Namespace, mode: str, queue: str, ctx: dict[str, Any]) -> list[Any]:
    env = benchlib.bench_env(
        CONNECTOR_DATABASE_URL=ctx["database_url"],
        CONNECTOR_REDIS_URL=ctx["redis_url"],
        CONNECTOR_QUEUE=queue,
        CONNECTOR_SECRET_KEY=uuid.uuid4().hex,
        CONNECTOR_DATA_DIR=str(ctx["tmp"]),
        CONNECTOR_OUTBOX_DIR=str(ctx["tmp"] / "outbox"),
    )
    procs = []
    for i in range(args.workers):
        log = open(ctx["tmp"] / f"worker-{queue}-{i}.log", "wb")  # noqa: SIM115 - the process owns it
        # As fulfilment_throughput.py starts them: the sweeper on, at its default interval.
        cmd = [sys.executable, "-m", "connector", "worker", "--name", f"{queue}-{i}"]
        if mode == "simple":
            cmd.append("--simple")
        procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=benchlib.ROOT))
        log.close()
    return procs


def shop_figures(rt: Any, shop: BenchShop, member_ids: list[int]) -> ShopFigures:
    from sqlalchemy import func, select

    from connector.core.tables import Redemption, RedemptionEventRow

    fig = ShopFigures(label=shop.label, count=len(member_ids))
    mine = Redemption.member_id.in_(member_ids)
    with rt.sessions() as s:
        rows = s.execute(select(Redemption.status, Redemption.claimed_at, Redemption.fulfilled_at).where(mine)).all()
        fig.first_attempt = s.scalar(
            select(func.min(RedemptionEventRow.at)).where(
                RedemptionEventRow.redemption_id.in_(select(Redemption.id).where(mine)),
                RedemptionEventRow.kind == "attempt_started",
            )
        )
    for status, claimed, fulfilled in rows:
        if status == "fulfilled" and fulfilled is not None:
            fig.fulfilled += 1
            fig.latencies.append((fulfilled - claimed).total_seconds())
            fig.last_fulfilled = max(fig.last_fulfilled or fulfilled, fulfilled)
    for entry in list(shop.log):
        if entry.get("outcome") == "ok":
            fig.calls += 1
            fig.points += float(entry.get("cost") or 0)
        elif entry.get("outcome") == "throttled":
            fig.throttled += 1
    per_tag: Counter[str] = Counter()
    orders = shop.sim.control("orders")["orders"]
    fig.orders = len(orders)
    for order in orders:
        tags = order.get("tags") or ""
        for tag in tags.split(",") if isinstance(tags, str) else tags:
            if str(tag).strip().startswith("redemption-"):
                per_tag[str(tag).strip()] += 1
    fig.duplicate_tags = sum(1 for n in per_tag.values() if n > 1)
    return fig


def pending(rt: Any, member_ids: list[int]) -> int:
    return ft.status_counts(rt, member_ids).get("pending", 0)


def wait_until_settled(rt: Any, members: list[int], procs: list[Any], deadline: float, tick: Any = None) -> bool:
    """Poll until no redemption of ``members`` is pending; False on timeout or a worker that died."""
    began = last = time.monotonic()
    while True:
        time.sleep(0.25)
        if tick is not None:
            tick()
        left = pending(rt, members)
        now = time.monotonic()
        if left == 0:
            return True
        if now >= deadline or any(p.poll() is not None for p in procs):
            return False
        if now - last >= 10:
            last = now
            say(f"  t={now - began:5.1f}s  {left} pending")


@dataclass
class ScaleRun:
    mode: str
    shops: list[ShopFigures]
    ceiling: worker_ceiling.Ceiling
    wall_seconds: float
    sim_cpu_seconds: float
    settled: bool

    @property
    def fulfilled(self) -> int:
        return sum(f.fulfilled for f in self.shops)

    @property
    def active_seconds(self) -> float:
        firsts = [f.first_attempt for f in self.shops if f.first_attempt]
        lasts = [f.last_fulfilled for f in self.shops if f.last_fulfilled]
        return (max(lasts) - min(firsts)).total_seconds() if firsts and lasts else float("nan")

    @property
    def rate(self) -> float:
        return self.fulfilled / self.active_seconds if self.active_seconds else float("nan")


def run_shops(args: argparse.Namespace, mode: str, shops: list[BenchShop], ctx: dict[str, Any]) -> ScaleRun:
    from connector.core.access import Actor
    from connector.core.model import Role
    from connector.core.redemptions import create_redemption

    ceiling = worker_ceiling.measure(
        ctx["database_url"], ctx["redis_url"], ctx["tmp"], mode=mode, workers=args.workers, jobs=args.ceiling_jobs
    )
    say(f"\n[{mode}] worker ceiling, same run: {worker_ceiling.describe(ceiling)}")
    counts = split(args.count, len(shops))
    queue = f"bench-shops-{mode}-{uuid.uuid4().hex[:6]}"
    rt = ft.make_runtime(ctx["database_url"], ctx["redis_url"], queue, ctx["tmp"] / "outbox")
    for shop, n in zip(shops, counts, strict=True):
        reset_shop(shop, n + 100)
    per_shop = [
        ft.add_members(rt, s.brand_id, n, f"{mode}{i:02d}") for i, (s, n) in enumerate(zip(shops, counts, strict=True))
    ]
    actor = Actor("bench", Role.SUPPORT)
    t0 = time.monotonic()
    for index, member_id in round_robin(per_shop):
        create_redemption(rt, actor, member_id=member_id, reward_id=shops[index].reward_id)
    say(
        f"[{mode}] {args.count} redemptions over {len(shops)} shops ({counts[0]} each) created in "
        f"{time.monotonic() - t0:.1f}s; {rt.dispatcher.queue.count} jobs waiting; {args.workers} workers start"
    )
    everyone = [m for ms in per_shop for m in ms]
    sim_cpu = benchlib.process_cpu_seconds(os.getpid())
    launched = time.monotonic()
    procs = start_workers(args, mode, queue, ctx)
    try:
        settled = wait_until_settled(rt, everyone, procs, launched + args.timeout)
    finally:
        for p in procs:
            benchlib.stop_process(p)
    wall = time.monotonic() - launched
    sim_cpu = benchlib.process_cpu_seconds(os.getpid()) - sim_cpu
    figures = [shop_figures(rt, s, ms) for s, ms in zip(shops, per_shop, strict=True)]
    rt.sessions.kw["bind"].dispose()
    run = ScaleRun(mode, figures, ceiling, wall, sim_cpu, settled)
    report_shops(run, counts)
    return run


def report_shops(run: ScaleRun, counts: list[int]) -> None:
    costs = [f.cost for f in run.shops]
    known = [c for c in costs if c == c]
    steady = steady_limit(known) * len(run.shops) / max(len(known), 1)
    typical = sum(known) / len(known) if known else float("nan")
    bounds = sum_of_bucket_bounds(counts, [c if c == c else typical for c in costs])
    rates = sorted(f.rate for f in run.shops if f.rate == f.rate)
    say(
        f"  fulfilled {run.fulfilled}/{sum(counts)} in {run.wall_seconds:.1f}s"
        f"{'' if run.settled else '  (NOT SETTLED)'}"
        f"; first attempt -> last fulfilment {run.active_seconds:.1f}s = {run.rate:.2f} redemptions/s"
    )
    say(
        f"  ceilings, same run: sum of the {len(run.shops)} buckets {steady:.1f}/s steady "
        f"({bounds:.1f}/s for these counts from full buckets); workers' no-op ceiling {run.ceiling.rate:.1f} jobs/s"
    )
    say(
        f"  achieved: {ft.share(run.rate, steady)} of the buckets' steady sum, {ft.share(run.rate, bounds)} of their "
        f"bound for these counts, {ft.share(run.rate, run.ceiling.rate)} of the no-op ceiling"
    )
    say(
        f"  per shop: redemptions/s min {rates[0] if rates else float('nan'):.2f}, median "
        f"{percentile(rates, 50):.2f}, max {rates[-1] if rates else float('nan'):.2f}; last fulfilment per shop "
        f"spans {spread_of_last(run.shops):.1f}s; cost {min(known, default=float('nan')):.0f}-"
        f"{max(known, default=float('nan')):.0f} points"
    )
    say(
        f"  THROTTLED {sum(f.throttled for f in run.shops)}; orders {sum(f.orders for f in run.shops)}; duplicate "
        f"orders {sum(f.duplicate_tags for f in run.shops)}; simulators' CPU (this process) {run.sim_cpu_seconds:.1f}s"
    )


def spread_of_last(figures: list[ShopFigures]) -> float:
    lasts = [f.last_fulfilled for f in figures if f.last_fulfilled]
    return (max(lasts) - min(lasts)).total_seconds() if lasts else float("nan")


@dataclass
class NoisyRun:
    mode: str
    a: ShopFigures
    b: ShopFigures
    settled: bool


def run_noisy(args: argparse.Namespace, mode: str, shops: list[BenchShop], ctx: dict[str, Any]) -> NoisyRun:
    from connector.core.access import Actor
    from connector.core.model import Role
    from connector.core.redemptions import create_redemption

    shop_a, shop_b = shops
    queue = f"bench-noisy-{mode}-{uuid.uuid4().hex[:6]}"
    rt = ft.make_runtime(ctx["database_url"], ctx["redis_url"], queue, ctx["tmp"] / "outbox")
    reset_shop(shop_a, args.count + 100)
    reset_shop(shop_b, args.b_redemptions + 100)
    a_members = ft.add_members(rt, shop_a.brand_id, args.count, f"noisya{mode}")
    b_members = ft.add_members(rt, shop_b.brand_id, args.b_redemptions, f"noisyb{mode}")
    actor = Actor("bench", Role.SUPPORT)
    for member_id in a_members:
        create_redemption(rt, actor, member_id=member_id, reward_id=shop_a.reward_id)
    say(
        f"\n[{mode}] noisy neighbour: brand A queued {args.count} redemptions; brand B makes {args.b_redemptions}, "
        f"one every {args.b_interval:g}s, once {args.workers} workers run"
    )
    b_left = list(b_members)
    next_b = time.monotonic()

    def make_b() -> None:
        nonlocal next_b
        if b_left and time.monotonic() >= next_b:
            create_redemption(rt, actor, member_id=b_left.pop(0), reward_id=shop_b.reward_id)
            next_b += args.b_interval

    launched = time.monotonic()
    procs = start_workers(args, mode, queue, ctx)
    try:
        next_b = launched + args.b_interval
        settled = wait_until_settled(rt, a_members + b_members, procs, launched + args.timeout, tick=make_b)
        settled = settled and not b_left
    finally:
        for p in procs:
            benchlib.stop_process(p)
    run = NoisyRun(mode, shop_figures(rt, shop_a, a_members), shop_figures(rt, shop_b, b_members), settled)
    rt.sessions.kw["bind"].dispose()
    report_noisy(run)
    return run


def report_noisy(run: NoisyRun) -> None:
    a, b = run.a, run.b
    bound = ft.bucket_bound(a.count, a.cost)
    say(
        f"  B (single redemptions): {b.fulfilled}/{b.count} fulfilled; latency claimed -> fulfilled p50 "
        f"{percentile(b.latencies, 50):.2f}s, p99 {percentile(b.latencies, 99):.2f}s, max "
        f"{max(b.latencies, default=float('nan')):.2f}s{'' if run.settled else '  (NOT SETTLED)'}"
    )
    say(
        f"  A (backlog): {a.fulfilled}/{a.count} in {a.active_seconds:.1f}s = {a.rate:.2f}/s; its bucket allows "
        f"{ft.RESTORE_RATE / a.cost if a.cost == a.cost else float('nan'):.2f}/s steady, {bound:.2f}/s for "
        f"{a.count} from full: achieved {ft.share(a.rate, bound)}; cost {a.cost:.0f} points"
    )
    say(f"  THROTTLED A {a.throttled}, B {b.throttled}; duplicate orders A {a.duplicate_tags}, B {b.duplicate_tags}")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--shops", type=int, default=1, help="shops (brands), each with its own simulator (default 1)")
    p.add_argument(
        "--noisy-neighbour",
        action="store_true",
        help="brand A queues --count redemptions, brand B makes --b-redemptions single ones meanwhile",
    )
    p.add_argument("--b-redemptions", type=int, default=5, help="brand B's redemptions (default 5)")
    p.add_argument("--b-interval", type=float, default=3.0, help="seconds between B's redemptions (default 3)")
    p.add_argument(
        "--ceiling-jobs", type=int, default=300, help="no-op jobs for the workers' ceiling with --shops (default 300)"
    )


def check_arguments(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not 1 <= args.shops <= 50:
        p.error("--shops: 1..50")
    if args.noisy_neighbour and args.shops != 1:
        p.error("--noisy-neighbour runs its own two shops (A and B); leave --shops out")
    if not 1 <= args.b_redemptions <= 100 or not 0 < args.b_interval <= 60 or not 1 <= args.ceiling_jobs <= 5000:
        p.error("keep it bounded: 1..100 B redemptions, 0..60 s apart; 1..5000 ceiling jobs")
    if args.shops > 1 and args.count < args.shops:
        p.error("--count must be at least --shops")


def main(args: argparse.Namespace) -> int:
    """The many-shop scenarios; ``fulfilment_throughput.main`` hands over when one is asked for."""
    from shopify_sim import SimServer  # noqa: F401  (fails early, with its install hint, when missing)

    started = time.monotonic()
    labels = ["A", "B"] if args.noisy_neighbour else [f"{i:02d}" for i in range(args.shops)]
    say(
        "fulfilment at scale: "
        + ("noisy neighbour (brands A and B)" if args.noisy_neighbour else f"{args.shops} shops")
    )
    say("machine:")
    benchlib.print_machine()
    say(
        f"settings: --count {args.count}, {args.workers} workers, modes {', '.join(args.modes)}; every shop its own "
        f"simulator: latency {ft.LATENCY_MS:g} ms, bucket {ft.BUCKET_SIZE:g} points restoring {ft.RESTORE_RATE:g}/s"
    )
    ok = True
    with (
        benchlib.fresh_database("bench_scale") as database_url,
        benchlib.dedicated_redis(args.redis_db) as redis_url,
        contextlib.ExitStack() as stack,
    ):
        import tempfile

        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-scale-")))
        ctx = {"tmp": tmp, "database_url": database_url, "redis_url": redis_url}
        rt = ft.make_runtime(database_url, redis_url, "bench-seed", tmp / "outbox")
        shops = start_shops(stack, rt, labels, stock=args.count + 100)
        rt.sessions.kw["bind"].dispose()
        for mode in args.modes:
            if args.noisy_neighbour:
                noisy = run_noisy(args, mode, shops, ctx)
                ok = ok and noisy.settled and not (noisy.a.duplicate_tags or noisy.b.duplicate_tags)
            else:
                run = run_shops(args, mode, shops, ctx)
                ok = ok and run.settled and not any(f.duplicate_tags for f in run.shops)
    say(f"\ntotal run time {time.monotonic() - started:.0f}s")
    return 0 if ok else 1
