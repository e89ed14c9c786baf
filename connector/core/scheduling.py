"""The jobs a use case queues, by name and de-duplication key: one place for every ``schedule_*``.

Fulfilment, reversal, redemptions, webhooks and the sweeper all queue attempts; keeping the names
and keys here lets each of them schedule another's job without importing that use case's module
(which, before, made ``fulfilment``, ``redemptions`` and ``reversal`` import one another).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from connector.core.pacing import fulfilment_pacer
from connector.core.runtime import AFTER_COMMIT, Runtime

#: The job that places a redemption's order (``connector.core.fulfilment.fulfil_redemption``).
FULFIL_JOB = "fulfil_redemption"
#: The job that cancels a reversed redemption's shop order (``connector.core.reversal.cancel_order``).
CANCEL_JOB = "cancel_order"
#: The job that applies one stored webhook delivery (the sweeper's, ``webhook_intake.process_webhook``).
PROCESS_JOB = "process_webhook"
#: The job that applies every stored, unapplied delivery, and the key its wakes coalesce on.
DRAIN_JOB = "process_received_webhooks"
DRAIN_KEY = "webhook-drain"
#: The job that sends one outbound webhook delivery (``connector.core.outbound_delivery.send_delivery``).
OUTBOUND_JOB = "send_outbound_webhook"
#: The sweeper's periodic job (``connector.core.sweeper.sweep``).
SWEEP_JOB = "sweep"
#: The job that writes the frequent-buyer notices owed and emails them (``frequent_buyer.notices.run_notices``);
#: one key, so the sweep, an import and a credited batch asking at once queue one run.
NOTICES_JOB = "send_fb_notices"
NOTICES_KEY = "fb-notices"


def fulfil_job_key(redemption_id: int, attempts: int) -> str:
    """One key per attempt: a retry is a new job, a duplicate enqueue of the same attempt is not."""
    return f"fulfil-{redemption_id}-{attempts}"


def cancel_job_key(redemption_id: int) -> str:
    """One cancel per redemption: asking twice queues it once."""
    return f"cancel-{redemption_id}"


def webhook_job_key(delivery_id: int) -> str:
    """One job per stored delivery: sweeping while it still waits adds nothing."""
    return f"webhook-{delivery_id}"


def outbound_job_key(delivery_id: int, attempts: int) -> str:
    """One key per attempt of a delivery, as for fulfilment: a retry is a new job."""
    return f"outbound-{delivery_id}-{attempts}"


def schedule_outbound(rt: Runtime, delivery_id: int, attempts: int, at: datetime | None = None) -> None:
    rt.enqueue(OUTBOUND_JOB, delivery_id, key=outbound_job_key(delivery_id, attempts), at=at)


def schedule_fulfilment(
    rt: Runtime, redemption_id: int, attempts: int, at: datetime | None = None, *, deferred: bool = False
) -> None:
    """Queue an attempt, paced by its shop's bucket (core/pacing.py).

    ``deferred``: the job ran and found its shop's bucket short; it runs again at ``at`` under a key of its
    own (the attempt's key belongs to the job still running), unpaced: it already waited its turn.
    """
    key = fulfil_job_key(redemption_id, attempts)
    if deferred and at is not None:
        rt.enqueue(FULFIL_JOB, redemption_id, key=f"{key}-at{int(at.timestamp() * 1000)}", at=at)
        return
    rt.enqueue(FULFIL_JOB, redemption_id, key=key, at=at, pace=fulfilment_pacer(rt, redemption_id, at))


def schedule_cancel(rt: Runtime, redemption_id: int) -> None:
    rt.enqueue(CANCEL_JOB, redemption_id, key=cancel_job_key(redemption_id))


def schedule_notices(rt: Runtime) -> None:
    rt.enqueue(NOTICES_JOB, 0, key=NOTICES_KEY)


def owe_notices(s: Session) -> None:
    """Queue the notices run once ``s`` commits (a POS import with denials, a batch marked credited)."""
    s.info.setdefault(AFTER_COMMIT, []).append((NOTICES_JOB, 0, NOTICES_KEY))


def schedule_webhook(rt: Runtime, delivery_id: int) -> None:
    rt.enqueue(PROCESS_JOB, delivery_id, key=webhook_job_key(delivery_id))
