"""The history of distributor account numbers: every change on an enrollment, for the distributor's
"Account Number Changes" report (seed 001) and the retailer's own record of what it told whom.

The number itself lives on ``Enrollment.account_number``: a store has one account with each distributor it
buys from, and the enrollment is where a retailer names that distributor for a program.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from connector.core.orm_base import Base, _now


class AccountNumberChange(Base):
    """One change of an enrollment's account number: old and new value, who and when, and the distributor
    the number is with (so a distributor sees only the changes on its own enrollments, even after the
    retailer moved the enrollment to another distributor)."""

    __tablename__ = "fb_account_number_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("fb_enrollments.id"))
    retailer_id: Mapped[int] = mapped_column(ForeignKey("fb_retailers.id"))
    program_id: Mapped[int] = mapped_column(ForeignKey("fb_programs.id"))
    distributor_id: Mapped[int | None] = mapped_column(ForeignKey("fb_distributors.id"))
    old_account_number: Mapped[str | None] = mapped_column(String(50))
    new_account_number: Mapped[str | None] = mapped_column(String(50))
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(default=_now)
    __table_args__ = (
        Index("ix_fb_account_number_changes_distributor", "distributor_id", "id"),
        Index("ix_fb_account_number_changes_enrollment", "enrollment_id", "id"),
    )
