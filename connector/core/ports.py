"""Interfaces the core needs from the outside world, implemented by adapters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from connector.core.hooktypes import BucketReservation, SharedBuckets


class Dispatcher(Protocol):
    """Hands a job to whatever runs jobs (RQ, a thread, or the caller itself).

    Jobs carry one id only. ``key`` makes the enqueue idempotent; ``at`` delays it.
    Called only after the transaction that made the job necessary has committed.
    ``pace``, if given, is asked only when the key is new (a duplicate must not book a slot) and
    says when the job should start instead of ``at`` (None: as ``at`` says); a dispatcher that
    runs jobs inline may ignore it.
    """

    def enqueue(
        self,
        job: str,
        arg: int,
        *,
        key: str,
        at: datetime | None = None,
        pace: Callable[[], datetime | None] | None = None,
    ) -> bool: ...

    def wake(self, job: str, *, key: str) -> bool:
        """Have ``job`` (arg 0) run soon, unless a run of it is already waiting: many wakes, one run.

        For jobs that work through whatever the database says is owed (a drain), where one
        run per event would cost a job per event. Returns whether a run was queued.
        """
        ...

    def woken(self, key: str) -> None:
        """Called by such a job as it starts: from then on a wake queues another run."""
        ...


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str) -> None: ...


@dataclass(frozen=True)
class PostResult:
    """What a webhook receiver answered: its status code, or why there was no answer (refused, timed out)."""

    status_code: int | None
    #: None when the receiver answered 2xx; otherwise what went wrong, for the delivery log (never a secret).
    error: str | None = None
    #: Seconds the receiver asked us to wait (``Retry-After``), if it did.
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender(Protocol):
    """POSTs one signed outbound webhook (``connector.outbound_http`` in production)."""

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> PostResult: ...


class RateBuckets(SharedBuckets, Protocol):
    """The host's side of the shops' buckets: what the scheduler asks of them (core/rate_buckets.py)."""

    def try_grant(self, key: str, points: float) -> tuple[BucketReservation | None, float]:
        """Reserve a whole job's points up front (its calls then draw on them), or say how many seconds until
        the bucket holds them."""
        ...

    def release(self, reservation: BucketReservation) -> None:
        """Give back what is left of a grant when its job ends."""
        ...

    def wait_for(self, key: str, points: float) -> float:
        """Seconds until the shop's bucket is estimated to hold ``points`` (0: now, or nothing known)."""
        ...

    def pace(self, key: str, points: float) -> float:
        """Seconds from now at which the shop's next job of ``points`` should start; books that start."""
        ...

    def job_cost(self, key: str) -> float:
        """Points one fulfilment job of the shop is expected to spend (learned, or a default)."""
        ...

    def learn_job_cost(self, key: str, points: float) -> None:
        """One fulfilment job of the shop spent ``points``."""
        ...

    def stats(self, key: str) -> dict[str, float]:
        """Counters (``paced``, ``deferred``, ``throttled``, ``waited``) and the learned job cost."""
        ...
