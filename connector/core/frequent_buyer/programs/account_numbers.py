"""Distributor account numbers: one per enrollment (the store's account with the distributor it chose for a
program), changed by the retailer, and every change kept (old, new, who, when) for the distributor's
"Account Number Changes" report.

Why on the enrollment and not the retailer: a store buys from several distributors and each gives it its
own account number; a distributor must credit the right account. When a retailer enrolls with, or moves an
enrollment to, a distributor it already has an account with, that number is reused unless it gives another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import ConflictError, ValidationError
from connector.core.frequent_buyer.account_number_tables import AccountNumberChange
from connector.core.frequent_buyer.programs.account_number_history import clean_account_number, record_change
from connector.core.frequent_buyer.programs.enrollments import _enrollment_view, _load_enrollment
from connector.core.frequent_buyer.programs.permissions import check_retailer_write, is_staff
from connector.core.frequent_buyer.programs.views import EnrollmentView
from connector.core.frequent_buyer.tables import Distributor, Program, Retailer
from connector.core.model import Role
from connector.core.runtime import Runtime


@dataclass(frozen=True)
class AccountNumberChangeView:
    id: int
    enrollment_id: int
    retailer_id: int
    retailer_name: str
    program_id: int
    program_name: str
    distributor_id: int | None
    distributor_name: str | None
    old_account_number: str | None
    new_account_number: str | None
    changed_by: str
    changed_at: datetime


def set_account_number(rt: Runtime, actor: Actor, enrollment_id: int, account_number: str | None) -> EnrollmentView:
    """The retailer (or support for it) gives the account number its distributor knows the store by.

    Only distributor-fulfilled enrollments have one; an ended enrollment is refused. Setting the number it
    already has changes nothing and records nothing (a resubmitted form is not a second change).
    """
    problems: dict[str, str] = {}
    new = clean_account_number(account_number, problems)
    now = rt.now()
    with transaction(rt.sessions) as s:
        e = _load_enrollment(s, actor, enrollment_id, lock=True)
        check_retailer_write(actor, e.retailer_id, "change an account number")
        if e.ended_at is not None:
            raise ConflictError(f"enrollment {e.id} has ended; enroll again before giving an account number")
        if e.distributor_id is None:
            program = s.get(Program, e.program_id)
            kind = program.fulfilment_type if program else "direct"
            problems["account_number"] = (
                f"this enrollment is {kind}-fulfilled: no distributor credits it, so it has no account number"
            )
        if problems:
            raise ValidationError(
                "cannot change the account number: " + "; ".join(f"{k}: {v}" for k, v in problems.items()), problems
            )
        old, e.account_number = e.account_number, new
        record_change(s, e, old, new, actor, now)
        s.flush()
        return _enrollment_view(s, e)


def _change_scope(actor: Actor) -> list[ColumnElement[bool]]:
    if actor.role == Role.RETAILER:
        return [AccountNumberChange.retailer_id == actor.retailer_id]
    if actor.role == Role.DISTRIBUTOR:
        return [AccountNumberChange.distributor_id == actor.distributor_id]
    if not is_staff(actor) and actor.brand_id is not None:
        return [Program.brand_id == actor.brand_id]
    return []


def change_select(actor: Actor) -> Any:
    """Account number changes in the actor's scope, with names; add filters with ``.where``."""
    return (
        select(
            AccountNumberChange,
            Retailer.name.label("retailer_name"),
            Program.name.label("program_name"),
            Distributor.name.label("distributor_name"),
        )
        .join(Retailer, Retailer.id == AccountNumberChange.retailer_id)
        .join(Program, Program.id == AccountNumberChange.program_id)
        .outerjoin(Distributor, Distributor.id == AccountNumberChange.distributor_id)
        .where(*_change_scope(actor))
    )


def change_view(row: Any) -> AccountNumberChangeView:
    c: AccountNumberChange = row[0]
    return AccountNumberChangeView(
        c.id,
        c.enrollment_id,
        c.retailer_id,
        row.retailer_name,
        c.program_id,
        row.program_name,
        c.distributor_id,
        row.distributor_name,
        c.old_account_number,
        c.new_account_number,
        c.changed_by,
        c.changed_at,
    )


def list_account_number_changes(
    rt: Runtime, actor: Actor, *, enrollment_id: int | None = None, retailer_id: int | None = None
) -> list[AccountNumberChangeView]:
    """The changes the actor may see, oldest first: a retailer its own, a distributor those made while the
    enrollment was with it, a brand those in its programs. Naming another party's enrollment lists nothing."""
    with rt.sessions() as s:
        q = change_select(actor)
        if enrollment_id is not None:
            _load_enrollment(s, actor, enrollment_id)  # another party's enrollment: not found
            q = q.where(AccountNumberChange.enrollment_id == enrollment_id)
        if retailer_id is not None:
            q = q.where(AccountNumberChange.retailer_id == retailer_id)
        return [change_view(r) for r in s.execute(q.order_by(AccountNumberChange.id))]
