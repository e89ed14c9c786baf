"""Every injectable fault kind; whether the operation executed is checked through the control API."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from shopify_sim import SimServer

from .conftest import add_variant, gql
from .documents import CUSTOMER_CREATE, FIND_VARIANT, ORDER_CREATE


def order_variables(sim: SimServer, redemption: str = "f1") -> dict[str, Any]:
    variant = add_variant(sim, f"SKU-{redemption}", tracked=False)["variants"][0]["admin_graphql_api_id"]
    return {
        "order": {
            "lineItems": [{"variantId": variant, "quantity": 1}],
            "sourceIdentifier": redemption,
            "tags": [f"redemption-{redemption}"],
        }
    }


def orders(sim: SimServer) -> int:
    return sim.control("orders")["count"]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_do_not_execute(sim: SimServer, status: int) -> None:
    variables = order_variables(sim)
    sim.control("faults", {"queue": [{"kind": str(status)}]})
    response = sim.graphql(ORDER_CREATE, variables)
    assert response.status_code == status
    assert orders(sim) == 0
    assert sim.graphql(ORDER_CREATE, variables).status_code == 200  # one-shot
    assert orders(sim) == 1


def test_429_has_retry_after_and_does_not_execute(sim: SimServer) -> None:
    variables = order_variables(sim)
    sim.control("faults", {"queue": [{"kind": "429"}, {"kind": "429", "retry_after": "2.0"}]})
    first = sim.graphql(ORDER_CREATE, variables)
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "1.0"
    second = sim.graphql(ORDER_CREATE, variables)
    assert second.headers["Retry-After"] == "2.0"
    assert orders(sim) == 0
    stats = sim.control("stats")
    assert stats["faults_by_kind"] == {"429": 2}
    assert stats["http_statuses"]["429"] == 2


def test_throttled_fault_answers_like_the_bucket(sim: SimServer) -> None:
    sim.control("faults", {"queue": ["throttled"]})
    body = gql(sim, CUSTOMER_CREATE, {"input": {"email": "t@example.com"}})
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert body["extensions"]["cost"]["actualQueryCost"] is None
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 2000  # nothing spent
    assert sim.control("customers")["count"] == 0


def test_user_error_fault_answers_the_given_error(sim: SimServer) -> None:
    variables = order_variables(sim)
    error = {"field": ["order", "lineItems", "0", "variantId"], "message": "Variant is unavailable", "code": "INVALID"}
    sim.control("faults", {"queue": [{"kind": "user_error", "operation": "orderCreate", "user_error": error}]})
    body = gql(sim, ORDER_CREATE, variables)
    assert body["data"]["orderCreate"] == {"order": None, "userErrors": [error]}
    assert orders(sim) == 0
    default = {"queue": [{"kind": "user_error"}]}
    sim.control("faults", default)
    gql(sim, FIND_VARIANT, {"query": "sku:x", "first": 1})  # a query does not consume a user_error fault
    customer = gql(sim, CUSTOMER_CREATE, {"input": {"email": "u@example.com"}})["data"]["customerCreate"]
    assert customer == {"customer": None, "userErrors": [{"field": None, "message": "Simulated user error"}]}


def test_timeout_does_not_execute(sim: SimServer) -> None:
    variables = order_variables(sim)
    sim.control("faults", {"queue": [{"kind": "timeout", "seconds": 0.5}]})
    with pytest.raises(requests.Timeout):
        sim.graphql(ORDER_CREATE, variables, timeout=0.2)
    time.sleep(0.5)
    assert orders(sim) == 0


def test_after_effect_500_executes_then_fails(sim: SimServer) -> None:
    variables = order_variables(sim, "ae500")
    sim.control("faults", {"queue": [{"kind": "after_effect_500", "operation": "orderCreate"}]})
    response = sim.graphql(ORDER_CREATE, variables)
    assert response.status_code == 500
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert sim.control("orders?source_identifier=ae500")["count"] == 1  # created, client never heard


def test_after_effect_timeout_executes_then_goes_silent(sim: SimServer) -> None:
    variables = order_variables(sim, "aet")
    sim.control("faults", {"queue": [{"kind": "after_effect_timeout", "seconds": 0.6}]})
    with pytest.raises(requests.Timeout):
        sim.graphql(ORDER_CREATE, variables, timeout=0.2)
    assert sim.control("orders?source_identifier=aet")["count"] == 1


def test_faults_restricted_to_an_operation_wait_for_it(sim: SimServer) -> None:
    variables = order_variables(sim)
    sim.control("faults", {"queue": [{"kind": "503", "operation": "orderCreate", "count": 2}]})
    assert sim.graphql(FIND_VARIANT, {"query": "sku:x", "first": 1}).status_code == 200
    assert len(sim.control("faults")["queue"]) == 2
    assert sim.graphql(ORDER_CREATE, variables).status_code == 503
    assert sim.control("faults")["queue"] == [{"kind": "503", "operation": "orderCreate"}]
    # Matching on the operation name works too.
    sim.control("faults", {"queue": [{"kind": "500", "operation": "FindVariantBySku"}], "replace": True})
    assert sim.graphql(FIND_VARIANT, {"query": "sku:x", "first": 1}).status_code == 500
    sim.control("faults", method="DELETE")
    assert sim.control("faults")["queue"] == []


def test_seeded_rates_are_reproducible(sim: SimServer) -> None:
    def pattern() -> list[int]:
        sim.control("faults", {"rates": {"503": 0.5}, "seed": 7, "operation": "productVariants"})
        return [sim.graphql(FIND_VARIANT, {"query": "sku:x", "first": 1}).status_code for _ in range(12)]

    first = pattern()
    assert set(first) == {200, 503}
    assert pattern() == first
    sim.control("faults", {"rates": {"503": 1.0}, "operation": "orderCreate"})
    assert sim.graphql(FIND_VARIANT, {"query": "sku:x", "first": 1}).status_code == 200


def test_latency_is_added_to_each_request(sim: SimServer) -> None:
    sim.control("config", {"latency_ms": 150})
    started = time.monotonic()
    assert sim.graphql(FIND_VARIANT, {"query": "sku:x", "first": 1}).status_code == 200
    assert time.monotonic() - started >= 0.15


def test_unknown_fault_kind_is_rejected(sim: SimServer) -> None:
    answer = sim.control("faults", {"queue": [{"kind": "418"}]}, check=False)
    assert "unknown fault kind" in answer["error"]
