"""Where a webhook request's CPU goes: ``POST /webhooks/shopify`` called as gunicorn calls it, under cProfile.

One command (from the repository root)::

    .venv/bin/python benches/webhook_profile.py            # --requests N (2000), --top N (25)

It creates a throw-away PostgreSQL database, seeds one shop, builds the real app
(``connector.app.create_app`` with ``CONNECTOR_REDIS_URL`` set, as in production) and calls the WSGI
app directly with prebuilt environs: no socket, no load generator, one thread. So what it shows is the
app's own cost per delivery, the part gunicorn multiplies. Two passes over fresh signed deliveries:

1. plain: mean wall and CPU milliseconds per request, next to the same for a raw psycopg INSERT +
   Redis ``LPUSH`` (what the ``hmac-pg-redis`` ceiling does besides Flask);
2. under cProfile, timed in CPU (``time.thread_time``, so waiting for PostgreSQL's commit is not
   counted): the functions with the most own time and the most cumulative time, grouped so that
   the share of Flask/Werkzeug, SQLAlchemy, psycopg, Redis, pluggy and the connector can be read.

Every request must answer 200 and be stored; anything else prints ``MISMATCH`` and exits 1.
Figures only; nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
from benchlib import say  # noqa: E402
from webhook_ingest import SHOP_DOMAIN, Deliveries, count_rows, seed  # noqa: E402

#: Where a function's own time is counted, by the path of its file.
GROUPS = (
    ("flask", "flask/"),
    ("werkzeug", "werkzeug/"),
    ("sqlalchemy", "sqlalchemy/"),
    ("psycopg", "psycopg/"),
    ("redis", "redis/"),
    ("pluggy", "pluggy/"),
    ("marshmallow", "marshmallow/"),
    ("connector", "connector/"),
    ("json", "json/"),
    ("logging", "logging/"),
)


def environs(deliveries: Deliveries, count: int) -> list[dict[str, Any]]:
    from werkzeug.test import EnvironBuilder

    built = []
    for headers, body in deliveries.signed(count):
        builder = EnvironBuilder(path="/webhooks/shopify", method="POST", headers=headers, data=body)
        built.append(builder.get_environ())
        builder.close()
    return built


def call_all(app: Callable[..., Iterable[bytes]], batch: list[dict[str, Any]]) -> list[str]:
    statuses: list[str] = []

    def start_response(status: str, _headers: object, _exc: object = None) -> None:
        statuses.append(status)

    for environ in batch:
        result = app(environ, start_response)
        for _ in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return statuses


def group_of(filename: str) -> str:
    for name, marker in GROUPS:
        if marker in filename:
            return name
    return "other" if filename not in {"~", ""} else "builtins"


def report_profile(profile: cProfile.Profile, requests: int, top: int) -> None:
    stats = pstats.Stats(profile, stream=io.StringIO())
    total = sum(tt for (_cc, _nc, tt, _ct, _callers) in stats.stats.values())  # type: ignore[attr-defined]
    by_group: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        by_group[group_of(filename)] += tt
    say(f"\nown time by package, per request (profiled: {total / requests * 1000:.3f} ms a request in all)")
    for name, seconds in sorted(by_group.items(), key=lambda kv: -kv[1]):
        say(f"  {name:<12}{seconds / requests * 1000:8.3f} ms  {seconds / total:6.1%}")
    for key, title in (("tottime", "own time"), ("cumulative", "cumulative time")):
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(key).print_stats(top)
        say(f"\ntop {top} by {title} ({requests} requests; seconds are totals, divide by {requests})")
        lines = out.getvalue().splitlines()
        start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
        for line in lines[start:]:
            if line.strip():
                say("  " + line.replace(str(benchlib.ROOT) + "/", "").replace(sys.prefix + "/", ""))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--requests", type=int, default=2000, help="requests per pass (default 2000)")
    p.add_argument("--top", type=int, default=25, help="functions listed per table (default 25)")
    p.add_argument("--redis-db", type=int, default=13, help="an empty Redis db to use and flush (default 13)")
    args = p.parse_args(argv)
    if not 1 <= args.requests <= 50_000:
        p.error("--requests: 1..50,000")
    benchlib.clean_up_on_sigterm()
    say("webhook route profile: POST /webhooks/shopify through the WSGI app, one thread, no socket")
    benchlib.print_machine()
    with (
        benchlib.fresh_database("bench_wprof") as database_url,
        benchlib.dedicated_redis(args.redis_db) as redis_url,
        tempfile.TemporaryDirectory(prefix="bench-wprof-") as tmp,
    ):
        import psycopg
        from redis import Redis

        from connector.app import create_app
        from connector.config import Settings

        secret = seed(database_url)
        deliveries = Deliveries(secret)
        settings = Settings.from_env(
            benchlib.key_env(),
            database_url=database_url,
            redis_url=redis_url,
            jobs_mode="rq",
            queue_name=f"bench-wprof-{uuid.uuid4().hex[:8]}",
            secret_key=uuid.uuid4().hex,
            outbox_dir=Path(tmp) / "outbox",
        )
        app = create_app(settings)
        call_all(app, environs(deliveries, 50))  # warm: imports, pool, compiled statements, secret cache
        plain, profiled = environs(deliveries, args.requests), environs(deliveries, args.requests)

        wall, cpu = time.perf_counter(), time.process_time()
        statuses = call_all(app, plain)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        n = args.requests
        say(f"\nplain: {wall / n * 1000:.3f} ms wall, {cpu / n * 1000:.3f} ms CPU a request ({n} requests)")

        pg = psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
        redis = Redis.from_url(redis_url)
        bodies = [e["wsgi.input"].getvalue() for e in plain]
        w2, c2 = time.perf_counter(), time.process_time()
        for i, body in enumerate(bodies):
            pg.execute("INSERT INTO bench_ceiling (webhook_id, body) VALUES (%s, %s)", (f"p-{i}", body.decode()))
            redis.lpush("bench:wprof", body)
        w2, c2 = time.perf_counter() - w2, time.process_time() - c2
        say(f"raw INSERT + LPUSH: {w2 / n * 1000:.3f} ms wall, {c2 / n * 1000:.3f} ms CPU a request")
        pg.close()
        redis.close()

        # CPU time of this thread, not wall time: waiting for PostgreSQL's commit is not a cost to cut here.
        profile = cProfile.Profile(time.thread_time)
        profile.enable()
        statuses += call_all(app, profiled)
        profile.disable()
        report_profile(profile, n, args.top)

        stored = count_rows(database_url, f"webhook_deliveries WHERE shop_domain = '{SHOP_DOMAIN}'")
        app.extensions["connector"].engine.dispose()
    ok = sum(s.startswith("200") for s in statuses)
    line = f"{2 * n} requests, {ok} answered 200, {stored} stored (with the 50 warm-up requests)"
    good = ok == 2 * n and stored == 2 * n + 50
    say(f"\n[{'ok' if good else 'MISMATCH'}] {line}")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
