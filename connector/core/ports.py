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


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str) -> None: ...
