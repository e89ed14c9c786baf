"""Each shop's API rate-limit bucket, shared by every job that calls the shop, and the pacing of its jobs.

A shop's API allows a leaky bucket of points: ``available`` refills at ``restore_rate`` per second up
to ``maximum``, and each answer reports the bucket (Shopify: ``extensions.cost.throttleStatus``). Every
worker, thread or process, calling one shop draws on that one bucket, so the estimate is shared: in
this process (``LocalBuckets``, zero-config mode) or in Redis (``connector.redis_buckets``) when RQ
workers run the jobs. A request is sent only once the estimate holds its cost, so no request is spent
on a THROTTLED answer.

The same estimate serves the scheduler (docs/architecture.md, "Rate limits and fairness across shops"):

* ``try_grant``: a fulfilment job reserves what a whole job of its shop costs before it starts (its
  calls then draw on that), or is deferred to when the bucket can afford it, instead of holding its
  worker while the bucket refills;
* ``pace``: jobs of one shop are queued no faster than its bucket restores (after a burst of half a
  bucket), so one brand's backlog waits in the scheduled registry, not in front of another's job.

How many points one job spends is learned per shop (``learn_job_cost`` with what ``metering``
counted) and assumed to be ``DEFAULT_JOB_COST`` until then.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from connector.core.hooktypes import BucketReservation, RateLimitStatus

#: Assumed cost of an operation never seen before (real ones cost 10-60 points; overestimating only delays).
DEFAULT_COST = 100.0
#: Assumed points of one fulfilment job until a job of the shop has been measured: one 10-point `orderCreate`
#: carrying its customer (docs/performance.md) and a margin. Too high paces a backlog below its bucket.
DEFAULT_JOB_COST = 12.0
#: Assumed restore rate (points/s) of a shop whose bucket was never reported (Shopify's Standard plan).
DEFAULT_RESTORE_RATE = 100.0
#: Assumed bucket size of a shop never reported (Shopify's Standard plan: 1000 points).
DEFAULT_MAXIMUM = 1000.0
#: Share of the bucket a shop's jobs may start at once before pacing spaces them.
BURST_SHARE = 0.5
#: Weight of the newest measured job in the learned job cost (an exponential moving average).
JOB_COST_WEIGHT = 0.2
#: Float slack so a wait computed to refill exactly the cost is not followed by a second, tiny one.
EPSILON = 1e-6


@dataclass
class Meter:
    """Points the requests of one job were charged (the requested cost its answers reported)."""

    points: float = 0.0
    requests: int = 0


_METER: contextvars.ContextVar[Meter | None] = contextvars.ContextVar("connector_rate_meter", default=None)


@dataclass
class Grant:
    """Points a whole job reserved up front (``try_grant``): its calls draw on them without reserving again,
    so two jobs of one shop never each spend part of a bucket that affords only one, and neither finishes."""

    reservation: BucketReservation
    spent: float = 0.0

    def covers(self, key: str) -> bool:
        return self.reservation.key == key and self.spent < self.reservation.points


_GRANT: contextvars.ContextVar[Grant | None] = contextvars.ContextVar("connector_rate_grant", default=None)


@contextmanager
def granted(buckets: GrantingBuckets, reservation: BucketReservation) -> Iterator[Grant]:
    """Let the calls made inside draw on the job's reservation; give what is left back at the end."""
    grant = Grant(reservation)
    token = _GRANT.set(grant)
    try:
        yield grant
    finally:
        _GRANT.reset(token)
        buckets.release(reservation)


def covered(key: str) -> bool:
    """Whether a call to ``key`` made now is paid for by the running job's grant."""
    grant = _GRANT.get()
    return grant is not None and grant.covers(key)


class GrantingBuckets(Protocol):
    def release(self, reservation: BucketReservation) -> None: ...


@contextmanager
def metering() -> Iterator[Meter]:
    """Count what the calls made inside spend, so the scheduler learns what one job costs."""
    meter = Meter()
    token = _METER.set(meter)
    try:
        yield meter
    finally:
        _METER.reset(token)


def charge(key: str, points: float) -> None:
    """Add one answered request's cost to the job being metered and to its grant (no-op outside them)."""
    meter = _METER.get()
    if meter is not None:
        meter.points += points
        meter.requests += 1
    grant = _GRANT.get()
    if grant is not None and grant.reservation.key == key:
        grant.spent += points


def bucket_key(domain: str) -> str:
    """The name a shop's bucket goes by: its domain (the bucket is per app and shop, whichever row names it)."""
    return domain.strip().lower()


@dataclass
class _Bucket:
    maximum: float
    available: float
    rate: float
    observed_at: float
    #: Reservation id -> points, for requests sent but not yet answered.
    in_flight: dict[int, float] = field(default_factory=dict)
    #: Id of the reservation whose answer set ``available``; an older answer is not adopted over it.
    adopted: int = 0

    def refilled(self, now: float) -> float:
        return min(self.maximum, self.available + max(0.0, now - self.observed_at) * self.rate)

    def estimate(self, now: float) -> float:
        return self.refilled(now) - sum(self.in_flight.values())


@dataclass
class _Shop:
    bucket: _Bucket | None = None
    costs: dict[str, float] = field(default_factory=dict)
    job_cost: float | None = None
    #: Theoretical arrival time of the next job (GCRA): pacing spaces jobs from here.
    next_start: float = 0.0
    #: Requests sent while the bucket was unknown: one probe at a time until an answer reports it.
    probing: bool = False
    stats: dict[str, int] = field(default_factory=dict)


class LocalBuckets:
    """The buckets of this process: zero-config mode, where one process runs every job.

    Implements the same methods as ``connector.redis_buckets.RedisBuckets`` (``HookContext.buckets``).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, default_job_cost: float = DEFAULT_JOB_COST):
        self._clock = clock
        self._lock = threading.Lock()
        self._shops: dict[str, _Shop] = {}
        self._ids = 0
        self._default_job_cost = default_job_cost

    def _shop(self, key: str) -> _Shop:
        return self._shops.setdefault(key, _Shop())

    def reserve(self, key: str, operation: str) -> tuple[BucketReservation | None, float]:
        """Reserve the operation's estimated cost, or say how many seconds until the bucket holds it."""
        now = self._clock()
        with self._lock:
            shop = self._shop(key)
            cost = shop.costs.get(operation, DEFAULT_COST)
            self._ids += 1
            bucket = shop.bucket
            if covered(key):  # the job reserved this call's points up front
                return BucketReservation(key, 0.0, self._ids), 0.0
            if bucket is None:
                if shop.probing:  # another request is learning the bucket: wait for its answer
                    return None, 0.05
                shop.probing = True
                return BucketReservation(key, 0.0, self._ids), 0.0
            cost = min(cost, bucket.maximum)  # waiting for more than a full bucket would never end
            available = bucket.estimate(now)
            if available + EPSILON >= cost:
                bucket.in_flight[self._ids] = cost
                return BucketReservation(key, cost, self._ids), 0.0
            return None, (cost - available) / bucket.rate

    def try_grant(self, key: str, points: float) -> tuple[BucketReservation | None, float]:
        """Reserve a whole job's points, or say how many seconds until the bucket holds them. A shop never
        reported yet gets an empty grant: its first call is the probe that learns the bucket."""
        now = self._clock()
        with self._lock:
            self._ids += 1
            bucket = self._shop(key).bucket
            if bucket is None:
                return BucketReservation(key, 0.0, self._ids), 0.0
            points = min(points, bucket.maximum)
            available = bucket.estimate(now)
            if available + EPSILON >= points:
                bucket.in_flight[self._ids] = points
                return BucketReservation(key, points, self._ids), 0.0
            return None, (points - available) / bucket.rate

    def release(self, reservation: BucketReservation) -> None:
        """Give back what is left of a grant: its calls' own answers already reported what they spent."""
        with self._lock:
            bucket = self._shop(reservation.key).bucket
            if bucket is not None:
                bucket.in_flight.pop(reservation.id, None)

    def settle(
        self, reservation: BucketReservation, operation: str, status: RateLimitStatus | None, cost: float | None
    ) -> None:
        """Release a reservation; adopt the bucket and the cost the answer reported (if it did)."""
        now = self._clock()
        charge(reservation.key, cost if cost is not None else reservation.points)
        with self._lock:
            shop = self._shop(reservation.key)
            if operation and cost is not None and cost > 0:
                shop.costs[operation] = cost
            bucket = shop.bucket
            had = bucket.in_flight.pop(reservation.id, None) if bucket is not None else None
            if status is None or status.maximum <= 0 or status.restore_rate <= 0:
                if bucket is None:
                    shop.probing = False
                elif had is not None:
                    # No report (the request failed): it may have been charged; assume it was.
                    bucket.available = max(0.0, bucket.refilled(now) - had)
                    bucket.observed_at = now
                return
            available = max(0.0, min(status.available, status.maximum))
            if bucket is None:
                shop.bucket = _Bucket(status.maximum, available, status.restore_rate, now, adopted=reservation.id)
                shop.probing = False
            elif reservation.id > bucket.adopted:
                # Answers overtake each other: a later reservation's report can be older at Shopify than
                # the one adopted before it and miss that request's spend. So a report only lowers the
                # estimate; time alone raises it.
                available = min(available, bucket.refilled(now))
                bucket.maximum, bucket.rate = status.maximum, status.restore_rate
                bucket.available, bucket.observed_at, bucket.adopted = available, now, reservation.id
            else:
                # An answer older than the adopted one: that report may not include this request's spend.
                bucket.available = max(0.0, bucket.refilled(now) - (cost if cost is not None else had or 0.0))
                bucket.observed_at = now

    def wait_for(self, key: str, points: float) -> float:
        """Seconds until the shop's bucket is estimated to hold ``points`` (0: now, or nothing known yet)."""
        now = self._clock()
        with self._lock:
            bucket = self._shop(key).bucket
            if bucket is None:
                return 0.0
            short = min(points, bucket.maximum) - bucket.estimate(now)
            return max(0.0, short / bucket.rate) if short > EPSILON else 0.0

    def job_cost(self, key: str) -> float:
        with self._lock:
            learned = self._shop(key).job_cost
        return learned if learned is not None else self._default_job_cost

    def learn_job_cost(self, key: str, points: float) -> None:
        if points <= 0:
            return
        with self._lock:
            shop = self._shop(key)
            old = shop.job_cost
            shop.job_cost = points if old is None else old + JOB_COST_WEIGHT * (points - old)

    def pace(self, key: str, points: float) -> float:
        """Seconds from now at which the shop's next job should start; books that start (GCRA with a burst)."""
        now = self._clock()
        with self._lock:
            shop = self._shop(key)
            bucket = shop.bucket
            rate = bucket.rate if bucket is not None else DEFAULT_RESTORE_RATE
            maximum = bucket.maximum if bucket is not None else DEFAULT_MAXIMUM
            start, shop.next_start = gcra(now, shop.next_start, points / rate, BURST_SHARE * maximum / rate)
            shop.stats["paced"] = shop.stats.get("paced", 0) + (1 if start > now else 0)
            return start - now

    def count(self, key: str, what: str) -> None:
        with self._lock:
            stats = self._shop(key).stats
            stats[what] = stats.get(what, 0) + 1

    def stats(self, key: str) -> dict[str, float]:
        """What the scheduler did for the shop (``paced``, ``deferred``, ...) and its estimate, for benches."""
        now = self._clock()
        with self._lock:
            shop = self._shop(key)
            out: dict[str, float] = {k: float(v) for k, v in shop.stats.items()}
            if shop.bucket is not None:
                out["estimate"] = shop.bucket.estimate(now)
            if shop.job_cost is not None:
                out["job_cost"] = shop.job_cost
            return out

    def forget(self, key: str | None = None) -> None:
        with self._lock:
            if key is None:
                self._shops.clear()
            else:
                self._shops.pop(key, None)


def gcra(now: float, next_start: float, interval: float, burst: float) -> tuple[float, float]:
    """Start time of one more job and the new next start: jobs go at once until ``burst`` seconds of work are
    booked ahead, then one per ``interval``. Mirrored by the Lua script in ``connector.redis_buckets``."""
    booked = max(next_start, now)
    start = max(now, booked - burst)
    return start, booked + interval
