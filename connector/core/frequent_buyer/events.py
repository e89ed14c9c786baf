"""The frequent-buyer audit trail: one ``fb_events`` row per change (who, from which status to which, why, when).

A row is written in the same transaction as the change it records, so the trail and the data never disagree.
Every writer builds the row here, so its shape is defined once: ``record_event`` adds it to a session (moves
of free goods and batches, reconciles, enrollments, report imports), ``event_row`` gives the plain values for
a bulk insert (the POS import writes thousands per report).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.frequent_buyer.tables import FbEvent


def event_row(
    subject_type: str,
    subject_id: int,
    event: str,
    actor: str,
    at: datetime,
    detail: str,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
) -> dict[str, Any]:
    """The column values of one ``fb_events`` row; ``actor`` is the acting user's name.

    Changes that have no status (an enrollment, a report import) leave ``from_status``/``to_status`` empty.
    """
    return {
        "subject_type": subject_type,
        "subject_id": subject_id,
        "event": event,
        "from_status": from_status,
        "to_status": to_status,
        "actor": actor,
        "detail": detail,
        "at": at,
    }


def record_event(
    s: Session,
    subject_type: str,
    subject_id: int,
    event: str,
    actor: Actor,
    at: datetime,
    detail: str,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
) -> None:
    """Add the ``fb_events`` row for a change to ``s``; it commits with the change."""
    s.add(
        FbEvent(
            **event_row(
                subject_type, subject_id, event, actor.name, at, detail, from_status=from_status, to_status=to_status
            )
        )
    )
