"""What a view needs from the request it serves: the app's runtime and the one JSON error shape.

A leaf module (Flask and the core's ``Runtime`` only), so the blueprints import it instead of
``connector.app``, which imports them: no route module reaches back into the factory that mounts it.
``connector.app`` re-exports these names.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify

from connector.core.runtime import Runtime

#: The key under which ``create_app`` stores the ``Runtime`` in ``app.extensions``.
EXTENSION = "connector"


def current_runtime() -> Runtime:
    """The runtime of the app handling the current request."""
    return current_app.extensions[EXTENSION]


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    fields: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The one error shape: ``{"error": {"code", "message", "fields"?, "details"?}}``."""
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    if details:
        body["details"] = details
    response = jsonify({"error": body})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
