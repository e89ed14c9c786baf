"""Sending outbound webhooks: at least once, in order per redemption, retried with backoff, every try logged.

A delivery is sent by its own job (``OUTBOUND_JOB``, one id), in committed phases like a fulfilment:

1. *claim* it with a lease (a conditional UPDATE: one sender wins), but only when it is due and is the
   earliest delivery still pending for its endpoint and redemption: a later event waits until the one
   before it was delivered or given up;
2. *send* it, outside any transaction, signed with a fresh timestamp;
3. *record* the attempt in the delivery log, then: delivered; a retry at ``now + backoff``; or given up
   after ``CONNECTOR_OUTBOUND_MAX_ATTEMPTS``. Delivered or given up, the redemption's next event is queued.

A worker killed after the send and before the record leaves the lease to run out; the sweeper queues the
delivery again and it is sent again: at least once, so receivers de-duplicate by ``Connector-Webhook-Id``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from connector.core.backoff import retry_delay
from connector.core.database import rowcount, transaction
from connector.core.outbound_tables import OutboundAttempt, OutboundDelivery, OutboundEndpoint, OutboundEvent
from connector.core.outbound_urls import HEADER_EVENT, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, sign
from connector.core.ports import PostResult
from connector.core.runtime import Runtime
from connector.core.scheduling import schedule_outbound

PENDING, DELIVERED, GIVEN_UP = "pending", "delivered", "given_up"
#: How long one send may hold a delivery: the sender's timeout and then some.
LEASE = timedelta(seconds=60)
#: The longest receiver answer kept in the log (the start says what went wrong; the rest is noise).
ANSWER_EXCERPT = 200


@dataclass(frozen=True)
class _Claimed:
    token: str
    attempt: int
    url: str
    #: The secrets to sign with: the current one, then the one it replaced while that still overlaps.
    secrets: tuple[str, ...]
    body: bytes
    event_key: str
    event_type: str


def _earlier_pending(s: Session, d: OutboundDelivery) -> bool:
    return (
        s.scalar(
            select(OutboundDelivery.id)
            .where(
                OutboundDelivery.endpoint_id == d.endpoint_id,
                OutboundDelivery.redemption_id == d.redemption_id,
                OutboundDelivery.event_id < d.event_id,
                OutboundDelivery.status == PENDING,
            )
            .limit(1)
        )
        is not None
    )


def send_delivery(rt: Runtime, delivery_id: int) -> str:
    """Job: one attempt at one delivery. Returns ``delivered``, ``retry``, ``given_up`` or why it did nothing."""
    claimed = _claim(rt, delivery_id)
    if isinstance(claimed, str):
        return claimed
    now = rt.now()
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        HEADER_ID: claimed.event_key,
        HEADER_EVENT: claimed.event_type,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: " ".join(sign(secret, timestamp, claimed.body) for secret in claimed.secrets),
    }
    if rt.webhook_sender is None:
        result = PostResult(status_code=None, error="no webhook sender is configured in this process")
    else:
        try:
            result = rt.webhook_sender.post(claimed.url, claimed.body, headers)
        except Exception as exc:  # noqa: BLE001 - a sender bug is one failed attempt, logged, not a lost delivery
            rt.log.exception("outbound delivery %s: the sender failed", delivery_id)
            result = PostResult(status_code=None, error=f"unexpected {type(exc).__name__} while sending")
    return _record(rt, delivery_id, claimed, result)


def _claim(rt: Runtime, delivery_id: int) -> _Claimed | str:
    now = rt.now()
    token = uuid.uuid4().hex
    with transaction(rt.sessions) as s:
        d = s.get(OutboundDelivery, delivery_id)
        if d is None or d.status != PENDING:
            return "skipped"
        if d.next_attempt_at is not None and d.next_attempt_at > now:
            return "not due"  # its delayed job (or the sweeper) comes back then
        if _earlier_pending(s, d):
            return "waiting"  # the earlier delivery queues this one when it is done
        won = rowcount(
            s.execute(
                update(OutboundDelivery)
                .where(
                    OutboundDelivery.id == delivery_id,
                    OutboundDelivery.status == PENDING,
                    or_(OutboundDelivery.claim_expires_at.is_(None), OutboundDelivery.claim_expires_at < now),
                )
                .values(lease_holder=token, claim_expires_at=now + LEASE, attempts=OutboundDelivery.attempts + 1)
                .execution_options(synchronize_session=False)
            )
        )
        if won != 1:
            return "skipped"
        endpoint = s.get_one(OutboundEndpoint, d.endpoint_id)
        event = s.get_one(OutboundEvent, d.event_id)
        attempt = s.scalar(select(OutboundDelivery.attempts).where(OutboundDelivery.id == delivery_id)) or 1
        return _Claimed(
            token=token,
            attempt=attempt,
            url=endpoint.url,
            secrets=_signing_secrets(endpoint, now),
            body=event.body.encode("utf-8"),
            event_key=f"evt_{event.id}",
            event_type=event.event_type,
        )


def _signing_secrets(endpoint: OutboundEndpoint, now: datetime) -> tuple[str, ...]:
    old, until = endpoint.previous_signing_secret, endpoint.previous_secret_until
    return (endpoint.signing_secret, old) if old and until is not None and until > now else (endpoint.signing_secret,)


def _record(rt: Runtime, delivery_id: int, claimed: _Claimed, result: PostResult) -> str:
    now = rt.now()
    retry_at: datetime | None = None
    with transaction(rt.sessions) as s:
        d = s.scalars(select(OutboundDelivery).where(OutboundDelivery.id == delivery_id).with_for_update()).one()
        error = None if result.ok else _describe(result)
        s.add(
            OutboundAttempt(
                delivery_id=d.id,
                number=claimed.attempt,
                at=now,
                status_code=result.status_code,
                ok=result.ok,
                error=error,
            )
        )
        if d.lease_holder != claimed.token or d.status != PENDING:
            return "skipped"  # our lease ran out and another send took over: its outcome decides
        d.lease_holder = d.claim_expires_at = None
        if result.ok:
            d.status, d.delivered_at, d.last_error, d.next_attempt_at = DELIVERED, now, None, None
            outcome = DELIVERED
        else:
            d.last_error = error
            budget_left = rt.settings.outbound_max_attempts - (d.attempts - d.attempt_budget_from)
            if budget_left > 0:
                delay = retry_delay(
                    d.attempts,
                    base=rt.settings.retry_base_seconds,
                    cap=rt.settings.retry_cap_seconds,
                    retry_after=result.retry_after,
                )
                retry_at = d.next_attempt_at = now + timedelta(seconds=delay)
                outcome = "retry"
            else:
                d.status, d.next_attempt_at = GIVEN_UP, None
                outcome = GIVEN_UP
        attempts = d.attempts
        following = None if retry_at is not None else _next_in_line(s, d)
    if retry_at is not None:
        schedule_outbound(rt, delivery_id, attempts, at=retry_at)
    elif following is not None:
        schedule_outbound(rt, following[0], following[1])
    return outcome


def _describe(result: PostResult) -> str:
    if result.error and result.status_code is None:
        return result.error
    text = f"HTTP {result.status_code}"
    if result.error:
        text += f": {result.error[:ANSWER_EXCERPT]}"
    return text


def _next_in_line(s: Session, d: OutboundDelivery) -> tuple[int, int] | None:
    """The redemption's next pending delivery to the same endpoint, now free to go (id, attempts)."""
    row = s.execute(
        select(OutboundDelivery.id, OutboundDelivery.attempts)
        .where(
            OutboundDelivery.endpoint_id == d.endpoint_id,
            OutboundDelivery.redemption_id == d.redemption_id,
            OutboundDelivery.event_id > d.event_id,
            OutboundDelivery.status == PENDING,
        )
        .order_by(OutboundDelivery.event_id)
        .limit(1)
    ).first()
    return (row[0], row[1]) if row is not None else None


def due_deliveries(rt: Runtime, *, limit: int = 5000) -> list[tuple[int, int]]:
    """Pending deliveries that are due and unclaimed (id, attempts): the sweeper queues them again.

    Those waiting behind an earlier event are included; their job sees that and does nothing.
    """
    now = rt.now()
    with rt.sessions() as s:
        rows = s.execute(
            select(OutboundDelivery.id, OutboundDelivery.attempts)
            .where(
                OutboundDelivery.status == PENDING,
                or_(OutboundDelivery.next_attempt_at.is_(None), OutboundDelivery.next_attempt_at <= now),
                or_(OutboundDelivery.claim_expires_at.is_(None), OutboundDelivery.claim_expires_at < now),
            )
            .order_by(OutboundDelivery.id)
            .limit(limit)
        ).all()
    return [(row[0], row[1]) for row in rows]
