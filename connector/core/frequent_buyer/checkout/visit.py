"""What a counter redemption answers, and the rewards redeemed at the counter this visit (today).

Apart from ``redeem`` so the cards' view (``cards``) can show "Rewards Earned / Redeemed This Visit"
without importing the redemption's writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.frequent_buyer.tables import FreeGood, PosRedemption, Program

if TYPE_CHECKING:
    from connector.core.frequent_buyer.checkout.cards import CardProgress

#: The POS key prefix of a counter redemption: its idempotency key follows.
KEY_PREFIX = "checkout:"


@dataclass(frozen=True)
class CheckoutRedemption:
    """The redemption and its free good, as "Rewards Earned / Redeemed This Visit" shows it."""

    redemption_id: int
    status: str
    program_id: int
    program_name: str
    free_good_id: int | None
    sku: str
    description: str
    quantity: int
    distributor_id: int | None
    redeemed_on: date
    report_id: int
    replayed: bool
    #: The customer's cards after the redemption (the punches it used no longer count).
    cards: tuple[CardProgress, ...] = ()


def answer_of(s: Session, row: PosRedemption, *, replayed: bool, cards: tuple[CardProgress, ...]) -> CheckoutRedemption:
    good = s.scalars(select(FreeGood).where(FreeGood.pos_redemption_id == row.id)).one_or_none()
    free = (row.card.get("free_goods") or [{}])[0]
    program = s.get(Program, row.program_id) if row.program_id is not None else None
    return CheckoutRedemption(
        redemption_id=row.id,
        status=row.status,
        program_id=row.program_id or 0,
        program_name=program.name if program is not None else "",
        free_good_id=good.id if good else None,
        sku=str(free.get("sku") or ""),
        description=str(free.get("description") or ""),
        quantity=int(free.get("quantity") or 0),
        distributor_id=row.distributor_id,
        redeemed_on=row.redeemed_on,
        report_id=row.report_id,
        replayed=replayed,
        cards=cards,
    )


def redeemed_this_visit(s: Session, retailer_id: int, customer_id: int, day: date) -> tuple[CheckoutRedemption, ...]:
    """The customer's counter redemptions of ``day``, oldest first."""
    rows = s.scalars(
        select(PosRedemption)
        .where(
            PosRedemption.retailer_id == retailer_id,
            PosRedemption.customer_id == customer_id,
            PosRedemption.redeemed_on == day,
            PosRedemption.pos_key.startswith(KEY_PREFIX, autoescape=True),
        )
        .order_by(PosRedemption.id)
    )
    return tuple(answer_of(s, row, replayed=False, cards=()) for row in rows)
