"""The dependencies one use case needs, bundled so they are passed, never global."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import pluggy
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from connector.config import Settings
from connector.core.hooktypes import HookContext, utcnow
from connector.core.ports import Dispatcher, Mailer, RateBuckets, WebhookSender
from connector.core.secret_cache import ShopSecretCache
from connector.core.shop_health import ShopHealth

#: ``Session.info`` key: a list of (job, arg, key) to enqueue once the session's transaction commits.
AFTER_COMMIT = "connector_enqueue_after_commit"


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
    #: Sends the brand's outbound webhooks (``connector.outbound_http``); None: they wait in the outbox.
    webhook_sender: WebhookSender | None = None

    def __post_init__(self) -> None:
        # Jobs a transaction owes once it commits (``AFTER_COMMIT``), e.g. an outbound webhook written with a
        # transition deep inside a use case that does not otherwise know it: queued only if the commit happened.
        event.listen(self.sessions, "after_commit", self._enqueue_owed)
        event.listen(self.sessions, "after_rollback", lambda s: s.info.pop(AFTER_COMMIT, None))

    def _enqueue_owed(self, session: Session) -> None:
        owed = session.info.pop(AFTER_COMMIT, None)
        if not owed or self.dispatcher is None:
            return
        for job, arg, key in owed:
            try:
                self.dispatcher.enqueue(job, arg, key=key)
            except Exception:  # noqa: BLE001 - the change is committed; the sweeper queues what is owed
                self.log.exception("could not queue %s(%s) after commit; the sweeper will", job, arg)

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
