"""Calculated cost, the leaky bucket, THROTTLED answers (nothing executes) and restoration."""

from __future__ import annotations

import time

from shopify_sim import SimServer

from .conftest import add_variant, gql
from .documents import CUSTOMER_CREATE, FIND_VARIANT

CHEAP = "query Cheap { productVariants(first: 1) { nodes { id } } }"


def test_every_response_carries_cost_and_throttle_status(sim: SimServer) -> None:
    body = gql(sim, FIND_VARIANT, {"query": "sku:X", "first": 2})
    cost = body["extensions"]["cost"]
    # connection: 2 + first(2) * (1 node + inventoryItem 1 + product 1) = 8
    assert cost["requestedQueryCost"] == 8
    assert cost["actualQueryCost"] == 8
    assert cost["throttleStatus"] == {"maximumAvailable": 2000, "currentlyAvailable": 1992, "restoreRate": 100}
    mutation = gql(sim, CUSTOMER_CREATE, {"input": {"email": "cost@example.com"}})
    assert mutation["extensions"]["cost"]["requestedQueryCost"] == 10


def test_burst_beyond_the_bucket_is_throttled_and_nothing_executes(sim: SimServer) -> None:
    sim.control("config", {"bucket_size": 35, "restore_rate": 1})
    outcomes = []
    for i in range(6):
        body = gql(sim, CUSTOMER_CREATE, {"input": {"email": f"burst{i}@example.com"}})
        outcomes.append(body)
    throttled = [b for b in outcomes if b.get("errors")]
    executed = [b for b in outcomes if not b.get("errors")]
    assert len(executed) == 3  # 3 x 10 points out of 35
    assert len(throttled) == 3
    for body in throttled:
        assert body["errors"][0]["message"] == "Throttled"
        assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
        assert "data" not in body
        cost = body["extensions"]["cost"]
        assert cost["requestedQueryCost"] == 10 and cost["actualQueryCost"] is None
        assert cost["throttleStatus"]["currentlyAvailable"] < 10
    assert sim.control("customers")["count"] == 3  # throttled mutations did not run
    stats = sim.control("stats")
    assert stats["throttled"] == 3
    assert stats["executed"] == 3
    assert stats["min_currently_available"] >= 0
    assert stats["max_bucket_overdraft"] == 0


def test_bucket_restores_over_time(sim: SimServer) -> None:
    sim.control("config", {"bucket_size": 20, "restore_rate": 40})
    sim.control("bucket", {"drain": None})
    assert gql(sim, CUSTOMER_CREATE, {"input": {"email": "r@example.com"}})["errors"][0]["message"] == "Throttled"
    time.sleep(0.4)  # 40/s * 0.4 s = 16 points >= 10
    body = gql(sim, CUSTOMER_CREATE, {"input": {"email": "r@example.com"}})
    assert "errors" not in body
    status = body["extensions"]["cost"]["throttleStatus"]
    assert status["maximumAvailable"] == 20 and status["restoreRate"] == 40
    assert 0 <= status["currentlyAvailable"] < 20


def test_buckets_are_per_access_token(sim: SimServer) -> None:
    sim.control("config", {"bucket_size": 10, "restore_rate": 1})
    add_variant(sim, "T-1")
    assert "errors" not in gql(sim, CHEAP)  # costs 3
    sim.control("bucket", {"drain": None})
    assert gql(sim, CHEAP)["errors"][0]["extensions"]["code"] == "THROTTLED"
    other = sim.control("bucket?token=other-app")
    assert other["currentlyAvailable"] == 10


def test_single_query_max_cost(sim: SimServer) -> None:
    big = "query Big { orders(first: 250) { nodes { id lineItems(first: 5) { nodes { id } } } } }"
    body = gql(sim, big)
    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert body["errors"][0]["extensions"]["cost"] == 2 + 250 * (1 + 2 + 5 * 1)
    assert "data" not in body
