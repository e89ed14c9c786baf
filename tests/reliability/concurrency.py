"""Helpers for the redelivery and concurrent-action tests: a live HTTP server, calls released together.

Everything here is bounded: threads are joined with a timeout and a call that
does not come back in time fails the test instead of hanging CI.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from werkzeug.serving import make_server

from connector.app import create_app
from connector.core.runtime import Runtime

#: Longest a released call may take before the test fails (a lock wait that never ends, say).
CALL_TIMEOUT = 60.0


@contextmanager
def live_app(rt: Runtime) -> Iterator[str]:
    """The real app on 127.0.0.1 (threaded werkzeug server, one thread per request); yields its base URL."""
    app = create_app(rt.settings, runtime=rt)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@dataclass(frozen=True)
class Outcome:
    """What one released call returned, or the exception it raised."""

    index: int
    value: Any = None
    error: BaseException | None = None


def release_together(calls: Sequence[Callable[[], Any]], timeout: float = CALL_TIMEOUT) -> list[Outcome]:
    """Start every call in its own thread, release them at once (a barrier), return outcomes in call order."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Outcome | None] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=timeout)
            outcomes[i] = Outcome(i, value=call())
        except BaseException as exc:  # noqa: BLE001 - reported to the test, which asserts on it
            outcomes[i] = Outcome(i, error=exc)

    threads = [threading.Thread(target=run, args=(i, c), daemon=True) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    stuck = [i for i, t in enumerate(threads) if t.is_alive()]
    assert not stuck, f"calls {stuck} did not return within {timeout:.0f}s (a lock that is never released?)"
    return [o for o in outcomes if o is not None]


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, reduced to what the assertions need."""

    status: int
    body: Any

    @property
    def error_code(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return self.body["error"].get("code")
        return None


def post(url: str, *, json: Any = None, data: bytes | None = None, headers: dict[str, str] | None = None) -> Answer:
    """POST and keep the status and the JSON body (or the text, when the body is not JSON)."""
    response = requests.post(url, json=json, data=data, headers=headers, timeout=CALL_TIMEOUT)
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return Answer(response.status_code, body)
