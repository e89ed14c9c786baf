"""A process-wide estimate of each shop's GraphQL rate-limit bucket.

Shopify limits the Admin API with a leaky bucket of query-cost points per app
and shop: ``currentlyAvailable`` points refill at ``restoreRate`` per second up
to ``maximumAvailable``, and every answer reports the bucket in
``extensions.cost.throttleStatus``. Every worker thread of a process talks to
the same shops, so the estimate is shared (and locked): a request is only sent
when the estimate says the bucket holds its cost, otherwise the caller waits
for the refill instead of spending a request on a ``THROTTLED`` answer.

Costs are learned per operation from ``requestedQueryCost`` (what Shopify
debits before running the query); until an operation has been seen once a
conservative default is assumed.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from connector.core.hooktypes import BucketReservation, RateLimitStatus, SharedBuckets

#: Assumed cost of an operation never seen before. Real costs of the plugin's documents
#: are 10-60 points; overestimating only delays the first call on a nearly empty bucket.
DEFAULT_COST = 100.0
#: Float slack so a wait computed to refill exactly the cost is not followed by a second, tiny one.
_EPSILON = 1e-6


@dataclass(frozen=True)
class ThrottleStatus:
    maximum_available: float
    currently_available: float
    restore_rate: float

    @classmethod
    def from_extensions(cls, extensions: Mapping[str, Any] | None) -> ThrottleStatus | None:
        """Read ``extensions.cost.throttleStatus``; None when absent or malformed."""
        cost = _cost(extensions)
        status = cost.get("throttleStatus") if cost else None
        if not isinstance(status, Mapping):
            return None
        try:
            maximum = float(status["maximumAvailable"])
            available = float(status["currentlyAvailable"])
            rate = float(status["restoreRate"])
        except (KeyError, TypeError, ValueError):
            return None
        if maximum <= 0 or rate <= 0:
            return None
        return cls(maximum, max(0.0, min(available, maximum)), rate)


def requested_cost(extensions: Mapping[str, Any] | None) -> float | None:
    """``extensions.cost.requestedQueryCost``, the points Shopify reserves before running the query."""
    cost = _cost(extensions)
    value = cost.get("requestedQueryCost") if cost else None
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None


def _cost(extensions: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if not isinstance(extensions, Mapping):
        return None
    cost = extensions.get("cost")
    return cost if isinstance(cost, Mapping) else None


@dataclass
class _Bucket:
    maximum: float
    available: float
    rate: float
    observed_at: float
    #: Points reserved by requests sent but not yet answered; the server has not reported them.
    in_flight: float = 0.0

    def estimate(self, now: float) -> float:
        refilled = self.available + max(0.0, now - self.observed_at) * self.rate
        return min(self.maximum, refilled) - self.in_flight


@dataclass(frozen=True)
class Reservation:
    """Points set aside for one request; give it back with ``ThrottleRegistry.settle``."""

    key: str
    points: float


class ThrottleRegistry:
    """Bucket estimates and learned operation costs, per shop, safe to share between threads."""

    def __init__(self, default_cost: float = DEFAULT_COST) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self._costs: dict[tuple[str, str], float] = {}
        self._default_cost = default_cost

    def cost_of(self, key: str, operation: str) -> float:
        with self._lock:
            return self._costs.get((key, operation), self._default_cost)

    def try_reserve(self, key: str, operation: str, now: float) -> tuple[Reservation | None, float]:
        """Reserve the operation's estimated cost, or say how long to wait for it.

        Returns ``(reservation, 0.0)`` when the request may go now, else
        ``(None, seconds)``. An unknown bucket (first request to a shop) is not
        waited for: nothing is known to be spent yet, and its answer teaches us.
        """
        with self._lock:
            cost = self._costs.get((key, operation), self._default_cost)
            bucket = self._buckets.get(key)
            if bucket is None:
                return Reservation(key, 0.0), 0.0
            # A query can never cost more than a full bucket: waiting for more would never end.
            cost = min(cost, bucket.maximum)
            available = bucket.estimate(now)
            if available + _EPSILON >= cost:
                bucket.in_flight += cost
                return Reservation(key, cost), 0.0
            return None, (cost - available) / bucket.rate

    def settle(
        self,
        reservation: Reservation,
        operation: str,
        extensions: Mapping[str, Any] | None,
        now: float,
    ) -> None:
        """Release a reservation and adopt whatever the answer said about the bucket and the cost."""
        status = ThrottleStatus.from_extensions(extensions)
        cost = requested_cost(extensions)
        with self._lock:
            bucket = self._buckets.get(reservation.key)
            if bucket is not None:
                bucket.in_flight = max(0.0, bucket.in_flight - reservation.points)
            if operation and cost is not None and cost > 0:
                self._costs[(reservation.key, operation)] = cost
            if status is not None:
                if bucket is None:
                    self._buckets[reservation.key] = _Bucket(
                        status.maximum_available, status.currently_available, status.restore_rate, now
                    )
                else:
                    bucket.maximum = status.maximum_available
                    bucket.available = status.currently_available
                    bucket.rate = status.restore_rate
                    bucket.observed_at = now

    def observe(self, key: str, extensions: Mapping[str, Any] | None, now: float) -> None:
        """Adopt a bucket report that came without a reservation (a THROTTLED answer, say)."""
        self.settle(Reservation(key, 0.0), "", extensions, now)

    def estimate(self, key: str, now: float) -> float | None:
        """Points the shop's bucket is estimated to hold now (for tests and diagnostics)."""
        with self._lock:
            bucket = self._buckets.get(key)
            return None if bucket is None else bucket.estimate(now)

    def forget(self, key: str | None = None) -> None:
        """Drop what is known about one shop (or all): used by tests and after a shop reconnects."""
        with self._lock:
            if key is None:
                self._buckets.clear()
                self._costs.clear()
            else:
                self._buckets.pop(key, None)
                for cost_key in [k for k in self._costs if k[0] == key]:
                    del self._costs[cost_key]


#: The one registry a process shares, so every worker thread sees the same buckets.
SHARED_THROTTLE = ThrottleRegistry()


class Throttle(Protocol):
    """What the GraphQL client needs of a bucket estimate: this module's registry or the host's buckets."""

    def try_reserve(self, key: str, operation: str, now: float) -> tuple[Any, float]: ...

    def settle(self, reservation: Any, operation: str, extensions: Mapping[str, Any] | None, now: float) -> None: ...

    def observe(self, key: str, extensions: Mapping[str, Any] | None, now: float) -> None: ...


class HostBuckets:
    """The host's shared buckets (``HookContext.buckets``: in Redis when RQ workers run the jobs), read through
    Shopify's ``extensions.cost``. The host keeps its own clock, so ``now`` is ignored."""

    def __init__(self, buckets: SharedBuckets) -> None:
        self.buckets = buckets

    def try_reserve(self, key: str, operation: str, now: float) -> tuple[BucketReservation | None, float]:
        return self.buckets.reserve(key, operation)

    def settle(
        self, reservation: BucketReservation, operation: str, extensions: Mapping[str, Any] | None, now: float
    ) -> None:
        status = ThrottleStatus.from_extensions(extensions)
        self.buckets.settle(
            reservation,
            operation,
            None
            if status is None
            else RateLimitStatus(status.currently_available, status.maximum_available, status.restore_rate),
            requested_cost(extensions),
        )

    def observe(self, key: str, extensions: Mapping[str, Any] | None, now: float) -> None:
        self.settle(BucketReservation(key, 0.0, 0), "", extensions, now)

    def count(self, key: str, what: str) -> None:
        self.buckets.count(key, what)
