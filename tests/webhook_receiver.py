"""A webhook endpoint on 127.0.0.1 that records what the Shopify simulator delivers to it.

Shared by the simulator's own tests (tests/shopify_simulator, as the ``receiver`` fixture) and the
Shopify plugin's tests (tests/plugins/shopify), which check the deliveries a real subscription makes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    base_url: str
    requests: list[Received] = field(default_factory=list)
    #: The HTTP status every delivery gets: a test sets 500 to make the simulator retry.
    status: int = 200
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        """Where the connector serves Shopify's webhooks: ``{public URL}/webhooks/shopify``."""
        return f"{self.base_url}/webhooks/shopify"

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.requests)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """The deliveries so far, once there are ``count`` (or ``timeout`` has passed): deliveries are async."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)
        return self.received()

    def topics(self) -> list[str]:
        with self.lock:
            return [r.headers["X-Shopify-Topic"] for r in self.requests]


class _Quiet(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's signature
        pass


@contextmanager
def receiving() -> Iterator[Receiver]:
    holder: dict[str, Receiver] = {}

    @Request.application
    def app(request: Request) -> Response:
        receiver = holder["r"]
        with receiver.lock:
            receiver.requests.append(Received(request.path, dict(request.headers), request.get_data()))
        with receiver.arrived:
            receiver.arrived.notify_all()
        return Response("ok", status=receiver.status)

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    holder["r"] = Receiver(base_url=f"http://127.0.0.1:{server.server_port}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield holder["r"]
    finally:
        server.shutdown()
        server.server_close()
