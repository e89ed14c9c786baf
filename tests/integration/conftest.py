"""Real Redis and real ``connector worker`` processes."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from redis import Redis

from connector.core.runtime import Runtime
from connector.dispatch import RqDispatcher
from tests.conftest import IN_CI, REDIS_URL


@pytest.fixture
def redis_url() -> Iterator[str]:
    # A database of its own, flushed around each test (CONNECTOR_TEST_REDIS_FLUSHED_DB picks another, so two
    # checkouts can run these tests at once on one Redis).
    url = REDIS_URL.rsplit("/", 1)[0] + "/" + os.environ.get("CONNECTOR_TEST_REDIS_FLUSHED_DB", "9")
    client = Redis.from_url(url)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        if IN_CI:
            pytest.fail(f"Redis is not reachable at {url}: {exc}")
        pytest.skip(f"Redis is not reachable at {url}")
    client.flushdb()
    yield url
    client.flushdb()


@pytest.fixture
def rq_runtime(make_runtime: Callable[..., Runtime], redis_url: str, tmp_path: Path) -> Runtime:
    queue = f"test-{uuid.uuid4().hex[:8]}"
    rt = make_runtime(
        redis_url=redis_url,
        jobs_mode="rq",
        queue_name=queue,
        plugin_env={"EXAMPLE_ORDERS_FILE": str(tmp_path / "orders.jsonl")},
    )
    rt.dispatcher = RqDispatcher(redis_url, queue)
    return rt


def worker_env(rt: Runtime, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    env.update(
        CONNECTOR_DATABASE_URL=rt.settings.database_url,
        CONNECTOR_REDIS_URL=rt.settings.redis_url or "",
        CONNECTOR_QUEUE=rt.settings.queue_name,
        CONNECTOR_OUTBOX_DIR=str(rt.settings.outbox_dir),
        CONNECTOR_RETRY_BASE_SECONDS="1",
        CONNECTOR_ENCRYPTION_KEYS=",".join(rt.settings.encryption_keys),
        **rt.settings.plugin_env,
    )
    env.update(extra)
    return env


def run_cli(rt: Runtime, *args: str, timeout: float = 120, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "connector", *args],
        env=worker_env(rt, **extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


SHOP_TOKEN = "shpat_test_token"  # the token seed_world() gives the shop
SHOP_SECRET = "whsec_test_secret_0123456789"


@pytest.fixture
def sim() -> Iterator[object]:
    """A Shopify simulator on 127.0.0.1 with the rewards' products in stock."""
    from shopify_sim import SimServer

    server = SimServer(access_token=SHOP_TOKEN, webhook_secret=SHOP_SECRET, shop_domain="acme-pets.myshopify.com")
    server.start()
    server.control("products", {"title": "Ambassador T-Shirt", "variants": [{"sku": "TSHIRT-M", "inventory": 1000}]})
    yield server
    server.stop()
