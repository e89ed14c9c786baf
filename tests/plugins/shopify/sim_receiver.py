"""A webhook endpoint on 127.0.0.1 that records what the Shopify simulator delivers to it."""

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
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """Where the connector serves Shopify's webhooks: ``{public URL}/webhooks/shopify``."""
        return f"{self.base_url}/webhooks/shopify"

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.requests)


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
        return Response("ok")

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    holder["r"] = Receiver(base_url=f"http://127.0.0.1:{server.server_port}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield holder["r"]
    finally:
        server.shutdown()
        server.server_close()
