"""A real HTTP server on 127.0.0.1 that plays the loyalty platform's webhook receiver."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[2] / "docs" / "platform-integration.md"
#: Settings under which the runtime sends webhooks to this receiver (a module's ``RUNTIME_OPTIONS``):
#: 127.0.0.1 allowed, and three attempts so a test can run out of them.
SEND_TO_RECEIVER: dict[str, Any] = {"outbound_allow_local": True, "outbound_max_attempts": 3}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str = ""
    #: Status codes to answer, one per request; 204 once it runs out.
    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    #: Decides the status from the event instead of ``script`` when set (e.g. fail one redemption only).
    answer: Callable[[dict[str, Any]], int] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def types(self) -> list[str]:
        return [r.event["type"] for r in self.received]


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                got = Received(self.path, dict(self.headers.items()), body)
                receiver.received.append(got)
                if receiver.answer is not None:
                    status = receiver.answer(got.event)
                else:
                    status = receiver.script.pop(0) if receiver.script else 204
            self.send_response(status)
            answer = b"" if status == 204 else f"receiver says {status}".encode()
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_port}/hooks/connector"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def documented_verify() -> Any:
    """The ``verify`` function of docs/platform-integration.md, run exactly as a reader would copy it."""
    text = DOCS.read_text()
    block = re.search(r"<!-- verify-snippet -->\s*```python\n(.*?)```", text, re.DOTALL)
    assert block, "docs/platform-integration.md lost its verification snippet"
    namespace: dict[str, Any] = {}
    exec(compile(block.group(1), str(DOCS), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["verify"]
