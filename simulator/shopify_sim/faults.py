"""Injectable failures for GraphQL requests: a queue of next-N faults and seeded random rates.

Fault kinds and what the client experiences:

=====================  =========================================================  =========
kind                   response                                                   executed?
=====================  =========================================================  =========
``429``                HTTP 429, ``Retry-After`` (default ``1.0``)                no
``500``/``502``/``503``  that HTTP status (502 has an HTML body, like a proxy)     no
``timeout``            sleeps ``seconds`` (default: config ``timeout_seconds``),  no
                       then HTTP 504
``throttled``          HTTP 200 ``THROTTLED`` error body, bucket untouched        no
``user_error``         HTTP 200, the mutation answers the given userError         no
``after_effect_500``   the mutation runs, then HTTP 500                           yes
``after_effect_timeout`` the mutation runs, then the response is held for         yes
                       ``seconds`` ("order created but the client never heard")
=====================  =========================================================  =========

A fault may name an ``operation``: it then only fires for requests whose operation name
or one of whose root fields has that name (``orderCreate`` matches any document that
calls ``orderCreate``). ``user_error`` faults only fire on requests with a mutation.
Queued faults fire first, in order; rates are rolled with a seeded ``random.Random`` so a
failing run can be replayed.

The token endpoint (``POST /admin/oauth/access_token``) takes only faults whose
``operation`` starts with ``oauth:`` (``oauth:access_token`` for every grant, or
``oauth:authorization_code`` / ``oauth:refresh_token`` / ``oauth:client_credentials``), so a
fault queued for GraphQL is never spent on a token request and the other way round. There
``after_effect_500``/``after_effect_timeout`` model "the refresh was done but its answer was
lost": the new tokens exist, the client never hears of them.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

KINDS = frozenset(
    {"429", "500", "502", "503", "timeout", "throttled", "user_error", "after_effect_500", "after_effect_timeout"}
)
#: Kinds where the operation still executes before the failure is answered.
AFTER_EFFECT_KINDS = frozenset({"after_effect_500", "after_effect_timeout"})
#: ``operation`` prefix of faults meant for the OAuth token endpoint.
OAUTH_PREFIX = "oauth:"
#: Kinds that make sense on the token endpoint (no GraphQL body, no mutation).
OAUTH_KINDS = frozenset({"429", "500", "502", "503", "timeout", "after_effect_500", "after_effect_timeout"})


def _check_oauth_kind(kind: str, operation: str | None) -> None:
    if operation is not None and str(operation).startswith(OAUTH_PREFIX) and kind not in OAUTH_KINDS:
        raise ValueError(f"fault kind {kind!r} cannot fire on the token endpoint; use one of {sorted(OAUTH_KINDS)}")


@dataclass(frozen=True)
class Fault:
    """One fault to inject."""

    kind: str
    operation: str | None = None
    #: Sleep for ``timeout``/``after_effect_timeout`` (``None`` = config ``timeout_seconds``).
    seconds: float | None = None
    #: ``Retry-After`` for ``429`` (``None`` = config ``retry_after``).
    retry_after: str | None = None
    #: For ``user_error``: ``{"field": [...], "message": "...", "code": "..."}``.
    user_error: dict[str, Any] | None = None

    def matches(self, names: frozenset[str], has_mutation: bool) -> bool:
        """Whether this fault applies to a request with these operation/root-field names."""
        if self.kind == "user_error" and not has_mutation:
            return False
        return self.operation is None or self.operation in names

    def as_dict(self) -> dict[str, Any]:
        """JSON view, omitting unset options."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Rate:
    """Fire ``kind`` with probability ``rate`` on each matching request."""

    kind: str
    rate: float
    operation: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON view."""
        return {k: v for k, v in asdict(self).items() if v is not None}


def parse_fault(data: dict[str, Any] | str) -> Fault:
    """Build a :class:`Fault` from JSON (a bare string is just the kind)."""
    if isinstance(data, str | int):
        data = {"kind": str(data)}
    kind = str(data.get("kind", ""))
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; known: {sorted(KINDS)}")
    user_error = data.get("user_error")
    if user_error is not None and not (isinstance(user_error, dict) and "message" in user_error):
        raise ValueError("user_error must be an object with at least a 'message'")
    seconds = data.get("seconds")
    retry_after = data.get("retry_after")
    _check_oauth_kind(kind, data.get("operation"))
    return Fault(
        kind=kind,
        operation=data.get("operation"),
        seconds=float(seconds) if seconds is not None else None,
        retry_after=str(retry_after) if retry_after is not None else None,
        user_error=user_error,
    )


def parse_rates(data: Any, operation: str | None = None) -> list[Rate]:
    """Accept ``{"500": 0.1, ...}`` or ``[{"kind": "500", "rate": 0.1, "operation": ...}]``."""
    items: list[dict[str, Any]]
    if isinstance(data, dict):
        items = [{"kind": k, "rate": v} for k, v in data.items()]
    elif isinstance(data, list):
        items = data
    else:
        raise ValueError("rates must be an object or a list")
    rates = []
    for item in items:
        kind = str(item.get("kind"))
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {sorted(KINDS)}")
        rate = float(item.get("rate", 0))
        if not 0 <= rate <= 1:
            raise ValueError("a rate must be between 0 and 1")
        _check_oauth_kind(kind, item.get("operation", operation))
        rates.append(Rate(kind=kind, rate=rate, operation=item.get("operation", operation)))
    return rates


class FaultInjector:
    """Thread-safe source of faults for the request pipeline."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[Fault] = []
        self._rates: list[Rate] = []
        self._random = random.Random(0)
        self.fired: Counter[str] = Counter()

    def configure(self, data: dict[str, Any]) -> None:
        """Apply a ``POST /_sim/faults`` body.

        Keys: ``queue`` (list of faults, each may carry ``count`` to repeat it), ``rates``,
        ``operation`` (default restriction for ``rates``), ``seed``, ``replace`` (default
        false: queued faults are appended and rates replaced only if given).
        """
        unknown = sorted(set(data) - {"queue", "rates", "operation", "seed", "replace"})
        if unknown:  # a fault body that configures nothing must not pass silently
            raise ValueError(f"unknown fault settings {unknown}; give 'queue': [{{'kind': ...}}] or 'rates'")
        queue: list[Fault] = []
        for item in data.get("queue") or []:
            count = int(item.get("count", 1)) if isinstance(item, dict) else 1
            queue.extend([parse_fault(item)] * count)
        rates = parse_rates(data["rates"], data.get("operation")) if "rates" in data else None
        with self._lock:
            if data.get("replace"):
                self._queue = []
                self._rates = []
            self._queue.extend(queue)
            if rates is not None:
                self._rates = rates
            if "seed" in data:
                self._random = random.Random(data["seed"])

    def clear(self) -> None:
        """Drop every queued fault and rate (the fired counters stay)."""
        with self._lock:
            self._queue.clear()
            self._rates.clear()

    def reset(self) -> None:
        """Back to no faults, fresh counters, seed 0."""
        with self._lock:
            self._queue.clear()
            self._rates.clear()
            self._random = random.Random(0)
            self.fired.clear()

    def take(self, names: frozenset[str], has_mutation: bool, scoped_only: bool = False) -> Fault | None:
        """The fault to apply to this request, if any (queued first, then rates).

        ``scoped_only``: only faults naming one of ``names`` apply (the token endpoint's rule).
        """
        with self._lock:
            for index, fault in enumerate(self._queue):
                if (fault.operation is not None or not scoped_only) and fault.matches(names, has_mutation):
                    del self._queue[index]
                    self.fired[fault.kind] += 1
                    return fault
            for rate in self._rates:
                fault = Fault(kind=rate.kind, operation=rate.operation)
                if scoped_only and fault.operation is None:
                    continue
                if fault.matches(names, has_mutation) and self._random.random() < rate.rate:
                    self.fired[fault.kind] += 1
                    return fault
        return None

    def snapshot(self) -> dict[str, Any]:
        """What is left to fire, plus counters (``GET /_sim/faults``)."""
        with self._lock:
            return {
                "queue": [f.as_dict() for f in self._queue],
                "rates": [r.as_dict() for r in self._rates],
                "fired": dict(self.fired),
            }
