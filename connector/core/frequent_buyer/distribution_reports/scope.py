"""Which rows a report may show the actor: the distributor and brand clauses every report query starts from."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, select

from connector.core.access import Actor
from connector.core.frequent_buyer.distribution_reports.report_types import ReportParams
from connector.core.frequent_buyer.tables import Distributor, Enrollment, Program
from connector.core.model import Role


def _distributor_ids(actor: Actor, p: ReportParams) -> list[ColumnElement[bool]]:
    """Distributor clauses over ``Distributor.id`` for the program/retailer reports."""
    out: list[ColumnElement[bool]] = []
    if actor.role == Role.DISTRIBUTOR:
        out.append(Distributor.id == actor.distributor_id)
    if p.distributor_id is not None:
        out.append(Distributor.id == p.distributor_id)
    return out


def _brand_clauses(actor: Actor, p: ReportParams) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if actor.brand_id is not None and not actor.is_party:
        out.append(Program.brand_id == actor.brand_id)
    if p.brand_id is not None:
        out.append(Program.brand_id == p.brand_id)
    if p.program_id is not None:
        out.append(Program.id == p.program_id)
    return out


def _active_enrollments(actor: Actor, p: ReportParams) -> Select[*tuple[Any, ...]]:
    """(retailer, program, distributor, enrolled_at, account number) of active distributor enrollments within scope."""
    q = (
        select(
            Enrollment.retailer_id,
            Enrollment.program_id,
            Enrollment.distributor_id,
            Enrollment.enrolled_at,
            Enrollment.account_number,
            Program.name.label("program_name"),
            Distributor.name.label("distributor_name"),
        )
        .join(Program, Program.id == Enrollment.program_id)
        .join(Distributor, Distributor.id == Enrollment.distributor_id)
        .where(Enrollment.ended_at.is_(None), *_distributor_ids(actor, p), *_brand_clauses(actor, p))
    )
    if p.retailer_id is not None:
        q = q.where(Enrollment.retailer_id == p.retailer_id)
    return q


def _joined(values: list[str]) -> str:
    return "; ".join(dict.fromkeys(v for v in values if v))
