"""The distributor's side of free goods: batching, crediting, declining, holding, grouping (seed 001).

A processed POS redemption becomes a ``FreeGood`` in ``unbatched`` (a "New Reward").
The distributor rolls a retailer's unbatched free goods into a Batch Report
(``batched``, the batch ``unfulfilled``), reviews it against its invoices, marks the
batch fulfilled/credited (its free goods ``credited``), and later groups fulfilled
batches to claim from the manufacturer (``grouped``). Free goods can be declined or
held from unbatched or batched, released back to unbatched, and unbatched while
their batch is still unfulfilled. A credited free good can still be unbatched or
declined (seed 001: "in the Unfulfilled or Fulfilled section") while its batch is
fulfilled but neither grouped for MFG credit nor reconciled by the retailer; a
fulfilled batch that loses every free good stays, empty, and can be neither grouped
nor reconciled.

Every move is one transaction that

* locks what it moves (batches first, then free goods, each in id order, so two
  moves never deadlock and a concurrent move waits and then sees the new state),
* checks every subject against the lifecycle tables (``CREDIT_TRANSITIONS``,
  ``BATCH_TRANSITIONS``) and refuses the whole call, naming each offending id and
  its status, when any one cannot move,
* applies the change with a conditional ``UPDATE ... WHERE status IN (sources)``
  (a belt to the lock's braces: a lost race can never move a row twice),
* and writes an ``FbEvent`` row per subject (who, from, to, why) in the same commit.

Who may do what is decided here, not in the web layers (see ``check_acts`` and
``free_good_scope``): distributor users act on their own distributor's free goods
and batches only, platform admins act on all, everyone else reads within their
scope and acts on nothing. Another distributor's free good or batch is reported
as not found, so its existence does not leak.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, or_, select, update
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import (
    ConflictError,
    IllegalTransitionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from connector.core.frequent_buyer.lifecycle import (
    BATCH_TRANSITIONS,
    batch_transition,
    credit_sources,
    credit_transition,
)
from connector.core.frequent_buyer.model import BatchEvent, BatchStatus, CreditEvent, CreditStatus
from connector.core.frequent_buyer.paging import check_limit, decode_cursor, encode_cursor
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
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.tables import Brand

CE, CS, BE, BS = CreditEvent, CreditStatus, BatchEvent, BatchStatus

#: Batch events that are not status transitions: membership changes and creation, for the batch's timeline.
BATCH_CREATE = "create"
BATCH_ADD = "add"
BATCH_REMOVE = "remove"

#: How many ids one call may move; a distributor's weekly batch is far smaller.
MAX_IDS = 1000
DESCRIPTION_MAX = 300
REASON_MAX = 1000
_CENT = Decimal("0.01")


class Section(StrEnum):
    """The five sections of the Free Goods Fulfillment dashboard, as distributors know them (seed 001)."""

    UNBATCHED_FREE_GOODS = "unbatched-free-goods"
    UNFULFILLED_BATCHES = "unfulfilled-batches"
    FULFILLED_BATCHES = "fulfilled-batches"
    BATCHES_GROUPED_FOR_MFG_CREDIT = "batches-grouped-for-mfg-credit"
    DECLINED_HELD_CREDITS = "declined-held-credits"


SECTION_TITLES: dict[Section, str] = {
    Section.UNBATCHED_FREE_GOODS: "Unbatched Free Goods",
    Section.UNFULFILLED_BATCHES: "Unfulfilled Batches",
    Section.FULFILLED_BATCHES: "Fulfilled Batches",
    Section.BATCHES_GROUPED_FOR_MFG_CREDIT: "Batches Grouped for MFG Credit",
    Section.DECLINED_HELD_CREDITS: "Declined/Held Credits",
}

#: Free-good sections list free goods in these statuses; batch sections list batches in these statuses.
_FREE_GOOD_SECTIONS: dict[Section, tuple[CreditStatus, ...]] = {
    Section.UNBATCHED_FREE_GOODS: (CS.UNBATCHED,),
    Section.DECLINED_HELD_CREDITS: (CS.DECLINED, CS.HELD),
}
_BATCH_SECTIONS: dict[Section, BatchStatus] = {
    Section.UNFULFILLED_BATCHES: BS.UNFULFILLED,
    Section.FULFILLED_BATCHES: BS.FULFILLED,
    Section.BATCHES_GROUPED_FOR_MFG_CREDIT: BS.GROUPED,
}


# -- who may see and do what ---------------------------------------------------------------------------------

#: Roles that move free goods and batches. Support reads everything but does not act: marking a batch
#: credited, declining a credit or claiming from a manufacturer is the distributor's statement about money,
#: and a platform admin (recorded by name on every event) is the one who corrects on its behalf.
_ACTING_ROLES = {Role.DISTRIBUTOR, Role.PLATFORM_ADMIN}


def check_acts(actor: Actor) -> None:
    """Refuse roles that may not move free goods or batches."""
    if actor.role not in _ACTING_ROLES:
        raise PermissionDeniedError(
            f"role {actor.role.value} cannot move free goods or batches; a distributor user (or a platform admin "
            "on its behalf) does that"
        )


def check_reads_distribution(actor: Actor) -> None:
    """The distributor portal (sections, reports) is not the retailer's: retailers have their credit status."""
    if actor.role == Role.RETAILER:
        raise PermissionDeniedError(
            "retailer users see their credits on Distributor Free Goods Credit Status (/retailer/credit-status), "
            "not in the distributor portal"
        )


def free_good_scope(actor: Actor) -> list[ColumnElement[bool]]:
    """WHERE clauses limiting free goods to what ``actor`` may see."""
    if actor.role == Role.DISTRIBUTOR:
        return [FreeGood.distributor_id == actor.distributor_id]
    if actor.role == Role.RETAILER:
        return [FreeGood.retailer_id == actor.retailer_id]
    if actor.brand_id is not None:  # a brand admin or brand viewer: its own brand's free goods
        return [FreeGood.brand_id == actor.brand_id]
    return []


def batch_scope(actor: Actor) -> list[ColumnElement[bool]]:
    """WHERE clauses limiting batches to what ``actor`` may see.

    A batch is per retailer and mixes brands, so a brand-scoped reader sees the batches that hold at least
    one of its brand's free goods (and, in the batch rows, totals over its own free goods only).
    """
    if actor.role == Role.DISTRIBUTOR:
        return [Batch.distributor_id == actor.distributor_id]
    if actor.role == Role.RETAILER:
        return [Batch.retailer_id == actor.retailer_id]
    if actor.brand_id is not None:
        return [exists().where(FreeGood.batch_id == Batch.id, FreeGood.brand_id == actor.brand_id)]
    return []


# -- read models ---------------------------------------------------------------------------------------------


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


def free_good_select() -> Select[Any]:
    """Free goods with everything their rows show; add scope and filters with ``.where``."""
    return (
        select(
            FreeGood,
            Retailer.name.label("retailer_name"),
            Retailer.account_number.label("retailer_account_number"),
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
        Retailer.account_number.label("retailer_account_number"),
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


# -- input checks --------------------------------------------------------------------------------------------


def _ids_text(ids: Iterable[int]) -> str:
    return ", ".join(str(i) for i in ids)


def clean_ids(ids: Iterable[Any], what: str = "free_good_ids") -> list[int]:
    """Distinct positive integer ids in ascending order (the lock order), or a ``ValidationError``."""
    out: set[int] = set()
    bad: list[str] = []
    for raw in ids:
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            bad.append(repr(raw))
        else:
            out.add(raw)
    if bad:
        raise ValidationError(f"invalid {what}", fields={what: f"ids are positive integers; got {', '.join(bad)}"})
    if not out:
        raise ValidationError(f"no {what} given", fields={what: "give at least one id"})
    if len(out) > MAX_IDS:
        raise ValidationError(f"too many {what}", fields={what: f"at most {MAX_IDS} ids per call; got {len(out)}"})
    return sorted(out)


#: Control characters other than tab and line breaks: PostgreSQL refuses NUL in text, and none belongs in a note.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def required_text(value: str | None, name: str, max_length: int) -> str:
    text = optional_text(value, name, max_length)
    if not text:
        raise ValidationError(f"{name} is required", fields={name: "must not be empty"})
    return text


def optional_text(value: str | None, name: str, max_length: int) -> str:
    text = (value or "").strip()
    if len(text) > max_length:
        raise ValidationError(f"{name} is too long", fields={name: f"at most {max_length} characters; got {len(text)}"})
    if CONTROL_CHARS.search(text):
        raise ValidationError(f"{name} has control characters", fields={name: "plain text without control characters"})
    return text


# -- locking and moving --------------------------------------------------------------------------------------


def lock_free_goods(s: Session, actor: Actor, ids: Sequence[int]) -> dict[int, FreeGood]:
    """The free goods, row-locked in id order (so concurrent moves queue instead of deadlocking)."""
    rows = s.scalars(
        select(FreeGood)
        .where(FreeGood.id.in_(ids), *free_good_scope(actor))
        .order_by(FreeGood.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    found = {g.id: g for g in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        noun = "free good" if len(missing) == 1 else "free goods"
        raise NotFoundError(f"{noun} {_ids_text(missing)} not found", ids=missing)
    return found


def lock_batches(s: Session, actor: Actor, ids: Sequence[int]) -> dict[int, Batch]:
    rows = s.scalars(
        select(Batch)
        .where(Batch.id.in_(ids), *batch_scope(actor))
        .order_by(Batch.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    found = {b.id: b for b in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        noun = "batch" if len(missing) == 1 else "batches"
        raise NotFoundError(f"{noun} {_ids_text(missing)} not found", ids=missing)
    return found


def _describe_status(g: FreeGood) -> str:
    return f"{g.id} is {g.status}" + (f" (in batch {g.batch_id})" if g.batch_id is not None else "")


def closed_batch_reason(batch: Batch | BatchView) -> str | None:
    """Why the credited free goods of a fulfilled batch can no longer be unbatched or declined, else None.

    Once the retailer reconciled the batch it has confirmed the credit, and once the batch is grouped for MFG
    credit the distributor has claimed it from the manufacturer: either way taking a credit back here would
    contradict what the other party was told.
    """
    reasons: list[str] = []
    tails: list[str] = []
    if batch.reconciled_at is not None:
        reasons.append(f"was reconciled by the retailer on {batch.reconciled_at:%Y-%m-%d}")
        tails.append("a credit the retailer has confirmed")
    if batch.status == BS.GROUPED or batch.credit_group_id is not None:
        reasons.append(f"is grouped for MFG credit (credit group {batch.credit_group_id})")
        tails.append("a credit claimed from the manufacturer")
    if not reasons:
        return None
    return f"batch {batch.id} {' and '.join(reasons)}; {' or '.join(tails)} cannot be taken back here"


def credits_can_be_taken_back(batch: BatchView) -> bool:
    """Whether the batch's credited free goods may still be unbatched or declined (for drawing the buttons)."""
    return batch.status == BS.FULFILLED and closed_batch_reason(batch) is None


def free_good_can_be_taken_back(g: FreeGoodView) -> bool:
    """Whether a credited free good may still be unbatched or declined: its batch is fulfilled, not reconciled.

    (A credited free good's batch is never grouped: grouping moves its free goods to ``grouped``.)
    """
    return g.status == CS.CREDITED and g.batch_status == BS.FULFILLED and g.reconciled_at is None


def _leavable_batch() -> ColumnElement[bool]:
    """For the conditional UPDATE: the free good is in no batch, or in one it may still leave.

    A batched free good leaves an unfulfilled batch; a credited one a fulfilled batch that is neither grouped
    nor reconciled. The row locks already guarantee it; this keeps a lost race from ever moving a credit the
    retailer has just confirmed.
    """
    return or_(
        FreeGood.batch_id.is_(None),
        exists().where(
            Batch.id == FreeGood.batch_id,
            or_(
                and_(FreeGood.status == CS.BATCHED, Batch.status == BS.UNFULFILLED),
                and_(
                    FreeGood.status == CS.CREDITED,
                    Batch.status == BS.FULFILLED,
                    Batch.credit_group_id.is_(None),
                    Batch.reconciled_at.is_(None),
                ),
            ),
        ),
    )


def _check_moves(goods: dict[int, FreeGood], event: CreditEvent) -> dict[int, CreditStatus]:
    """Each free good's target under ``event``; refuses the whole call naming every free good that cannot move."""
    targets: dict[int, CreditStatus] = {}
    offending: list[FreeGood] = []
    for g in goods.values():
        try:
            targets[g.id] = credit_transition(g.status, event)
        except IllegalTransitionError:
            offending.append(g)
    if offending:
        allowed = ", ".join(s.value for s in credit_sources(event))
        shown = "; ".join(_describe_status(g) for g in offending[:25])
        more = f"; and {len(offending) - 25} more" if len(offending) > 25 else ""
        raise IllegalTransitionError(
            f"cannot {event.value} free goods that are not {allowed}: {shown}{more}. Nothing was changed.",
            event=event.value,
            current={str(g.id): g.status for g in offending},
        )
    return targets


def _event(
    s: Session,
    subject_type: str,
    subject_id: int,
    event: str,
    from_status: str | None,
    to_status: str | None,
    actor: Actor,
    detail: str,
    at: datetime,
) -> None:
    s.add(
        FbEvent(
            subject_type=subject_type,
            subject_id=subject_id,
            event=event,
            from_status=from_status,
            to_status=to_status,
            actor=actor.name,
            detail=detail,
            at=at,
        )
    )


def _update_free_goods(
    s: Session,
    ids: Sequence[int],
    event: CreditEvent,
    to_status: CreditStatus,
    at: datetime,
    *,
    where: Sequence[ColumnElement[bool]] = (),
    **values: Any,
) -> None:
    """The conditional UPDATE: only rows still in a source state of ``event`` (and matching ``where``) move;
    all of them must."""
    moved = (
        s.execute(
            update(FreeGood)
            .where(FreeGood.id.in_(ids), FreeGood.status.in_(credit_sources(event)), *where)
            .values(status=to_status, updated_at=at, **values)
            .returning(FreeGood.id)
            .execution_options(synchronize_session=False)
        )
        .scalars()
        .all()
    )
    if len(moved) != len(ids):  # unreachable while the row locks hold; kept so a lost race can never half-apply
        lost = sorted(set(ids) - set(moved))
        raise ConflictError(
            f"free goods {_ids_text(lost)} changed while this {event.value} was applied; nothing was changed, "
            "reload and retry"
        )


def _batch_sources(event: BatchEvent) -> tuple[BatchStatus, ...]:
    return tuple(s for (s, e) in BATCH_TRANSITIONS if e == event)


def _update_batches(s: Session, ids: Sequence[int], event: BatchEvent, to_status: BatchStatus, **values: Any) -> None:
    moved = (
        s.execute(
            update(Batch)
            .where(Batch.id.in_(ids), Batch.status.in_(_batch_sources(event)))
            .values(status=to_status, **values)
            .returning(Batch.id)
            .execution_options(synchronize_session=False)
        )
        .scalars()
        .all()
    )
    if len(moved) != len(ids):
        lost = sorted(set(ids) - set(moved))
        raise ConflictError(f"batches {_ids_text(lost)} changed while this {event.value} was applied; reload and retry")


def _check_batchable(goods: dict[int, FreeGood], *, retailer_id: int | None, distributor_id: int | None) -> None:
    """A batch is one distributor's, for one retailer: the retailer reconciles it against one credit memo."""
    no_distributor = [g.id for g in goods.values() if g.distributor_id is None]
    if no_distributor:
        raise ValidationError(
            "only distributor-fulfilled free goods can be batched",
            fields={
                "free_good_ids": f"free goods {_ids_text(no_distributor)} are fulfilled directly or by the retailer; "
                "they have no distributor"
            },
        )
    by_retailer: dict[int, list[int]] = {}
    for g in goods.values():
        by_retailer.setdefault(g.retailer_id, []).append(g.id)
    if len(by_retailer) > 1:
        parts = "; ".join(f"retailer {r}: {_ids_text(ids)}" for r, ids in sorted(by_retailer.items()))
        raise ValidationError(
            "a batch is for one retailer (the retailer reconciles it against one credit memo)",
            fields={
                "free_good_ids": f"these free goods belong to {len(by_retailer)} retailers ({parts}); batch "
                "each retailer's free goods separately"
            },
        )
    (only_retailer,) = by_retailer
    if retailer_id is not None and only_retailer != retailer_id:
        raise ValidationError(
            "the free goods belong to another retailer",
            fields={"retailer_id": f"the free goods belong to retailer {only_retailer}, not {retailer_id}"},
        )
    distributors = {g.distributor_id for g in goods.values()}
    if len(distributors) > 1:
        raise ValidationError(
            "a batch belongs to one distributor",
            fields={
                "free_good_ids": "these free goods belong to distributors "
                + _ids_text(sorted(d for d in distributors if d is not None))
            },
        )
    if distributor_id is not None and distributors != {distributor_id}:
        raise ValidationError(
            "the free goods belong to another distributor",
            fields={"free_good_ids": f"the batch belongs to distributor {distributor_id}"},
        )


# -- use cases: batches --------------------------------------------------------------------------------------


def create_batch(
    rt: Runtime,
    actor: Actor,
    free_good_ids: Iterable[Any],
    description: str,
    *,
    retailer_id: int | None = None,
) -> BatchView:
    """Roll unbatched free goods of one retailer into a new Unfulfilled batch.

    Any free good that is not unbatched refuses the whole call (``IllegalTransitionError`` naming each id and
    its status); free goods of two retailers refuse it too (``ValidationError``). ``retailer_id``, when given,
    must be the free goods' retailer (a check for callers that picked the retailer first, like the CLI).
    """
    check_acts(actor)
    ids = clean_ids(free_good_ids)
    description = required_text(description, "description", DESCRIPTION_MAX)
    now = rt.now()
    with transaction(rt.sessions) as s:
        goods = lock_free_goods(s, actor, ids)
        targets = _check_moves(goods, CE.BATCH)
        _check_batchable(goods, retailer_id=retailer_id, distributor_id=None)
        first = goods[ids[0]]
        batch = Batch(
            distributor_id=first.distributor_id,
            retailer_id=first.retailer_id,
            description=description,
            status=BS.UNFULFILLED,
            created_by=actor.name,
            created_at=now,
        )
        s.add(batch)
        s.flush()
        _update_free_goods(s, ids, CE.BATCH, CS.BATCHED, now, batch_id=batch.id)
        _event(
            s,
            "batch",
            batch.id,
            BATCH_CREATE,
            None,
            BS.UNFULFILLED,
            actor,
            f"{description}; free goods {_ids_text(ids)}",
            now,
        )
        for i in ids:
            _event(
                s, "free_good", i, CE.BATCH, goods[i].status, targets[i], actor, f"batch {batch.id}: {description}", now
            )
        batch_id = batch.id
    with rt.sessions() as s:
        return load_batch_view(s, actor, batch_id)


def add_to_batch(rt: Runtime, actor: Actor, batch_id: int, free_good_ids: Iterable[Any]) -> BatchView:
    """Add unbatched free goods of the batch's retailer to an Unfulfilled batch."""
    check_acts(actor)
    ids = clean_ids(free_good_ids)
    now = rt.now()
    with transaction(rt.sessions) as s:
        batch = lock_batches(s, actor, [batch_id])[batch_id]
        if batch.status != BS.UNFULFILLED:
            raise IllegalTransitionError(
                f"cannot add free goods to batch {batch_id}: it is {batch.status}; only an unfulfilled batch takes "
                "more free goods (create a new batch for them)",
                current=batch.status,
                event=BATCH_ADD,
            )
        goods = lock_free_goods(s, actor, ids)
        targets = _check_moves(goods, CE.BATCH)
        _check_batchable(goods, retailer_id=batch.retailer_id, distributor_id=batch.distributor_id)
        _update_free_goods(s, ids, CE.BATCH, CS.BATCHED, now, batch_id=batch.id)
        _event(s, "batch", batch.id, BATCH_ADD, batch.status, batch.status, actor, f"free goods {_ids_text(ids)}", now)
        for i in ids:
            _event(
                s,
                "free_good",
                i,
                CE.BATCH,
                goods[i].status,
                targets[i],
                actor,
                f"batch {batch.id}: {batch.description}",
                now,
            )
    with rt.sessions() as s:
        return load_batch_view(s, actor, batch_id)


def mark_batch_fulfilled(rt: Runtime, actor: Actor, batch_id: int, note: str | None = None) -> BatchView:
    """Mark an Unfulfilled batch Fulfilled/Credited: the distributor has issued the retailer its credit.

    Its free goods move batched → credited with it. An empty batch cannot be fulfilled: there is nothing to
    credit, and an empty credited batch would ask the retailer to reconcile nothing.
    """
    check_acts(actor)
    note = optional_text(note, "note", REASON_MAX)
    now = rt.now()
    with transaction(rt.sessions) as s:
        batch = lock_batches(s, actor, [batch_id])[batch_id]
        new_status = batch_transition(batch.status, BE.FULFIL)
        goods = s.scalars(
            select(FreeGood)
            .where(FreeGood.batch_id == batch_id)
            .order_by(FreeGood.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
        if not goods:
            raise IllegalTransitionError(
                f"cannot fulfil batch {batch_id}: it has no free goods; add free goods to it first",
                current=batch.status,
                event=BE.FULFIL.value,
            )
        targets = _check_moves({g.id: g for g in goods}, CE.CREDIT)
        ids = [g.id for g in goods]
        _update_batches(s, [batch_id], BE.FULFIL, new_status, fulfilled_at=now)
        _update_free_goods(s, ids, CE.CREDIT, CS.CREDITED, now)
        _event(s, "batch", batch_id, BE.FULFIL, batch.status, new_status, actor, note, now)
        detail = f"batch {batch_id} fulfilled" + (f": {note}" if note else "")
        for g in goods:
            _event(s, "free_good", g.id, CE.CREDIT, g.status, targets[g.id], actor, detail, now)
    with rt.sessions() as s:
        return load_batch_view(s, actor, batch_id)


def group_for_mfg_credit(rt: Runtime, actor: Actor, batch_ids: Iterable[Any], description: str) -> CreditGroupView:
    """Group Fulfilled batches (one distributor's) to claim from the manufacturer; creates a ``CreditGroup``."""
    check_acts(actor)
    ids = clean_ids(batch_ids, "batch_ids")
    description = required_text(description, "description", DESCRIPTION_MAX)
    now = rt.now()
    with transaction(rt.sessions) as s:
        batches = lock_batches(s, actor, ids)
        offending = {b.id: b.status for b in batches.values() if (b.status, BE.GROUP) not in BATCH_TRANSITIONS}
        if offending:
            shown = "; ".join(f"{i} is {st}" for i, st in offending.items())
            raise IllegalTransitionError(
                f"cannot group batches that are not fulfilled: {shown}. Nothing was changed.",
                event=BE.GROUP.value,
                current={str(i): st for i, st in offending.items()},
            )
        holding = set(
            s.scalars(select(FreeGood.batch_id).where(FreeGood.batch_id.in_(ids)).group_by(FreeGood.batch_id))
        )
        empty = [i for i in ids if i not in holding]
        if empty:  # every free good was unbatched or declined after the batch was fulfilled
            noun = "batch" if len(empty) == 1 else "batches"
            raise IllegalTransitionError(
                f"cannot group {noun} {_ids_text(empty)} for MFG credit: no free goods are left in "
                f"{'it' if len(empty) == 1 else 'them'} (each was unbatched or declined after the batch was "
                "fulfilled), so there is nothing to claim. Nothing was changed.",
                event=BE.GROUP.value,
                current={str(i): batches[i].status for i in empty},
                empty=empty,
            )
        distributors = {b.distributor_id for b in batches.values()}
        if len(distributors) > 1:
            raise ValidationError(
                "a credit group belongs to one distributor",
                fields={"batch_ids": f"these batches belong to distributors {_ids_text(sorted(distributors))}"},
            )
        goods = s.scalars(
            select(FreeGood)
            .where(FreeGood.batch_id.in_(ids))
            .order_by(FreeGood.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
        targets = _check_moves({g.id: g for g in goods}, CE.GROUP)
        group = CreditGroup(
            distributor_id=distributors.pop(), description=description, created_by=actor.name, created_at=now
        )
        s.add(group)
        s.flush()
        _update_batches(s, ids, BE.GROUP, BS.GROUPED, credit_group_id=group.id)
        if goods:
            _update_free_goods(s, [g.id for g in goods], CE.GROUP, CS.GROUPED, now)
        for b in batches.values():
            _event(
                s, "batch", b.id, BE.GROUP, b.status, BS.GROUPED, actor, f"credit group {group.id}: {description}", now
            )
        for g in goods:
            _event(
                s,
                "free_good",
                g.id,
                CE.GROUP,
                g.status,
                targets[g.id],
                actor,
                f"credit group {group.id}: {description}",
                now,
            )
        group_id = group.id
    return get_credit_group(rt, actor, group_id)


def get_credit_group(rt: Runtime, actor: Actor, group_id: int) -> CreditGroupView:
    with rt.sessions() as s:
        group = s.get(CreditGroup, group_id)
        if group is None:
            raise NotFoundError(f"credit group {group_id} not found")
        rows = s.execute(batch_select(actor).where(Batch.credit_group_id == group_id).order_by(Batch.id)).all()
        if not rows:  # outside the actor's scope (another distributor's group)
            raise NotFoundError(f"credit group {group_id} not found")
        views = [batch_view(r) for r in rows]
        costs = [v.approximate_cost for v in views if v.approximate_cost is not None]
        return CreditGroupView(
            id=group.id,
            distributor_id=group.distributor_id,
            description=group.description,
            created_by=group.created_by,
            created_at=group.created_at,
            batch_ids=[v.id for v in views],
            free_goods=sum(v.free_goods for v in views),
            quantity=sum(v.quantity for v in views),
            approximate_cost=sum(costs, Decimal("0.00")) if costs else None,
        )


# -- use cases: free goods -----------------------------------------------------------------------------------


class _BatchesChanged(Exception):
    """A free good joined or left a batch between reading its batch and locking it: take the locks again."""


def _check_batches_not_closed(goods: dict[int, FreeGood], batches: dict[int, Batch], event: CreditEvent) -> None:
    """Refuse taking back credits of a batch the retailer reconciled or the distributor grouped, saying why."""
    closed = {b.id: why for b in batches.values() if (why := closed_batch_reason(b)) is not None}
    if not closed:
        return
    offending = [g for g in goods.values() if g.batch_id in closed]
    shown = "; ".join(closed[b] for b in sorted(closed))
    raise IllegalTransitionError(
        f"cannot {event.value} {'free good' if len(offending) == 1 else 'free goods'} "
        f"{_ids_text(g.id for g in offending)}: {shown}. Nothing was changed.",
        event=event.value,
        current={str(g.id): g.status for g in offending},
        batches={
            str(b.id): ("reconciled" if b.reconciled_at is not None else b.status)
            for b in batches.values()
            if b.id in closed
        },
    )


#: The batch status a free good of each status sits in (a broken invariant is refused, never spread).
_BATCH_OF = {CS.BATCHED: BS.UNFULFILLED, CS.CREDITED: BS.FULFILLED}


def _check_batch_invariant(goods: dict[int, FreeGood], batches: dict[int, Batch], event: CreditEvent) -> None:
    wrong = {
        g.batch_id: batches[g.batch_id].status
        for g in goods.values()
        if g.batch_id is not None and batches[g.batch_id].status != _BATCH_OF.get(CS(g.status))
    }
    if wrong:
        raise IllegalTransitionError(
            f"cannot {event.value} free goods of batches in an unexpected state: "
            + "; ".join(f"batch {i} is {st}" for i, st in sorted(wrong.items())),
            event=event.value,
            current={str(i): st for i, st in sorted(wrong.items())},
        )


def _move_free_goods(
    rt: Runtime, actor: Actor, free_good_ids: Iterable[Any], event: CreditEvent, *, reason: str | None, note: str
) -> Moved:
    check_acts(actor)
    ids = clean_ids(free_good_ids)
    for _ in range(3):
        try:
            return _move_free_goods_once(rt, actor, ids, event, reason=reason, note=note)
        except _BatchesChanged:
            continue
    raise ConflictError("the free goods kept moving between batches while this ran; nothing was changed, retry")


def _move_free_goods_once(
    rt: Runtime, actor: Actor, ids: list[int], event: CreditEvent, *, reason: str | None, note: str
) -> Moved:
    now = rt.now()
    with transaction(rt.sessions) as s:
        # Batches before free goods, like fulfil and group, so the two never wait on each other in a cycle.
        batch_ids = sorted(
            {
                b
                for b in s.scalars(select(FreeGood.batch_id).where(FreeGood.id.in_(ids), *free_good_scope(actor)))
                if b is not None
            }
        )
        batches = lock_batches(s, actor, batch_ids) if batch_ids else {}
        goods = lock_free_goods(s, actor, ids)
        if any(g.batch_id is not None and g.batch_id not in batches for g in goods.values()):
            raise _BatchesChanged
        if CS.CREDITED in credit_sources(event):
            _check_batches_not_closed(goods, batches, event)
        targets = _check_moves(goods, event)
        _check_batch_invariant(goods, batches, event)
        by_target: dict[CreditStatus, list[int]] = {}
        for i in ids:
            by_target.setdefault(targets[i], []).append(i)
        for target, target_ids in by_target.items():
            _update_free_goods(
                s, target_ids, event, target, now, where=[_leavable_batch()], batch_id=None, reason=reason
            )
        why = reason or note
        for i in ids:
            g = goods[i]
            detail = why
            if g.batch_id is not None:
                detail = f"removed from batch {g.batch_id}" + (f": {why}" if why else "")
            _event(s, "free_good", i, event, g.status, targets[i], actor, detail, now)
        for b in batches.values():
            left = [i for i in ids if goods[i].batch_id == b.id]
            _event(
                s,
                "batch",
                b.id,
                BATCH_REMOVE,
                b.status,
                b.status,
                actor,
                f"{event.value}: free goods {_ids_text(left)}" + (f"; {why}" if why else ""),
                now,
            )
        to_status = ",".join(sorted({t.value for t in targets.values()}))
    return Moved(event=event.value, to_status=to_status, free_good_ids=ids, batch_ids=batch_ids)


def unbatch(rt: Runtime, actor: Actor, free_good_ids: Iterable[Any], note: str | None = None) -> Moved:
    """Take batched or credited free goods out of their batches, back to Unbatched.

    A credited free good (its batch was marked fulfilled) can be unbatched only while the batch is neither
    grouped for MFG credit nor reconciled by the retailer; otherwise the whole call is refused, naming the
    batch and why. A fulfilled batch that loses every free good stays, empty.
    """
    return _move_free_goods(
        rt, actor, free_good_ids, CE.UNBATCH, reason=None, note=optional_text(note, "note", REASON_MAX)
    )


def decline(rt: Runtime, actor: Actor, free_good_ids: Iterable[Any], reason: str) -> Moved:
    """Decline unbatched, batched or credited free goods (they leave their batch); the retailer sees the reason.

    Credited ones only while their batch is neither grouped for MFG credit nor reconciled (as for ``unbatch``).
    """
    check_acts(actor)  # before the input: a caller who may not act learns that first
    why = required_text(reason, "reason", REASON_MAX)
    return _move_free_goods(rt, actor, free_good_ids, CE.DECLINE, reason=why, note="")


def hold(rt: Runtime, actor: Actor, free_good_ids: Iterable[Any], reason: str) -> Moved:
    """Hold unbatched or batched free goods (they leave their batch) until released; the reason is required."""
    check_acts(actor)  # before the input: a caller who may not act learns that first
    why = required_text(reason, "reason", REASON_MAX)
    return _move_free_goods(rt, actor, free_good_ids, CE.HOLD, reason=why, note="")


def release(rt: Runtime, actor: Actor, free_good_ids: Iterable[Any], note: str | None = None) -> Moved:
    """Release held or declined free goods back to Unbatched (their reason is cleared; the events keep it)."""
    return _move_free_goods(
        rt, actor, free_good_ids, CE.RELEASE, reason=None, note=optional_text(note, "note", REASON_MAX)
    )


# -- sections ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DistributionFilter:
    """Filters shared by the sections and reports. Dates are inclusive calendar days (UTC).

    For free goods the date is the redemption date; for batches it is the day the batch was created
    (Unfulfilled Batches) or fulfilled (Fulfilled Batches, Batches Grouped for MFG Credit).
    """

    distributor_id: int | None = None
    retailer_id: int | None = None
    brand_id: int | None = None
    program_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None

    def check(self) -> None:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValidationError("date_to is before date_from", fields={"date_to": "must be on or after date_from"})


def day_start(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=UTC)


def free_good_filters(f: DistributionFilter) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if f.distributor_id is not None:
        out.append(FreeGood.distributor_id == f.distributor_id)
    if f.retailer_id is not None:
        out.append(FreeGood.retailer_id == f.retailer_id)
    if f.brand_id is not None:
        out.append(FreeGood.brand_id == f.brand_id)
    if f.program_id is not None:
        out.append(FreeGood.program_id == f.program_id)
    if f.date_from is not None:
        out.append(FreeGood.redeemed_on >= f.date_from)
    if f.date_to is not None:
        out.append(FreeGood.redeemed_on <= f.date_to)
    return out


@dataclass(frozen=True)
class SectionPage:
    section: Section
    title: str
    #: "free_goods" (Unbatched Free Goods, Declined/Held Credits) or "batches" (the three batch sections).
    kind: str
    #: Everything in the section that matches the filters, not just this page.
    count: int
    free_goods: list[FreeGoodView]
    batches: list[BatchView]
    next_cursor: str | None


def parse_section(name: str | Section) -> Section:
    try:
        return Section(name)
    except ValueError:
        raise ValidationError(
            f"no section {name!r}",
            fields={"name": "one of: " + ", ".join(s.value for s in Section)},
        ) from None


def _batch_section_where(section: Section, f: DistributionFilter) -> list[ColumnElement[bool]]:
    status = _BATCH_SECTIONS[section]
    out: list[ColumnElement[bool]] = [Batch.status == status]
    if f.distributor_id is not None:
        out.append(Batch.distributor_id == f.distributor_id)
    if f.retailer_id is not None:
        out.append(Batch.retailer_id == f.retailer_id)
    stamp = Batch.created_at if status == BS.UNFULFILLED else Batch.fulfilled_at
    if f.date_from is not None:
        out.append(stamp >= day_start(f.date_from))
    if f.date_to is not None:
        out.append(stamp < day_start(f.date_to + timedelta(days=1)))
    return out


def section(
    rt: Runtime,
    actor: Actor,
    name: str | Section,
    filters: DistributionFilter | None = None,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> SectionPage:
    """One page of a dashboard section, newest first, with the section's total count (keyset-paginated)."""
    check_reads_distribution(actor)
    sec = parse_section(name)
    f = filters or DistributionFilter()
    f.check()
    check_limit(limit)
    after = decode_cursor(sec.value, cursor) if cursor else None
    with rt.sessions() as s:
        if sec in _FREE_GOOD_SECTIONS:
            where = [
                FreeGood.status.in_(_FREE_GOOD_SECTIONS[sec]),
                FreeGood.distributor_id.is_not(None),
                *free_good_scope(actor),
                *free_good_filters(f),
            ]
            count = int(s.scalar(select(func.count()).select_from(FreeGood).where(*where)) or 0)
            q = free_good_select().where(*where)
            if after is not None:
                q = q.where(FreeGood.id < after)
            rows = s.execute(q.order_by(FreeGood.id.desc()).limit(limit + 1)).all()
            goods = [free_good_view(r) for r in rows[:limit]]
            nxt = encode_cursor(sec.value, goods[-1].id) if len(rows) > limit else None
            return SectionPage(sec, SECTION_TITLES[sec], "free_goods", count, goods, [], nxt)
        base = batch_select(actor, brand_id=f.brand_id, program_id=f.program_id).where(*_batch_section_where(sec, f))
        count = int(s.scalar(select(func.count()).select_from(base.subquery())) or 0)
        q = base.where(Batch.id < after) if after is not None else base
        rows = s.execute(q.order_by(Batch.id.desc()).limit(limit + 1)).all()
        batches = [batch_view(r) for r in rows[:limit]]
        nxt = encode_cursor(sec.value, batches[-1].id) if len(rows) > limit else None
        return SectionPage(sec, SECTION_TITLES[sec], "batches", count, [], batches, nxt)


def section_counts(rt: Runtime, actor: Actor, filters: DistributionFilter | None = None) -> dict[Section, int]:
    """How many items each of the five sections holds (the dashboard's landing view)."""
    return {sec: section(rt, actor, sec, filters, limit=1).count for sec in Section}
