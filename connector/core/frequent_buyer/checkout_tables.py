"""In-store redemption's one table: the purchases a cashier scans onto a pet owner's cards (punches).

A punch is one line of a customer's card: a program item bought at the counter, ``quantity`` units.
Punches not yet used by a redemption (``pos_redemption_id`` null) are the card's progress; a
Checkout redemption marks the ones it used, in the same transaction that writes the redemption and
its free good, so a punch counts towards one free good only. ``idempotency_key`` (unique per
retailer) makes a retried scan record nothing twice.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from connector.core.orm_base import Base, _now


class CardPunch(Base):
    """Units of one program item a customer bought at the counter, counted on that program's card."""

    __tablename__ = "fb_card_punches"
    id: Mapped[int] = mapped_column(primary_key=True)
    retailer_id: Mapped[int] = mapped_column(ForeignKey("fb_retailers.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("fb_customers.id"))
    program_id: Mapped[int] = mapped_column(ForeignKey("fb_programs.id"))
    program_item_id: Mapped[int] = mapped_column(ForeignKey("fb_program_items.id"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("fb_retailer_locations.id"))
    quantity: Mapped[int]
    purchased_on: Mapped[date] = mapped_column(Date)
    #: The redemption this punch was used for; null while it still counts towards the next free good.
    pos_redemption_id: Mapped[int | None] = mapped_column(ForeignKey("fb_pos_redemptions.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    __table_args__ = (
        UniqueConstraint("retailer_id", "idempotency_key", name="uq_fb_card_punch_key"),
        Index("ix_fb_card_punches_card", "customer_id", "program_id", "pos_redemption_id"),
    )
