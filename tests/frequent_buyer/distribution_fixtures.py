"""A small frequent-buyer market built straight through the ORM, for the distributor and retailer credit tests.

It does not use the POS ingestion code (being written in parallel): each free good is
created with the PosReport + processed PosRedemption it would have come from, so the
rows look exactly as ingestion leaves them.

Two brands, two distributors (North, South), three retailers: Paws (two locations)
and Kibble buy from North, Southside buys from South. Paws has a price list for
one SKU, so approximate costs come from both the processing-time snapshot and the
price list.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from connector.core import catalog
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.frequent_buyer.model import FulfilmentType, PosRedemptionStatus
from connector.core.frequent_buyer.tables import (
    Batch,
    Customer,
    Distributor,
    DistributorProgram,
    Enrollment,
    FbEvent,
    FreeGood,
    PosRedemption,
    PosReport,
    PriceListEntry,
    Program,
    ProgramItem,
    Retailer,
    RetailerLocation,
)
from connector.core.model import Role
from connector.core.runtime import Runtime

_seq = itertools.count(1)


@dataclass(frozen=True)
class Market:
    acme: int  # brand ids
    zeta: int
    acme_dog: int  # program ids
    zeta_cat: int
    acme_direct: int  # a direct-fulfilled program: its free goods have no distributor
    north: int  # distributor ids
    south: int
    paws: int  # retailer ids
    kibble: int
    southside: int
    paws_main: int  # location ids
    paws_east: int
    kibble_main: int
    southside_main: int
    ada: int  # customer ids (Ada at Paws, Bob at Kibble, Cy at Southside)
    bob: int
    cy: int

    # -- actors ---------------------------------------------------------------------------------------------

    @property
    def north_user(self) -> Actor:
        return Actor("north-clerk", Role.DISTRIBUTOR, distributor_id=self.north)

    @property
    def south_user(self) -> Actor:
        return Actor("south-clerk", Role.DISTRIBUTOR, distributor_id=self.south)

    @property
    def paws_user(self) -> Actor:
        return Actor("paws-manager", Role.RETAILER, retailer_id=self.paws)

    @property
    def kibble_user(self) -> Actor:
        return Actor("kibble-manager", Role.RETAILER, retailer_id=self.kibble)

    @property
    def admin(self) -> Actor:
        return Actor("platform-admin", Role.PLATFORM_ADMIN)

    @property
    def support(self) -> Actor:
        return Actor("support-desk", Role.SUPPORT)

    @property
    def acme_admin(self) -> Actor:
        return Actor("acme-admin", Role.BRAND_ADMIN, brand_id=self.acme)


def build_market(rt: Runtime) -> Market:
    with transaction(rt.sessions) as s:
        acme = catalog.create_brand(s, "Acme Pets", "acme")
        zeta = catalog.create_brand(s, "Zeta Foods", "zeta")
        dog = Program(
            brand_id=acme.id,
            name="Acme Dog Buy 10 Get 1",
            code="ACME-DOG",
            buy_quantity=10,
            free_quantity=1,
            fulfilment_type=FulfilmentType.DISTRIBUTOR,
        )
        cat = Program(
            brand_id=zeta.id,
            name="Zeta Cat Buy 8 Get 1",
            code="ZETA-CAT",
            buy_quantity=8,
            free_quantity=1,
            fulfilment_type=FulfilmentType.DISTRIBUTOR,
        )
        direct = Program(
            brand_id=acme.id,
            name="Acme Treats Direct",
            code="ACME-TREAT",
            buy_quantity=5,
            free_quantity=1,
            fulfilment_type=FulfilmentType.DIRECT,
        )
        s.add_all([dog, cat, direct])
        s.flush()
        s.add_all(
            [
                ProgramItem(
                    program_id=dog.id,
                    sku="ACME-5LB",
                    upc="012345678905",
                    description="Acme Dog Kibble 5 lb",
                    size_value=Decimal("5"),
                    size_unit="lb",
                ),
                ProgramItem(
                    program_id=dog.id,
                    sku="ACME-15LB",
                    upc="012345678912",
                    description="Acme Dog Kibble 15 lb",
                    size_value=Decimal("15"),
                    size_unit="lb",
                ),
                ProgramItem(
                    program_id=cat.id,
                    sku="ZETA-3LB",
                    upc="098765432109",
                    description="Zeta Cat Chow 3 lb",
                    size_value=Decimal("3"),
                    size_unit="lb",
                ),
            ]
        )
        north = Distributor(name="North Pet Supply", slug="north", service_states=["VT", "NH"])
        south = Distributor(name="South Pet Distribution", slug="south", service_states=["GA"])
        s.add_all([north, south])
        s.flush()
        s.add_all(
            [
                DistributorProgram(distributor_id=north.id, program_id=dog.id),
                DistributorProgram(distributor_id=north.id, program_id=cat.id),
                DistributorProgram(distributor_id=south.id, program_id=dog.id),
            ]
        )
        paws = Retailer(name="Paws & Claws", slug="paws")
        kibble = Retailer(name="Kibble Corner", slug="kibble")
        southside = Retailer(name="Southside Pets", slug="southside")
        s.add_all([paws, kibble, southside])
        s.flush()
        paws_main = RetailerLocation(
            retailer_id=paws.id, name="Paws Main St", store_code="001", city="Burlington", state="VT", zip="05401"
        )
        paws_east = RetailerLocation(
            retailer_id=paws.id, name="Paws East", store_code="002", city="Montpelier", state="VT", zip="05602"
        )
        kibble_main = RetailerLocation(
            retailer_id=kibble.id, name="Kibble Corner", store_code="1", city="Concord", state="NH", zip="03301"
        )
        southside_main = RetailerLocation(
            retailer_id=southside.id, name="Southside", store_code="1", city="Atlanta", state="GA", zip="30301"
        )
        s.add_all([paws_main, paws_east, kibble_main, southside_main])
        s.add_all(
            [
                Enrollment(retailer_id=paws.id, program_id=dog.id, distributor_id=north.id, account_number="PC-100"),
                Enrollment(retailer_id=paws.id, program_id=cat.id, distributor_id=north.id, account_number="PC-100"),
                Enrollment(retailer_id=kibble.id, program_id=dog.id, distributor_id=north.id, account_number="KC-200"),
                Enrollment(
                    retailer_id=southside.id, program_id=dog.id, distributor_id=south.id, account_number="SS-300"
                ),
                Enrollment(retailer_id=paws.id, program_id=direct.id, distributor_id=None),
            ]
        )
        ada = Customer(retailer_id=paws.id, name="Ada Lovelace", email="ada@example.com", phone="8025550142")
        bob = Customer(retailer_id=kibble.id, name="Bob Builder", email="bob@example.com")
        cy = Customer(retailer_id=southside.id, name="Cy Young", phone="4045550100")
        s.add_all([ada, bob, cy])
        s.add(PriceListEntry(retailer_id=paws.id, sku="ZETA-3LB", unit_cost=Decimal("7.25"), srp=Decimal("11.99")))
        s.flush()
        return Market(
            acme=acme.id,
            zeta=zeta.id,
            acme_dog=dog.id,
            zeta_cat=cat.id,
            acme_direct=direct.id,
            north=north.id,
            south=south.id,
            paws=paws.id,
            kibble=kibble.id,
            southside=southside.id,
            paws_main=paws_main.id,
            paws_east=paws_east.id,
            kibble_main=kibble_main.id,
            southside_main=southside_main.id,
            ada=ada.id,
            bob=bob.id,
            cy=cy.id,
        )


_ITEMS = {
    "ACME-5LB": ("012345678905", "Acme Dog Kibble 5 lb", Decimal("5"), "lb"),
    "ACME-15LB": ("012345678912", "Acme Dog Kibble 15 lb", Decimal("15"), "lb"),
    "ZETA-3LB": ("098765432109", "Zeta Cat Chow 3 lb", Decimal("3"), "lb"),
}


def make_free_good(
    rt: Runtime,
    m: Market,
    *,
    retailer: str = "paws",
    sku: str = "ACME-5LB",
    quantity: int = 1,
    unit_cost: Decimal | str | None = None,
    redeemed_on: date = date(2026, 6, 1),
    customer: str | None = None,
    location: str | None = None,
    direct: bool = False,
    description: str | None = None,
) -> int:
    """One processed redemption and its unbatched free good, as POS ingestion would leave them; returns its id."""
    n = next(_seq)
    retailer_id = getattr(m, retailer)
    distributor_id = None if direct else (m.south if retailer == "southside" else m.north)
    program_id = m.acme_direct if direct else (m.zeta_cat if sku.startswith("ZETA") else m.acme_dog)
    brand_id = m.zeta if sku.startswith("ZETA") else m.acme
    location_id = getattr(m, location) if location else getattr(m, f"{retailer}_main")
    customer_id = getattr(m, customer) if customer else {"paws": m.ada, "kibble": m.bob, "southside": m.cy}[retailer]
    upc, default_description, size_value, size_unit = _ITEMS[sku]
    with transaction(rt.sessions) as s:
        report = PosReport(
            retailer_id=retailer_id,
            format="test",
            filename=f"report-{n}.csv",
            sha256=hashlib.sha256(f"report-{n}".encode()).hexdigest(),
            row_count=1,
            uploaded_by="fixture",
        )
        s.add(report)
        s.flush()
        redemption = PosRedemption(
            retailer_id=retailer_id,
            report_id=report.id,
            location_id=location_id,
            pos_key=f"card-{n}",
            source_rows=[2],
            status=PosRedemptionStatus.PROCESSED,
            customer_id=customer_id,
            program_id=program_id,
            brand_id=brand_id,
            distributor_id=distributor_id,
            redeemed_on=redeemed_on,
            card={"purchases": [], "free_goods": [{"sku": sku, "quantity": quantity}], "customer": {}},
        )
        s.add(redemption)
        s.flush()
        good = FreeGood(
            pos_redemption_id=redemption.id,
            retailer_id=retailer_id,
            location_id=location_id,
            distributor_id=distributor_id,
            brand_id=brand_id,
            program_id=program_id,
            customer_id=customer_id,
            fulfilment_type=FulfilmentType.DIRECT if direct else FulfilmentType.DISTRIBUTOR,
            sku=sku,
            upc=upc,
            description=description or default_description,
            quantity=quantity,
            size_value=size_value,
            size_unit=size_unit,
            redeemed_on=redeemed_on,
            unit_cost=Decimal(unit_cost) if unit_cost is not None else None,
            status="unbatched",
        )
        s.add(good)
        s.flush()
        return good.id


def make_free_goods(rt: Runtime, m: Market, n: int, **kwargs: object) -> list[int]:
    return [make_free_good(rt, m, **kwargs) for _ in range(n)]  # type: ignore[arg-type]


# -- looking at the database ----------------------------------------------------------------------------------


def statuses(rt: Runtime, ids: list[int]) -> dict[int, tuple[str, int | None]]:
    """Each free good's (status, batch_id)."""
    with rt.sessions() as s:
        rows = s.execute(select(FreeGood.id, FreeGood.status, FreeGood.batch_id).where(FreeGood.id.in_(ids))).all()
        return {r.id: (r.status, r.batch_id) for r in rows}


def batch_row(rt: Runtime, batch_id: int) -> Batch:
    with rt.sessions() as s:
        b = s.get(Batch, batch_id)
        assert b is not None
        return b


def events(rt: Runtime, subject_type: str | None = None, subject_id: int | None = None) -> list[FbEvent]:
    with rt.sessions() as s:
        q = select(FbEvent).order_by(FbEvent.id)
        if subject_type is not None:
            q = q.where(FbEvent.subject_type == subject_type)
        if subject_id is not None:
            q = q.where(FbEvent.subject_id == subject_id)
        return list(s.scalars(q))


def count(rt: Runtime, table: type) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def snapshot(rt: Runtime) -> tuple:
    """Everything a refused move must leave unchanged: free goods, batches, groups and events."""
    from connector.core.frequent_buyer.tables import CreditGroup, CreditMemo, CreditMemoLine

    with rt.sessions() as s:
        goods = s.execute(
            select(FreeGood.id, FreeGood.status, FreeGood.batch_id, FreeGood.reason, FreeGood.updated_at).order_by(
                FreeGood.id
            )
        ).all()
        batches = s.execute(
            select(Batch.id, Batch.status, Batch.credit_group_id, Batch.fulfilled_at, Batch.reconciled_at).order_by(
                Batch.id
            )
        ).all()
        counts = [
            int(s.scalar(select(func.count()).select_from(t)) or 0)
            for t in (FbEvent, CreditGroup, CreditMemo, CreditMemoLine)
        ]
    return (tuple(map(tuple, goods)), tuple(map(tuple, batches)), tuple(counts))
