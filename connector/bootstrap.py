"""Composition root: builds the runtime from settings, once per process."""

from __future__ import annotations

import logging

from connector.config import Settings
from connector.core.database import make_engine, make_session_factory
from connector.core.ports import Mailer
from connector.core.runtime import Runtime
from connector.encryption import load_keyring
from connector.mail import OutboxMailer, SmtpMailer
from connector.outbound_http import HttpWebhookSender
from connector.plugin_manager import make_plugin_manager


def make_mailer(settings: Settings) -> Mailer:
    if settings.smtp_url:
        return SmtpMailer(settings.smtp_url, settings.mail_from)
    return OutboxMailer(settings.outbox_dir, settings.mail_from)


def build_runtime(settings: Settings | None = None, *, start_jobs: bool = True) -> Runtime:
    """Everything a use case needs. ``start_jobs=False`` leaves the dispatcher unset (CLI reads)."""
    settings = settings or Settings.from_env()
    if settings.database_url.startswith("sqlite:///"):
        from pathlib import Path

        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url, keyring=load_keyring(settings))
    rt = Runtime(
        settings=settings,
        sessions=make_session_factory(engine),
        plugins=make_plugin_manager(blocked=settings.disabled_plugins),
        mailer=make_mailer(settings),
        log=logging.getLogger("connector"),
        webhook_sender=HttpWebhookSender(allow_local=settings.outbound_allow_local),
    )
    if start_jobs:
        attach_dispatcher(rt)
    return rt


def attach_dispatcher(rt: Runtime) -> None:
    from connector.dispatch import RqDispatcher, SyncDispatcher, ThreadDispatcher

    mode = rt.settings.jobs_mode
    if mode == "rq":
        from connector.redis_buckets import RedisBuckets

        assert rt.settings.redis_url
        # Every worker process draws on one estimate per shop (architecture.md, "Rate limits and fairness").
        rt.rate_buckets = RedisBuckets(rt.settings.redis_url, default_job_cost=rt.settings.shop_job_cost_points)
        rt.dispatcher = RqDispatcher(rt.settings.redis_url, rt.settings.queue_name)
    elif mode == "sync":
        rt.dispatcher = SyncDispatcher(rt)
    else:
        from connector.core.rate_buckets import LocalBuckets

        rt.rate_buckets = LocalBuckets(default_job_cost=rt.settings.shop_job_cost_points)
        rt.dispatcher = ThreadDispatcher(rt)
