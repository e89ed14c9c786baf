"""The outbox: a redemption's transitions, written as outbound webhook events in the same transaction.

``timeline.record_event`` is where every transition already writes its event row, in the transaction that
makes the change; it calls ``emit`` here, so each transition the platform hears about (fulfilled, error,
reversed; shipped and delivered from the shop's fulfilment webhooks) commits, or rolls back, together with
the webhook that reports it. One delivery row per active endpoint of the brand is written beside it, and
its send is queued once the transaction commits (``runtime.AFTER_COMMIT``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.model import DeliveryStatus, RedemptionStatus
from connector.core.outbound_tables import OutboundDelivery, OutboundEndpoint, OutboundEvent
from connector.core.runtime import AFTER_COMMIT
from connector.core.scheduling import OUTBOUND_JOB, outbound_job_key
from connector.core.tables import Redemption


class EventType:
    """What the platform can subscribe to (every endpoint receives all of them)."""

    FULFILLED = "redemption.fulfilled"
    SHIPPED = "redemption.shipped"
    DELIVERED = "redemption.delivered"
    DELIVERY_FAILED = "redemption.delivery_failed"
    ORDER_CANCELLED = "redemption.order_cancelled"
    ERROR = "redemption.error"
    REVERSED = "redemption.reversed"
    ALL = (FULFILLED, SHIPPED, DELIVERED, DELIVERY_FAILED, ORDER_CANCELLED, ERROR, REVERSED)


_BY_STATUS = {
    RedemptionStatus.FULFILLED: EventType.FULFILLED,
    RedemptionStatus.ERROR: EventType.ERROR,
    RedemptionStatus.REVERSED: EventType.REVERSED,
}
_BY_DELIVERY = {
    DeliveryStatus.SHIPPED: EventType.SHIPPED,
    DeliveryStatus.DELIVERED: EventType.DELIVERED,
    DeliveryStatus.FAILURE: EventType.DELIVERY_FAILED,
    DeliveryStatus.CANCELLED: EventType.ORDER_CANCELLED,
}


def event_type_of(kind: str, to_status: str | None, detail: dict[str, Any] | None) -> str | None:
    """The webhook a timeline event is, if any: a status transition, or the shop's delivery reaching a stage.

    A shop order is cancelled either by the shop (``orders/cancelled``, a delivery update) or by the
    connector while reversing (``order_cancelled``); the platform hears one ``order_cancelled`` either way,
    since the delivery update never follows the connector's own cancel (the order is cancelled already).
    """
    if to_status is not None and to_status in _BY_STATUS:
        return _BY_STATUS[RedemptionStatus(to_status)]
    if kind == "order_cancelled":
        return EventType.ORDER_CANCELLED
    if kind == "delivery_updated" and detail is not None:
        stage = detail.get("to")
        if stage in _BY_DELIVERY:
            return _BY_DELIVERY[DeliveryStatus(stage)]
    return None


def _utc(value: datetime) -> str:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def payload(event_id: int, event_type: str, r: Redemption, status: str, at: datetime) -> dict[str, Any]:
    """The body the platform receives: the redemption as it stands after the transition, by both sides' ids.

    No personal data (names, emails, addresses): the platform knows its member by ``external_ref``.
    """
    member, reward = r.member, r.reward
    return {
        "id": f"evt_{event_id}",
        "type": event_type,
        "created_at": _utc(at),
        "data": {
            "redemption": {
                "id": r.id,
                "code": r.code,
                "status": status,
                "points_cost": r.points_cost,
                "member": {"id": r.member_id, "external_ref": member.external_ref},
                "reward": {
                    "id": r.reward_id,
                    "external_ref": reward.external_ref,
                    "sku": reward.sku,
                },
                "shop_order": (
                    {"id": r.external_order_id, "name": r.external_order_name} if r.external_order_id else None
                ),
                "delivery": (
                    {
                        "status": r.delivery_status,
                        "tracking_number": r.tracking_number,
                        "tracking_url": r.tracking_url,
                    }
                    if r.delivery_status
                    else None
                ),
                "error": (
                    {"code": r.error_code, "message": r.error_message, "fix": r.error_fix}
                    if status == RedemptionStatus.ERROR and r.error_code
                    else None
                ),
            }
        },
    }


def emit(
    s: Session, r: Redemption, *, kind: str, to_status: str | None, detail: dict[str, Any] | None, at: datetime
) -> OutboundEvent | None:
    """Write the webhook this timeline event is, for every active endpoint of the redemption's brand.

    ``to_status`` is the status after the transition (a conditional UPDATE may have left ``r.status`` stale).
    Nothing is written for a brand with no endpoint, or an event no webhook reports.
    """
    event_type = event_type_of(kind, to_status, detail)
    if event_type is None:
        return None
    endpoints = s.scalars(
        select(OutboundEndpoint.id)
        .where(OutboundEndpoint.brand_id == r.brand_id, OutboundEndpoint.active.is_(True))
        .order_by(OutboundEndpoint.id)
    ).all()
    if not endpoints:
        return None
    event = OutboundEvent(brand_id=r.brand_id, redemption_id=r.id, event_type=event_type, body="{}", created_at=at)
    s.add(event)
    s.flush()
    status = to_status or r.status
    event.body = json.dumps(payload(event.id, event_type, r, status, at), separators=(",", ":"), sort_keys=True)
    deliveries = [
        OutboundDelivery(
            event_id=event.id,
            endpoint_id=endpoint_id,
            brand_id=r.brand_id,
            redemption_id=r.id,
            status="pending",
            attempts=0,
            attempt_budget_from=0,
            created_at=at,
        )
        for endpoint_id in endpoints
    ]
    s.add_all(deliveries)
    s.flush()
    owed = s.info.setdefault(AFTER_COMMIT, [])
    owed.extend((OUTBOUND_JOB, d.id, outbound_job_key(d.id, 0)) for d in deliveries)
    return event
