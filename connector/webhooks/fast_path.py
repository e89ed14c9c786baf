"""``POST /webhooks/<provider>`` served in front of Flask's request cycle when it succeeds.

Why: a delivery is the one request that arrives in bursts of hundreds a second, and on it Flask's
cycle (request context, session, URL map, before/after hooks, response object) cost about as much
CPU as verifying and storing the delivery (docs/performance.md, "Webhook ingest at issue 13").
This WSGI middleware does exactly what the view does on the success path, with the same
``receive_webhook`` use case, so "stored before 200" is unchanged: it answers only after the
row is committed.

Anything else goes to Flask untouched: other paths and methods, a body without a usable
``Content-Length`` or larger than the limit (the view's own checks answer those). And when
``receive_webhook`` raises (bad signature, unusable body, database down, a bug), the request is
handed to Flask with its body and the exception, and the view re-raises it there: so every
refusal keeps the app's one error shape, its logging and its error handlers, and is written
once, in ``views.py``. Nothing is stored before such an exception (storing is the last step),
so the hand-over cannot store twice.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from connector.core.runtime import Runtime
from connector.core.webhook_intake import receive_webhook

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

PREFIX = "/webhooks/"
#: The environ key that carries the fast path's exception to the view, which raises it in Flask.
PENDING_ERROR = "connector.webhook_error"
#: Only plain provider names take the fast path; anything odd gets Flask's routing and its 404.
_PROVIDER = re.compile(r"[a-z0-9_-]{1,64}")
#: The headers every answer carries (``connector.app._register_security_headers``).
_NOSNIFF = ("X-Content-Type-Options", "nosniff")


class _EnvironHeaders(Mapping[str, str]):
    """The request's headers by lower-case name, read straight from the WSGI environ."""

    def __init__(self, environ: Mapping[str, Any]) -> None:
        self._headers: dict[str, str] = {}
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                self._headers[key[5:].replace("_", "-").lower()] = value
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                self._headers[key.replace("_", "-").lower()] = environ[key]

    def __getitem__(self, name: str) -> str:
        return self._headers[name.lower()]

    def __iter__(self) -> Any:
        return iter(self._headers)

    def __len__(self) -> int:
        return len(self._headers)


def _declared_length(environ: Mapping[str, Any]) -> int | None:
    raw = environ.get("CONTENT_LENGTH")
    if not raw or environ.get("HTTP_TRANSFER_ENCODING"):
        return None
    try:
        size = int(raw)
    except ValueError:
        return None
    return size if size >= 0 else None


def _read_exactly(stream: Any, size: int) -> bytes | None:
    chunks: list[bytes] = []
    left = size
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            return None  # the client sent less than it declared
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def webhook_fast_path(flask_app: WSGIApplication, runtime: Runtime, *, hsts: str | None) -> WSGIApplication:
    """Wrap ``flask_app``: successful webhook deliveries are answered here, everything else by Flask."""
    limit = runtime.settings.webhook_max_bytes
    base_headers = [("Content-Type", "application/json"), _NOSNIFF]
    if hsts:
        base_headers.append(("Strict-Transport-Security", hsts))

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "POST" or not path.startswith(PREFIX):
            return flask_app(environ, start_response)
        provider = path[len(PREFIX) :]
        size = _declared_length(environ)
        if size is None or size > limit or not _PROVIDER.fullmatch(provider):
            return flask_app(environ, start_response)
        body = _read_exactly(environ["wsgi.input"], size)
        if body is None:
            environ["wsgi.input"] = io.BytesIO(b"")
            environ["CONTENT_LENGTH"] = "0"
            return flask_app(environ, start_response)
        try:
            received = receive_webhook(runtime, provider, _EnvironHeaders(environ), body)
        except Exception as exc:  # noqa: BLE001 - answered by the view, in Flask, with the app's handlers
            environ[PENDING_ERROR] = exc
            environ["wsgi.input"] = io.BytesIO(body)
            return flask_app(environ, start_response)
        if received.duplicate:
            answer: dict[str, Any] = {"status": "duplicate"}
        else:
            answer = {"status": "accepted", "delivery_id": received.delivery_id}
        payload = json.dumps(answer, separators=(",", ":")).encode() + b"\n"
        start_response("200 OK", [*base_headers, ("Content-Length", str(len(payload)))])
        return [payload]

    return app
