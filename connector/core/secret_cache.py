"""Per-process cache of shops' webhook secrets.

Verifying a delivery needs its shop's secrets; reading them from the database
on every request cost about 2.3 ms of CPU, more than the HMAC itself
(docs/performance.md). Cached entries live ``ttl`` seconds, and a delivery
that fails against cached secrets is checked once more against fresh ones, so
a rotation or a newly connected shop is honoured at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ShopSecrets:
    current: str
    previous: str | None
    previous_expires_at: datetime | None

    def usable(self, now: datetime) -> list[str]:
        found = [self.current]
        if self.previous and (self.previous_expires_at is None or self.previous_expires_at > now):
            found.append(self.previous)
        return found


class ShopSecretCache:
    def __init__(self, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._entries: dict[str, tuple[float, ShopSecrets | None]] = {}
        self._lock = threading.Lock()
        self.loads = 0

    def get(self, domain: str, now: datetime, load: Callable[[str], ShopSecrets | None]) -> Sequence[str]:
        with self._lock:
            entry = self._entries.get(domain)
        if entry is None or entry[0] < self.clock():
            secrets = load(domain)
            self.loads += 1
            with self._lock:
                self._entries[domain] = (self.clock() + self.ttl, secrets)
        else:
            secrets = entry[1]
        return secrets.usable(now) if secrets else ()

    def forget(self, domain: str) -> None:
        with self._lock:
            self._entries.pop(domain, None)
