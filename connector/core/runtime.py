"""The dependencies one use case needs, bundled so they are passed, never global."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import pluggy
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from connector.config import Settings
from connector.core.hooktypes import HookContext, utcnow
from connector.core.ports import Dispatcher, Mailer, RateBuckets
from connector.core.secret_cache import ShopSecretCache
from connector.core.shop_health import ShopHealth


@dataclass
class Runtime:
    settings: Settings
    sessions: sessionmaker[Session]
    plugins: pluggy.PluginManager
    mailer: Mailer
    dispatcher: Dispatcher | None = None
    now: Callable[[], datetime] = utcnow
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("connector"))
    secret_cache: ShopSecretCache = field(default_factory=ShopSecretCache)
    #: Each shop's last rate-limit bucket and the throttle on writing its last success (core/shop_health.py).
    shop_health: ShopHealth = field(default_factory=ShopHealth)
    #: Every shop's rate-limit bucket, shared by the workers (Redis with RQ, this process in thread mode); None
    #: runs jobs as they come and lets the plugin wait for its own in-process bucket (sync mode, tests).
    rate_buckets: RateBuckets | None = None

    @property
    def engine(self) -> Engine:
        return self.sessions.kw["bind"]

    def hook_context(self, plugin: str, *, defer_when_throttled: bool = False) -> HookContext:
        return HookContext(
            config=self.settings.plugin_config(plugin),
            logger=logging.getLogger(f"connector.plugins.{plugin}"),
            now=self.now,
            send_email=self.mailer.send,
            buckets=self.rate_buckets,
            defer_when_throttled=defer_when_throttled and self.rate_buckets is not None,
        )

    def enqueue(
        self,
        job: str,
        arg: int,
        *,
        key: str,
        at: datetime | None = None,
        pace: Callable[[], datetime | None] | None = None,
    ) -> None:
        if self.dispatcher is None:
            raise RuntimeError("no dispatcher configured: the runtime was built without a job runner")
        if pace is None:  # a dispatcher written before pacing (tests' fakes) takes no ``pace``
            self.dispatcher.enqueue(job, arg, key=key, at=at)
        else:
            self.dispatcher.enqueue(job, arg, key=key, at=at, pace=pace)

    def wake(self, job: str, *, key: str) -> None:
        if self.dispatcher is None:
            raise RuntimeError("no dispatcher configured: the runtime was built without a job runner")
        self.dispatcher.wake(job, key=key)

    def woken(self, key: str) -> None:
        if self.dispatcher is not None:
            self.dispatcher.woken(key)
