"""Interfaces the core needs from the outside world, implemented by adapters."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Dispatcher(Protocol):
    """Hands a job to whatever runs jobs (RQ, a thread, or the caller itself).

    Jobs carry one id only. ``key`` makes the enqueue idempotent; ``at`` delays it.
    Called only after the transaction that made the job necessary has committed.
    """

    def enqueue(self, job: str, arg: int, *, key: str, at: datetime | None = None) -> bool: ...

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
