"""``currentAppInstallation.accessScopes`` and the scope checks follow the token's grant."""

from __future__ import annotations

import pytest
from graphql import GraphQLSchema, build_ast_schema, parse, validate

from shopify_sim import SimServer
from shopify_sim.schema import base_schema
from shopify_sim.scopes import KNOWN_SCOPES
from tests.shopify_schema import admin_sdl

from .conftest import data, gql
from .documents import FIND_CUSTOMERS, ORDER_CREATE
from .oauth_flow import APP_SCOPES, ORDERS_PAGE, install


def _handles(sim: SimServer, token: str | None = None) -> list[str]:
    installation = data(sim, APP_SCOPES, token=token)["currentAppInstallation"]
    assert installation["id"].startswith("gid://shopify/AppInstallation/")
    scopes = installation["accessScopes"]
    assert all(s["description"] for s in scopes)
    return [s["handle"] for s in scopes]


@pytest.fixture(scope="module")
def real_schema() -> GraphQLSchema:
    return build_ast_schema(parse(admin_sdl(), no_location=True), assume_valid_sdl=True, assume_valid=True)


@pytest.mark.parametrize("document", [APP_SCOPES, ORDERS_PAGE])
def test_documents_validate_against_the_subset_and_shopifys_schema(document: str, real_schema: GraphQLSchema) -> None:
    real = real_schema
    assert validate(base_schema(), parse(document)) == []
    assert validate(real, parse(document)) == []


def test_static_token_has_every_known_scope_less_missing_scopes(sim: SimServer) -> None:
    assert _handles(sim) == sorted(KNOWN_SCOPES)
    sim.control("config", {"missing_scopes": ["write_orders"]})
    assert _handles(sim) == sorted(KNOWN_SCOPES - {"write_orders"})


def test_an_issued_token_lists_what_was_granted(sim: SimServer) -> None:
    token = install(sim, scope="read_orders,read_customers")["access_token"]
    assert _handles(sim, token) == ["read_customers", "read_orders"]
    sim.control("config", {"granted_scopes": ["read_products"]})
    other = install(sim)["access_token"]
    assert _handles(sim, other) == ["read_products"]
    assert _handles(sim, token) == ["read_customers", "read_orders"]  # a grant keeps its scopes


def test_scope_checks_follow_the_token(sim: SimServer) -> None:
    reader = install(sim, scope="read_orders")["access_token"]
    assert "orders" in data(sim, ORDERS_PAGE, token=reader)
    denied = gql(sim, ORDER_CREATE, {"order": {"lineItems": []}}, token=reader)
    assert denied["data"] is None or denied["data"].get("orderCreate") is None
    assert denied["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
    assert "write_orders" in denied["errors"][0]["message"]
    customers = gql(sim, FIND_CUSTOMERS, {"query": "email:a@example.com"}, token=reader)
    assert customers["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"

    writer = install(sim, scope="write_orders")["access_token"]
    assert "orders" in data(sim, ORDERS_PAGE, token=writer)  # write_ implies read_
