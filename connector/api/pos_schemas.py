"""Marshmallow schemas of the POS report routes (``pos_reports``): uploads, dashboards, review, approval.

Same conventions as ``connector.api.fb_schemas`` (which holds the frequent-buyer setup's schemas and
the ``DecimalString`` field both use).
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, pre_dump, validate

from connector.api.schemas import (
    TextBoolean,
    UtcDateTime,
    _choices,
    body_id,
    page_limit,
    query_id,
)
from connector.core.frequent_buyer.model import DenialReason, PosRedemptionStatus, denial_label


class PosUploadFormSchema(Schema):
    """The text fields of a POS report upload (the report itself is the ``file`` part)."""

    retailer_id = query_id(
        metadata={"description": "Required unless the token is a retailer's (then it is that retailer)."}
    )
    format = fields.String(
        load_default="darts-bxgy",
        validate=validate.Length(min=1, max=50),
        metadata={
            "description": "The report format (a plugin's); unknown names answer 422 listing the installed ones."
        },
    )
    dry_run = TextBoolean(
        load_default=False, metadata={"description": "Check and count everything, store nothing (answers 200)."}
    )


def _with_denial_label(obj: Any) -> dict[str, Any]:
    """The denial as a dict with ``label``, the seeds' words for its reason (e.g. "Multiple Brands on the Card")."""
    data = dict(obj) if isinstance(obj, dict) else dict(vars(obj))
    data["label"] = denial_label(data.get("reason"))
    return data


class PosDenialLineSchema(Schema):
    redemption_id = fields.Integer(allow_none=True, metadata={"description": "Null on a dry run."})
    pos_key = fields.String()
    rows = fields.List(fields.Integer(), metadata={"description": "File rows (the header is row 1)."})
    reason = fields.String(validate=_choices(r.value for r in DenialReason))
    label = fields.String(
        metadata={"description": "The reason as the seeds name it (e.g. Multiple Brands on the Card)."}
    )
    detail = fields.String()

    @pre_dump
    def _label(self, obj: Any, **_: Any) -> dict[str, Any]:
        return _with_denial_label(obj)


class PosImportSummarySchema(Schema):
    report_id = fields.Integer(allow_none=True, metadata={"description": "Null on a dry run."})
    duplicate_of = fields.Integer(
        allow_none=True,
        metadata={"description": "Set when these same bytes were imported before: nothing was imported now."},
    )
    dry_run = TextBoolean()
    retailer_id = fields.Integer()
    filename = fields.String()
    format = fields.String()
    sha256 = fields.String()
    row_count = fields.Integer()
    cards = fields.Integer()
    imported = fields.Integer(metadata={"description": "New redemptions."})
    replaced = fields.Integer(metadata={"description": "Denied redemptions replaced by a corrected card (same id)."})
    already_imported = fields.Integer(metadata={"description": "Cards imported before (not denied): skipped."})
    processed = fields.Integer()
    quality_check = fields.Integer()
    denied = fields.Integer()
    denied_by_reason = fields.Dict(keys=fields.String(), values=fields.Integer())
    customers_created = fields.Integer()
    customers_matched = fields.Integer()
    free_goods_created = fields.Integer()
    rebates_created = fields.Integer(metadata={"description": "Redemptions of dollars-off programs: rebates owed."})
    denials = fields.List(fields.Nested(PosDenialLineSchema), metadata={"description": "The first 1,000 denials."})


class PosStatusCountsSchema(Schema):
    new = fields.Integer()
    pending = fields.Integer()
    denied = fields.Integer()
    quality_check = fields.Integer()
    processed = fields.Integer()
    total = fields.Integer()


class PosReportSchema(Schema):
    id = fields.Integer()
    retailer_id = fields.Integer()
    retailer_name = fields.String()
    filename = fields.String()
    format = fields.String()
    row_count = fields.Integer()
    uploaded_by = fields.String()
    uploaded_at = UtcDateTime()
    counts = fields.Nested(PosStatusCountsSchema)


class PosDashboardQuerySchema(Schema):
    retailer_id = query_id()
    limit = page_limit()
    cursor = fields.String(validate=validate.Length(max=200))


class PosDashboardSchema(Schema):
    reports = fields.List(fields.Nested(PosReportSchema), metadata={"description": "Newest first."})
    totals = fields.Nested(PosStatusCountsSchema, metadata={"description": "Over every report in scope."})
    next_cursor = fields.String(allow_none=True)


class PosReviewQuerySchema(Schema):
    status = fields.String(validate=_choices(s.value for s in PosRedemptionStatus))
    limit = page_limit()
    cursor = fields.String(validate=validate.Length(max=200))


class PosDenialSchema(Schema):
    reason = fields.String(validate=_choices(r.value for r in DenialReason))
    label = fields.String(
        metadata={"description": "The reason as the seeds name it (e.g. Multiple Brands on the Card)."}
    )
    explanation = fields.String(metadata={"description": "What the reason means."})
    fix = fields.String(metadata={"description": "What the retailer can do about it."})
    detail = fields.String(metadata={"description": "Exactly what was wrong with this card."})

    @pre_dump
    def _label(self, obj: Any, **_: Any) -> dict[str, Any]:
        return _with_denial_label(obj)


class PosCardItemSchema(Schema):
    sku = fields.String()
    upc = fields.String(allow_none=True)
    description = fields.String()
    quantity = fields.Integer()
    size_value = fields.String(allow_none=True)
    size_unit = fields.String(allow_none=True)
    brand = fields.String(allow_none=True)
    purchased_on = fields.String(allow_none=True, metadata={"format": "date"})
    row = fields.Integer()
    program_item_id = fields.Integer(allow_none=True)


class PosCustomerSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    internal_id = fields.String(allow_none=True)


class PosLocationRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    store_code = fields.String()


class PosProgramRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    code = fields.String()
    brand_id = fields.Integer()


class PosDistributorRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class PosRedemptionSummarySchema(Schema):
    id = fields.Integer()
    report_id = fields.Integer()
    retailer_id = fields.Integer()
    pos_key = fields.String()
    status = fields.String(validate=_choices(s.value for s in PosRedemptionStatus))
    redeemed_on = fields.Date()
    source_rows = fields.List(fields.Integer())
    location = fields.Nested(PosLocationRefSchema, allow_none=True)
    customer = fields.Nested(PosCustomerSchema, allow_none=True)
    program = fields.Nested(PosProgramRefSchema, allow_none=True)
    distributor = fields.Nested(PosDistributorRefSchema, allow_none=True)
    denial = fields.Nested(PosDenialSchema, allow_none=True)
    purchases = fields.List(fields.Nested(PosCardItemSchema))
    free_goods = fields.List(fields.Nested(PosCardItemSchema))
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class PosEventSchema(Schema):
    at = UtcDateTime()
    actor = fields.String()
    event = fields.String()
    from_status = fields.String(data_key="from", allow_none=True)
    to_status = fields.String(data_key="to", allow_none=True)
    detail = fields.String()


class PosRedemptionSchema(PosRedemptionSummarySchema):
    events = fields.List(fields.Nested(PosEventSchema), metadata={"description": "The timeline, oldest first."})


class PosReviewPageSchema(Schema):
    report = fields.Nested(PosReportSchema)
    status = fields.String(allow_none=True)
    items = fields.List(fields.Nested(PosRedemptionSummarySchema))
    next_cursor = fields.String(allow_none=True)


class PosApproveSchema(Schema):
    pos_redemption_ids = fields.List(
        body_id(),
        load_default=None,
        validate=validate.Length(min=1, max=10000),
        metadata={"description": "Only these (all must be in Quality Check); omit to approve the whole report."},
    )


class PosApproveResultSchema(Schema):
    processed_ids = fields.List(fields.Integer())
    free_goods_created = fields.Integer()
    rebates_created = fields.Integer(metadata={"description": "Redemptions of dollars-off programs: rebates owed."})
