"""Frozen views (plain values, safe after the session closes) and the specs callers pass in, for
programs, items, retailers, locations, distributors, enrollments and price lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.core.frequent_buyer.tables import (
    Distributor,
    DistributorProgram,
    Program,
    ProgramItem,
    Retailer,
    RetailerLocation,
)
from connector.core.frequent_buyer.units import format_quantity
from connector.core.tables import Brand


@dataclass(frozen=True)
class ItemSpec:
    """An item to add to a program, as the user typed it (validated by ``create_program``)."""

    sku: str
    description: str
    size_value: Decimal | int | float | str
    size_unit: str
    upc: str | None = None
    category: str = ""


@dataclass(frozen=True)
class ItemView:
    id: int
    program_id: int
    sku: str
    upc: str | None
    description: str
    size_value: Decimal
    size_unit: str
    category: str

    @property
    def size(self) -> str:
        return f"{format_quantity(self.size_value)} {self.size_unit}"


@dataclass(frozen=True)
class ProgramView:
    id: int
    brand_id: int
    brand_name: str
    name: str
    code: str
    buy_quantity: int
    free_quantity: int
    fulfilment_type: str
    starts_on: date | None
    ends_on: date | None
    quality_check_required: bool
    created_at: datetime
    item_count: int
    #: "Insufficient Purchase Amount": the least a card's purchases must come to; None = no dollar minimum.
    minimum_purchase_amount: Decimal | None
    distributor_ids: tuple[int, ...]
    #: Empty in lists; every item in ``get_program``.
    items: tuple[ItemView, ...] = ()
    #: Dollars off per redemption for a dollars-off (rebate) program; None for a free-good program.
    rebate_amount: Decimal | None = None


@dataclass(frozen=True)
class LocationSpec:
    name: str
    store_code: str
    state: str
    zip: str
    address1: str = ""
    city: str = ""


@dataclass(frozen=True)
class LocationView:
    id: int
    retailer_id: int
    name: str
    store_code: str
    address1: str
    city: str
    state: str
    zip: str


@dataclass(frozen=True)
class RetailerView:
    id: int
    name: str
    slug: str
    created_at: datetime
    locations: tuple[LocationView, ...]


@dataclass(frozen=True)
class DistributorView:
    id: int
    name: str
    slug: str
    service_states: tuple[str, ...]
    service_zip_prefixes: tuple[str, ...]
    program_ids: tuple[int, ...]
    created_at: datetime


@dataclass(frozen=True)
class EnrollmentView:
    id: int
    retailer_id: int
    retailer_name: str
    program_id: int
    program_name: str
    fulfilment_type: str
    distributor_id: int | None
    distributor_name: str | None
    enrolled_at: datetime
    ended_at: datetime | None
    #: The store's account number with the distributor (distributor-fulfilled enrollments only).
    account_number: str | None = None

    @property
    def active(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True)
class PriceSpec:
    sku: str
    unit_cost: Decimal | int | float | str
    srp: Decimal | int | float | str | None = None


@dataclass(frozen=True)
class PriceView:
    sku: str
    unit_cost: Decimal
    srp: Decimal | None


@dataclass(frozen=True)
class PriceListResult:
    created: int
    updated: int
    entries: tuple[PriceView, ...] = field(default=())


def _item_view(i: ProgramItem) -> ItemView:
    return ItemView(i.id, i.program_id, i.sku, i.upc, i.description, i.size_value, i.size_unit, i.category)


def _program_view(s: Session, p: Program, *, with_items: bool) -> ProgramView:
    brand_name = s.scalar(select(Brand.name).where(Brand.id == p.brand_id)) or ""
    items = (
        tuple(
            _item_view(i)
            for i in s.scalars(select(ProgramItem).where(ProgramItem.program_id == p.id).order_by(ProgramItem.id))
        )
        if with_items
        else ()
    )
    count = len(items) if with_items else int(s.scalar(select(func.count()).where(ProgramItem.program_id == p.id)) or 0)
    distributors = tuple(
        s.scalars(
            select(DistributorProgram.distributor_id)
            .where(DistributorProgram.program_id == p.id)
            .order_by(DistributorProgram.distributor_id)
        )
    )
    return ProgramView(
        id=p.id,
        brand_id=p.brand_id,
        brand_name=brand_name,
        name=p.name,
        code=p.code,
        buy_quantity=p.buy_quantity,
        free_quantity=p.free_quantity,
        fulfilment_type=p.fulfilment_type,
        starts_on=p.starts_on,
        ends_on=p.ends_on,
        quality_check_required=p.quality_check_required,
        created_at=p.created_at,
        item_count=count,
        minimum_purchase_amount=p.minimum_purchase_amount,
        distributor_ids=distributors,
        items=items,
        rebate_amount=p.rebate_amount,
    )


def _location_view(loc: RetailerLocation) -> LocationView:
    return LocationView(loc.id, loc.retailer_id, loc.name, loc.store_code, loc.address1, loc.city, loc.state, loc.zip)


def _retailer_view(s: Session, r: Retailer) -> RetailerView:
    locations = s.scalars(
        select(RetailerLocation).where(RetailerLocation.retailer_id == r.id).order_by(RetailerLocation.id)
    )
    return RetailerView(r.id, r.name, r.slug, r.created_at, tuple(_location_view(x) for x in locations))


def _distributor_view(s: Session, d: Distributor) -> DistributorView:
    programs = s.scalars(
        select(DistributorProgram.program_id)
        .where(DistributorProgram.distributor_id == d.id)
        .order_by(DistributorProgram.program_id)
    )
    return DistributorView(
        d.id,
        d.name,
        d.slug,
        tuple(d.service_states or ()),
        tuple(d.service_zip_prefixes or ()),
        tuple(programs),
        d.created_at,
    )
