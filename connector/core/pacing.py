"""When a shop's fulfilment job should start, so one brand's backlog never queues in front of another's job.

Jobs of one shop are spaced at enqueue time by what a job costs over what the shop's bucket restores per
second (``RateBuckets.pace``, a "next slot" per shop shared by every process). A brand's backlog of
thousands therefore waits in RQ's scheduled registry, each job due when the shop can afford it, while
another shop's job, whose slot is now, goes straight to the queue: the queue never holds more than about
a second of any one shop's work (docs/architecture.md, "Rate limits and fairness across shops").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from connector.core.rate_buckets import bucket_key
from connector.core.runtime import Runtime
from connector.core.tables import Redemption, Shop


def shop_bucket_of(rt: Runtime, redemption_id: int) -> str | None:
    """The bucket the redemption's fulfilment draws on: its shop's, when the shop serves its channel."""
    if rt.rate_buckets is None:
        return None
    with rt.sessions() as s:
        row = s.execute(
            select(Shop.domain, Shop.provider, Redemption.channel)
            .join(Shop, Redemption.shop_id == Shop.id)
            .where(Redemption.id == redemption_id)
        ).first()
    if row is None or row.provider != row.channel:
        return None
    return bucket_key(row.domain)


def fulfilment_pacer(rt: Runtime, redemption_id: int, at: datetime | None) -> Callable[[], datetime | None] | None:
    """The ``pace`` of a fulfilment enqueue: books the shop's next slot, once the dispatcher knows the job is new.

    A retry already delayed (``at`` in the future) is not paced: it books no slot it would not use, and if
    its shop cannot afford it when it comes due it is deferred like any job.
    """
    buckets = rt.rate_buckets
    if buckets is None or (at is not None and at > rt.now()):
        return None

    def pace() -> datetime | None:
        key = shop_bucket_of(rt, redemption_id)
        if key is None or buckets is None:
            return at
        delay = buckets.pace(key, buckets.job_cost(key))
        return rt.now() + timedelta(seconds=delay) if delay > 0 else at

    return pace
