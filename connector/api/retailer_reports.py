"""``/api/v1/retailer/reports``: Frequent Buyer Participation (and each number's detail), Redemption by Date,
and the transaction export (CSV), one core read model (``connector.core.frequent_buyer.retailer_reports``).

A retailer's token reads its own stores only (another retailer, or another retailer's location, answers
404); support and platform admins name the retailer; distributors, brands and viewers get 403: the reports
name the retailer's customers.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, stream_with_context
from marshmallow import Schema, fields, validate

from connector.api.auth import current_actor
from connector.api.blueprint import bp
from connector.api.openapi import operation
from connector.api.payload import load_query
from connector.api.schemas import query_id
from connector.core.export import in_chunks
from connector.core.frequent_buyer import retailer_reports as reports
from connector.core.frequent_buyer.retailer_reports.redemptions import MAX_LINES
from connector.request_context import current_runtime

_TAG = "retailer reports"
_ERRORS = (403, 404)


class RetailerReportQuerySchema(Schema):
    retailer_id = query_id(metadata={"description": "Required except for retailer users (their own)."})
    brand_id = query_id(metadata={"description": "Only this manufacturer's programs."})
    location_id = query_id(metadata={"description": "Only this store location of the retailer."})
    date_from = fields.Date(metadata={"description": "On or after (YYYY-MM-DD)."})
    date_to = fields.Date(metadata={"description": "On or before (YYYY-MM-DD)."})


class ParticipationDetailQuerySchema(RetailerReportQuerySchema):
    metric = fields.String(
        required=True,
        validate=validate.OneOf(list(reports.DETAIL_METRICS)),
        metadata={"description": "The number to open: " + ", ".join(reports.DETAIL_METRICS) + "."},
    )
    program_id = query_id(metadata={"description": "Only this program's row (left out: every program)."})


class ParticipationRowSchema(Schema):
    brand_id = fields.Integer(allow_none=True)
    brand_name = fields.String()
    program_id = fields.Integer(allow_none=True, metadata={"description": "null on the total row."})
    program_name = fields.String()
    unique_customers = fields.Integer()
    cards_punched = fields.Integer()
    items_sold = fields.Integer()
    rewards_earned = fields.Integer()
    rewards_redeemed = fields.Integer()


class ParticipationSchema(Schema):
    retailer_id = fields.Integer()
    rows = fields.List(fields.Nested(ParticipationRowSchema))
    total = fields.Nested(ParticipationRowSchema)


class DetailColumnSchema(Schema):
    key = fields.String()
    label = fields.String()


class ParticipationDetailSchema(Schema):
    metric = fields.String()
    title = fields.String()
    columns = fields.List(fields.Nested(DetailColumnSchema))
    rows = fields.List(
        fields.Dict(keys=fields.String(), values=fields.String()),
        metadata={"description": "One object per row, keyed by the columns' keys; cells as text (dates ISO)."},
    )


class RedemptionLineSchema(Schema):
    redemption_id = fields.Integer()
    redeemed_on = fields.Date()
    card = fields.String()
    location = fields.String()
    customer = fields.String()
    brand = fields.String()
    program = fields.String()
    free_goods = fields.String()
    quantity = fields.Integer()
    status = fields.String()
    denial = fields.String(metadata={"description": "The seeds' denial label; empty unless denied."})


class RedemptionsByDateSchema(Schema):
    retailer_id = fields.Integer()
    lines = fields.List(fields.Nested(RedemptionLineSchema))
    truncated = fields.Boolean(metadata={"description": f"More than {MAX_LINES} lines: narrow the range."})


def _filters(args: dict[str, Any]) -> reports.ReportFilters:
    keys = ("retailer_id", "brand_id", "location_id", "date_from", "date_to")
    return reports.ReportFilters(**{k: args.get(k) for k in keys})


def _row(r: reports.ParticipationRow) -> dict[str, Any]:
    keys = ParticipationRowSchema().fields
    return {k: getattr(r, k) for k in keys}


def _cell(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else "" if value is None else str(value)


@bp.get("/retailer/reports/participation")
@operation(
    summary="Frequent Buyer Participation: unique customers, cards punched, items sold, rewards earned and "
    "redeemed, per manufacturer and program",
    description="Denied cards count nowhere. Items are dated by their purchase date (else the redemption date); "
    "rewards by the redemption date. See docs/frequent-buyer.md.",
    tag=_TAG,
    query=RetailerReportQuerySchema,
    responses={200: ("The report", ParticipationSchema)},
    errors=_ERRORS,
)
def get_participation() -> dict[str, Any]:
    args = load_query(RetailerReportQuerySchema())
    report = reports.participation(current_runtime(), current_actor(), _filters(args))
    out = {
        "retailer_id": report.filters.retailer_id,
        "rows": [_row(r) for r in report.rows],
        "total": _row(report.total),
    }
    return ParticipationSchema().dump(out)


@bp.get("/retailer/reports/participation/detail")
@operation(
    summary="What one number of Frequent Buyer Participation counts: its customers, cards, items or rewards",
    tag=_TAG,
    query=ParticipationDetailQuerySchema,
    responses={200: ("The detail", ParticipationDetailSchema)},
    errors=_ERRORS,
)
def get_participation_detail() -> dict[str, Any]:
    args = load_query(ParticipationDetailQuerySchema())
    table = reports.participation_detail(
        current_runtime(), current_actor(), _filters(args), args["metric"], program_id=args.get("program_id")
    )
    return ParticipationDetailSchema().dump(
        {
            "metric": table.metric,
            "title": table.title,
            "columns": [{"key": k, "label": label} for k, label in table.columns],
            "rows": [{k: _cell(row.get(k)) for k, _ in table.columns} for row in table.rows],
        }
    )


@bp.get("/retailer/reports/redemptions")
@operation(
    summary="Redemption by Date: every redemption on the account in a date range, denied ones with their reason",
    tag=_TAG,
    query=RetailerReportQuerySchema,
    responses={200: ("The redemptions, oldest first", RedemptionsByDateSchema)},
    errors=_ERRORS,
)
def get_redemptions_by_date() -> dict[str, Any]:
    args = load_query(RetailerReportQuerySchema())
    found = reports.redemptions_by_date(current_runtime(), current_actor(), _filters(args))
    lines = [vars(line) for line in found.lines]
    return RedemptionsByDateSchema().dump(
        {"retailer_id": found.filters.retailer_id, "lines": lines, "truncated": found.truncated}
    )


@bp.get("/retailer/reports/transactions.csv")
@operation(
    summary="The transaction export (text/csv, streamed): one line per purchased or free item, for comparing "
    "with the POS day by day",
    description="Columns: " + ", ".join(reports.EXPORT_COLUMNS) + ". Cells a spreadsheet would run as a formula "
    "are prefixed with '. Cards are picked by redemption date.",
    tag=_TAG,
    query=RetailerReportQuerySchema,
    responses={200: ("The CSV file, header row first", None)},
    media_types={200: "text/csv"},
    errors=_ERRORS,
)
def get_transaction_export() -> Response:
    rt, actor = current_runtime(), current_actor()
    args = load_query(RetailerReportQuerySchema())
    lines = reports.transaction_export(rt, actor, _filters(args))  # checks scope before the first byte
    filename = f"transactions-{rt.now():%Y%m%d}.csv"
    return Response(
        stream_with_context(in_chunks(lines)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
