"""The Rebates Dashboard's sections (the distributor's side of dollars-off redemptions) and the retailer's list.

Rebates follow seed 001's free-goods sections where they apply: rebates waiting to be batched, Unfulfilled
Batches, Fulfilled Batches (marked credited) and the declined ones. Rebates are not held or grouped for MFG
credit, so those sections have no rebate counterpart.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, func, select

from connector.core.access import Actor
from connector.core.errors import ValidationError
from connector.core.frequent_buyer.distribution.permissions import check_reads_distribution
from connector.core.frequent_buyer.distribution.sections import DistributionFilter, batch_window_filters, day_range
from connector.core.frequent_buyer.model import BatchStatus, CreditStatus
from connector.core.frequent_buyer.paging import check_limit, decode_cursor, encode_cursor
from connector.core.frequent_buyer.rebate_tables import Rebate, RebateBatch
from connector.core.frequent_buyer.rebates.permissions import rebate_scope
from connector.core.frequent_buyer.rebates.read_models import (
    RebateBatchView,
    RebateView,
    rebate_batch_select,
    rebate_batch_view,
    rebate_select,
    rebate_view,
)
from connector.core.runtime import Runtime


class RebateSection(StrEnum):
    UNBATCHED_REBATES = "unbatched-rebates"
    UNFULFILLED_BATCHES = "unfulfilled-batches"
    FULFILLED_BATCHES = "fulfilled-batches"
    DECLINED_REBATES = "declined-rebates"


REBATE_SECTION_TITLES: dict[RebateSection, str] = {
    RebateSection.UNBATCHED_REBATES: "Unbatched Rebates",
    RebateSection.UNFULFILLED_BATCHES: "Unfulfilled Batches",
    RebateSection.FULFILLED_BATCHES: "Fulfilled Batches",
    RebateSection.DECLINED_REBATES: "Declined Rebates",
}

_REBATE_SECTIONS = {
    RebateSection.UNBATCHED_REBATES: CreditStatus.UNBATCHED,
    RebateSection.DECLINED_REBATES: CreditStatus.DECLINED,
}
_BATCH_SECTIONS = {
    RebateSection.UNFULFILLED_BATCHES: BatchStatus.UNFULFILLED,
    RebateSection.FULFILLED_BATCHES: BatchStatus.FULFILLED,
}


@dataclass(frozen=True)
class RebateSectionPage:
    section: RebateSection
    title: str
    #: "rebates" (Unbatched Rebates, Declined Rebates) or "batches".
    kind: str
    count: int
    rebates: list[RebateView]
    batches: list[RebateBatchView]
    next_cursor: str | None


def parse_rebate_section(name: str | RebateSection) -> RebateSection:
    try:
        return RebateSection(name)
    except ValueError:
        raise ValidationError(
            f"no section {name!r}", fields={"name": "one of: " + ", ".join(s.value for s in RebateSection)}
        ) from None


def rebate_filters(f: DistributionFilter) -> list[ColumnElement[bool]]:
    """The section/report filters on rebates (the redemption date for the dates)."""
    out: list[ColumnElement[bool]] = []
    for column, value in (
        (Rebate.distributor_id, f.distributor_id),
        (Rebate.retailer_id, f.retailer_id),
        (Rebate.brand_id, f.brand_id),
        (Rebate.program_id, f.program_id),
    ):
        if value is not None:
            out.append(column == value)
    out.extend(day_range(Rebate.redeemed_on, f.date_from, f.date_to))
    return out


def _batch_filters(status: BatchStatus, f: DistributionFilter) -> list[ColumnElement[bool]]:
    return batch_window_filters(
        status,
        f,
        status_col=RebateBatch.status,
        distributor_col=RebateBatch.distributor_id,
        retailer_col=RebateBatch.retailer_id,
        created_col=RebateBatch.created_at,
        closed_col=RebateBatch.credited_at,
    )


def rebate_section(
    rt: Runtime,
    actor: Actor,
    name: str | RebateSection,
    filters: DistributionFilter | None = None,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> RebateSectionPage:
    """One page of a Rebates Dashboard section, newest first, with the section's total count."""
    check_reads_distribution(actor)
    sec = parse_rebate_section(name)
    f = filters or DistributionFilter()
    f.check()
    check_limit(limit)
    tag = "rebates-" + sec.value
    after = decode_cursor(tag, cursor) if cursor else None
    with rt.sessions() as s:
        if sec in _REBATE_SECTIONS:
            where = [
                Rebate.status == _REBATE_SECTIONS[sec],
                Rebate.distributor_id.is_not(None),
                *rebate_scope(actor),
                *rebate_filters(f),
            ]
            count = int(s.scalar(select(func.count()).select_from(Rebate).where(*where)) or 0)
            q = rebate_select().where(*where)
            if after is not None:
                q = q.where(Rebate.id < after)
            rows = s.execute(q.order_by(Rebate.id.desc()).limit(limit + 1)).all()
            rebates = [rebate_view(r) for r in rows[:limit]]
            nxt = encode_cursor(tag, rebates[-1].id) if len(rows) > limit else None
            return RebateSectionPage(sec, REBATE_SECTION_TITLES[sec], "rebates", count, rebates, [], nxt)
        base = rebate_batch_select(actor).where(*_batch_filters(_BATCH_SECTIONS[sec], f))
        count = int(s.scalar(select(func.count()).select_from(base.subquery())) or 0)
        q = base.where(RebateBatch.id < after) if after is not None else base
        rows = s.execute(q.order_by(RebateBatch.id.desc()).limit(limit + 1)).all()
        batches = [rebate_batch_view(r) for r in rows[:limit]]
        nxt = encode_cursor(tag, batches[-1].id) if len(rows) > limit else None
        return RebateSectionPage(sec, REBATE_SECTION_TITLES[sec], "batches", count, [], batches, nxt)


def rebate_section_counts(
    rt: Runtime, actor: Actor, filters: DistributionFilter | None = None
) -> dict[RebateSection, int]:
    """How many items each section of the Rebates Dashboard holds."""
    return {sec: rebate_section(rt, actor, sec, filters, limit=1).count for sec in RebateSection}


def retailer_rebate_batches(rt: Runtime, actor: Actor) -> list[RebateBatchView]:
    """Distributor Rebate Credit Batches as a retailer sees them (seed 002), newest first, within scope.

    Every role reads within its scope (a retailer its own store's, a distributor its own batches).
    """
    with rt.sessions() as s:
        rows = s.execute(rebate_batch_select(actor).order_by(RebateBatch.id.desc()).limit(500)).all()
        return [rebate_batch_view(r) for r in rows]
