"""The Participating Retailers, Enrolled Programs and Associated Programs reports: keyset pages of
retailers or programs with what they are enrolled in or associated with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Subquery, exists, select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.frequent_buyer.distribution_reports.report_types import ReportParams
from connector.core.frequent_buyer.distribution_reports.scope import (
    _active_enrollments,
    _brand_clauses,
    _distributor_ids,
    _joined,
)
from connector.core.frequent_buyer.tables import (
    Distributor,
    DistributorProgram,
    Enrollment,
    Program,
    Retailer,
    RetailerLocation,
)
from connector.core.tables import Brand


def _participating_retailers(
    s: Session, actor: Actor, p: ReportParams, after: int | None, limit: int
) -> list[tuple[int, dict[str, Any]]]:
    enrolled = _active_enrollments(actor, p).subquery()
    q = select(Retailer).where(exists().where(enrolled.c.retailer_id == Retailer.id))
    if after is not None:
        q = q.where(Retailer.id > after)
    retailers = s.scalars(q.order_by(Retailer.id).limit(limit)).all()
    ids = [r.id for r in retailers]
    enrollments = s.execute(
        select(enrolled).where(enrolled.c.retailer_id.in_(ids)).order_by(enrolled.c.program_name)
    ).all()
    locations = s.scalars(
        select(RetailerLocation).where(RetailerLocation.retailer_id.in_(ids)).order_by(RetailerLocation.store_code)
    ).all()
    out = []
    for r in retailers:
        mine = [e for e in enrollments if e.retailer_id == r.id]
        locs = [loc for loc in locations if loc.retailer_id == r.id]
        out.append(
            (
                r.id,
                {
                    "retailer_id": r.id,
                    "retailer": r.name,
                    # The store's account number(s) with the distributor(s) in scope, from its enrollments.
                    "account_number": _joined(sorted({e.account_number for e in mine if e.account_number})),
                    "locations": len(locs),
                    "location_list": _joined(
                        [
                            f"{loc.name} (store {loc.store_code}, {loc.city} {loc.state} {loc.zip})".strip()
                            for loc in locs
                        ]
                    ),
                    "programs": _joined([e.program_name for e in mine]),
                    "distributors": _joined([e.distributor_name for e in mine]),
                    "enrolled_since": min(e.enrolled_at for e in mine) if mine else None,
                },
            )
        )
    return out


def _program_row(pr: Program, brand_name: str) -> dict[str, Any]:
    return {
        "program_id": pr.id,
        "brand": brand_name,
        "program": pr.name,
        "code": pr.code,
        "buy_quantity": pr.buy_quantity,
        "free_quantity": pr.free_quantity,
        "fulfilment_type": pr.fulfilment_type,
        "starts_on": pr.starts_on,
        "ends_on": pr.ends_on,
    }


def _program_page(s: Session, listed: Subquery, after: int | None, limit: int) -> Sequence[Row[Program, str]]:
    """One keyset page of (program, brand name) for the programs that appear in ``listed.c.program_id``:
    the shared paging query of the Enrolled Programs and Associated Programs reports."""
    q = (
        select(Program, Brand.name)
        .join(Brand, Brand.id == Program.brand_id)
        .where(exists().where(listed.c.program_id == Program.id))
    )
    if after is not None:
        q = q.where(Program.id > after)
    return s.execute(q.order_by(Program.id).limit(limit)).all()


def _enrolled_programs(
    s: Session, actor: Actor, p: ReportParams, after: int | None, limit: int
) -> list[tuple[int, dict[str, Any]]]:
    enrolled = _active_enrollments(actor, p).subquery()
    programs = _program_page(s, enrolled, after, limit)
    ids = [pr.id for pr, _ in programs]
    rows = s.execute(select(enrolled).where(enrolled.c.program_id.in_(ids))).all()
    out = []
    for pr, brand_name in programs:
        mine = [e for e in rows if e.program_id == pr.id]
        out.append(
            (
                pr.id,
                {
                    **_program_row(pr, brand_name),
                    "retailers": len({e.retailer_id for e in mine}),
                    "distributors": _joined(sorted(e.distributor_name for e in mine)),
                    "first_enrolled_at": min(e.enrolled_at for e in mine) if mine else None,
                },
            )
        )
    return out


def _associated_programs(
    s: Session, actor: Actor, p: ReportParams, after: int | None, limit: int
) -> list[tuple[int, dict[str, Any]]]:
    assoc = (
        select(
            DistributorProgram.program_id,
            DistributorProgram.distributor_id,
            DistributorProgram.associated_at,
            Distributor.name.label("distributor_name"),
        )
        .join(Distributor, Distributor.id == DistributorProgram.distributor_id)
        .join(Program, Program.id == DistributorProgram.program_id)
        .where(*_distributor_ids(actor, p), *_brand_clauses(actor, p))
        .subquery()
    )
    programs = _program_page(s, assoc, after, limit)
    ids = [pr.id for pr, _ in programs]
    links = s.execute(select(assoc).where(assoc.c.program_id.in_(ids))).all()
    enrolled = s.execute(
        select(Enrollment.program_id, Enrollment.distributor_id, Enrollment.retailer_id).where(
            Enrollment.program_id.in_(ids), Enrollment.ended_at.is_(None)
        )
    ).all()
    out = []
    for pr, brand_name in programs:
        mine = [a for a in links if a.program_id == pr.id]
        distributor_ids = {a.distributor_id for a in mine}
        retailers = {e.retailer_id for e in enrolled if e.program_id == pr.id and e.distributor_id in distributor_ids}
        out.append(
            (
                pr.id,
                {
                    **_program_row(pr, brand_name),
                    "distributors": _joined(sorted(a.distributor_name for a in mine)),
                    "associated_at": min(a.associated_at for a in mine) if mine else None,
                    "enrolled_retailers": len(retailers),
                },
            )
        )
    return out
