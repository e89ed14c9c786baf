"""The Distributor Portal's reports (seed 001's Reports menu), as pages of rows and as streamed CSV.

* **Participating Retailers**: retailers enrolled with the distributor: name, account number, locations,
  programs.
* **Enrolled Programs**: programs retailers enrolled in with the distributor, with how many retailers.
* **Associated Programs**: programs the distributor chose to be a fulfilment option for.
* **Free Goods Fulfillment**: the free goods still to be credited (unbatched, batched, held, declined), with
  status, batch, retailer, item, quantity and approximate cost.
* **Free Goods Fulfillment History**: free goods that were batched and marked credited (credited or grouped),
  by manufacturer/brand and credit date.
* **Search Free Goods Fulfillment**: any free good, by retailer, customer, SKU/UPC/description, batch, date.

Each report is a keyset-paginated query (``run_report``) and a CSV generator (``report_csv``) that walks the
same keyset in batches of ``CSV_BATCH`` rows, one short session per batch, so an export of any size costs one
batch of memory and holds no connection while a slow client reads. CSV cells go through
``connector.core.csv_safe`` (formula-injection neutralisation, every cell quoted).

Scope: distributor users see their own distributor only; brand-scoped users (brand admin, brand viewer) see
their brand's programs and free goods; platform admins, support and global viewers see all (and may filter by
distributor). Retailer users have their credit status instead and are refused here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.csv_safe import csv_line
from connector.core.errors import ValidationError
from connector.core.frequent_buyer.distribution import (
    CONTROL_CHARS,
    FreeGoodView,
    check_reads_distribution,
    day_start,
    free_good_scope,
    free_good_select,
    free_good_view,
)
from connector.core.frequent_buyer.model import CreditStatus
from connector.core.frequent_buyer.paging import decode_cursor, encode_cursor
from connector.core.frequent_buyer.tables import (
    Batch,
    Customer,
    Distributor,
    DistributorProgram,
    Enrollment,
    FreeGood,
    Program,
    Retailer,
    RetailerLocation,
)
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.tables import Brand

CS = CreditStatus
#: Rows per query when streaming a CSV.
CSV_BATCH = 500
_CURRENT = (CS.UNBATCHED, CS.BATCHED, CS.HELD, CS.DECLINED)
_HISTORY = (CS.CREDITED, CS.GROUPED)


class ReportName(StrEnum):
    PARTICIPATING_RETAILERS = "participating-retailers"
    ENROLLED_PROGRAMS = "enrolled-programs"
    ASSOCIATED_PROGRAMS = "associated-programs"
    FREE_GOODS_FULFILLMENT = "free-goods-fulfillment"
    FREE_GOODS_FULFILLMENT_HISTORY = "free-goods-fulfillment-history"
    SEARCH_FREE_GOODS_FULFILLMENT = "search-free-goods-fulfillment"


@dataclass(frozen=True)
class ReportParams:
    """Every filter a report may take; each report accepts only the ones it lists (others are refused)."""

    distributor_id: int | None = None
    retailer_id: int | None = None
    brand_id: int | None = None
    program_id: int | None = None
    #: Inclusive days: the redemption date, or for the history the day the batch was credited.
    date_from: date | None = None
    date_to: date | None = None
    #: Customer name (contains), email (exact) or phone (its digits, exact).
    customer: str | None = None
    #: SKU or UPC (exact, case-insensitive) or description (contains).
    item: str | None = None
    batch_id: int | None = None
    status: str | None = None

    def given(self) -> set[str]:
        return {f.name for f in fields(self) if getattr(self, f.name) not in (None, "")}


@dataclass(frozen=True)
class Column:
    key: str
    title: str


@dataclass(frozen=True)
class ReportPage:
    name: ReportName
    title: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]
    next_cursor: str | None


Fetch = Callable[[Session, Actor, ReportParams, "int | None", int], list[tuple[int, dict[str, Any]]]]


@dataclass(frozen=True)
class ReportSpec:
    name: ReportName
    title: str
    description: str
    columns: tuple[Column, ...]
    filters: frozenset[str]
    statuses: tuple[CreditStatus, ...]
    fetch: Fetch


def _cols(*pairs: tuple[str, str]) -> tuple[Column, ...]:
    return tuple(Column(k, t) for k, t in pairs)


# -- scope ---------------------------------------------------------------------------------------------------


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


def _active_enrollments(actor: Actor, p: ReportParams) -> Select[Any]:
    """(retailer, program, distributor, enrolled_at) of active distributor enrollments within scope."""
    q = (
        select(
            Enrollment.retailer_id,
            Enrollment.program_id,
            Enrollment.distributor_id,
            Enrollment.enrolled_at,
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


# -- participating retailers, enrolled programs, associated programs -----------------------------------------


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
                    "account_number": r.account_number,
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


def _enrolled_programs(
    s: Session, actor: Actor, p: ReportParams, after: int | None, limit: int
) -> list[tuple[int, dict[str, Any]]]:
    enrolled = _active_enrollments(actor, p).subquery()
    q = (
        select(Program, Brand.name)
        .join(Brand, Brand.id == Program.brand_id)
        .where(exists().where(enrolled.c.program_id == Program.id))
    )
    if after is not None:
        q = q.where(Program.id > after)
    programs = s.execute(q.order_by(Program.id).limit(limit)).all()
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
    q = (
        select(Program, Brand.name)
        .join(Brand, Brand.id == Program.brand_id)
        .where(exists().where(assoc.c.program_id == Program.id))
    )
    if after is not None:
        q = q.where(Program.id > after)
    programs = s.execute(q.order_by(Program.id).limit(limit)).all()
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


# -- free goods ----------------------------------------------------------------------------------------------

_FREE_GOOD_COLUMNS = _cols(
    ("free_good_id", "Free Good ID"),
    ("status", "Status"),
    ("redeemed_on", "Redeemed On"),
    ("retailer", "Retailer"),
    ("account_number", "Account Number"),
    ("location", "Location"),
    ("store_code", "Store"),
    ("customer", "Customer"),
    ("brand", "Brand"),
    ("program", "Program"),
    ("sku", "SKU"),
    ("upc", "UPC"),
    ("description", "Description"),
    ("quantity", "Qty"),
    ("unit_cost", "Unit Cost"),
    ("approximate_cost", "Approx. Cost"),
    ("batch_id", "Batch ID"),
    ("batch", "Batch"),
    ("reason", "Declined/Held Reason"),
    ("distributor", "Distributor"),
)
_HISTORY_COLUMNS = (
    *_FREE_GOOD_COLUMNS[:-2],
    Column("credited_at", "Credited At"),
    Column("credit_group_id", "MFG Credit Group ID"),
    Column("reconciled_at", "Reconciled At"),
    _FREE_GOOD_COLUMNS[-1],
)


def _free_good_row(g: FreeGoodView) -> dict[str, Any]:
    return {
        "free_good_id": g.id,
        "status": g.status,
        "redeemed_on": g.redeemed_on,
        "retailer": g.retailer_name,
        "account_number": g.retailer_account_number,
        "location": g.location_name,
        "store_code": g.store_code,
        "customer": g.customer_name,
        "brand": g.brand_name,
        "program": g.program_name,
        "sku": g.sku,
        "upc": g.upc,
        "description": g.description,
        "quantity": g.quantity,
        "unit_cost": g.unit_cost,
        "approximate_cost": g.approximate_cost,
        "batch_id": g.batch_id,
        "batch": g.batch_description,
        "reason": g.reason,
        "distributor": g.distributor_name,
        "credited_at": g.fulfilled_at,
        "reconciled_at": g.reconciled_at,
    }


def _customer_match(term: str) -> ColumnElement[bool]:
    text = term.strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    clauses = [
        func.lower(Customer.name).contains(text.lower(), autoescape=True),
        func.lower(Customer.email) == text.lower(),
    ]
    if len(digits) >= 7:
        clauses.append(Customer.phone == digits)
    if text:
        clauses.append(Customer.internal_id == text)
    return or_(*clauses)


def _item_match(term: str) -> ColumnElement[bool]:
    text = term.strip()
    return or_(
        func.upper(FreeGood.sku) == text.upper(),
        FreeGood.upc == text,
        func.lower(FreeGood.description).contains(text.lower(), autoescape=True),
    )


def _free_goods_fetch(statuses: tuple[CreditStatus, ...], *, history: bool = False) -> Fetch:
    def fetch(
        s: Session, actor: Actor, p: ReportParams, after: int | None, limit: int
    ) -> list[tuple[int, dict[str, Any]]]:
        chosen = (p.status,) if p.status else statuses
        q = free_good_select().where(
            FreeGood.distributor_id.is_not(None), FreeGood.status.in_(chosen), *free_good_scope(actor)
        )
        for column, value in (
            (FreeGood.distributor_id, p.distributor_id),
            (FreeGood.retailer_id, p.retailer_id),
            (FreeGood.brand_id, p.brand_id),
            (FreeGood.program_id, p.program_id),
            (FreeGood.batch_id, p.batch_id),
        ):
            if value is not None:
                q = q.where(column == value)
        if history:
            if p.date_from is not None:
                q = q.where(Batch.fulfilled_at >= day_start(p.date_from))
            if p.date_to is not None:
                q = q.where(Batch.fulfilled_at < day_start(p.date_to + timedelta(days=1)))
        else:
            if p.date_from is not None:
                q = q.where(FreeGood.redeemed_on >= p.date_from)
            if p.date_to is not None:
                q = q.where(FreeGood.redeemed_on <= p.date_to)
        if p.customer:
            q = q.where(_customer_match(p.customer))
        if p.item:
            q = q.where(_item_match(p.item))
        if after is not None:
            q = q.where(FreeGood.id < after)
        rows = s.execute(q.order_by(FreeGood.id.desc()).limit(limit)).all()
        out = []
        for row in rows:
            view = free_good_view(row)
            values = _free_good_row(view)
            if history:
                values["credit_group_id"] = None
            out.append((view.id, values))
        if history and out:
            groups = dict(
                s.execute(
                    select(Batch.id, Batch.credit_group_id).where(Batch.id.in_({v["batch_id"] for _, v in out}))
                ).all()
            )
            for _, values in out:
                values["credit_group_id"] = groups.get(values["batch_id"])
        return out

    return fetch


_COMMON = frozenset({"distributor_id", "retailer_id", "brand_id", "program_id"})

REPORTS: dict[ReportName, ReportSpec] = {
    spec.name: spec
    for spec in (
        ReportSpec(
            ReportName.PARTICIPATING_RETAILERS,
            "Participating Retailers",
            "Retailers enrolled with the distributor in at least one program: account number, locations, programs.",
            _cols(
                ("retailer_id", "Retailer ID"),
                ("retailer", "Retailer"),
                ("account_number", "Account Number"),
                ("locations", "Locations"),
                ("location_list", "Location List"),
                ("programs", "Programs"),
                ("distributors", "Distributors"),
                ("enrolled_since", "Enrolled Since"),
            ),
            _COMMON,
            (),
            _participating_retailers,
        ),
        ReportSpec(
            ReportName.ENROLLED_PROGRAMS,
            "Enrolled Programs",
            "Programs retailers enrolled in with the distributor, and how many retailers each.",
            _cols(
                ("program_id", "Program ID"),
                ("brand", "Brand"),
                ("program", "Program"),
                ("code", "Code"),
                ("buy_quantity", "Buy"),
                ("free_quantity", "Get"),
                ("fulfilment_type", "Fulfillment Type"),
                ("starts_on", "Starts On"),
                ("ends_on", "Ends On"),
                ("retailers", "Retailers"),
                ("distributors", "Distributors"),
                ("first_enrolled_at", "First Enrolled At"),
            ),
            _COMMON,
            (),
            _enrolled_programs,
        ),
        ReportSpec(
            ReportName.ASSOCIATED_PROGRAMS,
            "Associated Programs",
            "Programs the distributor is associated with (a fulfilment option retailers can choose).",
            _cols(
                ("program_id", "Program ID"),
                ("brand", "Brand"),
                ("program", "Program"),
                ("code", "Code"),
                ("buy_quantity", "Buy"),
                ("free_quantity", "Get"),
                ("fulfilment_type", "Fulfillment Type"),
                ("starts_on", "Starts On"),
                ("ends_on", "Ends On"),
                ("distributors", "Distributors"),
                ("associated_at", "Associated At"),
                ("enrolled_retailers", "Enrolled Retailers"),
            ),
            frozenset({"distributor_id", "brand_id", "program_id"}),
            (),
            _associated_programs,
        ),
        ReportSpec(
            ReportName.FREE_GOODS_FULFILLMENT,
            "Free Goods Fulfillment",
            "Free goods still to be credited (unbatched, batched, held, declined), newest first.",
            _FREE_GOOD_COLUMNS,
            _COMMON | {"date_from", "date_to", "status"},
            _CURRENT,
            _free_goods_fetch(_CURRENT),
        ),
        ReportSpec(
            ReportName.FREE_GOODS_FULFILLMENT_HISTORY,
            "Free Goods Fulfillment History",
            "Free goods that were batched and marked credited (credited or grouped for MFG credit); the dates "
            "filter by the day the batch was credited.",
            _HISTORY_COLUMNS,
            _COMMON | {"date_from", "date_to", "status"},
            _HISTORY,
            _free_goods_fetch(_HISTORY, history=True),
        ),
        ReportSpec(
            ReportName.SEARCH_FREE_GOODS_FULFILLMENT,
            "Search Free Goods Fulfillment",
            "Any free good by retailer, customer (name, email or phone), item (SKU, UPC or description), batch "
            "or redemption date.",
            _FREE_GOOD_COLUMNS,
            _COMMON | {"date_from", "date_to", "customer", "item", "batch_id", "status"},
            tuple(CS),
            _free_goods_fetch(tuple(CS)),
        ),
    )
}


def _spec(name: str | ReportName) -> ReportSpec:
    try:
        return REPORTS[ReportName(name)]
    except ValueError:
        raise ValidationError(
            f"no report {name!r}", fields={"name": "one of: " + ", ".join(r.value for r in ReportName)}
        ) from None


def _check_params(spec: ReportSpec, p: ReportParams) -> None:
    extra = sorted(p.given() - spec.filters)
    problems = {k: f"{spec.title} does not filter by {k}; it takes: {', '.join(sorted(spec.filters))}" for k in extra}
    if p.date_from and p.date_to and p.date_from > p.date_to:
        problems["date_to"] = "must be on or after date_from"
    if p.status and p.status not in {s.value for s in spec.statuses}:
        problems["status"] = f"one of: {', '.join(s.value for s in spec.statuses)}"
    for name in ("customer", "item"):
        value = getattr(p, name)
        if value is not None and not (1 <= len(value.strip()) <= 200):
            problems[name] = "between 1 and 200 characters"
        elif value is not None and CONTROL_CHARS.search(value):
            problems[name] = "plain text without control characters"
    if problems:
        raise ValidationError(f"invalid filters for {spec.title}", fields=problems)


def _prepare(actor: Actor, name: str | ReportName, params: ReportParams | None) -> tuple[ReportSpec, ReportParams]:
    check_reads_distribution(actor)
    spec = _spec(name)
    p = params or ReportParams()
    _check_params(spec, p)
    return spec, p


def run_report(
    rt: Runtime,
    actor: Actor,
    name: str | ReportName,
    params: ReportParams | None = None,
    *,
    limit: int = 100,
    cursor: str | None = None,
) -> ReportPage:
    """One page of a report; pass ``next_cursor`` back as ``cursor`` until it is None."""
    spec, p = _prepare(actor, name, params)
    if not 1 <= limit <= 500:
        raise ValidationError("invalid limit", fields={"limit": "between 1 and 500"})
    after = decode_cursor(spec.name.value, cursor) if cursor else None
    with rt.sessions() as s:
        rows = spec.fetch(s, actor, p, after, limit + 1)
    page = rows[:limit]
    nxt = encode_cursor(spec.name.value, page[-1][0]) if len(rows) > limit else None
    return ReportPage(spec.name, spec.title, spec.columns, [values for _, values in page], nxt)


def report_csv(rt: Runtime, actor: Actor, name: str | ReportName, params: ReportParams | None = None) -> Iterator[str]:
    """The whole report as CSV lines (header first), streamed in keyset batches.

    Permission and filters are checked here, before the generator is returned, so a web layer can still
    answer an error status instead of a half-written file.
    """
    spec, p = _prepare(actor, name, params)

    def lines() -> Iterator[str]:
        yield csv_line(c.title for c in spec.columns)
        after: int | None = None
        while True:
            with rt.sessions() as s:
                rows = spec.fetch(s, actor, p, after, CSV_BATCH)
            for _, values in rows:
                yield csv_line(values.get(c.key) for c in spec.columns)
            if len(rows) < CSV_BATCH:
                return
            after = rows[-1][0]

    return lines()


def report_filename(name: str | ReportName, now: datetime) -> str:
    return f"{ReportName(name).value}-{now:%Y%m%d-%H%M%S}.csv"
