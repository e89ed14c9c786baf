"""Fixtures: one simulator per session (reset before each test) and a webhook receiver."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from shopify_sim import SimServer


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


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    path: str


@dataclass
class Receiver:
    """A tiny webhook endpoint recording every delivery."""

    url: str
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)
        with self.lock:
            return list(self.requests)

    def topics(self) -> list[str]:
        with self.lock:
            return [r.headers["X-Shopify-Topic"] for r in self.requests]


class _Quiet(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    holder: dict[str, Receiver] = {}

    @Request.application
    def app(request: Request) -> Response:
        rec = holder["r"]
        entry = Received(headers=dict(request.headers), body=request.get_data(), path=request.path)
        with rec.lock:
            rec.requests.append(entry)
        with rec.arrived:
            rec.arrived.notify_all()
        return Response("ok", status=rec.status)

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    holder["r"] = Receiver(url=f"http://127.0.0.1:{server.server_port}/webhooks/shopify")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield holder["r"]
    finally:
        server.shutdown()
        server.server_close()
