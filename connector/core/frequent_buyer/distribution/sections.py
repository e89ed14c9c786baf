"""The five sections of the Free Goods Fulfillment dashboard: filters, one keyset-paginated page, counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import QueryableAttribute

from connector.core.access import Actor
from connector.core.errors import ValidationError
from connector.core.frequent_buyer.distribution.permissions import check_reads_distribution, free_good_scope
from connector.core.frequent_buyer.distribution.read_models import (
    BatchView,
    FreeGoodView,
    batch_select,
    batch_view,
    free_good_select,
    free_good_view,
)
from connector.core.frequent_buyer.model import BatchEvent, BatchStatus, CreditEvent, CreditStatus
from connector.core.frequent_buyer.paging import check_limit, decode_cursor, encode_cursor
from connector.core.frequent_buyer.tables import Batch, FreeGood
from connector.core.runtime import Runtime

CE, CS, BE, BS = CreditEvent, CreditStatus, BatchEvent, BatchStatus


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


def stamp_window(
    stamp: QueryableAttribute[Any], date_from: date | None, date_to: date | None
) -> list[ColumnElement[bool]]:
    """Where-clauses keeping a UTC timestamp within whole days ``date_from`` .. ``date_to`` (both inclusive).

    The batch sections and the history reports of both the free-goods and the rebates side filter a
    timestamp by calendar days; one function keeps the half-open ``< next midnight`` bound the same everywhere.
    """
    out: list[ColumnElement[bool]] = []
    if date_from is not None:
        out.append(stamp >= day_start(date_from))
    if date_to is not None:
        out.append(stamp < day_start(date_to + timedelta(days=1)))
    return out


def day_range(day: QueryableAttribute[Any], date_from: date | None, date_to: date | None) -> list[ColumnElement[bool]]:
    """Where-clauses keeping a date column within ``date_from`` .. ``date_to`` (both inclusive).

    Free goods and rebates are both filtered by their redemption date in the dashboards and the reports.
    """
    out: list[ColumnElement[bool]] = []
    if date_from is not None:
        out.append(day >= date_from)
    if date_to is not None:
        out.append(day <= date_to)
    return out


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
    out.extend(day_range(FreeGood.redeemed_on, f.date_from, f.date_to))
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


def batch_window_filters(
    status: BatchStatus,
    f: DistributionFilter,
    *,
    status_col: QueryableAttribute[Any],
    distributor_col: QueryableAttribute[Any],
    retailer_col: QueryableAttribute[Any],
    created_col: QueryableAttribute[Any],
    closed_col: QueryableAttribute[Any],
) -> list[ColumnElement[bool]]:
    """Where-clauses for a batch section of either dashboard (free-goods ``Batch`` or ``RebateBatch``).

    Both kinds of batch filter the same way: by status, distributor, retailer, and by a date window
    on when the batch was opened (unfulfilled) or closed (fulfilled / credited) -- so one function,
    given the table's columns, serves both and the two dashboards cannot drift apart.
    """
    out: list[ColumnElement[bool]] = [status_col == status]
    if f.distributor_id is not None:
        out.append(distributor_col == f.distributor_id)
    if f.retailer_id is not None:
        out.append(retailer_col == f.retailer_id)
    out.extend(stamp_window(created_col if status == BS.UNFULFILLED else closed_col, f.date_from, f.date_to))
    return out


def _batch_section_where(section: Section, f: DistributionFilter) -> list[ColumnElement[bool]]:
    return batch_window_filters(
        _BATCH_SECTIONS[section],
        f,
        status_col=Batch.status,
        distributor_col=Batch.distributor_id,
        retailer_col=Batch.retailer_id,
        created_col=Batch.created_at,
        closed_col=Batch.fulfilled_at,
    )


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
