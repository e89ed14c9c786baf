"""What one simulator instance owns: its settings, shop, buckets, faults, webhooks, OAuth side and counters.

The Flask app keeps one :class:`SimState` in ``app.extensions["shopify_sim"]``; every route reaches it
through :func:`sim_state`.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import Any

from flask import Flask, current_app

from shopify_sim.config import SimConfig
from shopify_sim.cost import Buckets, ThrottleStatus
from shopify_sim.faults import FaultInjector
from shopify_sim.oauth import OAuthState
from shopify_sim.store import Store
from shopify_sim.subscriptions import routes
from shopify_sim.webhooks import WebhookDispatcher

EXTENSION_KEY = "shopify_sim"
REQUEST_LOG_SIZE = 1000


class Stats:
    """Counters behind ``GET /_sim/stats``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self.counts: Counter[str] = Counter()
            self.statuses: Counter[int] = Counter()
            self.lowest_available: float | None = None

    def count(self, key: str, amount: int = 1) -> None:
        """Increment one named counter."""
        with self._lock:
            self.counts[key] += amount

    def status(self, code: int) -> None:
        """Record an HTTP status answered on the GraphQL endpoint."""
        with self._lock:
            self.statuses[code] += 1

    def spent(self, status: ThrottleStatus) -> None:
        """Record the bucket level left after a request spent its cost."""
        with self._lock:
            level = status.currently_available
            if self.lowest_available is None or level < self.lowest_available:
                self.lowest_available = level

    def snapshot(self) -> dict[str, Any]:
        """JSON view."""
        with self._lock:
            lowest = self.lowest_available
            return {
                "requests": self.counts["requests"],
                "executed": self.counts["executed"],
                "mutations_executed": self.counts["mutations_executed"],
                "throttled": self.counts["throttled"],
                "unauthorized": self.counts["unauthorized"],
                "invalid": self.counts["invalid"],
                "faults_fired": self.counts["faults_fired"],
                "http_statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "min_currently_available": lowest,
                # Throttled requests never run, so the bucket can never be overdrawn: stays 0.
                "max_bucket_overdraft": max(0.0, -lowest) if lowest is not None else 0.0,
            }


class SimState:
    """Everything one simulator instance owns (kept in ``app.extensions``)."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.initial_config = config.as_dict()
        self.store = Store()
        self.buckets = Buckets(config.bucket_size, config.restore_rate)
        self.faults = FaultInjector()
        self.webhooks = WebhookDispatcher(config, router=lambda topic, payload: routes(self.store, topic, payload))
        self.stats = Stats()
        self.oauth = OAuthState()
        self.request_log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
        self._log_lock = threading.Lock()

    def configure(self, changes: dict[str, Any]) -> None:
        """Apply settings; a bucket size/rate change starts every bucket over, full."""
        before = (self.config.bucket_size, self.config.restore_rate)
        self.config.update(changes)
        if (self.config.bucket_size, self.config.restore_rate) != before:
            self.buckets.configure(self.config.bucket_size, self.config.restore_rate)

    def reset(self, config: bool = False) -> None:
        """Empty shop, no faults, full buckets, zero stats; ``config=True`` also restores settings."""
        if config:
            self.config.update(self.initial_config)
        self.store.reset()
        self.faults.reset()
        self.buckets.configure(self.config.bucket_size, self.config.restore_rate)
        self.stats.reset()
        self.webhooks.reset()
        self.oauth.reset()
        with self._log_lock:
            self.request_log.clear()

    def log_request(self, entry: dict[str, Any]) -> None:
        """Remember one GraphQL request (``GET /_sim/requests``)."""
        with self._log_lock:
            self.request_log.append(entry)

    def logged_requests(self) -> list[dict[str, Any]]:
        """The remembered requests, oldest first."""
        with self._log_lock:
            return list(self.request_log)


def sim_state(app: Flask | None = None) -> SimState:
    """The :class:`SimState` of ``app`` (default: the current app)."""
    return (app or current_app).extensions[EXTENSION_KEY]
