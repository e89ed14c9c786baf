"""Read models of rebates: frozen views of a rebate and a Distributor Rebate Credit Batch, and their queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.errors import NotFoundError
from connector.core.frequent_buyer.distribution.read_models import EventView, events_of
from connector.core.frequent_buyer.programs.account_number_history import account_number_with
from connector.core.frequent_buyer.rebate_tables import Rebate, RebateBatch
from connector.core.frequent_buyer.rebates.permissions import rebate_batch_scope, rebate_scope
from connector.core.frequent_buyer.tables import Customer, Distributor, Program, Retailer, RetailerLocation
from connector.core.runtime import Runtime
from connector.core.tables import Brand

_CENT = Decimal("0.01")


def _money(value: Any) -> Decimal:
    # SUM over Numeric is a Decimal on PostgreSQL and may be a float on SQLite; normalise both.
    return Decimal(str(value or 0)).quantize(_CENT)


@dataclass(frozen=True)
class RebateView:
    """One rebate as the Rebates Dashboard, the reports and the retailer's rebate credit batches show it."""

    id: int
    status: str
    amount: Decimal
    retailer_id: int
    retailer_name: str
    retailer_account_number: str | None
    location_name: str | None
    distributor_id: int | None
    distributor_name: str | None
    brand_id: int
    brand_name: str
    program_id: int
    program_name: str
    customer_name: str | None
    sku: str
    description: str
    redeemed_on: date
    batch_id: int | None
    batch_description: str | None
    batch_status: str | None
    credited_at: datetime | None
    reason: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class RebateBatchView:
    """A Distributor Rebate Credit Batch with its rebate count and dollar total (over the visible rebates)."""

    id: int
    status: str
    description: str
    distributor_id: int
    distributor_name: str
    retailer_id: int
    retailer_name: str
    retailer_account_number: str | None
    rebates: int
    amount: Decimal
    created_by: str
    created_at: datetime
    credited_at: datetime | None


@dataclass(frozen=True)
class RebateBatchDetail:
    batch: RebateBatchView
    rebates: list[RebateView]
    events: list[EventView]


@dataclass(frozen=True)
class RebatesMoved:
    """What a rebate move did: which rebates went to which status, and which batches they left."""

    event: str
    to_status: str
    rebate_ids: list[int]
    batch_ids: list[int]


def rebate_select() -> Select[*tuple[Any, ...]]:
    """Rebates with the names a person reads (retailer, location, distributor, brand, program, customer, batch)."""
    return (
        select(
            Rebate,
            Retailer.name.label("retailer_name"),
            account_number_with(Rebate.retailer_id, Rebate.distributor_id).label("retailer_account_number"),
            RetailerLocation.name.label("location_name"),
            Distributor.name.label("distributor_name"),
            Brand.name.label("brand_name"),
            Program.name.label("program_name"),
            Customer.name.label("customer_name"),
            RebateBatch.description.label("batch_description"),
            RebateBatch.status.label("batch_status"),
            RebateBatch.credited_at.label("credited_at"),
        )
        .join(Retailer, Retailer.id == Rebate.retailer_id)
        .join(Brand, Brand.id == Rebate.brand_id)
        .join(Program, Program.id == Rebate.program_id)
        .outerjoin(RetailerLocation, RetailerLocation.id == Rebate.location_id)
        .outerjoin(Distributor, Distributor.id == Rebate.distributor_id)
        .outerjoin(Customer, Customer.id == Rebate.customer_id)
        .outerjoin(RebateBatch, RebateBatch.id == Rebate.batch_id)
    )


def rebate_view(row: Any) -> RebateView:
    r: Rebate = row[0]
    return RebateView(
        id=r.id,
        status=r.status,
        amount=_money(r.amount),
        retailer_id=r.retailer_id,
        retailer_name=row.retailer_name,
        retailer_account_number=row.retailer_account_number,
        location_name=row.location_name,
        distributor_id=r.distributor_id,
        distributor_name=row.distributor_name,
        brand_id=r.brand_id,
        brand_name=row.brand_name,
        program_id=r.program_id,
        program_name=row.program_name,
        customer_name=row.customer_name,
        sku=r.sku,
        description=r.description,
        redeemed_on=r.redeemed_on,
        batch_id=r.batch_id,
        batch_description=row.batch_description,
        batch_status=row.batch_status,
        credited_at=row.credited_at,
        reason=r.reason,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def rebate_batch_select(actor: Actor) -> Select[Any]:
    """Rebate credit batches within ``actor``'s scope, with count and total over the rebates it may see."""
    totals = (
        select(
            Rebate.batch_id.label("batch_id"),
            func.count(Rebate.id).label("n"),
            func.sum(Rebate.amount).label("amount"),
        )
        .where(Rebate.batch_id.is_not(None), *rebate_scope(actor))
        .group_by(Rebate.batch_id)
        .subquery("rebate_batch_totals")
    )
    return (
        select(
            RebateBatch,
            Distributor.name.label("distributor_name"),
            Retailer.name.label("retailer_name"),
            account_number_with(RebateBatch.retailer_id, RebateBatch.distributor_id).label("retailer_account_number"),
            totals.c.n,
            totals.c.amount,
        )
        .join(Distributor, Distributor.id == RebateBatch.distributor_id)
        .join(Retailer, Retailer.id == RebateBatch.retailer_id)
        .outerjoin(totals, totals.c.batch_id == RebateBatch.id)
        .where(*rebate_batch_scope(actor))
    )


def rebate_batch_view(row: Any) -> RebateBatchView:
    b: RebateBatch = row[0]
    return RebateBatchView(
        id=b.id,
        status=b.status,
        description=b.description,
        distributor_id=b.distributor_id,
        distributor_name=row.distributor_name,
        retailer_id=b.retailer_id,
        retailer_name=row.retailer_name,
        retailer_account_number=row.retailer_account_number,
        rebates=int(row.n or 0),
        amount=_money(row.amount),
        created_by=b.created_by,
        created_at=b.created_at,
        credited_at=b.credited_at,
    )


def load_rebate_batch_view(s: Session, actor: Actor, batch_id: int) -> RebateBatchView:
    """One batch if ``actor`` may see it; otherwise ``NotFoundError`` (another distributor's does not leak)."""
    row = s.execute(rebate_batch_select(actor).where(RebateBatch.id == batch_id)).one_or_none()
    if row is None:
        raise NotFoundError(f"rebate credit batch {batch_id} not found")
    return rebate_batch_view(row)


def get_rebate_batch(rt: Runtime, actor: Actor, batch_id: int) -> RebateBatchDetail:
    """A rebate credit batch, its rebates and its timeline (distributor, retailer, admins; each within scope)."""
    with rt.sessions() as s:
        view = load_rebate_batch_view(s, actor, batch_id)
        rows = s.execute(
            rebate_select().where(Rebate.batch_id == batch_id, *rebate_scope(actor)).order_by(Rebate.id)
        ).all()
        return RebateBatchDetail(view, [rebate_view(r) for r in rows], events_of(s, "rebate_batch", batch_id))
