"""The catalogue of reports (``REPORTS``) and running one: a checked page (``run_report``) or a CSV
streamed in keyset batches of ``CSV_BATCH`` rows, one short session per batch (``report_csv``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from connector.core.access import Actor
from connector.core.csv_safe import csv_line
from connector.core.errors import ValidationError
from connector.core.frequent_buyer.distribution import CONTROL_CHARS, check_reads_distribution
from connector.core.frequent_buyer.distribution_reports.account_number_report import (
    ACCOUNT_NUMBER_COLUMNS,
    _account_number_changes,
)
from connector.core.frequent_buyer.distribution_reports.enrolment_reports import (
    _associated_programs,
    _enrolled_programs,
    _participating_retailers,
)
from connector.core.frequent_buyer.distribution_reports.free_good_reports import (
    _FREE_GOOD_COLUMNS,
    _HISTORY_COLUMNS,
    _free_goods_fetch,
)
from connector.core.frequent_buyer.distribution_reports.rebate_reports import (
    REBATE_COLUMNS,
    REBATE_CREDIT_COLUMNS,
    REBATE_STATUSES,
    rebates_fetch,
)
from connector.core.frequent_buyer.distribution_reports.report_types import (
    ReportName,
    ReportPage,
    ReportParams,
    ReportSpec,
    _cols,
)
from connector.core.frequent_buyer.model import CreditStatus
from connector.core.frequent_buyer.paging import decode_cursor, encode_cursor
from connector.core.runtime import Runtime

CS = CreditStatus

#: Rows per query when streaming a CSV.
CSV_BATCH = 500

_CURRENT = (CS.UNBATCHED, CS.BATCHED, CS.HELD, CS.DECLINED)

_HISTORY = (CS.CREDITED, CS.GROUPED)

_COMMON = frozenset({"distributor_id", "retailer_id", "brand_id", "program_id"})

#: The columns that describe a program, first in both program reports.
_PROGRAM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("program_id", "Program ID"),
    ("brand", "Brand"),
    ("program", "Program"),
    ("code", "Code"),
    ("buy_quantity", "Buy"),
    ("free_quantity", "Get"),
    ("fulfilment_type", "Fulfillment Type"),
    ("starts_on", "Starts On"),
    ("ends_on", "Ends On"),
)

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
            ReportName.ACCOUNT_NUMBER_CHANGES,
            "Account Number Changes",
            "Every change of a store's account number on its enrollments with the distributor, newest first: "
            "old and new number, who changed it and when; the dates filter by the day of the change.",
            ACCOUNT_NUMBER_COLUMNS,
            _COMMON | {"date_from", "date_to"},
            (),
            _account_number_changes,
        ),
        ReportSpec(
            ReportName.ENROLLED_PROGRAMS,
            "Enrolled Programs",
            "Programs retailers enrolled in with the distributor, and how many retailers each.",
            _cols(
                *_PROGRAM_COLUMNS,
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
                *_PROGRAM_COLUMNS,
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
        ReportSpec(
            ReportName.SEARCH_REBATE_FULFILLMENT,
            "Search Rebate Fulfillment",
            "Any rebate (a dollars-off redemption credited through the distributor) by retailer, customer (name, "
            "email or phone), item (SKU or description), rebate credit batch, status or redemption date.",
            REBATE_COLUMNS,
            _COMMON | {"date_from", "date_to", "customer", "item", "batch_id", "status"},
            REBATE_STATUSES,
            rebates_fetch(credited=False),
        ),
        ReportSpec(
            ReportName.REBATE_CREDIT_FULFILLMENT,
            "Rebate Credit Fulfillment",
            "Rebates marked credited in Distributor Rebate Credit Batches, with the dollars credited; the dates "
            "filter by the day the batch was credited.",
            REBATE_CREDIT_COLUMNS,
            _COMMON | {"date_from", "date_to", "batch_id"},
            (),
            rebates_fetch(credited=True),
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
