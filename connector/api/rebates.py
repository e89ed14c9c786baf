"""``/api/v1/distribution/rebates``, ``/distribution/rebate-batches``, ``/retailer/rebate-batches``: rebates.

The Rebates Dashboard's sections, the Distributor Rebate Credit Batch moves (create, mark credited) and the
rebate moves (decline with a reason, unbatch, release), each one call to ``connector.core.frequent_buyer.rebates``
with the caller's ``Actor``. Scope and permission are the core's: a distributor's token sees and moves its own
rebates only (another distributor's id answers 404 like a missing one); an illegal move answers 409 with
``details.current`` (each offending id's status) and changes nothing. The two rebate reports are served by
``/distribution/reports/<name>`` with the other reports.
"""

from __future__ import annotations

from typing import Any

from flask import url_for

from connector.api.auth import current_actor
from connector.api.blueprint import bp
from connector.api.distribution import _filter
from connector.api.distribution_schemas import DistributionFilterQuerySchema
from connector.api.openapi import operation
from connector.api.payload import load_body, load_query
from connector.api.rebate_schemas import (
    RebateBatchCreateSchema,
    RebateBatchDetailSchema,
    RebateBatchListSchema,
    RebateBatchSchema,
    RebateCreditSchema,
    RebateDeclineSchema,
    RebateIdsSchema,
    RebateSectionCountsSchema,
    RebateSectionPageSchema,
    RebateSectionQuerySchema,
    RebatesMovedSchema,
    rebate_batch_detail_out,
    rebate_batch_out,
    rebate_section_out,
    rebates_moved_out,
)
from connector.core.frequent_buyer import rebates as core
from connector.request_context import current_runtime

_TAG = "distribution"
_MOVE_ERRORS = (403, 404, 409)


@bp.get("/distribution/rebates/sections")
@operation(
    summary="The Rebates Dashboard: each section with its count",
    tag=_TAG,
    query=DistributionFilterQuerySchema,
    responses={200: ("Every section and how many items it holds", RebateSectionCountsSchema)},
    errors=(403,),
)
def rebate_section_counts() -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    counts = core.rebate_section_counts(rt, actor, _filter(load_query(DistributionFilterQuerySchema())))
    sections = [{"section": s.value, "title": core.REBATE_SECTION_TITLES[s], "count": n} for s, n in counts.items()]
    return RebateSectionCountsSchema().dump({"sections": sections})


@bp.get("/distribution/rebates/sections/<name>")
@operation(
    summary="One section of the Rebates Dashboard, newest first",
    description=(
        "`name` is one of `unbatched-rebates`, `unfulfilled-batches`, `fulfilled-batches`, `declined-rebates`. "
        "Rebate sections fill `rebates`, batch sections fill `batches` (`kind` says which). Keyset-paginated: "
        "pass `next_cursor` back as `cursor` until it is null."
    ),
    tag=_TAG,
    query=RebateSectionQuerySchema,
    path_enums={"name": tuple(s.value for s in core.RebateSection)},
    responses={200: ("One page of the section", RebateSectionPageSchema)},
    errors=(403,),
)
def get_rebate_section(name: str) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    args = load_query(RebateSectionQuerySchema())
    page = core.rebate_section(rt, actor, name, _filter(args), limit=args["limit"], cursor=args.get("cursor"))
    return RebateSectionPageSchema().dump(rebate_section_out(page))


@bp.post("/distribution/rebate-batches")
@operation(
    summary="Roll unbatched rebates of one retailer into a new Distributor Rebate Credit Batch",
    description=(
        "All rebates must be unbatched, belong to the caller's distributor and to one retailer. Any other status "
        "refuses the whole call with 409 naming each offending id and its status; nothing changes."
    ),
    tag=_TAG,
    body=RebateBatchCreateSchema,
    responses={201: ("The new batch", RebateBatchSchema)},
    response_headers={201: {"Location": "The batch's URL."}},
    errors=_MOVE_ERRORS,
)
def create_rebate_batch() -> tuple[dict[str, Any], int, dict[str, str]]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(RebateBatchCreateSchema())
    view = core.create_rebate_batch(
        rt, actor, data["rebate_ids"], data["description"], retailer_id=data.get("retailer_id")
    )
    location = url_for("api.get_rebate_batch", batch_id=view.id)
    return RebateBatchSchema().dump(rebate_batch_out(view)), 201, {"Location": location}


@bp.get("/distribution/rebate-batches/<id:batch_id>")
@operation(
    summary="A Distributor Rebate Credit Batch with its rebates and its timeline",
    description="Distributors see their own batches, retailers their own store's; another's answers 404.",
    tag=_TAG,
    responses={200: ("The batch", RebateBatchDetailSchema)},
    errors=(404,),
)
def get_rebate_batch(batch_id: int) -> dict[str, Any]:
    detail = core.get_rebate_batch(current_runtime(), current_actor(), batch_id)
    return RebateBatchDetailSchema().dump(rebate_batch_detail_out(detail))


@bp.post("/distribution/rebate-batches/<id:batch_id>/credit")
@operation(
    summary="Mark an unfulfilled rebate credit batch credited; its rebates become credited",
    description="An empty batch, or one already credited, answers 409 with the batch's status.",
    tag=_TAG,
    body=RebateCreditSchema,
    responses={200: ("The batch, credited", RebateBatchSchema)},
    errors=_MOVE_ERRORS,
)
def credit_rebate_batch(batch_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(RebateCreditSchema())
    view = core.mark_rebate_batch_credited(rt, actor, batch_id, data["note"])
    return RebateBatchSchema().dump(rebate_batch_out(view))


@bp.post("/distribution/rebates/decline")
@operation(
    summary="Decline unbatched or batched rebates (they leave their batch); the reason is shown to the retailer",
    tag=_TAG,
    body=RebateDeclineSchema,
    responses={200: ("What moved", RebatesMovedSchema)},
    errors=_MOVE_ERRORS,
)
def decline_rebates() -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(RebateDeclineSchema())
    return RebatesMovedSchema().dump(
        rebates_moved_out(core.decline_rebates(rt, actor, data["rebate_ids"], data["reason"]))
    )


@bp.post("/distribution/rebates/unbatch")
@operation(
    summary="Take rebates out of their unfulfilled batch, back to Unbatched Rebates",
    tag=_TAG,
    body=RebateIdsSchema,
    responses={200: ("What moved", RebatesMovedSchema)},
    errors=_MOVE_ERRORS,
)
def unbatch_rebates() -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(RebateIdsSchema())
    return RebatesMovedSchema().dump(rebates_moved_out(core.unbatch_rebates(rt, actor, data["rebate_ids"])))


@bp.post("/distribution/rebates/release")
@operation(
    summary="Release declined rebates back to Unbatched Rebates",
    tag=_TAG,
    body=RebateIdsSchema,
    responses={200: ("What moved", RebatesMovedSchema)},
    errors=_MOVE_ERRORS,
)
def release_rebates() -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(RebateIdsSchema())
    return RebatesMovedSchema().dump(rebates_moved_out(core.release_rebates(rt, actor, data["rebate_ids"])))


@bp.get("/retailer/rebate-batches")
@operation(
    summary="Distributor Rebate Credit Batches: the dollars-off rebates distributors batched and credited",
    description="A retailer sees its own store's batches; every other role within its scope. Newest first.",
    tag="retailer credits",
    responses={200: ("The batches", RebateBatchListSchema)},
)
def list_rebate_batches() -> dict[str, Any]:
    found = core.retailer_rebate_batches(current_runtime(), current_actor())
    return RebateBatchListSchema().dump({"items": [rebate_batch_out(b) for b in found]})
