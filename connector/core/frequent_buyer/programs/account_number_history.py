"""The shared pieces of account numbers that enrolling also needs: cleaning one, finding the number a store
already has with a distributor, and recording a change (old, new, who, when) with the audit event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.frequent_buyer.account_number_tables import AccountNumberChange
from connector.core.frequent_buyer.events import record_event
from connector.core.frequent_buyer.tables import Enrollment

MAX_ACCOUNT_NUMBER = 50


def clean_account_number(value: str | None, problems: dict[str, str], field: str = "account_number") -> str | None:
    """Trimmed, or None when blank; a clear problem when too long or holding control characters."""
    text = (value or "").strip()
    if len(text) > MAX_ACCOUNT_NUMBER:
        problems[field] = f"at most {MAX_ACCOUNT_NUMBER} characters (it has {len(text)}); shorten it"
    elif any(ord(c) < 32 or ord(c) == 127 for c in text):
        problems[field] = "remove the control characters (tabs, line breaks) from the account number"
    return text or None


def known_account_number(s: Session, retailer_id: int, distributor_id: int | None) -> str | None:
    """The number the store already has with this distributor on another active enrollment, if any."""
    if distributor_id is None:
        return None
    return s.scalar(
        select(func.max(Enrollment.account_number)).where(
            Enrollment.retailer_id == retailer_id,
            Enrollment.distributor_id == distributor_id,
            Enrollment.ended_at.is_(None),
        )
    )


def account_number_with(retailer_id: Any, distributor_id: Any) -> ColumnElement[Any]:
    """A correlated scalar: the store's account number with the distributor (for batch and free-good rows)."""
    return (
        select(func.max(Enrollment.account_number))
        .where(Enrollment.retailer_id == retailer_id, Enrollment.distributor_id == distributor_id)
        .correlate_except(Enrollment)
        .scalar_subquery()
    )


def record_change(s: Session, e: Enrollment, old: str | None, new: str | None, actor: Actor, now: datetime) -> None:
    """One history row (and the audit event) when the number the distributor knows the store by changes."""
    if old == new:
        return
    s.add(
        AccountNumberChange(
            enrollment_id=e.id,
            retailer_id=e.retailer_id,
            program_id=e.program_id,
            distributor_id=e.distributor_id,
            old_account_number=old,
            new_account_number=new,
            changed_by=actor.name,
            changed_at=now,
        )
    )
    record_event(s, "enrollment", e.id, "account_number", actor, now, f"{old or '(none)'} -> {new or '(none)'}")
