"""A per-shop key/value cache in the database: the host's side of ``hooktypes.ShopCache``.

Why the database: a plugin's answer must be shared by every worker process (a forked RQ work
horse starts with nothing), and the connector runs zero-config on SQLite, where no Redis may
be reachable from the web process. A cache read is one indexed SELECT, a fraction of a
millisecond, against a shop call of 50 ms or more and the points it spends.

Tenancy: a ``DatabaseShopCache`` is bound to one shop id when the host lends the shop to a
plugin (``shop_tokens.shop_for_plugin``), and every statement carries that id; a webhook's
``ForgetCached`` effect is applied to the signing shop's entries only (``webhook_effects``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from connector.core.database import rowcount, transaction
from connector.core.shop_cache_tables import ShopCacheEntry

#: Longest key or tag (the columns' length); longer ones are refused, never cut (a cut key is another key).
MAX_KEY = 255


class DatabaseShopCache:
    """``hooktypes.ShopCache`` for one shop, each call in its own short transaction."""

    def __init__(self, sessions: sessionmaker[Session], shop_id: int, now: Callable[[], datetime]) -> None:
        self._sessions = sessions
        self._shop_id = shop_id
        self._now = now

    def get(self, key: str) -> str | None:
        _check(key)
        with self._sessions() as s:
            row = s.execute(
                select(ShopCacheEntry.value, ShopCacheEntry.expires_at).where(
                    ShopCacheEntry.shop_id == self._shop_id, ShopCacheEntry.key == key
                )
            ).one_or_none()
        if row is None or (row.expires_at is not None and row.expires_at <= self._now()):
            return None
        return row.value

    def put(self, key: str, value: str, *, tag: str | None = None, ttl_seconds: float | None = None) -> None:
        _check(key)
        if tag is not None:
            _check(tag)
        now = self._now()
        values = {
            "value": value,
            "tag": tag,
            "expires_at": now + timedelta(seconds=ttl_seconds) if ttl_seconds is not None else None,
            "updated_at": now,
        }
        mine = (ShopCacheEntry.shop_id == self._shop_id, ShopCacheEntry.key == key)
        with transaction(self._sessions) as s:
            if rowcount(s.execute(update(ShopCacheEntry).where(*mine).values(**values))):
                return
        try:
            with transaction(self._sessions) as s:
                s.add(ShopCacheEntry(shop_id=self._shop_id, key=key, **values))
        except IntegrityError:
            # Another process inserted the key in between: its answer is as fresh as ours.
            return

    def forget(self, keys: Sequence[str] = (), tags: Sequence[str] = ()) -> int:
        with transaction(self._sessions) as s:
            return forget_entries(s, self._shop_id, keys, tags)


def forget_entries(s: Session, shop_id: int, keys: Sequence[str], tags: Sequence[str]) -> int:
    """Delete ``shop_id``'s entries named by any of ``keys`` or ``tags`` in the caller's transaction."""
    match = []
    if keys:
        match.append(ShopCacheEntry.key.in_(list(keys)))
    if tags:
        match.append(ShopCacheEntry.tag.in_(list(tags)))
    if not match:
        return 0
    return rowcount(
        s.execute(
            delete(ShopCacheEntry)
            .where(ShopCacheEntry.shop_id == shop_id, or_(*match))
            .execution_options(synchronize_session=False)
        )
    )


def _check(key: str) -> None:
    if not key or len(key) > MAX_KEY:
        raise ValueError(f"a shop cache key or tag must be 1 to {MAX_KEY} characters long, not {len(key)}")
