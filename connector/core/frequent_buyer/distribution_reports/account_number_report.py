"""The Account Number Changes report (seed 001's second report): every change of a store's account number on
an enrollment with the distributor, newest first: old and new number, who changed it and when.

A distributor sees the changes made while the enrollment was with it (``AccountNumberChange.distributor_id``),
never another distributor's, even for the same store; brand users see those in their brand's programs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.frequent_buyer.account_number_tables import AccountNumberChange
from connector.core.frequent_buyer.distribution.sections import day_start
from connector.core.frequent_buyer.distribution_reports.report_types import ReportParams, _cols
from connector.core.frequent_buyer.programs.account_numbers import change_select, change_view
from connector.core.frequent_buyer.tables import Program

ACCOUNT_NUMBER_COLUMNS = _cols(
    ("changed_at", "Changed At"),
    ("retailer_id", "Retailer ID"),
    ("retailer", "Retailer"),
    ("program", "Program"),
    ("distributor", "Distributor"),
    ("old_account_number", "Old Account Number"),
    ("new_account_number", "New Account Number"),
    ("changed_by", "Changed By"),
    ("enrollment_id", "Enrollment ID"),
)


def _account_number_changes(
    s: Session, actor: Actor, p: ReportParams, after: int | None, limit: int
) -> list[tuple[int, dict[str, Any]]]:
    # change_select scopes a distributor to its own changes and a brand user to its brand's programs.
    q = change_select(actor)
    if p.date_from is not None:
        q = q.where(AccountNumberChange.changed_at >= day_start(p.date_from))
    if p.date_to is not None:  # inclusive: up to the start of the next day
        q = q.where(AccountNumberChange.changed_at < day_start(p.date_to + timedelta(days=1)))
    for column, value in (
        (AccountNumberChange.distributor_id, p.distributor_id),
        (AccountNumberChange.retailer_id, p.retailer_id),
        (AccountNumberChange.program_id, p.program_id),
        (Program.brand_id, p.brand_id),
    ):
        if value is not None:
            q = q.where(column == value)
    if after is not None:
        q = q.where(AccountNumberChange.id < after)
    out = []
    for row in s.execute(q.order_by(AccountNumberChange.id.desc()).limit(limit)):
        c = change_view(row)
        out.append(
            (
                c.id,
                {
                    "changed_at": c.changed_at,
                    "retailer_id": c.retailer_id,
                    "retailer": c.retailer_name,
                    "program": c.program_name,
                    "distributor": c.distributor_name,
                    "old_account_number": c.old_account_number,
                    "new_account_number": c.new_account_number,
                    "changed_by": c.changed_by,
                    "enrollment_id": c.enrollment_id,
                },
            )
        )
    return out
