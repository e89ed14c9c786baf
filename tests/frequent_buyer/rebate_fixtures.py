"""Rebates through the real path: a dollars-off program, enrollments, and POS cards imported into rebates.

``seed_rebates`` adds to ``fb_world`` the program *Acme Kibble $5 Off* (code ``ACME-5OFF``, Buy 3, a $5.00
rebate, distributor-fulfilled, item ``OFF-10``), associates it with both distributors, enrolls Paws Corner
with Northwest Pet Supply and Bark Avenue with Columbia Distributing, and imports ``paws`` cards for Paws
Corner and ``bark`` cards for Bark Avenue. It returns the rebate ids of each retailer, oldest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from connector.core.access import Actor
from connector.core.frequent_buyer import programs
from connector.core.frequent_buyer.pos_types import PosItem
from connector.core.frequent_buyer.programs import ItemSpec
from connector.core.frequent_buyer.rebate_tables import Rebate
from connector.core.runtime import Runtime
from tests.frequent_buyer.conftest import FbWorld, import_cards, make_card

REBATE_SKU = "OFF-10"


@dataclass(frozen=True)
class RebateWorld:
    program_id: int
    paws: list[int]  # rebate ids of Paws Corner (Northwest Pet Supply)
    bark: list[int]  # rebate ids of Bark Avenue (Columbia Distributing)


def _item(quantity: int, row: int) -> PosItem:
    return PosItem(
        sku=REBATE_SKU,
        description="Acme Kibble 10 lb",
        quantity=quantity,
        size_value=Decimal("10"),
        size_unit="lb",
        row=row,
    )


def rebate_card(key: str, *, store: str = "001", redeemed_on: date = date(2026, 6, 15), name: str = "Dana Smith"):
    return make_card(
        key,
        purchases=[_item(3, 2)],
        free=[_item(1, 3)],
        store=store,
        program_code="ACME-5OFF",
        redeemed_on=redeemed_on,
        name=name,
        phone=None,
        email=f"{key.lower()}@example.com",  # one customer per card
    )


def seed_rebates(rt: Runtime, world: FbWorld, *, paws: int = 3, bark: int = 1) -> RebateWorld:
    admin = Actor.system("test-setup")
    program = programs.create_program(
        rt,
        admin,
        brand_id=world.brand_id,
        name="Acme Kibble $5 Off",
        code="ACME-5OFF",
        buy_quantity=3,
        rebate_amount="5.00",
        items=[ItemSpec(sku=REBATE_SKU, description="Acme Kibble 10 lb", size_value="10", size_unit="lb")],
    )
    for distributor_id in (world.distributor_id, world.other_distributor_id):
        programs.associate_program(rt, admin, distributor_id, program.id)
    programs.enroll(
        rt, admin, retailer_id=world.retailer_id, program_id=program.id, distributor_id=world.distributor_id
    )
    programs.enroll(
        rt, admin, retailer_id=world.other_retailer_id, program_id=program.id, distributor_id=world.other_distributor_id
    )
    if paws:
        cards = [rebate_card(f"R-P{i}", name=f"Paws Customer {i}") for i in range(paws)]
        import_cards(rt, admin, world.retailer_id, cards, filename="paws-rebates.csv")
    if bark:
        cards = [rebate_card(f"R-B{i}", store="B1", name=f"Bark Customer {i}") for i in range(bark)]
        import_cards(rt, admin, world.other_retailer_id, cards, filename="bark-rebates.csv")
    with rt.sessions() as s:
        rows = s.execute(select(Rebate.id, Rebate.retailer_id).order_by(Rebate.id)).all()
    return RebateWorld(
        program_id=program.id,
        paws=[i for i, r in rows if r == world.retailer_id],
        bark=[i for i, r in rows if r == world.other_retailer_id],
    )


def rebate_rows(rt: Runtime) -> list[tuple]:
    """Every rebate's (id, status, batch, reason): what a refused call must leave exactly as it was."""
    with rt.sessions() as s:
        return [
            tuple(r)
            for r in s.execute(
                select(Rebate.id, Rebate.status, Rebate.batch_id, Rebate.reason, Rebate.updated_at).order_by(Rebate.id)
            )
        ]
