"""Reading what Shopify's Admin API answered: the body, its error codes, throttle hints, Retry-After, and
whether a failed request may have reached Shopify at all.

Pure functions over an answer, kept apart from the client that sends requests (``graphql_client``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, overload

import requests
from urllib3.exceptions import NewConnectionError

from connector.plugins.shopify.payload_shapes import json_object
from connector.plugins.shopify.throttle import ThrottleStatus, requested_cost

#: Shortest sleep: keeps float rounding from spinning through near-zero waits.
MIN_WAIT = 0.01
#: Wait after a 429 or THROTTLED answer that carries no hint of its own.
DEFAULT_THROTTLE_WAIT = 1.0


def json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def error_codes(errors: Any) -> list[str]:
    codes = []
    if isinstance(errors, Sequence) and not isinstance(errors, str):
        for error in errors:
            if isinstance(error, Mapping):
                extensions = error.get("extensions")
                if isinstance(extensions, Mapping) and isinstance(extensions.get("code"), str):
                    codes.append(extensions["code"])
    return codes


def has_code(errors: Any, code: str) -> bool:
    return code in error_codes(errors)


def describe_errors(errors: Any, limit: int = 3) -> str:
    """A short, PII-free summary of top-level GraphQL errors.

    ``INVALID_VARIABLE`` messages quote the offending variable value (member
    data), so only their ``problems`` paths and explanations are kept.
    """
    if not isinstance(errors, Sequence) or isinstance(errors, str):
        return "unreadable error list"
    parts = []
    for error in list(errors)[:limit]:
        if not isinstance(error, Mapping):
            continue
        extensions = json_object(error, "extensions")
        code = extensions.get("code")
        if code == "INVALID_VARIABLE":
            problems = extensions.get("problems") or []
            details = "; ".join(
                f"{'.'.join(str(p) for p in problem.get('path') or [])}: {problem.get('explanation', '')}"
                for problem in problems
                if isinstance(problem, Mapping)
            )
            text = f"invalid variable ({details})" if details else "invalid variable"
        else:
            text = str(error.get("message") or "unknown error")
        text = text[:200]
        parts.append(f"{text} [{code}]" if code else text)
    return "; ".join(parts) or "unknown error"


def throttle_wait(extensions: Mapping[str, Any] | None) -> float:
    """``(requestedQueryCost - currentlyAvailable) / restoreRate``: when the bucket holds the cost again."""
    status = ThrottleStatus.from_extensions(extensions)
    cost = requested_cost(extensions)
    if status is None or cost is None:
        return DEFAULT_THROTTLE_WAIT
    return max(MIN_WAIT, (min(cost, status.maximum_available) - status.currently_available) / status.restore_rate)


@overload
def retry_after(value: str | None, default: float = DEFAULT_THROTTLE_WAIT) -> float: ...
@overload
def retry_after(value: str | None, default: None) -> float | None: ...
def retry_after(value: str | None, default: float | None = DEFAULT_THROTTLE_WAIT) -> float | None:
    """Parse ``Retry-After`` as seconds or as an HTTP date."""
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def may_have_been_sent(exc: requests.RequestException) -> bool:
    """False only when the failure provably happened before the request left this host."""
    if isinstance(exc, requests.ConnectTimeout | requests.exceptions.SSLError | requests.exceptions.InvalidURL):
        return False
    if isinstance(exc, requests.exceptions.ProxyError):
        return False
    if isinstance(exc, requests.ConnectionError):
        reason: Any = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
        if isinstance(reason, NewConnectionError):
            return False
    return True
