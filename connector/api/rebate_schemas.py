"""Schemas and presenters of the rebate routes (the Rebates Dashboard and Distributor Rebate Credit Batches).

Request schemas refuse unknown fields; money is a decimal string with two places (``"5.00"``), never a float.
Every name starts with ``Rebate`` so the OpenAPI components cannot clash with another feature's.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from marshmallow import Schema, fields, validate

from connector.api.distribution_schemas import (
    DistributionEventSchema,
    DistributionFilterQuerySchema,
    _BatchHeadSchema,
    _ids,
    _note,
    _PageQuery,
    _RewardRowSchema,
    event_out,
    money,
)
from connector.api.schemas import UtcDateTime, body_id
from connector.core.frequent_buyer.distribution import DESCRIPTION_MAX, REASON_MAX
from connector.core.frequent_buyer.rebates import (
    RebateBatchDetail,
    RebateBatchView,
    RebateSection,
    RebateSectionPage,
    RebatesMoved,
    RebateView,
)

_DOLLARS = {"description": 'Dollars, a decimal string with two places, e.g. "5.00".'}

# -- requests ----------------------------------------------------------------------------------------------


class RebateBatchCreateSchema(Schema):
    rebate_ids = _ids("rebates", "Unbatched rebates of one retailer; any other status refuses the call.")
    description = fields.String(
        required=True,
        validate=validate.Length(min=1, max=DESCRIPTION_MAX),
        metadata={"description": "The batch description the distributor and retailer will see."},
    )
    retailer_id = body_id(metadata={"description": "Optional check: the retailer the rebates must belong to."})


class RebateCreditSchema(Schema):
    note = _note("Shown on the batch's timeline (e.g. the credit memo number).")


class RebateIdsSchema(Schema):
    rebate_ids = _ids("rebates", "The rebates to move; one that cannot move refuses the whole call.")


class RebateDeclineSchema(Schema):
    rebate_ids = _ids("rebates", "Unbatched or batched rebates; one that cannot move refuses the whole call.")
    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=REASON_MAX),
        metadata={"description": "Why; required, and shown to the retailer."},
    )


class RebateSectionQuerySchema(DistributionFilterQuerySchema, _PageQuery):
    pass


# -- responses ---------------------------------------------------------------------------------------------


class RebateSchema(_RewardRowSchema):
    status = fields.String(metadata={"description": "unbatched, batched, credited or declined."})
    amount = fields.String(metadata=_DOLLARS)
    credited_at = UtcDateTime(allow_none=True, metadata={"description": "When its batch was marked credited."})
    reason = fields.String(allow_none=True, metadata={"description": "Why it was declined."})


class RebateBatchSchema(_BatchHeadSchema):
    status = fields.String(metadata={"description": "unfulfilled, or fulfilled (marked credited)."})
    rebates = fields.Integer(metadata={"description": "Rebates in the batch."})
    amount = fields.String(metadata=_DOLLARS)
    credited_at = UtcDateTime(allow_none=True)


class RebateBatchDetailSchema(Schema):
    batch = fields.Nested(RebateBatchSchema)
    rebates = fields.List(fields.Nested(RebateSchema))
    events = fields.List(fields.Nested(DistributionEventSchema), metadata={"description": "Oldest first."})


class RebateBatchListSchema(Schema):
    items = fields.List(fields.Nested(RebateBatchSchema), metadata={"description": "Newest first."})


class RebatesMovedSchema(Schema):
    event = fields.String()
    to_status = fields.String()
    rebate_ids = fields.List(fields.Integer())
    batch_ids = fields.List(fields.Integer(), metadata={"description": "Batches the rebates left."})


class RebateSectionPageSchema(Schema):
    section = fields.String(validate=validate.OneOf([s.value for s in RebateSection]))
    title = fields.String()
    kind = fields.String(validate=validate.OneOf(["rebates", "batches"]))
    count = fields.Integer(metadata={"description": "Everything in the section matching the filters."})
    rebates = fields.List(fields.Nested(RebateSchema))
    batches = fields.List(fields.Nested(RebateBatchSchema))
    next_cursor = fields.String(allow_none=True)


class RebateSectionCountSchema(Schema):
    section = fields.String()
    title = fields.String()
    count = fields.Integer()


class RebateSectionCountsSchema(Schema):
    sections = fields.List(fields.Nested(RebateSectionCountSchema))


# -- presenters --------------------------------------------------------------------------------------------


def rebate_out(v: RebateView) -> dict[str, Any]:
    return asdict(v) | {"amount": money(v.amount)}


def rebate_batch_out(b: RebateBatchView) -> dict[str, Any]:
    return asdict(b) | {"amount": money(b.amount)}


def rebate_batch_detail_out(d: RebateBatchDetail) -> dict[str, Any]:
    return {
        "batch": rebate_batch_out(d.batch),
        "rebates": [rebate_out(v) for v in d.rebates],
        "events": [event_out(e) for e in d.events],
    }


def rebates_moved_out(m: RebatesMoved) -> dict[str, Any]:
    return asdict(m)


def rebate_section_out(page: RebateSectionPage) -> dict[str, Any]:
    return {
        "section": page.section.value,
        "title": page.title,
        "kind": page.kind,
        "count": page.count,
        "rebates": [rebate_out(v) for v in page.rebates],
        "batches": [rebate_batch_out(b) for b in page.batches],
        "next_cursor": page.next_cursor,
    }
