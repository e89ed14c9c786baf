"""``/api/v1/distribution``: the Distributor Portal — five sections, batch moves, reports (seed 001).

Each route validates its input, calls one use case in
``connector.core.frequent_buyer.distribution`` (or ``distribution_reports``) with the
caller's ``Actor``, and answers. Scope and permission are decided in the core: a
distributor's token sees and moves its own free goods and batches only (another
distributor's id answers 404 like a missing one), platform admins act on all,
support, viewers and brand admins read within their scope. An illegal move answers
409 with ``details.current``: the status of each offending id (``{"12": "declined"}``)
for moves of several ids, or the batch's status for a move of one batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Response, url_for

from connector.api.auth import current_actor
from connector.api.blueprint import bp
from connector.api.distribution_schemas import (
    DistributionBatchAddSchema,
    DistributionBatchCreateSchema,
    DistributionBatchDetailSchema,
    DistributionBatchSchema,
    DistributionCreditGroupCreateSchema,
    DistributionCreditGroupSchema,
    DistributionFilterQuerySchema,
    DistributionFreeGoodDetailSchema,
    DistributionFreeGoodsSchema,
    DistributionFulfilSchema,
    DistributionMovedSchema,
    DistributionReasonSchema,
    DistributionReportFilterQuerySchema,
    DistributionReportPageSchema,
    DistributionReportQuerySchema,
    DistributionSectionCountsSchema,
    DistributionSectionPageSchema,
    DistributionSectionQuerySchema,
    batch_detail_out,
    batch_out,
    credit_group_out,
    free_good_detail_out,
    moved_out,
    report_out,
    section_out,
)
from connector.api.openapi import operation
from connector.api.payload import load_body, load_query
from connector.core.frequent_buyer import distribution as core
from connector.core.frequent_buyer import distribution_reports as reports
from connector.request_context import current_runtime

_READ_ERRORS = (403,)
_MOVE_ERRORS = (403, 404, 409)
_TAG = "distribution"


def _filter(args: dict[str, Any]) -> core.DistributionFilter:
    return core.DistributionFilter(
        distributor_id=args.get("distributor_id"),
        retailer_id=args.get("retailer_id"),
        brand_id=args.get("brand_id"),
        program_id=args.get("program_id"),
        date_from=args.get("date_from"),
        date_to=args.get("date_to"),
    )


# -- sections ------------------------------------------------------------------------------------------------


@bp.get("/distribution/sections")
@operation(
    summary="The Free Goods Fulfillment dashboard: each of the five sections with its count",
    tag=_TAG,
    query=DistributionFilterQuerySchema,
    responses={200: ("Every section and how many items it holds", DistributionSectionCountsSchema)},
    errors=_READ_ERRORS,
)
def section_counts() -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    counts = core.section_counts(rt, actor, _filter(load_query(DistributionFilterQuerySchema())))
    return DistributionSectionCountsSchema().dump(
        {"sections": [{"section": s.value, "title": core.SECTION_TITLES[s], "count": n} for s, n in counts.items()]}
    )


@bp.get("/distribution/sections/<name>")
@operation(
    summary="One section of the dashboard, newest first",
    description=(
        "`name` is one of `unbatched-free-goods`, `unfulfilled-batches`, `fulfilled-batches`, "
        "`batches-grouped-for-mfg-credit`, `declined-held-credits`. Free-good sections fill `free_goods`, batch "
        "sections fill `batches` (`kind` says which). With a brand or program filter, batch totals count the "
        "matching free goods only. Keyset-paginated: pass `next_cursor` back as `cursor` until it is null."
    ),
    tag=_TAG,
    query=DistributionSectionQuerySchema,
    path_enums={"name": tuple(s.value for s in core.Section)},
    responses={200: ("One page of the section", DistributionSectionPageSchema)},
    errors=_READ_ERRORS,
)
def get_section(name: str) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    args = load_query(DistributionSectionQuerySchema())
    page = core.section(rt, actor, name, _filter(args), limit=args["limit"], cursor=args.get("cursor"))
    return DistributionSectionPageSchema().dump(section_out(page))


# -- batches -------------------------------------------------------------------------------------------------


@bp.post("/distribution/batches")
@operation(
    summary="Roll unbatched free goods of one retailer into a new Unfulfilled batch",
    description=(
        "All free goods must be unbatched, belong to the caller's distributor and to one retailer (the retailer "
        "reconciles the batch against its credit memo). Any other status refuses the whole call with 409 naming "
        "each offending id and its status in `details.current`; nothing changes."
    ),
    tag=_TAG,
    body=DistributionBatchCreateSchema,
    responses={201: ("The new batch", DistributionBatchSchema)},
    response_headers={201: {"Location": "The batch's URL."}},
    errors=_MOVE_ERRORS,
)
def create_batch() -> tuple[dict[str, Any], int, dict[str, str]]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(DistributionBatchCreateSchema())
    view = core.create_batch(rt, actor, data["free_good_ids"], data["description"], retailer_id=data.get("retailer_id"))
    location = url_for("api.get_distribution_batch", batch_id=view.id)
    return DistributionBatchSchema().dump(batch_out(view)), 201, {"Location": location}


@bp.get("/distribution/batches/<id:batch_id>")
@operation(
    summary="A batch with its free goods and its timeline",
    tag=_TAG,
    responses={200: ("The batch", DistributionBatchDetailSchema)},
    errors=(404,),
)
def get_distribution_batch(batch_id: int) -> dict[str, Any]:
    detail = core.get_batch(current_runtime(), current_actor(), batch_id)
    return DistributionBatchDetailSchema().dump(batch_detail_out(detail))


@bp.post("/distribution/batches/<id:batch_id>/free-goods")
@operation(
    summary="Add unbatched free goods of the batch's retailer to an Unfulfilled batch",
    tag=_TAG,
    body=DistributionBatchAddSchema,
    responses={200: ("The batch", DistributionBatchSchema)},
    errors=_MOVE_ERRORS,
)
def add_to_batch(batch_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(DistributionBatchAddSchema())
    return DistributionBatchSchema().dump(batch_out(core.add_to_batch(rt, actor, batch_id, data["free_good_ids"])))


@bp.post("/distribution/batches/<id:batch_id>/fulfil")
@operation(
    summary="Mark an Unfulfilled batch Fulfilled/Credited; its free goods become credited",
    description=(
        "An empty batch, or one already fulfilled, answers 409 with the batch's status. Give the credit memo's "
        "`credit_memo_number` and `credit_memo_amount` (both or neither; the credit may also reach the store on "
        "an invoice) for the retailer's reconcile to compare; a bad or half-given memo answers 422 naming the field."
    ),
    tag=_TAG,
    body=DistributionFulfilSchema,
    responses={200: ("The batch, fulfilled", DistributionBatchSchema)},
    errors=_MOVE_ERRORS,
)
def fulfil_batch(batch_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(DistributionFulfilSchema())
    view = core.mark_batch_fulfilled(
        rt,
        actor,
        batch_id,
        data["note"],
        credit_memo_number=data["credit_memo_number"],
        credit_memo_amount=data["credit_memo_amount"],
    )
    return DistributionBatchSchema().dump(batch_out(view))


@bp.post("/distribution/credit-groups")
@operation(
    summary="Group Fulfilled batches for manufacturer credit",
    description=(
        "Every batch must be Fulfilled and still hold free goods: a batch emptied by unbatching or declining its "
        "credited free goods has nothing to claim (409 with `details.empty`); nothing changes."
    ),
    tag=_TAG,
    body=DistributionCreditGroupCreateSchema,
    responses={201: ("The credit group", DistributionCreditGroupSchema)},
    errors=_MOVE_ERRORS,
)
def create_credit_group() -> tuple[dict[str, Any], int]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(DistributionCreditGroupCreateSchema())
    group = core.group_for_mfg_credit(rt, actor, data["batch_ids"], data["description"])
    return DistributionCreditGroupSchema().dump(credit_group_out(group)), 201


@bp.get("/distribution/credit-groups/<id:group_id>")
@operation(
    summary="A credit group and its totals",
    tag=_TAG,
    responses={200: ("The credit group", DistributionCreditGroupSchema)},
    errors=(404,),
)
def get_credit_group(group_id: int) -> dict[str, Any]:
    group = core.get_credit_group(current_runtime(), current_actor(), group_id)
    return DistributionCreditGroupSchema().dump(credit_group_out(group))


# -- free goods ----------------------------------------------------------------------------------------------


@bp.get("/distribution/free-goods/<id:free_good_id>")
@operation(
    summary="A free good and its timeline",
    tag=_TAG,
    responses={200: ("The free good", DistributionFreeGoodDetailSchema)},
    errors=(404,),
)
def get_free_good(free_good_id: int) -> dict[str, Any]:
    detail = core.get_free_good(current_runtime(), current_actor(), free_good_id)
    return DistributionFreeGoodDetailSchema().dump(free_good_detail_out(detail))


def _moved(result: core.Moved) -> dict[str, Any]:
    return DistributionMovedSchema().dump(moved_out(result))


@bp.post("/distribution/free-goods/unbatch")
@operation(
    summary="Take batched or credited free goods out of their batches, back to Unbatched",
    description=(
        "Batched free goods leave their Unfulfilled batch. Credited free goods leave their Fulfilled batch only "
        "while it is neither reconciled by the retailer nor grouped for MFG credit; otherwise 409 naming the "
        "batch and why (`details.current`: each offending free good's status, `details.batches`: "
        "`reconciled` or `grouped` per batch). A Fulfilled batch that loses every free good stays, empty."
    ),
    tag=_TAG,
    body=DistributionFreeGoodsSchema,
    responses={200: ("What moved", DistributionMovedSchema)},
    errors=_MOVE_ERRORS,
)
def unbatch() -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(DistributionFreeGoodsSchema())
    return _moved(core.unbatch(rt, actor, data["free_good_ids"], data["note"]))


@bp.post("/distribution/free-goods/decline")
@operation(
    summary="Decline unbatched, batched or credited free goods (they leave their batch)",
    description=(
        "Credited free goods only while their Fulfilled batch is neither reconciled by the retailer nor grouped "
        "for MFG credit (409 naming the batch and why otherwise). The reason is required and shown to the retailer."
    ),
    tag=_TAG,
    body=DistributionReasonSchema,
    responses={200: ("What moved", DistributionMovedSchema)},
    errors=_MOVE_ERRORS,
)
def decline() -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(DistributionReasonSchema())
    return _moved(core.decline(rt, actor, data["free_good_ids"], data["reason"]))


@bp.post("/distribution/free-goods/hold")
@operation(
    summary="Hold unbatched or batched free goods (they leave their batch) until released",
    tag=_TAG,
    body=DistributionReasonSchema,
    responses={200: ("What moved", DistributionMovedSchema)},
    errors=_MOVE_ERRORS,
)
def hold() -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(DistributionReasonSchema())
    return _moved(core.hold(rt, actor, data["free_good_ids"], data["reason"]))


@bp.post("/distribution/free-goods/release")
@operation(
    summary="Release held or declined free goods back to Unbatched",
    tag=_TAG,
    body=DistributionFreeGoodsSchema,
    responses={200: ("What moved", DistributionMovedSchema)},
    errors=_MOVE_ERRORS,
)
def release() -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(DistributionFreeGoodsSchema())
    return _moved(core.release(rt, actor, data["free_good_ids"], data["note"]))


# -- reports -------------------------------------------------------------------------------------------------

_REPORT_VALUES = tuple(r.value for r in reports.ReportName)
_REPORT_NAMES = ", ".join(f"`{name}`" for name in _REPORT_VALUES)


def _report_params(args: dict[str, Any]) -> reports.ReportParams:
    return reports.ReportParams(
        **{k: args.get(k) for k in reports.ReportParams.__dataclass_fields__ if args.get(k) is not None}
    )


@bp.get("/distribution/reports/<name>.csv")
@operation(
    summary="A report as CSV (text/csv, streamed; formula-like cells are prefixed with ')",
    description=f"`name` is one of {_REPORT_NAMES}. Same filters as the JSON report; every row, no paging.",
    tag=_TAG,
    query=DistributionReportFilterQuerySchema,
    path_enums={"name": _REPORT_VALUES},
    responses={200: ("The CSV file, header row first", None)},
    media_types={200: "text/csv"},
    errors=_READ_ERRORS,
)
def report_csv(name: str) -> Response:
    rt, actor = current_runtime(), current_actor()
    args = load_query(DistributionReportFilterQuerySchema())
    lines: Iterator[str] = reports.report_csv(rt, actor, name, _report_params(args))
    filename = reports.report_filename(name, rt.now())
    return Response(
        lines,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@bp.get("/distribution/reports/<name>")
@operation(
    summary="One page of a Distributor Portal report",
    description=(
        f"`name` is one of {_REPORT_NAMES}. Each report takes only the filters it lists (others answer 422 "
        "naming them). Keyset-paginated: pass `next_cursor` back as `cursor` until it is null."
    ),
    tag=_TAG,
    query=DistributionReportQuerySchema,
    path_enums={"name": _REPORT_VALUES},
    responses={200: ("One page", DistributionReportPageSchema)},
    errors=_READ_ERRORS,
)
def report_page(name: str) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    args = load_query(DistributionReportQuerySchema())
    page = reports.run_report(rt, actor, name, _report_params(args), limit=args["limit"], cursor=args.get("cursor"))
    return DistributionReportPageSchema().dump(report_out(page))
