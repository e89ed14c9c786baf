"""A shop's last successful call and its rate-limit bucket, kept without a database write per request.

The Shops page shows when the connector last reached each shop and how full the shop's rate-limit
bucket was. Both change on every call, and a fulfilment run makes many calls a second, so:

* the plugin reports each answer's bucket through ``ShopInfo.rate_limit_seen``; this process keeps the
  latest one per shop in memory (a dict under a lock; no I/O on the hot path);
* when a hook call to a shop succeeds, the caller asks ``record_success`` to store the success time and
  that bucket in the transaction it commits anyway (the fulfilment's own), and this happens at most
  once per ``WRITE_INTERVAL`` per shop per process. Several processes may each write once per interval;
  the UPDATE never moves ``last_success_at`` backwards.

The memory lives on the ``Runtime`` (one per process), not in a module global, so two runtimes (two
tests, two databases) never share a shop id's throttle.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from connector.core.hooktypes import RateLimitStatus
from connector.core.tables import Shop

#: A shop's success time and bucket are written at most this often per process.
WRITE_INTERVAL = timedelta(seconds=30)


class ShopHealth:
    """This process's latest rate-limit bucket per shop, and when it last wrote each shop's success."""

    def __init__(self, interval: timedelta = WRITE_INTERVAL) -> None:
        self._interval = interval
        self._lock = threading.Lock()
        self._buckets: dict[int, tuple[RateLimitStatus, datetime]] = {}
        self._written: dict[int, datetime] = {}

    def listener(self, shop_id: int, now: Callable[[], datetime]) -> Callable[[RateLimitStatus], None]:
        """The ``ShopInfo.rate_limit_seen`` callback for one shop: remembers the bucket and when it was seen."""

        def seen(status: RateLimitStatus) -> None:
            at = now()
            with self._lock:
                self._buckets[shop_id] = (status, at)

        return seen

    def bucket(self, shop_id: int) -> tuple[RateLimitStatus, datetime] | None:
        with self._lock:
            return self._buckets.get(shop_id)

    def _claim_write(self, shop_id: int, now: datetime) -> bool:
        """Whether this process may write the shop's success now (and, if so, that it is doing it)."""
        with self._lock:
            last = self._written.get(shop_id)
            # A clock that went backwards (another test's fake clock, an NTP step) does not block writes.
            if last is not None and last <= now < last + self._interval:
                return False
            self._written[shop_id] = now
            return True

    def record_success(self, s: Session, shop_id: int, now: datetime) -> bool:
        """Store ``now`` as the shop's last successful call, with the last bucket seen, unless this process did
        so less than ``WRITE_INTERVAL`` ago. Runs in the caller's transaction; True when it wrote."""
        if not self._claim_write(shop_id, now):
            return False
        values: dict[str, object] = {"last_success_at": now}
        seen = self.bucket(shop_id)
        if seen is not None:
            values["rate_limit"] = rate_limit_json(*seen)
        s.execute(
            update(Shop)
            .where(Shop.id == shop_id, or_(Shop.last_success_at.is_(None), Shop.last_success_at < now))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return True


def rate_limit_json(status: RateLimitStatus, at: datetime) -> str:
    """``Shop.rate_limit`` as stored: ``{"available", "maximum", "restore_rate", "at"}``."""
    return json.dumps(
        {
            "available": status.available,
            "maximum": status.maximum,
            "restore_rate": status.restore_rate,
            "at": at.isoformat().replace("+00:00", "Z"),
        }
    )
