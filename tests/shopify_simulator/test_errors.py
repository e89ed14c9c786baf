"""Authentication, access scopes and Shopify-shaped errors for invalid documents."""

from __future__ import annotations

import requests

from shopify_sim import SimServer

from .conftest import gql
from .documents import CUSTOMER_CREATE, FIND_ORDERS, ORDER_CANCEL, ORDER_CREATE


def test_wrong_or_missing_token_is_401(sim: SimServer) -> None:
    wrong = sim.graphql(FIND_ORDERS, {"query": ""}, token="shpat_wrong")
    assert wrong.status_code == 401
    assert wrong.json() == {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
    missing = requests.post(sim.graphql_url, json={"query": "{ orders(first: 1) { nodes { id } } }"}, timeout=10)
    assert missing.status_code == 401
    sim.control("config", {"access_token": "shpat_rotated"})
    assert sim.graphql(FIND_ORDERS, {"query": ""}).status_code == 200  # helper follows the config
    assert sim.graphql(FIND_ORDERS, {"query": ""}, token="shpat_simulator").status_code == 401
    assert sim.control("stats")["unauthorized"] == 3


def test_missing_scope_is_access_denied(sim: SimServer) -> None:
    sim.control("config", {"missing_scopes": ["write_orders"]})
    body = gql(sim, ORDER_CREATE, {"order": {"lineItems": [{"title": "x", "quantity": 1}]}})
    error = body["errors"][0]
    assert error["message"] == "Access denied for orderCreate field. Required access: `write_orders` access scope."
    assert error["extensions"]["code"] == "ACCESS_DENIED"
    assert body["data"] == {"orderCreate": None}
    assert sim.control("orders")["count"] == 0
    cancel = gql(sim, ORDER_CANCEL, {"orderId": "gid://shopify/Order/1", "reason": "OTHER", "restock": False})
    assert cancel["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
    # Other scopes are still granted.
    assert "errors" not in gql(sim, CUSTOMER_CREATE, {"input": {"email": "ok@example.com"}})
    assert "errors" not in gql(sim, FIND_ORDERS, {"query": ""})


def test_unknown_field_is_undefined_field(sim: SimServer) -> None:
    body = gql(sim, "query Q { orders(first: 1) { nodes { id definitelyNotAnOrderField } } }")
    assert "data" not in body
    error = body["errors"][0]
    assert error["message"] == "Field 'definitelyNotAnOrderField' doesn't exist on type 'Order'"
    assert error["extensions"] == {
        "code": "undefinedField",
        "typeName": "Order",
        "fieldName": "definitelyNotAnOrderField",
    }
    assert error["locations"] == [{"line": 1, "column": 41}]
    # Fields Shopify has but the simulator does not implement are rejected the same way.
    assert gql(sim, "{ shop { id } }")["errors"][0]["extensions"]["code"] == "undefinedField"


def test_syntax_and_argument_errors(sim: SimServer) -> None:
    syntax = gql(sim, "query Broken {\n  orders(first: 1) {\n")
    assert syntax["errors"][0]["extensions"]["code"] == "PARSE_ERROR"
    assert syntax["errors"][0]["message"].startswith("syntax error, ")
    missing = gql(sim, 'mutation { orderCancel(orderId: "gid://shopify/Order/1", reason: OTHER) { job { id } } }')
    assert missing["errors"][0]["extensions"]["code"] == "missingRequiredArguments"
    assert missing["errors"][0]["message"] == "Field 'orderCancel' is missing required arguments: restock"
    misspelt = gql(sim, "query { orders(frist: 1) { nodes { id } } }")
    assert misspelt["errors"][0]["extensions"]["code"] == "argumentNotAccepted"


def test_invalid_variables_are_invalid_variable(sim: SimServer) -> None:
    body = gql(
        sim,
        ORDER_CREATE,
        {
            "order": {"lineItems": [{"variantId": "gid://shopify/ProductVariant/1"}]},
            "options": {"inventoryBehavior": "BYPASS"},
        },
    )
    codes = {e["extensions"]["code"] for e in body["errors"]}
    assert codes == {"INVALID_VARIABLE"}
    messages = [e["message"] for e in body["errors"]]
    assert "Variable $order of type OrderCreateOrderInput! was provided invalid value" in messages
    assert "Variable $options of type OrderCreateOptionsInput was provided invalid value" in messages
    problems = [p for e in body["errors"] for p in e["extensions"]["problems"]]
    assert any("quantity" in p["explanation"] for p in problems)
    assert any("inventoryBehaviour" in p["explanation"] for p in problems)  # "Did you mean ..."
    assert sim.control("stats")["invalid"] == 1


def test_missing_connection_size_and_bad_requests(sim: SimServer) -> None:
    body = gql(sim, "{ orders { nodes { id } } }")
    assert body["errors"][0]["message"] == "you must provide one of first or last"
    no_query = requests.post(sim.graphql_url, json={}, timeout=10, headers={"X-Shopify-Access-Token": sim.access_token})
    assert no_query.status_code == 400
    bad_version = sim.graphql(FIND_ORDERS, {"query": ""}, version="latest")
    assert bad_version.status_code == 404
    other_version = sim.graphql(FIND_ORDERS, {"query": ""}, version="2026-04")
    assert other_version.status_code == 200
    assert other_version.headers["X-Shopify-API-Version"] == "2026-07"


def test_application_graphql_body(sim: SimServer) -> None:
    response = requests.post(
        sim.graphql_url,
        data="{ orders(first: 1) { nodes { id } } }",
        timeout=10,
        headers={"X-Shopify-Access-Token": sim.access_token, "Content-Type": "application/graphql"},
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"orders": {"nodes": []}}


def test_request_log_records_operations(sim: SimServer) -> None:
    gql(sim, FIND_ORDERS, {"query": ""})
    entries = sim.control("requests")["requests"]
    assert entries[-1]["operation"] == "OrdersByQuery"
    assert entries[-1]["root_fields"] == ["orders"]
    assert entries[-1]["outcome"] == "ok"
