"""SimServer lifecycle, concurrency safety and the foreground ``run`` entry point."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from shopify_sim import SimServer, create_sim_app, sim_state

from .conftest import add_variant
from .documents import ORDER_CREATE


def test_context_manager_binds_an_ephemeral_port_and_releases_it() -> None:
    with SimServer(access_token="tok", latency_ms=0) as sim:
        assert sim.base_url.startswith("http://127.0.0.1:")
        assert sim.url == sim.base_url
        assert sim.graphql_url == f"{sim.base_url}/admin/api/2026-07/graphql.json"
        assert sim.control("config")["access_token"] == "tok"
        port = sim.port
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/_sim/stats", timeout=2)


def test_create_sim_app_rejects_unknown_settings() -> None:
    with pytest.raises(ValueError, match="unknown simulator setting"):
        create_sim_app(bucket_sise=10)
    app = create_sim_app(missing_scopes="write_orders,read_orders", bucket_size=50)
    state = sim_state(app)
    assert state.config.missing_scopes == frozenset({"write_orders", "read_orders"})
    assert state.buckets.get("x").status().maximum_available == 50


def test_concurrent_orders_never_oversell(sim: SimServer) -> None:
    variant = add_variant(sim, "LAST-ONES", inventory=3)["variants"][0]["admin_graphql_api_id"]
    variables = {
        "order": {"lineItems": [{"variantId": variant, "quantity": 1}]},
        "options": {"inventoryBehaviour": "DECREMENT_OBEYING_POLICY"},
    }

    def attempt(_: int) -> bool:
        body = sim.graphql(ORDER_CREATE, variables).json()
        return body["data"]["orderCreate"]["order"] is not None

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(12)))
    assert outcomes.count(True) == 3
    assert sim.control("orders")["count"] == 3
    names = sorted(o["name"] for o in sim.control("orders")["orders"])
    assert names == ["#1001", "#1002", "#1003"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_run_serves_in_the_foreground() -> None:
    port = _free_port()
    code = f"from shopify_sim import run; run(port={port}, access_token='cli', latency_ms=1)"
    process = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                config = requests.get(f"http://127.0.0.1:{port}/_sim/config", timeout=1).json()
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        assert config["access_token"] == "cli" and config["latency_ms"] == 1
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/admin/api/2026-07/graphql.json" in stderr
