"""Webhook ingest: how many signed Shopify deliveries per second ``POST /webhooks/shopify`` stores.

One command (from the repository root)::

    .venv/bin/python benches/webhook_ingest.py

What it does, all on 127.0.0.1:

1. creates a throw-away PostgreSQL database (``bench_ingest_<random>``), migrates it and seeds
   one brand and one shop; uses a dedicated, empty Redis db (``--redis-db``, default 13) and a
   fresh queue name;
2. starts the connector under gunicorn (``connector.app:create_app()``, ``-w 2 --threads 4``)
   with ``CONNECTOR_REDIS_URL`` set, so a delivery is verified, stored and a drain run woken, and no worker
   runs; and, in the same run and with the same gunicorn settings, the ceilings of
   ``benches/ceiling_app.py``: a bare route, HMAC + Redis push (*the* ceiling), and
   HMAC + PostgreSQL insert + Redis push (the shape of the DESIGN's 1,150 req/s figure);
3. drives every target with the same load generator (``benches/loadgen.py``) and signed
   ``fulfillments/update`` deliveries, each with its own event id, webhook id and fulfillment id
   (nothing dedupes), for an order no redemption has:
   (a) closed loop: ``--requests`` deliveries per target over ``--concurrency`` keep-alive
       connections, in ``--rounds`` rounds that alternate the targets (a noisy second hits all);
   (b) open loop: ``--rate`` deliveries/s for ``--duration`` seconds;
4. checks that nothing was lost: stored ``webhook_deliveries`` rows = 200 answers = jobs in the
   queue (and the same for the ceilings' Redis lists and table);
5. (c) times each step of the connector's request path in this process, one thread, so the
   figures above can be read (where the time goes);
6. drops the database and flushes the Redis db.

Figures only; nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import itertools
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
import loadgen  # noqa: E402
from benchlib import mean, percentile, say  # noqa: E402
from shared import child_pids  # noqa: E402
from webhook_ingest_steps import count_rows, drain, step_costs  # noqa: E402

SHOP_DOMAIN = "bench-ingest.myshopify.com"
ORDER_ID = 990_000_000_001  # no redemption has this order: the delivery is stored, never applied
TOPIC = "fulfillments/update"
CEILINGS = ("bare", "hmac-redis", "hmac-pg-redis")
CEILING = "hmac-redis"
CONNECTOR = "connector"
#: ``--baseline PATH``: the same app from another checkout (say main), served in the same run for before/after.
BASELINE = "baseline"
#: The durable rung: what the connector promises (stored before 200) with nothing else around it.
DURABLE = "hmac-pg-redis"
Headers = list[tuple[str, str]]


@dataclass
class Target:
    name: str
    server: benchlib.Gunicorn
    balancer: loadgen.Balancer | None = None
    warmup: loadgen.Result = field(default_factory=loadgen.Result)
    rounds: list[loadgen.Result] = field(default_factory=list)
    #: Busy CPU-seconds of the machine during this target's closed-loop rounds, minus the client's.
    server_cpu: float = 0.0
    #: CPU-seconds of this target's own processes during its closed-loop rounds: gunicorn (master and
    #: workers), and its PostgreSQL backends. Unlike ``server_cpu``, other work on the machine does not count.
    app_cpu: float = 0.0
    pg_cpu: float = 0.0
    rates: dict[float, tuple[loadgen.Result, float]] = field(default_factory=dict)

    def results(self) -> list[loadgen.Result]:
        return [self.warmup, *self.rounds, *(r for r, _ in self.rates.values())]

    @property
    def sent_total(self) -> int:
        return sum(r.sent for r in self.results())

    @property
    def ok_total(self) -> int:
        return sum(r.ok for r in self.results())

    @property
    def closed_ok(self) -> int:
        return sum(r.ok for r in self.rounds)

    @property
    def closed_wall(self) -> float:
        return sum(r.elapsed for r in self.rounds)

    @property
    def closed_rps(self) -> float:
        return self.closed_ok / self.closed_wall if self.closed_wall else float("nan")

    def closed_latencies(self) -> list[float]:
        return [x for r in self.rounds for x in r.latencies]


class Deliveries:
    """Signed ``fulfillments/update`` deliveries, every one unique (ids, fulfillment, tracking)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret.encode()
        self._ids = itertools.count(1)
        self._run = uuid.uuid4().hex[:8]

    def signed(self, count: int) -> list[tuple[Headers, bytes]]:
        return [self._one(next(self._ids)) for _ in range(count)]

    def raw(self, port: int, count: int) -> list[bytes]:
        return [loadgen.build_request(port, "/webhooks/shopify", h, b) for h, b in self.signed(count)]

    def _one(self, n: int) -> tuple[Headers, bytes]:
        fulfillment_id = 7_000_000_000 + n
        tracking = f"1ZBENCH{n:011d}"
        body = json.dumps(
            {
                "id": fulfillment_id,
                "order_id": ORDER_ID,
                "status": "success",
                "shipment_status": "in_transit",
                "tracking_company": "UPS",
                "tracking_number": tracking,
                "tracking_url": f"https://www.ups.com/track?tracknum={tracking}",
                "created_at": "2026-11-22T09:00:00-05:00",
                "updated_at": "2026-11-22T10:00:00-05:00",
                "admin_graphql_api_id": f"gid://shopify/Fulfillment/{fulfillment_id}",
            }
        ).encode()
        signature = base64.b64encode(hmac.new(self.secret, body, hashlib.sha256).digest()).decode()
        headers = [
            ("Content-Type", "application/json"),
            ("X-Shopify-Topic", TOPIC),
            ("X-Shopify-Hmac-Sha256", signature),
            ("X-Shopify-Shop-Domain", SHOP_DOMAIN),
            ("X-Shopify-Webhook-Id", f"{self._run}-w-{n}-{uuid.uuid4()}"),
            ("X-Shopify-Event-Id", f"{self._run}-e-{n}-{uuid.uuid4()}"),
            ("X-Shopify-Triggered-At", "2026-11-22T15:00:00.000Z"),
            ("X-Shopify-API-Version", "2026-07"),
        ]
        return headers, body


def seed(database_url: str) -> str:
    """One brand and its shop; returns the shop's webhook secret. Also the ceiling's table."""
    from sqlalchemy import text

    from connector.core import catalog
    from connector.core.credentials import Keyring
    from connector.core.database import make_engine, make_session_factory, transaction

    secret = "whsec_bench_" + uuid.uuid4().hex
    engine = make_engine(database_url, keyring=Keyring(list(benchlib.key_env().values())))
    with transaction(make_session_factory(engine)) as s:
        brand = catalog.create_brand(s, "Bench Brand")
        catalog.add_shop(s, brand, domain=SHOP_DOMAIN, access_token="shpat_bench", webhook_secret=secret)
    with engine.begin() as c:
        c.execute(text("CREATE TABLE bench_ceiling (id bigserial PRIMARY KEY, webhook_id text, body text NOT NULL)"))
    engine.dispose()
    return secret


def pg_application(target: str) -> str:
    """The PostgreSQL ``application_name`` a target connects with, so its backends' CPU can be told apart."""
    return f"bench-{target}"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--requests", type=int, default=5000, help="closed-loop deliveries per target (default 5000)")
    p.add_argument("--concurrency", type=int, default=16, help="closed-loop keep-alive connections (default 16)")
    p.add_argument("--client-processes", type=int, default=2, help="load generator processes (default 2)")
    p.add_argument("--rounds", type=int, default=3, help="closed-loop rounds alternating targets (default 3)")
    p.add_argument("--rate", default="200", help="open-loop deliveries per second; a comma list runs each (200)")
    p.add_argument("--duration", type=float, default=15.0, help="open-loop seconds per rate (default 15)")
    p.add_argument(
        "--rate-targets",
        default=None,
        help=f"comma-separated targets of the open loop, or 'all' (default {CONNECTOR},{CEILING})",
    )
    p.add_argument("--ceilings", default=",".join(CEILINGS), help=f"ceilings to run (default {','.join(CEILINGS)})")
    p.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="another checkout of the connector (e.g. /work/main): its code is served as a second connector "
        "target in the same run, for a before/after under the same load",
    )
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    p.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (default 4)")
    p.add_argument("--steps", type=int, default=300, help="iterations per step of (c); 0 skips it (default 300)")
    p.add_argument(
        "--no-drain", action="store_true", help="skip applying the stored deliveries at the end (the loss check stays)"
    )
    p.add_argument("--redis-db", type=int, default=13, help="an empty Redis db to use and flush (default 13)")
    p.add_argument(
        "--no-balance",
        action="store_true",
        help="let gunicorn's workers take the keep-alive connections as they come (often very uneven)",
    )
    args = p.parse_args(argv)
    args.ceilings = [c for c in args.ceilings.split(",") if c]
    if args.baseline is not None and not (args.baseline / "connector" / "app.py").is_file():
        p.error(f"--baseline: {args.baseline} is not a checkout of the connector (no connector/app.py)")
    if set(args.ceilings) - set(CEILINGS):
        p.error(f"--ceilings: choose from {CEILINGS}")
    names = [CONNECTOR, *([BASELINE] if args.baseline else []), *args.ceilings]
    if args.rate_targets is None:  # the default: the connector and the ceiling, when the ceiling runs
        args.rate_targets = [t for t in (CONNECTOR, CEILING) if t in names]
    elif args.rate_targets == "all":
        args.rate_targets = names
    else:
        args.rate_targets = [t for t in args.rate_targets.split(",") if t]
    if set(args.rate_targets) - set(names):
        p.error(f"--rate-targets must be among {names}")
    try:
        args.rates = [float(r) for r in args.rate.split(",") if r.strip()]
    except ValueError:
        p.error("--rate: numbers, comma-separated")
    if min(args.requests, args.concurrency, args.rounds, args.workers, args.threads) < 1:
        p.error("counts must be positive")
    if any(r <= 0 for r in args.rates) or args.duration <= 0:
        p.error("rates and the duration must be positive")
    if args.requests > 200_000 or max(args.rates, default=0) * args.duration > 200_000 or args.duration > 600:
        p.error("keep it bounded: at most 200,000 requests per phase and 600 s per rate")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    benchlib.clean_up_on_sigterm()
    started = time.monotonic()
    say("webhook ingest benchmark: POST /webhooks/shopify with signed fulfillments/update deliveries")
    say("machine:")
    benchlib.print_machine()
    say(
        f"settings: gunicorn -w {args.workers} --threads {args.threads} (gthread) for every target; closed loop "
        f"{args.requests} deliveries per target over {args.concurrency} connections ({args.client_processes} client "
        f"processes, {args.rounds} rounds); open loop {args.rate}/s for {args.duration:g}s on "
        f"{', '.join(args.rate_targets)}"
    )
    with (
        benchlib.fresh_database("bench_ingest") as database_url,
        benchlib.dedicated_redis(args.redis_db) as redis_url,
        tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp,
    ):
        secret = seed(database_url)
        deliveries = Deliveries(secret)
        queue = f"bench-ingest-{uuid.uuid4().hex[:8]}"
        targets = start_targets(args, database_url, redis_url, queue, secret, Path(tmp))
        try:
            run_load(args, targets, deliveries)
        finally:
            for t in targets:
                t.server.stop()
        checks = verify(targets, database_url, redis_url, queue)
        if not args.no_drain:
            checks.append(drain(database_url, redis_url, queue, Path(tmp)))
        steps = (
            step_costs(args.steps, database_url, redis_url, secret, deliveries.signed, SHOP_DOMAIN, Path(tmp))
            if args.steps
            else []
        )
    report(args, targets, checks, steps)
    say(f"\ncpu speed probe at the end: {benchlib.cpu_probe():.2f} s (the machine's speed drifts)")
    say(f"total run time {time.monotonic() - started:.0f}s")
    return 0 if all(ok for _, ok in checks) else 1


def start_targets(
    args: argparse.Namespace, database_url: str, redis_url: str, queue: str, secret: str, tmp: Path
) -> list[Target]:
    """Start every gunicorn at once, then wait for each to listen."""
    targets: list[Target] = []
    try:
        for name in (CONNECTOR, BASELINE):
            if name == BASELINE and args.baseline is None:
                continue
            connector_env = benchlib.bench_env(
                CONNECTOR_DATABASE_URL=f"{database_url}?application_name={pg_application(name)}",
                CONNECTOR_REDIS_URL=redis_url,
                CONNECTOR_QUEUE=queue,
                CONNECTOR_SECRET_KEY=uuid.uuid4().hex,
                CONNECTOR_DATA_DIR=str(tmp),
                CONNECTOR_OUTBOX_DIR=str(tmp / "outbox"),
            )
            if name == BASELINE:  # its ``connector`` package shadows this checkout's (an editable install)
                connector_env["PYTHONPATH"] = str(args.baseline.resolve())
            server = benchlib.Gunicorn(
                "connector.app:create_app()",
                connector_env,
                workers=args.workers,
                threads=args.threads,
                log_path=tmp / f"gunicorn-{name}.log",
                chdir=args.baseline.resolve() if name == BASELINE else None,
            )
            targets.append(Target(name, server))
        libpq_url = database_url.replace("postgresql+psycopg://", "postgresql://")
        for mode in args.ceilings:
            env = benchlib.bench_env(
                BENCH_CEILING_MODE=mode,
                BENCH_WEBHOOK_SECRET=secret,
                BENCH_REDIS_URL=redis_url,
                BENCH_REDIS_KEY=f"bench:ceiling:{mode}",
                BENCH_DATABASE_URL=f"{libpq_url}?application_name={pg_application(mode)}",
            )
            server = benchlib.Gunicorn(
                "ceiling_app:create_app()",
                env,
                workers=args.workers,
                threads=args.threads,
                log_path=tmp / f"gunicorn-{mode}.log",
                chdir=benchlib.BENCHES,
            )
            targets.append(Target(mode, server))
        for t in targets:
            say(f"  {t.name} on 127.0.0.1:{t.server.port}")
    except BaseException:
        for t in targets:
            t.server.stop()
        raise
    return targets


def run_load(args: argparse.Namespace, targets: list[Target], deliveries: Deliveries) -> None:
    say("\nwarm-up: 200 deliveries per target (counted in the loss check, not in the figures)")
    for t in targets:
        t.warmup = loadgen.closed_loop(t.server.port, deliveries.raw(t.server.port, 200), concurrency=4, processes=1)
        probe = f"GET /bench-probe HTTP/1.1\r\nHost: 127.0.0.1:{t.server.port}\r\n\r\n".encode()
        # With --no-balance one attempt per connection: the spread is only looked at, not corrected.
        t.balancer = loadgen.Balancer(
            t.server.port, child_pids(t.server.proc.pid), probe, attempts=1 if args.no_balance else 40
        )
    say(
        "keep-alive connections per gunicorn worker: "
        + ("spread evenly by the load generator" if not args.no_balance else "as gunicorn's workers take them")
    )
    base, extra = divmod(args.requests, args.rounds)
    per_round = [base + (1 if r < extra else 0) for r in range(args.rounds)]
    say(f"\n(a) closed loop, rounds of {per_round} deliveries per target")
    for r, count in enumerate(per_round):
        shift = r % len(targets)
        for t in targets[shift:] + targets[:shift]:  # rotate who goes first
            requests = deliveries.raw(t.server.port, count)
            cpu = benchlib.CpuSampler().start()
            pid = t.server.proc.pid
            own = benchlib.ProcessCpu(lambda pid=pid: [pid, *child_pids(pid)]).start()
            pg = benchlib.ProcessCpu(lambda name=t.name: benchlib.postgres_backends(pg_application(name))).start()
            res = loadgen.closed_loop(
                t.server.port,
                requests,
                concurrency=args.concurrency,
                processes=args.client_processes,
                balancer=t.balancer,
            )
            cpu.stop()
            t.app_cpu += own.stop()
            t.pg_cpu += pg.stop()
            t.rounds.append(res)
            t.server_cpu += cpu.busy_seconds - res.client_cpu_seconds
            say(
                f"  round {r + 1}  {t.name:<14}{res.throughput:7.0f} req/s   p50 {ms(percentile(res.latencies, 50))} ms"
                f"   p99 {ms(percentile(res.latencies, 99))} ms   non-200 {res.errors}   busy {cpu.busy_percent:.0f}%"
                + (f"   connections per worker {res.spread}" if res.spread else "")
            )
    for rate in args.rates:
        count = round(rate * args.duration)
        say(f"\n(b) open loop, {count} deliveries at {rate:g}/s")
        for t in targets:
            if t.name not in args.rate_targets:
                continue
            requests = deliveries.raw(t.server.port, count)
            cpu = benchlib.CpuSampler().start()
            res = loadgen.open_loop(t.server.port, requests, rate=rate, balancer=t.balancer)
            t.rates[rate] = (res, cpu.stop())
            say(
                f"  {t.name:<14} achieved {res.throughput:6.1f}/s   p50 {ms(percentile(res.latencies, 50))} ms"
                f"   p99 {ms(percentile(res.latencies, 99))} ms   non-200 {res.errors}"
                + (f"   connections per worker {res.spread}" if res.spread else "")
            )


def verify(targets: list[Target], database_url: str, redis_url: str, queue: str) -> list[tuple[str, bool]]:
    """Nothing lost: every 200 answer is a stored row with a drain run queued for it (or a pushed body)."""
    from redis import Redis
    from rq import Queue

    client = Redis.from_url(redis_url)
    checks: list[tuple[str, bool]] = []
    stores = [t for t in targets if t.name in (CONNECTOR, BASELINE)]  # both store into webhook_deliveries
    for t in targets:
        line = f"{t.name}: {t.sent_total} sent, {t.ok_total} answered 200"
        if t.name == BASELINE:
            checks.append((f"{line} (its rows are counted with the connector's)", t.ok_total == t.sent_total))
        elif t.name == CONNECTOR:
            rows = count_rows(database_url, "webhook_deliveries")
            jobs = Queue(queue, connection=client).count
            answered = sum(x.ok_total for x in stores)
            # No worker runs, so every row waits for a drain run: at least one must be queued.
            checks.append(
                (
                    f"{line}, {rows} webhook_deliveries rows for {answered} 200 answers of "
                    f"{' and '.join(x.name for x in stores)}, {jobs} drain runs queued",
                    rows == answered and jobs >= 1,
                )
            )
        elif t.name == "bare":
            checks.append((f"{line} (stores nothing)", t.ok_total == t.sent_total))
        else:
            pushed = int(client.llen(f"bench:ceiling:{t.name}"))
            line += f", {pushed} bodies pushed to Redis"
            ok = pushed == t.ok_total
            if t.name == "hmac-pg-redis":
                rows = count_rows(database_url, "bench_ceiling")
                line += f", {rows} rows inserted"
                ok = ok and rows == t.ok_total
            checks.append((line, ok))
    client.close()
    return checks


def own_cpu_ms(t: Target) -> float:
    """Milliseconds of CPU the target's own processes (gunicorn, its PostgreSQL backends) spent per 200 answer."""
    return (t.app_cpu + t.pg_cpu) / t.closed_ok * 1000 if t.closed_ok else float("nan")


def report(
    args: argparse.Namespace,
    targets: list[Target],
    checks: list[tuple[str, bool]],
    steps: Sequence[tuple[str, float, float]],
) -> None:
    by_name = {t.name: t for t in targets}
    ceiling = by_name.get(CEILING)
    say("\n(a) max throughput, closed loop, all rounds together")
    say(
        f"{'target':<15}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'non-200':>9}{'CPU ms/req':>12}{'app+PG ms':>11}"
        f"{'of ceiling':>12}{'of durable':>12}"
    )
    durable = by_name.get(DURABLE)
    for t in targets:
        lat = t.closed_latencies()
        cpu_per_req = t.server_cpu / t.closed_ok * 1000 if t.closed_ok else float("nan")
        frac = f"{t.closed_rps / ceiling.closed_rps:.0%}" if ceiling is not None else "-"
        of_durable = f"{t.closed_rps / durable.closed_rps:.0%}" if durable is not None else "-"
        errors = sum(r.errors for r in t.rounds)
        say(
            f"{t.name:<15}{t.closed_rps:8.0f}{ms(percentile(lat, 50)):>9}{ms(percentile(lat, 99)):>9}"
            f"{errors:>9}{cpu_per_req:12.2f}{own_cpu_ms(t):11.2f}{frac:>12}{of_durable:>12}"
        )
    client_cpu = sum(r.client_cpu_seconds for t in targets for r in t.rounds)
    wall = sum(t.closed_wall for t in targets)
    say(
        f"  CPU ms/req: busy CPU time of the whole machine ({os.cpu_count()} cores: gunicorn, PostgreSQL, Redis, "
        "kernel) minus the load generator's, per 200 answer"
    )
    say(
        "  app+PG ms: CPU of the target's own processes per 200 answer (its gunicorn, and its PostgreSQL "
        "backends): other work on the machine does not count"
    )
    for t in targets:
        if t.closed_ok:
            say(
                f"    {t.name:<14} gunicorn {t.app_cpu / t.closed_ok * 1000:.2f} ms + PostgreSQL "
                f"{t.pg_cpu / t.closed_ok * 1000:.2f} ms"
            )
    say(f"  load generator: {client_cpu:.1f} CPU-s over {wall:.1f} s of closed loop")
    if any(t.rates for t in targets):
        say(f"\n(b) fixed rate for {args.duration:g}s, latency from each request's scheduled send time")
        say(
            f"{'target':<15}{'rate/s':>8}{'achieved':>10}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'mean ms':>9}"
            f"{'non-200':>9}{'busy':>7}"
        )
        for rate in args.rates:
            for t in targets:
                if rate not in t.rates:
                    continue
                r, busy = t.rates[rate]
                say(
                    f"{t.name:<15}{rate:8g}{r.throughput:10.1f}{ms(percentile(r.latencies, 50)):>9}"
                    f"{ms(percentile(r.latencies, 99)):>9}{ms(max(r.latencies, default=float('nan'))):>9}"
                    f"{ms(mean(r.latencies)):>9}{r.errors:>9}{busy:6.0f}%"
                )
    if steps:
        say("\n(c) step costs, in-process, one thread (CPU = this Python thread only)")
        say(f"{'step':<56}{'wall ms':>9}{'CPU ms':>9}")
        for label, wall_ms, cpu_ms in steps:
            say(f"{label:<56}{wall_ms:9.2f}{cpu_ms:9.2f}")
    connector = by_name[CONNECTOR]
    durable = by_name.get(DURABLE)
    for app in (by_name.get(CONNECTOR), by_name.get(BASELINE)):
        if durable is None or app is None:
            continue
        say(
            f"\n{app.name} / durable rung (HMAC + PostgreSQL INSERT + Redis push): {app.closed_rps:.0f} / "
            f"{durable.closed_rps:.0f} req/s = {app.closed_rps / durable.closed_rps:.0%}; by own CPU per "
            f"request: {own_cpu_ms(durable):.2f} / {own_cpu_ms(app):.2f} ms = "
            f"{own_cpu_ms(durable) / own_cpu_ms(app):.0%}"
        )
    if ceiling is not None:
        say(
            f"\nconnector / ceiling (HMAC + Redis push): {connector.closed_rps:.0f} / {ceiling.closed_rps:.0f} req/s"
            f" = {connector.closed_rps / ceiling.closed_rps:.0%}"
        )
    say("\nnothing lost:")
    for line, ok in checks:
        say(f"  [{'ok' if ok else 'MISMATCH'}] {line}")


if __name__ == "__main__":
    sys.exit(main())
