"""The rows an import and the quality check write: a card's JSON, its ``FreeGood`` or ``Rebate``, its events."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table

from connector.core.frequent_buyer.model import CreditStatus
from connector.core.frequent_buyer.model import PosRedemptionEvent as PE
from connector.core.frequent_buyer.model import PosRedemptionStatus as PS
from connector.core.frequent_buyer.pos_types import PosCard, PosItem
from connector.core.frequent_buyer.rebate_tables import Rebate
from connector.core.frequent_buyer.rules import Outcome, RuleItem, RuleProgram
from connector.core.frequent_buyer.tables import FbEvent, FreeGood, Program, ProgramItem
from connector.core.frequent_buyer.units import Size

EVENTS: Table = FbEvent.__table__  # type: ignore[assignment]
REBATES: Table = Rebate.__table__  # type: ignore[assignment]
FREE_GOODS: Table = FreeGood.__table__  # type: ignore[assignment]


def _item_json(item: PosItem, program_item_id: int | None) -> dict[str, Any]:
    return {
        "sku": item.sku,
        "upc": item.upc,
        "description": item.description,
        "quantity": item.quantity,
        "size_value": None if item.size_value is None else str(item.size_value),
        "size_unit": item.size_unit,
        "brand": item.brand,
        "purchased_on": item.purchased_on.isoformat() if item.purchased_on else None,
        "row": item.row,
        "program_item_id": program_item_id,
    }


def card_json(card: PosCard, outcome: Outcome) -> dict[str, Any]:
    """The card as reported, with each item's program item when it passed (the Review screen shows this)."""
    program = outcome.program

    def resolved(item: PosItem) -> int | None:
        found = program.find(item) if program is not None else None
        return found.id if found is not None else None

    c = card.customer
    return {
        "customer": {"name": c.name, "phone": c.phone, "email": c.email, "internal_id": c.internal_id},
        "program_code": card.program_code,
        "store_code": card.store_code,
        "purchases": [_item_json(i, resolved(i)) for i in card.purchases],
        "free_goods": [_item_json(i, resolved(i)) for i in card.free_goods],
    }


def free_good_values(
    *,
    redemption_id: int,
    retailer_id: int,
    location_id: int | None,
    customer_id: int | None,
    program: RuleProgram | Program,
    distributor_id: int | None,
    item: RuleItem | ProgramItem,
    quantity: int,
    redeemed_on: Any,
    unit_cost: Decimal | None,
    now: datetime,
) -> dict[str, Any]:
    """The ``fb_free_goods`` row for a processed redemption: a New Reward for its distributor."""
    size = item.size if isinstance(item, RuleItem) else Size(item.size_value, item.size_unit)
    return {
        "pos_redemption_id": redemption_id,
        "retailer_id": retailer_id,
        "location_id": location_id,
        "distributor_id": distributor_id,
        "brand_id": program.brand_id,
        "program_id": program.id,
        "customer_id": customer_id,
        "fulfilment_type": str(program.fulfilment_type),
        "sku": item.sku,
        "upc": item.upc,
        "description": item.description,
        "quantity": quantity,
        "size_value": size.value,
        "size_unit": size.unit,
        "redeemed_on": redeemed_on,
        "unit_cost": unit_cost,
        "status": CreditStatus.UNBATCHED.value,
        "batch_id": None,
        "reason": None,
        "created_at": now,
        "updated_at": now,
    }


_REBATE_COLUMNS = (
    "pos_redemption_id",
    "retailer_id",
    "location_id",
    "distributor_id",
    "brand_id",
    "program_id",
    "customer_id",
    "sku",
    "description",
    "redeemed_on",
    "status",
    "batch_id",
    "reason",
    "created_at",
    "updated_at",
)


def reward_values(free_good: dict[str, Any], rebate_amount: Decimal | None) -> tuple[Table, dict[str, Any]]:
    """Where a processed redemption's reward goes: its free good, or for a dollars-off program (``rebate_amount``
    set) an ``fb_rebates`` row owing that amount, on the item the card rang the discount up on.

    Both the import and the quality check decide here, so a program's redemptions owe the same kind of reward
    whichever way they are processed.
    """
    if rebate_amount is None:
        return FREE_GOODS, free_good
    return REBATES, {k: free_good[k] for k in _REBATE_COLUMNS} | {"amount": rebate_amount}


def event_row(
    subject_id: int, event: PE, before: PS | None, after: PS, actor: str, now: datetime, detail: str
) -> dict[str, Any]:
    return {
        "subject_type": "pos_redemption",
        "subject_id": subject_id,
        "event": event.value,
        "from_status": before.value if before else None,
        "to_status": after.value,
        "actor": actor,
        "detail": detail,
        "at": now,
    }
