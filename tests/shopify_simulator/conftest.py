"""Fixtures: one simulator per session (reset before each test) and a webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shopify_sim import SimServer
from tests.webhook_receiver import Receiver, receiving


@pytest.fixture(scope="session")
def sim_server() -> Iterator[SimServer]:
    with SimServer() as server:
        yield server


@pytest.fixture()
def sim(sim_server: SimServer) -> SimServer:
    """The session's simulator, emptied and back on its start-up settings."""
    sim_server.control("reset", {"config": True})
    return sim_server


class GraphQLFailure(AssertionError):
    pass


def gql(sim: SimServer, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """POST a document, assert HTTP 200, return the decoded body."""
    response = sim.graphql(query, variables, **kwargs)
    if response.status_code != 200:
        raise GraphQLFailure(f"HTTP {response.status_code}: {response.text}")
    return response.json()


def data(sim: SimServer, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """Like :func:`gql` but also assert there are no top-level errors; returns ``data``."""
    body = gql(sim, query, variables, **kwargs)
    if body.get("errors"):
        raise GraphQLFailure(f"errors: {body['errors']}")
    return body["data"]


def add_variant(sim: SimServer, sku: str, **spec: Any) -> dict[str, Any]:
    """Seed a one-variant product; returns the REST product payload."""
    return sim.control("products", {"sku": sku, "title": spec.pop("title", f"Product {sku}"), **spec})["product"]


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    with receiving() as started:
        yield started
