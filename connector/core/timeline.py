"""The per-redemption event log: every transition, attempt and action, with who did it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from connector.core.outbound_events import emit
from connector.core.tables import Redemption, RedemptionEventRow


def record_event(
    session: Session,
    redemption: Redemption,
    *,
    actor: str,
    kind: str,
    at: datetime,
    message: str = "",
    from_status: str | None = None,
    to_status: str | None = None,
    detail: dict[str, Any] | None = None,
) -> RedemptionEventRow:
    """Add an event row in the caller's transaction, so it commits with the change it describes.

    The outbound webhook that reports it, if any, is written here too (``outbound_events.emit``).
    """
    row = RedemptionEventRow(
        redemption_id=redemption.id,
        at=at,
        actor=actor,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        message=message,
        detail=detail,
    )
    session.add(row)
    # The platform's webhook for this transition, if it has one, commits with it (the outbox).
    emit(session, redemption, kind=kind, to_status=to_status, detail=detail, at=at)
    return row
