"""``/api/v1/brand/fulfilment``: the brand (manufacturer) side of free goods, one core read model
(``connector.core.frequent_buyer.brand_fulfilment``) shared with the console page and the CLI.

Direct- and retailer-fulfilled free goods by section (Owed, Credited, Declined/Held) with every section's
count, the batches distributors grouped for MFG credit, and marking owed free goods credited.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from marshmallow import Schema, fields, validate

from connector.api.auth import current_actor
from connector.api.blueprint import bp
from connector.api.distribution_schemas import (
    DistributionBatchSchema,
    DistributionFreeGoodSchema,
    batch_out,
    free_good_out,
    money,
)
from connector.api.openapi import operation
from connector.api.payload import load_body, load_query
from connector.api.schemas import TextInteger, UtcDateTime, _choices, body_id, query_id
from connector.core.frequent_buyer import brand_fulfilment as core
from connector.core.frequent_buyer.distribution import MAX_IDS, REASON_MAX
from connector.request_context import current_runtime

_TAG = "distribution"


class BrandFulfilmentQuerySchema(Schema):
    brand_id = query_id(metadata={"description": "Platform admins and support: one brand. Brand users: their own."})
    section = fields.String(
        load_default=core.BrandSection.OWED.value, validate=_choices(s.value for s in core.BrandSection)
    )
    fulfilment_type = fields.String(load_default=None, validate=_choices(k.value for k in core.BRAND_FULFILLED))
    limit = TextInteger(
        load_default=100,
        validate=validate.Range(min=1, max=core.PAGE_MAX, error=f"must be between 1 and {core.PAGE_MAX}"),
    )


class BrandSectionCountSchema(Schema):
    section = fields.String()
    title = fields.String()
    free_goods = fields.Integer()
    quantity = fields.Integer()
    approximate_cost = fields.String(allow_none=True, metadata={"description": "Dollars over costed free goods."})


class MfgCreditGroupSchema(Schema):
    id = fields.Integer()
    distributor_id = fields.Integer()
    distributor_name = fields.String()
    description = fields.String()
    created_by = fields.String()
    created_at = UtcDateTime()
    batches = fields.List(fields.Nested(DistributionBatchSchema))
    free_goods = fields.Integer(metadata={"description": "The brand's free goods in the group."})
    quantity = fields.Integer()
    approximate_cost = fields.String(allow_none=True)


class BrandFulfilmentSchema(Schema):
    brand_id = fields.Integer(allow_none=True)
    brand_name = fields.String(allow_none=True)
    section = fields.String()
    fulfilment_type = fields.String(allow_none=True)
    sections = fields.List(fields.Nested(BrandSectionCountSchema))
    free_goods = fields.List(fields.Nested(DistributionFreeGoodSchema), metadata={"description": "Newest first."})
    more = fields.Boolean(metadata={"description": "More free goods than `limit` are in the section."})
    mfg_groups = fields.List(fields.Nested(MfgCreditGroupSchema))


class BrandCreditSchema(Schema):
    free_good_ids = fields.List(
        body_id(), required=True, validate=validate.Length(min=1, max=MAX_IDS, error=f"give between 1 and {MAX_IDS}")
    )
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=REASON_MAX))


class BrandCreditedSchema(Schema):
    free_good_ids = fields.List(fields.Integer())


def _out(view: core.BrandFulfilment) -> dict[str, Any]:
    return {
        "brand_id": view.brand_id,
        "brand_name": view.brand_name,
        "section": view.section.value,
        "fulfilment_type": view.fulfilment_type.value if view.fulfilment_type else None,
        "sections": [
            {
                "section": s.value,
                "title": core.SECTION_TITLES[s],
                "free_goods": c.free_goods,
                "quantity": c.quantity,
                "approximate_cost": money(c.approximate_cost),
            }
            for s, c in view.counts.items()
        ],
        "free_goods": [free_good_out(g) for g in view.free_goods],
        "more": view.more,
        "mfg_groups": [
            {
                # not asdict: it would deep-copy every batch only to drop them
                **{
                    f.name: getattr(g, f.name)
                    for f in dataclasses.fields(g)
                    if f.name not in {"batches", "approximate_cost"}
                },
                "batches": [batch_out(b) for b in g.batches],
                "approximate_cost": money(g.approximate_cost),
            }
            for g in view.mfg_groups
        ],
    }


@bp.get("/brand/fulfilment")
@operation(
    summary="The brand's side of free goods: direct/retailer-fulfilled Owed, Credited, Declined/Held, and MFG credit",
    description=(
        "Free goods of programs fulfilled directly by the manufacturer or by the retailer (no distributor), one "
        "section at a time (newest first, `more` when cut at `limit`) with every section's count, and the batches "
        "distributors grouped for MFG credit with totals over the brand's own free goods. Brand admins and "
        "viewers see their own brand (another `brand_id` answers 404); platform admins and support any. "
        "Distributors and retailers answer 403."
    ),
    tag=_TAG,
    query=BrandFulfilmentQuerySchema,
    responses={200: ("The brand's fulfilment", BrandFulfilmentSchema)},
    errors=(403, 404),
)
def get_brand_fulfilment() -> dict[str, Any]:
    args = load_query(BrandFulfilmentQuerySchema())
    view = core.brand_fulfilment(
        current_runtime(),
        current_actor(),
        brand_id=args.get("brand_id"),
        section=args["section"],
        fulfilment_type=args.get("fulfilment_type"),
        limit=args["limit"],
    )
    return BrandFulfilmentSchema().dump(_out(view))


@bp.post("/brand/free-goods/credit")
@operation(
    summary="Mark owed direct/retailer-fulfilled free goods credited: the manufacturer reimbursed the store",
    description=(
        "All or nothing. A distributor-fulfilled free good answers 422 (its distributor credits it); one not owed "
        "(already credited, declined or held) 409 naming each; another brand's 404. Brand admins for their brand, "
        "platform admins for any."
    ),
    tag=_TAG,
    body=BrandCreditSchema,
    responses={200: ("The free goods credited", BrandCreditedSchema)},
    errors=(403, 404, 409),
)
def credit_brand_free_goods() -> dict[str, Any]:
    data = load_body(BrandCreditSchema())
    ids = core.mark_direct_credited(current_runtime(), current_actor(), data["free_good_ids"], data["note"])
    return BrandCreditedSchema().dump({"free_good_ids": ids})
