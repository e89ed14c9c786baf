"""Re-enqueue whatever the database says is owed but may have no live job.

Redis is only a delivery mechanism: a flush, a restart without persistence or
a killed worker can drop jobs. Everything owed is derivable from the database,
so this sweep (run periodically and by ``connector sweep``) restores it. Job
keys are deterministic, so sweeping while the job still exists enqueues nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from connector.core.fulfilment import due_for_attempt
from connector.core.outbound_delivery import due_deliveries
from connector.core.runtime import Runtime
from connector.core.scheduling import (
    schedule_cancel,
    schedule_fulfilment,
    schedule_notices,
    schedule_outbound,
    schedule_webhook,
)
from connector.core.tables import Redemption, WebhookDelivery


@dataclass(frozen=True)
class SweepReport:
    fulfilments: int
    cancels: int
    webhooks: int
    #: Outbound webhook deliveries to the brands' platforms that were due.
    outbound: int = 0


def sweep(rt: Runtime, *, webhook_grace_seconds: float = 30.0, limit: int = 5000) -> SweepReport:
    now = rt.now()
    with rt.sessions() as s:
        due = s.execute(
            select(Redemption.id, Redemption.attempts).where(*due_for_attempt(now)).order_by(Redemption.id).limit(limit)
        ).all()
        cancels = s.scalars(
            select(Redemption.id)
            .where(
                Redemption.cancel_requested_at.is_not(None),
                Redemption.order_cancelled_at.is_(None),
                Redemption.external_order_id.is_not(None),
            )
            .limit(limit)
        ).all()
        webhooks = s.scalars(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == "received",
                WebhookDelivery.received_at < now - timedelta(seconds=webhook_grace_seconds),
            )
            .limit(limit)
        ).all()
    for redemption_id, attempts in due:
        schedule_fulfilment(rt, redemption_id, attempts)
    for redemption_id in cancels:
        schedule_cancel(rt, redemption_id)
    for delivery_id in webhooks:
        schedule_webhook(rt, delivery_id)
    outbound = due_deliveries(rt, limit=limit)
    for delivery_id, attempts in outbound:
        schedule_outbound(rt, delivery_id, attempts)
    schedule_notices(rt)  # frequent-buyer notices: derived from the database, so a run sends only what is owed
    return SweepReport(fulfilments=len(due), cancels=len(cancels), webhooks=len(webhooks), outbound=len(outbound))
