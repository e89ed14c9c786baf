"""``/api/v1/pos-reports``: upload a POS redemption report, watch the status dashboard, review, approve.

The upload is the one API route with a large body: ``multipart/form-data`` up to
``CONNECTOR_POS_MAX_BYTES`` (50 MiB by default; everything else stays at 64 KiB). The file is
parsed by the format's plugin and imported in one transaction; a file the parser or the
import refuses answers 422 with every problem (row, column, value, expected) and stores nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request, url_for

from connector.api.auth import current_actor
from connector.api.blueprint import bp
from connector.api.openapi import operation
from connector.api.payload import load_body, load_form, load_query
from connector.api.pos_schemas import (
    PosApproveResultSchema,
    PosApproveSchema,
    PosDashboardQuerySchema,
    PosDashboardSchema,
    PosImportSummarySchema,
    PosRedemptionSchema,
    PosReportSchema,
    PosReviewPageSchema,
    PosReviewQuerySchema,
    PosUploadFormSchema,
)
from connector.config import Settings
from connector.core.errors import ValidationError
from connector.core.frequent_buyer import pos_dashboard as dashboard
from connector.core.frequent_buyer import pos_ingest
from connector.core.frequent_buyer.pos_types import PosReportRejected
from connector.core.frequent_buyer.programs import check_retailer_write
from connector.core.model import Role
from connector.request_context import current_runtime, error_response

#: Problems listed one by one in a 422 answer (``problem_count`` says how many there were).
MAX_LISTED_PROBLEMS = 1_000


def _pos_max_bytes(settings: Settings) -> int:
    return settings.pos_max_bytes


def _load_form() -> dict[str, Any]:
    return load_form(PosUploadFormSchema())


def rejected_response(exc: PosReportRejected) -> Response:
    """422 with ``error.fields`` ("row 7, column qty": what was wrong) and ``error.details.problems`` (all of them)."""
    problems = [
        {"row": p.row, "column": p.column, "value": p.value, "expected": p.expected}
        for p in exc.problems[:MAX_LISTED_PROBLEMS]
    ]
    return error_response(
        422,
        exc.code,
        exc.message,
        fields=dict(exc.fields),
        details={"problems": problems, "problem_count": len(exc.problems)},
    )


@bp.post("/pos-reports")
@operation(
    summary="Upload a POS redemption report (multipart): every card checked, imported all or nothing",
    description=(
        "Send `file` (the report as exported by the POS) and, unless the token is a retailer's, `retailer_id`. "
        "Support and platform admins upload on a retailer's behalf; distributors, brands and viewers cannot (403). "
        "A new import answers 201 with its summary; `dry_run=true` answers 200 with what would happen and stores "
        "nothing; the same file again answers 200 with the first import's summary and `duplicate_of`. A file the "
        "format's parser or the import refuses (unknown store code, bad quantity, ...) answers 422 listing every "
        "problem in `error.details.problems` (row, column, value, expected) and stores nothing. The body may be up "
        "to `CONNECTOR_POS_MAX_BYTES` (50 MiB by default)."
    ),
    tag="pos-reports",
    form=PosUploadFormSchema,
    files={"file": "The report file, as the POS exported it."},
    max_bytes=_pos_max_bytes,
    responses={
        201: ("Imported", PosImportSummarySchema),
        200: ("A dry run, or the same file imported before (`duplicate_of`)", PosImportSummarySchema),
    },
    response_headers={201: {"Location": "The report on the dashboard."}},
    errors=(403, 404),
)
def upload_pos_report() -> Response | tuple[dict[str, Any], int, dict[str, str]]:
    rt, actor = current_runtime(), current_actor()
    pos_ingest.check_can_upload(actor)  # before the body is read
    form = _load_form()
    retailer_id = form.get("retailer_id")
    if retailer_id is None:
        # A retailer user always carries its retailer (check_scope, where users and tokens are made).
        if actor.role != Role.RETAILER or actor.retailer_id is None:
            raise ValidationError("retailer_id is required", fields={"retailer_id": "the retailer the report is for"})
        retailer_id = actor.retailer_id
    check_retailer_write(actor, retailer_id, "upload POS reports")
    upload = request.files.get("file")
    if upload is None:
        raise ValidationError(
            "no report file", fields={"file": "attach the report as the multipart/form-data part named 'file'"}
        )
    try:
        summary = pos_ingest.upload_pos_report(
            rt, actor, retailer_id, form["format"], upload.stream, upload.filename, dry_run=form["dry_run"]
        )
    except PosReportRejected as exc:
        return rejected_response(exc)
    body = PosImportSummarySchema().dump(summary)
    if summary.dry_run or summary.duplicate_of is not None:
        return body, 200, {}
    return body, 201, {"Location": url_for("api.get_pos_report", report_id=summary.report_id)}


@bp.get("/pos-reports")
@operation(
    summary="The POS Reports Status Dashboard: reports newest first with counts per status, and totals",
    description="Retailers see their own reports; support, platform admins and unscoped viewers every retailer's.",
    tag="pos-reports",
    query=PosDashboardQuerySchema,
    responses={200: ("One page of reports", PosDashboardSchema)},
    errors=(403, 404),
)
def list_pos_reports() -> dict[str, Any]:
    args = load_query(PosDashboardQuerySchema())
    page = dashboard.dashboard(
        current_runtime(),
        current_actor(),
        retailer_id=args.get("retailer_id"),
        limit=args["limit"],
        cursor=args.get("cursor"),
    )
    return PosDashboardSchema().dump(page)


@bp.get("/pos-reports/<id:report_id>")
@operation(
    summary="One report with its counts per status",
    tag="pos-reports",
    responses={200: ("The report", PosReportSchema)},
    errors=(403, 404),
)
def get_pos_report(report_id: int) -> dict[str, Any]:
    return PosReportSchema().dump(dashboard.get_report(current_runtime(), current_actor(), report_id))


@bp.get("/pos-reports/<id:report_id>/redemptions")
@operation(
    summary="Review: a report's redemptions (in one status), with customer, denial reason, fix and detail",
    description="Keyset-paginated in import order: pass `next_cursor` back as `cursor` until it is null.",
    tag="pos-reports",
    query=PosReviewQuerySchema,
    responses={200: ("One page", PosReviewPageSchema)},
    errors=(403, 404),
)
def review_pos_report(report_id: int) -> dict[str, Any]:
    args = load_query(PosReviewQuerySchema())
    page = dashboard.review(
        current_runtime(),
        current_actor(),
        report_id,
        status=args.get("status"),
        limit=args["limit"],
        cursor=args.get("cursor"),
    )
    return PosReviewPageSchema().dump(page)


@bp.post("/pos-reports/<id:report_id>/approve")
@operation(
    summary="Quality check passed: move redemptions from Quality Check to Processed (support, platform admins)",
    description=(
        "Without `pos_redemption_ids`, every redemption of the report now in Quality Check; with them, exactly "
        "those, all or none (one not in Quality Check answers 409). Each gets its free good for the distributor."
    ),
    tag="pos-reports",
    body=PosApproveSchema,
    responses={200: ("Processed", PosApproveResultSchema)},
    errors=(403, 404, 409),
)
def approve_pos_report(report_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(PosApproveSchema())
    ids = data["pos_redemption_ids"]
    dashboard.get_report(rt, actor, report_id)  # 403/404 for a report the actor cannot see
    result = pos_ingest.approve_quality_check(rt, actor, pos_redemption_ids=ids, report_id=report_id)
    return PosApproveResultSchema().dump(result)


@bp.get("/pos-redemptions/<id:redemption_id>")
@operation(
    summary="One reported redemption with its card, denial and timeline",
    tag="pos-reports",
    responses={200: ("The redemption", PosRedemptionSchema)},
    errors=(403, 404),
)
def get_pos_redemption(redemption_id: int) -> dict[str, Any]:
    return PosRedemptionSchema().dump(dashboard.get_pos_redemption(current_runtime(), current_actor(), redemption_id))
