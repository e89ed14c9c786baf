"""Read models of the distributor's side: frozen views of free goods, batches, events and credit groups,
and the queries that build them (safe to use after the session closes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.errors import NotFoundError
from connector.core.frequent_buyer.distribution.permissions import batch_scope, free_good_scope
from connector.core.frequent_buyer.programs.account_number_history import account_number_with
from connector.core.frequent_buyer.tables import (
    Batch,
    CreditGroup,
    Customer,
    Distributor,
    FbEvent,
    FreeGood,
    PriceListEntry,
    Program,
    Retailer,
    RetailerLocation,
)
from connector.core.runtime import Runtime
from connector.core.tables import Brand

_CENT = Decimal("0.01")


def line_cost(unit_cost: Decimal | None, quantity: int) -> Decimal | None:
    """Approximate cost of a free good: unit cost × quantity, or None (blank) when no cost is known."""
    if unit_cost is None:
        return None
    return (Decimal(unit_cost) * quantity).quantize(_CENT)


def _money(value: Any) -> Decimal | None:
    # SUM over Numeric comes back as Decimal on PostgreSQL and may be a float on SQLite; normalise both.
    return None if value is None else Decimal(str(value)).quantize(_CENT)


@dataclass(frozen=True)
class FreeGoodView:
    """One free good as the distributor portal, the reports and the retailer's credit status show it."""

    id: int
    status: str
    retailer_id: int
    retailer_name: str
    retailer_account_number: str | None
    location_name: str | None
    store_code: str | None
    distributor_id: int | None
    distributor_name: str | None
    brand_id: int
    brand_name: str
    program_id: int
    program_name: str
    customer_id: int | None
    customer_name: str | None
    sku: str
    upc: str | None
    description: str
    quantity: int
    size_value: Decimal | None
    size_unit: str | None
    redeemed_on: date
    #: The processing-time cost, else the retailer's current price list entry for the SKU, else None.
    unit_cost: Decimal | None
    approximate_cost: Decimal | None
    batch_id: int | None
    batch_description: str | None
    batch_status: str | None
    fulfilled_at: datetime | None
    reconciled_at: datetime | None
    reason: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class BatchView:
    """A Batch Report with totals over its free goods (over the matching ones when filtered by brand/program)."""

    id: int
    status: str
    description: str
    distributor_id: int
    distributor_name: str
    retailer_id: int
    retailer_name: str
    retailer_account_number: str | None
    free_goods: int
    quantity: int
    approximate_cost: Decimal | None
    #: Free goods counted above that have no known cost (so ``approximate_cost`` leaves them out).
    uncosted: int
    created_by: str
    created_at: datetime
    fulfilled_at: datetime | None
    reconciled_at: datetime | None
    reconciled_by: str | None
    credit_group_id: int | None
    credit_group_description: str | None
    #: The credit memo the distributor recorded when marking the batch fulfilled/credited (both or neither).
    credit_memo_number: str | None = None
    credit_memo_amount: Decimal | None = None


@dataclass(frozen=True)
class EventView:
    id: int
    subject_type: str
    subject_id: int
    event: str
    from_status: str | None
    to_status: str | None
    actor: str
    detail: str
    at: datetime


@dataclass(frozen=True)
class BatchDetail:
    batch: BatchView
    free_goods: list[FreeGoodView]
    events: list[EventView]


@dataclass(frozen=True)
class FreeGoodDetail:
    free_good: FreeGoodView
    events: list[EventView]


@dataclass(frozen=True)
class Moved:
    """What a free-good move did: which ids went where, and which batches lost or gained them."""

    event: str
    to_status: str
    free_good_ids: list[int]
    batch_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class CreditGroupView:
    id: int
    distributor_id: int
    description: str
    created_by: str
    created_at: datetime
    batch_ids: list[int]
    free_goods: int
    quantity: int
    approximate_cost: Decimal | None


def effective_unit_cost() -> ColumnElement[Any]:
    """The cost used for approximate money: the processing-time snapshot, else the current price list."""
    return func.coalesce(FreeGood.unit_cost, PriceListEntry.unit_cost)


def free_good_select() -> Select[*tuple[Any, ...]]:
    """Free goods with everything their rows show; add scope and filters with ``.where``."""
    return (
        select(
            FreeGood,
            Retailer.name.label("retailer_name"),
            account_number_with(FreeGood.retailer_id, FreeGood.distributor_id).label("retailer_account_number"),
            RetailerLocation.name.label("location_name"),
            RetailerLocation.store_code.label("store_code"),
            Distributor.name.label("distributor_name"),
            Brand.name.label("brand_name"),
            Program.name.label("program_name"),
            Customer.name.label("customer_name"),
            Batch.description.label("batch_description"),
            Batch.status.label("batch_status"),
            Batch.fulfilled_at.label("fulfilled_at"),
            Batch.reconciled_at.label("reconciled_at"),
            effective_unit_cost().label("effective_unit_cost"),
        )
        .join(Retailer, Retailer.id == FreeGood.retailer_id)
        .join(Brand, Brand.id == FreeGood.brand_id)
        .join(Program, Program.id == FreeGood.program_id)
        .outerjoin(RetailerLocation, RetailerLocation.id == FreeGood.location_id)
        .outerjoin(Distributor, Distributor.id == FreeGood.distributor_id)
        .outerjoin(Customer, Customer.id == FreeGood.customer_id)
        .outerjoin(Batch, Batch.id == FreeGood.batch_id)
        .outerjoin(
            PriceListEntry, and_(PriceListEntry.retailer_id == FreeGood.retailer_id, PriceListEntry.sku == FreeGood.sku)
        )
    )


def free_good_view(row: Any) -> FreeGoodView:
    """A row of ``free_good_select`` as a ``FreeGoodView``."""
    g: FreeGood = row[0]
    unit_cost = _money(row.effective_unit_cost)
    return FreeGoodView(
        id=g.id,
        status=g.status,
        retailer_id=g.retailer_id,
        retailer_name=row.retailer_name,
        retailer_account_number=row.retailer_account_number,
        location_name=row.location_name,
        store_code=row.store_code,
        distributor_id=g.distributor_id,
        distributor_name=row.distributor_name,
        brand_id=g.brand_id,
        brand_name=row.brand_name,
        program_id=g.program_id,
        program_name=row.program_name,
        customer_id=g.customer_id,
        customer_name=row.customer_name,
        sku=g.sku,
        upc=g.upc,
        description=g.description,
        quantity=g.quantity,
        size_value=g.size_value,
        size_unit=g.size_unit,
        redeemed_on=g.redeemed_on,
        unit_cost=unit_cost,
        approximate_cost=line_cost(unit_cost, g.quantity),
        batch_id=g.batch_id,
        batch_description=row.batch_description,
        batch_status=row.batch_status,
        fulfilled_at=row.fulfilled_at,
        reconciled_at=row.reconciled_at,
        reason=g.reason,
        created_at=g.created_at,
        updated_at=g.updated_at,
    )


def _batch_totals(goods_filter: Sequence[ColumnElement[bool]]) -> Any:
    """Per-batch count, quantity, approximate cost and uncosted count over the free goods matching the filter."""
    cost = effective_unit_cost()
    return (
        select(
            FreeGood.batch_id.label("batch_id"),
            func.count(FreeGood.id).label("n"),
            func.sum(FreeGood.quantity).label("quantity"),
            func.sum(cost * FreeGood.quantity).label("cost"),
            func.sum(case((cost.is_(None), 1), else_=0)).label("uncosted"),
        )
        .outerjoin(
            PriceListEntry, and_(PriceListEntry.retailer_id == FreeGood.retailer_id, PriceListEntry.sku == FreeGood.sku)
        )
        .where(FreeGood.batch_id.is_not(None), *goods_filter)
        .group_by(FreeGood.batch_id)
        .subquery("batch_totals")
    )


def batch_select(actor: Actor, *, brand_id: int | None = None, program_id: int | None = None) -> Select[Any]:
    """Batches with their totals. With a brand/program filter (or a brand-scoped actor) only batches holding
    matching free goods are listed, and their totals count those free goods only."""
    goods_filter: list[ColumnElement[bool]] = []
    if actor.brand_id is not None and not actor.is_party:
        goods_filter.append(FreeGood.brand_id == actor.brand_id)
    if brand_id is not None:
        goods_filter.append(FreeGood.brand_id == brand_id)
    if program_id is not None:
        goods_filter.append(FreeGood.program_id == program_id)
    totals = _batch_totals(goods_filter)
    q = select(
        Batch,
        Distributor.name.label("distributor_name"),
        Retailer.name.label("retailer_name"),
        account_number_with(Batch.retailer_id, Batch.distributor_id).label("retailer_account_number"),
        CreditGroup.description.label("credit_group_description"),
        totals.c.n,
        totals.c.quantity,
        totals.c.cost,
        totals.c.uncosted,
    )
    q = q.join(Distributor, Distributor.id == Batch.distributor_id).join(Retailer, Retailer.id == Batch.retailer_id)
    q = q.outerjoin(CreditGroup, CreditGroup.id == Batch.credit_group_id)
    if goods_filter:
        q = q.join(totals, totals.c.batch_id == Batch.id)
    else:
        q = q.outerjoin(totals, totals.c.batch_id == Batch.id)
    return q.where(*batch_scope(actor))


def batch_view(row: Any) -> BatchView:
    b: Batch = row[0]
    return BatchView(
        id=b.id,
        status=b.status,
        description=b.description,
        distributor_id=b.distributor_id,
        distributor_name=row.distributor_name,
        retailer_id=b.retailer_id,
        retailer_name=row.retailer_name,
        retailer_account_number=row.retailer_account_number,
        free_goods=int(row.n or 0),
        quantity=int(row.quantity or 0),
        approximate_cost=_money(row.cost),
        uncosted=int(row.uncosted or 0),
        created_by=b.created_by,
        created_at=b.created_at,
        fulfilled_at=b.fulfilled_at,
        reconciled_at=b.reconciled_at,
        reconciled_by=b.reconciled_by,
        credit_group_id=b.credit_group_id,
        credit_group_description=row.credit_group_description,
        credit_memo_number=b.credit_memo_number,
        credit_memo_amount=_money(b.credit_memo_amount),
    )


def _event_view(e: FbEvent) -> EventView:
    return EventView(e.id, e.subject_type, e.subject_id, e.event, e.from_status, e.to_status, e.actor, e.detail, e.at)


def events_of(s: Session, subject_type: str, subject_id: int) -> list[EventView]:
    rows = s.scalars(
        select(FbEvent)
        .where(FbEvent.subject_type == subject_type, FbEvent.subject_id == subject_id)
        .order_by(FbEvent.id)
    )
    return [_event_view(e) for e in rows]


def load_batch_view(s: Session, actor: Actor, batch_id: int) -> BatchView:
    """One batch with its totals if ``actor`` may see it; otherwise ``NotFoundError`` (existence does not leak)."""
    row = s.execute(batch_select(actor).where(Batch.id == batch_id)).one_or_none()
    if row is None:
        raise NotFoundError(f"batch {batch_id} not found")
    return batch_view(row)


def get_batch(rt: Runtime, actor: Actor, batch_id: int) -> BatchDetail:
    """A batch, its free goods and its timeline (distributor, retailer and admins, each within scope)."""
    with rt.sessions() as s:
        view = load_batch_view(s, actor, batch_id)
        goods = s.execute(
            free_good_select().where(FreeGood.batch_id == batch_id, *free_good_scope(actor)).order_by(FreeGood.id)
        ).all()
        return BatchDetail(view, [free_good_view(r) for r in goods], events_of(s, "batch", batch_id))


def get_free_good(rt: Runtime, actor: Actor, free_good_id: int) -> FreeGoodDetail:
    """A free good and its timeline, within the actor's scope."""
    with rt.sessions() as s:
        row = s.execute(free_good_select().where(FreeGood.id == free_good_id, *free_good_scope(actor))).one_or_none()
        if row is None:
            raise NotFoundError(f"free good {free_good_id} not found")
        return FreeGoodDetail(free_good_view(row), events_of(s, "free_good", free_good_id))
