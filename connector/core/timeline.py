"""The per-redemption event log: every transition, attempt and action, with who did it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

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
    """Add an event row in the caller's transaction, so it commits with the change it describes."""
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
    return row
