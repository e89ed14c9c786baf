"""The POS Reports Status Dashboard (seed 003): where each uploaded report's cards stand, and why.

Per report, how many of its redemptions are New, Pending, Denied, in Quality Check and
Processed; Review lists one report's redemptions in one status with the customer, the denial
reason with its explanation and fix (``DENIAL_EXPLANATIONS``) and the precise detail, and the
card's purchases and free goods as reported.

Imports move each card through New and Pending inside their own transaction, so those two
counts are zero for committed reports today; they are kept because they are the statuses the
dashboard names and a future asynchronous import would fill them.

Who sees it: the retailer (its own reports), support and platform admins (every retailer's),
an unscoped viewer (read-only, every retailer's). Brand admins, brand viewers and distributors
do not: distributors see free goods on their own screens, once processed. Another retailer's
report answers "not found".

Pages are keyset-paginated on the id (reports newest first, redemptions in import order), so a
100,000-card report reviews as fast on its last page as on its first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from connector.core.frequent_buyer.model import DENIAL_EXPLANATIONS, DenialReason
from connector.core.frequent_buyer.model import PosRedemptionStatus as PS
from connector.core.frequent_buyer.paging import check_limit, decode_cursor, encode_cursor
from connector.core.frequent_buyer.programs import is_staff
from connector.core.frequent_buyer.tables import (
    Customer,
    Distributor,
    FbEvent,
    PosRedemption,
    PosReport,
    Program,
    Retailer,
    RetailerLocation,
)
from connector.core.model import Role
from connector.core.runtime import Runtime


def check_sees_pos_reports(actor: Actor) -> None:
    if is_staff(actor) or actor.role == Role.RETAILER or (actor.role == Role.VIEWER and actor.brand_id is None):
        return
    raise PermissionDeniedError(
        f"role {actor.role.value} does not see POS reports; they belong to the retailer and the POS team"
    )


def _scope_retailer(actor: Actor, retailer_id: int | None) -> int | None:
    """The retailer a query is limited to: a retailer user's own, whatever it asked for."""
    if actor.role == Role.RETAILER:
        if retailer_id is not None and retailer_id != actor.retailer_id:
            raise NotFoundError(f"retailer {retailer_id} not found")
        return actor.retailer_id
    return retailer_id


@dataclass(frozen=True)
class StatusCounts:
    new: int = 0
    pending: int = 0
    denied: int = 0
    quality_check: int = 0
    processed: int = 0

    @property
    def total(self) -> int:
        return self.new + self.pending + self.denied + self.quality_check + self.processed

    @classmethod
    def of(cls, counts: dict[str, int]) -> StatusCounts:
        return cls(**{s.value: int(counts.get(s.value, 0)) for s in PS})


@dataclass(frozen=True)
class ReportRow:
    id: int
    retailer_id: int
    retailer_name: str
    filename: str
    format: str
    row_count: int
    uploaded_by: str
    uploaded_at: datetime
    counts: StatusCounts


@dataclass(frozen=True)
class DashboardPage:
    reports: list[ReportRow]
    #: Over every report in scope (not only this page).
    totals: StatusCounts
    next_cursor: str | None


def _counts_by_report(s: Session, report_ids: list[int]) -> dict[int, StatusCounts]:
    raw: dict[int, dict[str, int]] = {}
    if report_ids:
        for report_id, status, n in s.execute(
            select(PosRedemption.report_id, PosRedemption.status, func.count())
            .where(PosRedemption.report_id.in_(report_ids))
            .group_by(PosRedemption.report_id, PosRedemption.status)
        ):
            raw.setdefault(report_id, {})[status] = n
    return {rid: StatusCounts.of(raw.get(rid, {})) for rid in report_ids}


def _report_rows(s: Session, reports: list[tuple[PosReport, str]]) -> list[ReportRow]:
    counts = _counts_by_report(s, [r.id for r, _ in reports])
    return [
        ReportRow(
            r.id, r.retailer_id, name, r.filename, r.format, r.row_count, r.uploaded_by, r.uploaded_at, counts[r.id]
        )
        for r, name in reports
    ]


def dashboard(
    rt: Runtime, actor: Actor, *, retailer_id: int | None = None, limit: int = 50, cursor: str | None = None
) -> DashboardPage:
    """Reports newest first with their counts per status, and the totals over all of them."""
    check_sees_pos_reports(actor)
    check_limit(limit)
    scope = _scope_retailer(actor, retailer_id)
    with rt.sessions() as s:
        q = select(PosReport, Retailer.name).join(Retailer, Retailer.id == PosReport.retailer_id)
        totals_q = select(PosRedemption.status, func.count()).group_by(PosRedemption.status)
        if scope is not None:
            q = q.where(PosReport.retailer_id == scope)
            totals_q = totals_q.where(PosRedemption.retailer_id == scope)
        if cursor:
            q = q.where(PosReport.id < decode_cursor("pos-reports", cursor))
        rows = [(r, name) for r, name in s.execute(q.order_by(PosReport.id.desc()).limit(limit + 1))]
        page = rows[:limit]
        totals = StatusCounts.of({status: n for status, n in s.execute(totals_q)})
        return DashboardPage(
            reports=_report_rows(s, page),
            totals=totals,
            next_cursor=encode_cursor("pos-reports", page[-1][0].id) if len(rows) > limit else None,
        )


def _visible_report(s: Session, actor: Actor, report_id: int) -> tuple[PosReport, str]:
    check_sees_pos_reports(actor)
    found = s.execute(
        select(PosReport, Retailer.name)
        .join(Retailer, Retailer.id == PosReport.retailer_id)
        .where(PosReport.id == report_id)
    ).one_or_none()
    if found is None or (actor.role == Role.RETAILER and found[0].retailer_id != actor.retailer_id):
        raise NotFoundError(f"POS report {report_id} not found")
    return found[0], found[1]


def get_report(rt: Runtime, actor: Actor, report_id: int) -> ReportRow:
    with rt.sessions() as s:
        return _report_rows(s, [_visible_report(s, actor, report_id)])[0]


# -- review ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Denial:
    reason: str
    explanation: str
    fix: str
    detail: str


@dataclass(frozen=True)
class ReviewEvent:
    at: datetime
    actor: str
    event: str
    from_status: str | None
    to_status: str | None
    detail: str


@dataclass(frozen=True)
class ReviewItem:
    """One reported redemption as the second Review button shows it."""

    id: int
    report_id: int
    retailer_id: int
    pos_key: str
    status: str
    redeemed_on: date
    source_rows: list[int]
    location: dict[str, Any] | None
    customer: dict[str, Any] | None
    program: dict[str, Any] | None
    distributor: dict[str, Any] | None
    denial: Denial | None
    purchases: list[dict[str, Any]]
    free_goods: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    #: The timeline, oldest first: only on ``get_pos_redemption``.
    events: tuple[ReviewEvent, ...] = ()


@dataclass(frozen=True)
class ReviewPage:
    report: ReportRow
    status: str | None
    items: list[ReviewItem]
    next_cursor: str | None


def denial_of(reason: str | None, detail: str | None) -> Denial | None:
    if not reason:
        return None
    try:
        explanation, fix = DENIAL_EXPLANATIONS[DenialReason(reason)]
    except ValueError:
        explanation, fix = reason, ""
    return Denial(reason, explanation, fix, detail or "")


def _review_items(s: Session, rows: list[PosRedemption]) -> list[ReviewItem]:
    def by_id(model: Any, ids: set[int | None], *cols: Any) -> dict[int, Any]:
        wanted = {i for i in ids if i is not None}
        if not wanted:
            return {}
        return {row[0]: row for row in s.execute(select(model.id, *cols).where(model.id.in_(wanted)))}

    customers = by_id(
        Customer,
        {r.customer_id for r in rows},
        Customer.name,
        Customer.phone,
        Customer.email,
        Customer.internal_id,
    )
    programs = by_id(Program, {r.program_id for r in rows}, Program.name, Program.code, Program.brand_id)
    distributors = by_id(Distributor, {r.distributor_id for r in rows}, Distributor.name)
    locations = by_id(
        RetailerLocation, {r.location_id for r in rows}, RetailerLocation.name, RetailerLocation.store_code
    )
    out = []
    for r in rows:
        c, p = customers.get(r.customer_id or 0), programs.get(r.program_id or 0)
        d, loc = distributors.get(r.distributor_id or 0), locations.get(r.location_id or 0)
        card = r.card or {}
        out.append(
            ReviewItem(
                id=r.id,
                report_id=r.report_id,
                retailer_id=r.retailer_id,
                pos_key=r.pos_key,
                status=r.status,
                redeemed_on=r.redeemed_on,
                source_rows=list(r.source_rows or ()),
                location={"id": loc[0], "name": loc[1], "store_code": loc[2]} if loc else None,
                customer=({"id": c[0], "name": c[1], "phone": c[2], "email": c[3], "internal_id": c[4]} if c else None),
                program={"id": p[0], "name": p[1], "code": p[2], "brand_id": p[3]} if p else None,
                distributor={"id": d[0], "name": d[1]} if d else None,
                denial=denial_of(r.denial_reason, r.denial_detail),
                purchases=list(card.get("purchases", ())),
                free_goods=list(card.get("free_goods", ())),
                created_at=r.created_at,
                updated_at=r.updated_at,
            )
        )
    return out


def review(
    rt: Runtime,
    actor: Actor,
    report_id: int,
    *,
    status: PS | str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> ReviewPage:
    """A report's redemptions (in one status, when given), in import order."""
    check_limit(limit)
    if status is not None:
        try:
            status = PS(status)
        except ValueError:
            raise ValidationError(
                "invalid status", fields={"status": f"one of: {', '.join(s.value for s in PS)}"}
            ) from None
    with rt.sessions() as s:
        report = _visible_report(s, actor, report_id)
        q = select(PosRedemption).where(PosRedemption.report_id == report_id)
        if status is not None:
            q = q.where(PosRedemption.status == status.value)
        if cursor:
            q = q.where(PosRedemption.id > decode_cursor("pos-review", cursor))
        rows = list(s.scalars(q.order_by(PosRedemption.id).limit(limit + 1)))
        page = rows[:limit]
        return ReviewPage(
            report=_report_rows(s, [report])[0],
            status=status.value if status is not None else None,
            items=_review_items(s, page),
            next_cursor=encode_cursor("pos-review", page[-1].id) if len(rows) > limit else None,
        )


def get_pos_redemption(rt: Runtime, actor: Actor, redemption_id: int) -> ReviewItem:
    """One reported redemption with its timeline (every move, who made it and why)."""
    check_sees_pos_reports(actor)
    with rt.sessions() as s:
        r = s.get(PosRedemption, redemption_id)
        if r is None or (actor.role == Role.RETAILER and r.retailer_id != actor.retailer_id):
            raise NotFoundError(f"POS redemption {redemption_id} not found")
        item = _review_items(s, [r])[0]
        events = tuple(
            ReviewEvent(e.at, e.actor, e.event, e.from_status, e.to_status, e.detail)
            for e in s.scalars(
                select(FbEvent)
                .where(FbEvent.subject_type == "pos_redemption", FbEvent.subject_id == r.id)
                .order_by(FbEvent.id)
            )
        )
        return ReviewItem(**{**item.__dict__, "events": events})
