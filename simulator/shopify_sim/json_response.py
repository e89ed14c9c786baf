"""The JSON answers of the GraphQL endpoint and of the control API."""

from __future__ import annotations

import json
from typing import Any

from flask import Response


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``data`` as JSON with ``status`` and extra ``headers``."""
    response = Response(json.dumps(data), status=status, mimetype="application/json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response
