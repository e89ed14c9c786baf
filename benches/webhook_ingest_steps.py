"""The in-process halves of ``webhook_ingest.py``: one drain run over what the load stored, and (c) the cost
of each step of the webhook path, timed in this process on one thread.

Kept apart from the load driver so each file holds one kind of measurement; ``webhook_ingest.py``
calls both with the database, Redis and signed deliveries it set up.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import benchlib
from benchlib import say

Headers = list[tuple[str, str]]
#: Makes ``count`` signed deliveries, each with its own ids (``webhook_ingest.Deliveries.signed``).
Signer = Callable[[int], list[tuple[Headers, bytes]]]


def count_rows(database_url: str, table: str) -> int:
    from sqlalchemy import text

    from connector.core.database import make_engine

    engine = make_engine(database_url)
    with engine.connect() as c:
        n = int(c.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0)
    engine.dispose()
    return n


def drain(database_url: str, redis_url: str, queue: str, tmp: Path) -> tuple[str, bool]:
    """Apply everything the load stored with one drain run, in this process, as a worker would.

    The ingest figures stop at "stored"; this shows the other half keeps up: deliveries applied
    per second by one process, and that every stored delivery ends ``processed``.
    """
    from connector.bootstrap import build_runtime
    from connector.config import Settings
    from connector.core.webhook_intake import DRAIN_JOB
    from connector.jobs import run_job

    settings = Settings.from_env(
        benchlib.key_env(),
        database_url=database_url,
        redis_url=redis_url,
        jobs_mode="rq",
        queue_name=queue,
        outbox_dir=tmp / "drain",
    )
    rt = build_runtime(settings)
    rows = count_rows(database_url, "webhook_deliveries")
    began, cpu = time.perf_counter(), time.process_time()
    result = run_job(DRAIN_JOB, 0, rt)
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    left = count_rows(database_url, "webhook_deliveries WHERE status <> 'processed'")
    rt.engine.dispose()
    say(
        f"\ndrain: one run applied {rows} deliveries ({result}) in {wall:.1f} s = {rows / wall:.0f}/s, "
        f"{cpu / max(rows, 1) * 1000:.2f} CPU ms each; {left} left unprocessed"
    )
    return (f"drain: {rows} stored deliveries applied by one run, {left} left", left == 0)


def _timed(label: str, fn: Callable[[int], object], n: int) -> tuple[str, float, float]:
    """Mean wall and CPU (this thread) milliseconds per call of ``fn(i)``, i in range(n)."""
    wall0, cpu0 = time.perf_counter(), time.thread_time()
    for i in range(n):
        fn(i)
    return label, (time.perf_counter() - wall0) / n * 1000, (time.thread_time() - cpu0) / n * 1000


def step_costs(
    n: int, database_url: str, redis_url: str, secret: str, signed: Signer, shop_domain: str, tmp: Path
) -> list[tuple[str, float, float]]:
    """(c): each step of the connector's webhook path, in this process, one thread, no contention."""
    import psycopg
    from redis import Redis

    from connector.app import create_app
    from connector.config import Settings
    from connector.core.hooktypes import InboundWebhook
    from connector.core.webhook_intake import DRAIN_JOB, DRAIN_KEY, receive_webhook, shop_secrets

    say(f"\n(c) timing each step of the connector's path in-process, one thread, {n} calls each")
    settings = Settings.from_env(
        benchlib.key_env(),
        database_url=database_url,
        redis_url=redis_url,
        jobs_mode="rq",
        queue_name=f"bench-steps-{uuid.uuid4().hex[:8]}",
        secret_key=uuid.uuid4().hex,
        outbox_dir=tmp / "outbox-steps",
    )
    app = create_app(settings)
    rt = app.extensions["connector"]
    client = app.test_client()
    ctx = rt.hook_context("shopify")
    batches = [signed(n) for _ in range(4)]

    def inbound(item: tuple[Headers, bytes]) -> InboundWebhook:
        headers, body = item
        return InboundWebhook(provider="shopify", headers={k.lower(): v for k, v in headers}, body=body)

    verify_items = [inbound(x) for x in batches[0]]
    run_key = uuid.uuid4().hex[:8]
    redis = Redis.from_url(redis_url)
    pg = psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    # Warm every path once (imports, pools, prepared statements, compiled SQL).
    [(warm_headers, warm_body)] = signed(1)
    receive_webhook(rt, "shopify", dict(warm_headers), warm_body)
    results = [
        _timed(
            "HMAC verify + parse (shopify plugin hook, no DB)",
            lambda i: rt.plugins.hook.connector_verify_webhook(
                webhook=verify_items[i], secrets_for=lambda _d: [secret], ctx=ctx
            ),
            n,
        ),
        _timed("shop secret lookup (ORM session, SELECT)", lambda i: shop_secrets(rt, shop_domain), n),
        _timed(
            "RQ enqueue (unique job, Lua script; only when no run waits)",
            lambda i: rt.dispatcher.enqueue("process_webhook", i, key=f"bench-steps-{run_key}-{i}"),
            n,
        ),
        _timed("wake the drain job (SET NX, a run already waits)", lambda i: rt.wake(DRAIN_JOB, key=DRAIN_KEY), n),
        _timed(
            "receive_webhook (verify + lookup + INSERT + wake)",
            lambda i: receive_webhook(rt, "shopify", dict(batches[1][i][0]), batches[1][i][1]),
            n,
        ),
        _timed(
            "whole route through Flask's test client",
            lambda i: client.post("/webhooks/shopify", data=batches[2][i][1], headers=batches[2][i][0]),
            n,
        ),
        _timed(
            "ceiling parts: raw psycopg INSERT (autocommit)",
            lambda i: pg.execute(
                "INSERT INTO bench_ceiling (webhook_id, body) VALUES (%s, %s)",
                (f"steps-{i}", batches[3][i][1].decode()),
            ),
            n,
        ),
        _timed("ceiling parts: Redis LPUSH", lambda i: redis.lpush(f"bench:steps:{run_key}", batches[3][i][1]), n),
    ]
    pg.close()
    redis.close()
    rt.sessions.kw["bind"].dispose()
    return results
