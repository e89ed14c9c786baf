"""Rebate schema: dollars-off redemptions owed to a retailer through its distributor, and the batches that credit them.

A program with a ``rebate_amount`` (seed 002's "dollars off discount, or a rebate") produces a ``Rebate`` for each
processed redemption instead of a ``FreeGood``. One rebate per processed redemption (``pos_redemption_id`` is
unique), so re-importing or re-approving a report never owes a rebate twice. The distributor rolls a retailer's
rebates into a ``RebateBatch`` (seed 002's "Distributor Rebate Credit Batches") and marks it credited.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from connector.core.orm_base import Base, _now

_MONEY = Numeric(12, 2)


class RebateBatch(Base):
    """A Distributor Rebate Credit Batch: one distributor's rebates for one retailer, then marked credited."""

    __tablename__ = "fb_rebate_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("fb_distributors.id"))
    retailer_id: Mapped[int] = mapped_column(ForeignKey("fb_retailers.id"))
    description: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    #: When the distributor marked the batch credited (the retailer's credit was issued).
    credited_at: Mapped[datetime | None]
    __table_args__ = (
        Index("ix_fb_rebate_batches_distributor_status", "distributor_id", "status"),
        Index("ix_fb_rebate_batches_retailer", "retailer_id"),
    )


class Rebate(Base):
    """A processed dollars-off redemption as dollars owed to the retailer by its distributor."""

    __tablename__ = "fb_rebates"
    id: Mapped[int] = mapped_column(primary_key=True)
    pos_redemption_id: Mapped[int] = mapped_column(ForeignKey("fb_pos_redemptions.id"), unique=True)
    retailer_id: Mapped[int] = mapped_column(ForeignKey("fb_retailers.id"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("fb_retailer_locations.id"))
    #: None for direct (manufacturer) and retailer-fulfilled programs: no distributor credits those.
    distributor_id: Mapped[int | None] = mapped_column(ForeignKey("fb_distributors.id"))
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"))
    program_id: Mapped[int] = mapped_column(ForeignKey("fb_programs.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("fb_customers.id"))
    #: What the customer was given off, in dollars: the program's rebate amount at processing time.
    amount: Mapped[Decimal] = mapped_column(_MONEY)
    #: The item the discount was rung up on, as the card reported it.
    sku: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(300))
    redeemed_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("fb_rebate_batches.id"), index=True)
    reason: Mapped[str | None] = mapped_column(Text)  # why declined
    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now)
    __table_args__ = (
        Index("ix_fb_rebates_distributor_status", "distributor_id", "status"),
        Index("ix_fb_rebates_retailer_status", "retailer_id", "status"),
    )
