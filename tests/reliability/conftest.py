"""Fixtures of the fault-injection tests: private Redis and PostgreSQL, a fast simulator, RQ runtimes.

The tests kill and restart services, so they never use the shared servers for that: each starts
its own ``redis-server`` (and, for the outage test, its own PostgreSQL cluster). Without the
binaries they skip locally with a reason and fail under CI, like ``tests/integration``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from connector.core.runtime import Runtime
from connector.dispatch import RqDispatcher
from tests.conftest import IN_CI, backend
from tests.reliability.services import (
    SHOP_DOMAIN,
    SHOP_SECRET,
    SHOP_TOKEN,
    SKU,
    PrivatePostgres,
    PrivateRedis,
    ServiceUnavailable,
)


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def needs_postgres() -> None:
    """Several worker processes on one database: PostgreSQL only (SQLite serialises every writer)."""
    if backend() != "postgres":
        pytest.skip("the fault-injection tests run real workers in parallel: PostgreSQL only")


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A redis-server of this test's own (no persistence), so it can be killed without hurting anyone."""
    workdir = tmp_path / "redis"
    workdir.mkdir()
    try:
        server = PrivateRedis(workdir)
        server.start()
    except ServiceUnavailable as exc:
        _unavailable(f"cannot start a private Redis: {exc}")
    yield server
    server.stop()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of this test's own, so it can be stopped without hurting anyone."""
    try:
        cluster = PrivatePostgres()
    except ServiceUnavailable as exc:
        _unavailable(f"cannot start a private PostgreSQL: {exc}")
    try:
        cluster.init()
        cluster.start()
    except (ServiceUnavailable, OSError) as exc:
        cluster.destroy()
        _unavailable(f"cannot start a private PostgreSQL: {exc}")
    yield cluster
    cluster.destroy()


@pytest.fixture
def fast_sim() -> Iterator[object]:
    """The Shopify simulator with no latency and a bucket too large to throttle, the reward's SKU in stock."""
    from shopify_sim import SimServer

    server = SimServer(
        access_token=SHOP_TOKEN,
        webhook_secret=SHOP_SECRET,
        shop_domain=SHOP_DOMAIN,
        latency_ms=0,
        bucket_size=1_000_000,
        restore_rate=1_000_000,
    )
    server.start()
    server.control("products", {"title": "Ambassador T-Shirt", "variants": [{"sku": SKU, "inventory": 5000}]})
    yield server
    server.stop()


@pytest.fixture
def make_rq_runtime(
    needs_postgres: None, make_runtime: Callable[..., Runtime], private_redis: PrivateRedis, tmp_path: Path
) -> Callable[..., Runtime]:
    """Runtimes whose jobs go to the private Redis (a fresh queue), on the test database unless told otherwise."""

    def build(**overrides: object) -> Runtime:
        queue = f"reliability-{uuid.uuid4().hex[:8]}"
        rt = make_runtime(
            redis_url=private_redis.url(0),
            jobs_mode="rq",
            queue_name=queue,
            outbox_dir=tmp_path / "outbox",
            **overrides,
        )
        rt.dispatcher = RqDispatcher(private_redis.url(0), queue)
        return rt

    return build
