"""Schemas and presenters of the distributor portal and retailer credit routes.

Request schemas refuse unknown fields (a typo is an error, not a silent no-op);
response schemas dump the dictionaries the presenters below build from the core's
read models. Money is a decimal string with two places (``"12.50"``) or null when
no cost is known, never a float. Every name here starts with ``Distribution`` or
``Credit`` so the OpenAPI components cannot clash with another feature's.
"""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any

from marshmallow import Schema, fields, validate

from connector.api.schemas import StrictBoolean, TextBoolean, UtcDateTime, body_id, page_limit, query_id
from connector.core.csv_safe import safe_cell
from connector.core.frequent_buyer.credit_memo import MemoComparison
from connector.core.frequent_buyer.credit_status import CreditStatusReport, CreditTotal
from connector.core.frequent_buyer.distribution import (
    DESCRIPTION_MAX,
    MAX_IDS,
    REASON_MAX,
    BatchDetail,
    BatchView,
    CreditGroupView,
    EventView,
    FreeGoodDetail,
    FreeGoodView,
    Moved,
    Section,
    SectionPage,
)
from connector.core.frequent_buyer.distribution_reports import ReportPage

_MONEY = {"description": 'Decimal string with two places, e.g. "12.50"; null when no cost is known.'}


def _money() -> fields.String:
    return fields.String(allow_none=True, metadata=_MONEY)


def _ids(what: str, description: str) -> fields.List:
    return fields.List(
        body_id(),
        required=True,
        validate=validate.Length(min=1, max=MAX_IDS, error=f"give between 1 and {MAX_IDS} {what}"),
        metadata={"description": description},
    )


def _note(description: str) -> fields.String:
    return fields.String(
        load_default="", validate=validate.Length(max=REASON_MAX), metadata={"description": description}
    )


# -- requests ----------------------------------------------------------------------------------------------


class DistributionBatchCreateSchema(Schema):
    free_good_ids = _ids("free goods", "Unbatched free goods of one retailer; any other status refuses the call.")
    description = fields.String(
        required=True,
        validate=validate.Length(min=1, max=DESCRIPTION_MAX),
        metadata={"description": "The Batch Description the distributor and retailer will see."},
    )
    retailer_id = body_id(metadata={"description": "Optional check: the retailer the free goods must belong to."})


class DistributionBatchAddSchema(Schema):
    free_good_ids = _ids("free goods", "Unbatched free goods of the batch's retailer.")


_MEMO_AMOUNT = (
    'The credit memo\'s total in dollars, as a string ("125.00"; $ and thousands commas allowed; at most 2 '
    "decimal places). A JSON number is refused, so no cent is lost to floating point."
)


class DistributionFulfilSchema(Schema):
    note = _note("Shown on the batch's timeline.")
    credit_memo_number = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=50),
        metadata={"description": "The credit memo's number as printed on it; give it with credit_memo_amount."},
    )
    credit_memo_amount = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=30), metadata={"description": _MEMO_AMOUNT}
    )


class DistributionFreeGoodsSchema(Schema):
    free_good_ids = _ids("free goods", "The free goods to move; one that cannot move refuses the whole call.")
    note = _note("Why; shown on each free good's timeline.")


class DistributionReasonSchema(Schema):
    free_good_ids = _ids("free goods", "The free goods to move; one that cannot move refuses the whole call.")
    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=REASON_MAX),
        metadata={"description": "Why; required, and shown to the retailer."},
    )


class DistributionCreditGroupCreateSchema(Schema):
    batch_ids = _ids("batches", "Fulfilled batches of one distributor.")
    description = fields.String(required=True, validate=validate.Length(min=1, max=DESCRIPTION_MAX))


class DistributionFilterQuerySchema(Schema):
    distributor_id = query_id(metadata={"description": "Admins and support; a distributor sees its own."})
    retailer_id = query_id()
    brand_id = query_id(metadata={"description": "The manufacturer/brand."})
    program_id = query_id()
    date_from = fields.Date(
        metadata={"description": "Inclusive (YYYY-MM-DD): redemption date; for batches created/fulfilled date."}
    )
    date_to = fields.Date(metadata={"description": "Inclusive (YYYY-MM-DD)."})


class _PageQuery(Schema):
    limit = page_limit()
    cursor = fields.String(
        validate=validate.Length(max=500), metadata={"description": "``next_cursor`` of the previous page, unchanged."}
    )


class DistributionSectionQuerySchema(DistributionFilterQuerySchema, _PageQuery):
    pass


class DistributionReportFilterQuerySchema(DistributionFilterQuerySchema):
    customer = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Search only: customer name (contains), email or phone (exact)."},
    )
    item = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Search only: SKU or UPC (exact) or description (contains)."},
    )
    batch_id = query_id(metadata={"description": "Search only."})
    status = fields.String(
        validate=validate.Length(min=1, max=20), metadata={"description": "A free-good status the report lists."}
    )


class DistributionReportQuerySchema(DistributionReportFilterQuerySchema, _PageQuery):
    pass


class CreditStatusQuerySchema(Schema):
    retailer_id = query_id(metadata={"description": "Required except for retailer users (their own)."})
    distributor_id = query_id()
    brand_id = query_id()
    date_from = fields.Date(metadata={"description": "Redeemed on or after (YYYY-MM-DD)."})
    date_to = fields.Date(metadata={"description": "Redeemed on or before (YYYY-MM-DD)."})


class CreditMemoUploadFormSchema(Schema):
    """The credit memo upload's text fields (the CSV itself is the file part ``file``)."""

    reconcile_if_matched = TextBoolean(
        load_default=False,
        metadata={"description": "Reconcile the batch in the same step when every memo line matches."},
    )


class CreditReconcileSchema(Schema):
    note = _note("Shown on the batch's timeline (e.g. the credit memo number).")
    confirm = StrictBoolean(
        load_default=False,
        metadata={
            "description": "Reconcile although the batch's credit memo DOES NOT MATCH (see memo-check); without it "
            "such a batch answers 409 `credit_memo_mismatch` naming each difference."
        },
    )


# -- responses ---------------------------------------------------------------------------------------------


class _RewardRowSchema(Schema):
    """What a free good and a rebate share: where it was redeemed, for which program, and its batch."""

    id = fields.Integer()
    retailer_id = fields.Integer()
    retailer_name = fields.String()
    retailer_account_number = fields.String(allow_none=True)
    location_name = fields.String(allow_none=True)
    distributor_id = fields.Integer(allow_none=True)
    distributor_name = fields.String(allow_none=True)
    brand_id = fields.Integer()
    brand_name = fields.String()
    program_id = fields.Integer()
    program_name = fields.String()
    customer_name = fields.String(allow_none=True)
    sku = fields.String()
    description = fields.String()
    redeemed_on = fields.Date()
    batch_id = fields.Integer(allow_none=True)
    batch_description = fields.String(allow_none=True)
    batch_status = fields.String(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class _BatchHeadSchema(Schema):
    """What a free-goods batch and a rebate credit batch share: who it is between, and who made it when."""

    id = fields.Integer()
    description = fields.String()
    distributor_id = fields.Integer()
    distributor_name = fields.String()
    retailer_id = fields.Integer()
    retailer_name = fields.String()
    retailer_account_number = fields.String(allow_none=True)
    created_by = fields.String()
    created_at = UtcDateTime()


class DistributionFreeGoodSchema(_RewardRowSchema):
    status = fields.String(metadata={"description": "unbatched, batched, credited, grouped, declined or held."})
    store_code = fields.String(allow_none=True)
    customer_id = fields.Integer(allow_none=True)
    upc = fields.String(allow_none=True)
    quantity = fields.Integer()
    size_value = fields.String(allow_none=True, metadata={"description": 'Decimal string, e.g. "5.000".'})
    size_unit = fields.String(allow_none=True)
    unit_cost = _money()
    approximate_cost = _money()
    fulfilled_at = UtcDateTime(allow_none=True, metadata={"description": "When its batch was marked credited."})
    reconciled_at = UtcDateTime(allow_none=True)
    reason = fields.String(allow_none=True, metadata={"description": "Why it is declined or held."})


class DistributionBatchSchema(_BatchHeadSchema):
    status = fields.String(metadata={"description": "unfulfilled, fulfilled or grouped."})
    free_goods = fields.Integer(metadata={"description": "Free goods counted (those matching a brand filter)."})
    quantity = fields.Integer()
    approximate_cost = _money()
    uncosted = fields.Integer(metadata={"description": "Free goods counted without a known cost."})
    fulfilled_at = UtcDateTime(allow_none=True)
    reconciled_at = UtcDateTime(allow_none=True)
    reconciled_by = fields.String(allow_none=True)
    credit_group_id = fields.Integer(allow_none=True)
    credit_group_description = fields.String(allow_none=True)
    credit_memo_number = fields.String(allow_none=True, metadata={"description": "Recorded when marked fulfilled."})
    credit_memo_amount = _money()


class DistributionEventSchema(Schema):
    id = fields.Integer()
    subject_type = fields.String(metadata={"description": "free_good or batch."})
    subject_id = fields.Integer()
    event = fields.String()
    from_status = fields.String(data_key="from", allow_none=True)
    to_status = fields.String(data_key="to", allow_none=True)
    actor = fields.String()
    detail = fields.String()
    at = UtcDateTime()


class DistributionBatchDetailSchema(Schema):
    batch = fields.Nested(DistributionBatchSchema)
    free_goods = fields.List(fields.Nested(DistributionFreeGoodSchema))
    events = fields.List(fields.Nested(DistributionEventSchema), metadata={"description": "Oldest first."})


class DistributionFreeGoodDetailSchema(Schema):
    free_good = fields.Nested(DistributionFreeGoodSchema)
    events = fields.List(fields.Nested(DistributionEventSchema), metadata={"description": "Oldest first."})


class DistributionMovedSchema(Schema):
    event = fields.String()
    to_status = fields.String()
    free_good_ids = fields.List(fields.Integer())
    batch_ids = fields.List(fields.Integer(), metadata={"description": "Batches the free goods left."})


class DistributionCreditGroupSchema(Schema):
    id = fields.Integer()
    distributor_id = fields.Integer()
    description = fields.String()
    created_by = fields.String()
    created_at = UtcDateTime()
    batch_ids = fields.List(fields.Integer())
    free_goods = fields.Integer()
    quantity = fields.Integer()
    approximate_cost = _money()


class DistributionSectionPageSchema(Schema):
    section = fields.String(validate=validate.OneOf([s.value for s in Section]))
    title = fields.String()
    kind = fields.String(
        validate=validate.OneOf(["free_goods", "batches"]),
        metadata={"description": "Which of free_goods / batches holds this section's items (the other is empty)."},
    )
    count = fields.Integer(metadata={"description": "Everything in the section matching the filters."})
    free_goods = fields.List(fields.Nested(DistributionFreeGoodSchema))
    batches = fields.List(fields.Nested(DistributionBatchSchema))
    next_cursor = fields.String(allow_none=True)


class DistributionSectionCountSchema(Schema):
    section = fields.String()
    title = fields.String()
    count = fields.Integer()


class DistributionSectionCountsSchema(Schema):
    sections = fields.List(fields.Nested(DistributionSectionCountSchema))


class DistributionReportColumnSchema(Schema):
    key = fields.String()
    title = fields.String()


class DistributionReportPageSchema(Schema):
    report = fields.String()
    title = fields.String()
    columns = fields.List(fields.Nested(DistributionReportColumnSchema))
    rows = fields.List(
        fields.Dict(keys=fields.String(), values=fields.Raw()),
        metadata={"description": "One object per row, keyed by column key; money and dates as strings."},
    )
    next_cursor = fields.String(allow_none=True)


class CreditTotalSchema(Schema):
    view = fields.String(metadata={"description": "uncredited, credited, reconciled or declined."})
    distributor_id = fields.Integer(allow_none=True)
    distributor_name = fields.String(allow_none=True)
    brand_id = fields.Integer(allow_none=True)
    brand_name = fields.String(allow_none=True)
    free_goods = fields.Integer()
    quantity = fields.Integer()
    approximate_cost = _money()
    uncosted = fields.Integer(metadata={"description": "Free goods without a known cost (not in the cost)."})


class CreditStatusSchema(Schema):
    """Distributor Free Goods Credit Status for one retailer."""

    retailer_id = fields.Integer()
    uncredited = fields.List(fields.Nested(DistributionFreeGoodSchema))
    credited = fields.List(fields.Nested(DistributionFreeGoodSchema))
    reconciled = fields.List(fields.Nested(DistributionFreeGoodSchema))
    declined = fields.List(fields.Nested(DistributionFreeGoodSchema))
    totals = fields.List(fields.Nested(CreditTotalSchema), metadata={"description": "One per view."})
    totals_by_distributor_brand = fields.List(fields.Nested(CreditTotalSchema))


class CreditBatchListSchema(Schema):
    batches = fields.List(fields.Nested(DistributionBatchSchema))


class CreditMemoLineSchema(Schema):
    row = fields.Integer(allow_none=True, metadata={"description": "Memo row (header = 1); null if missing."})
    sku = fields.String()
    quantity = fields.Integer(allow_none=True)
    amount = _money()
    expected_quantity = fields.Integer(allow_none=True)
    expected_amount = _money()
    outcome = fields.String(
        metadata={"description": "matched, quantity_differs, amount_differs, not_in_batch or missing_from_memo."}
    )
    detail = fields.String()


class CreditMemoComparisonSchema(Schema):
    memo_id = fields.Integer()
    batch_id = fields.Integer()
    retailer_id = fields.Integer()
    filename = fields.String()
    sha256 = fields.String()
    imported_by = fields.String()
    imported_at = UtcDateTime()
    matches = fields.Boolean()
    lines = fields.List(fields.Nested(CreditMemoLineSchema))
    outcomes = fields.Dict(keys=fields.String(), values=fields.Integer())
    duplicate = fields.Boolean(metadata={"description": "The same file was already imported; nothing new stored."})
    reconciled = fields.Boolean(metadata={"description": "This upload reconciled the batch."})
    batch_reconciled_at = UtcDateTime(allow_none=True)


class CreditMemoListSchema(Schema):
    memos = fields.List(fields.Nested(CreditMemoComparisonSchema))


# -- presenters --------------------------------------------------------------------------------------------


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _plain(value: Any) -> Any:
    """Report cells as JSON: Decimal as a string, dates and datetimes in ISO 8601 (UTC ``Z``)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    return safe_cell(value)  # date / datetime → ISO text (no text reaches here, so nothing is prefixed)


def free_good_out(g: FreeGoodView) -> dict[str, Any]:
    out = asdict(g)
    out["unit_cost"], out["approximate_cost"] = money(g.unit_cost), money(g.approximate_cost)
    out["size_value"] = None if g.size_value is None else str(g.size_value)
    return out


def batch_out(b: BatchView) -> dict[str, Any]:
    out = asdict(b)
    out["approximate_cost"] = money(b.approximate_cost)
    out["credit_memo_amount"] = money(b.credit_memo_amount)
    return out


def event_out(e: EventView) -> dict[str, Any]:
    return asdict(e)


def batch_detail_out(detail: BatchDetail) -> dict[str, Any]:
    return {
        "batch": batch_out(detail.batch),
        "free_goods": [free_good_out(g) for g in detail.free_goods],
        "events": [event_out(e) for e in detail.events],
    }


def free_good_detail_out(detail: FreeGoodDetail) -> dict[str, Any]:
    return {"free_good": free_good_out(detail.free_good), "events": [event_out(e) for e in detail.events]}


def moved_out(moved: Moved) -> dict[str, Any]:
    return asdict(moved)


def credit_group_out(group: CreditGroupView) -> dict[str, Any]:
    out = asdict(group)
    out["approximate_cost"] = money(group.approximate_cost)
    return out


def section_out(page: SectionPage) -> dict[str, Any]:
    return {
        "section": page.section.value,
        "title": page.title,
        "kind": page.kind,
        "count": page.count,
        "free_goods": [free_good_out(g) for g in page.free_goods],
        "batches": [batch_out(b) for b in page.batches],
        "next_cursor": page.next_cursor,
    }


def report_out(page: ReportPage) -> dict[str, Any]:
    return {
        "report": page.name.value,
        "title": page.title,
        "columns": [{"key": c.key, "title": c.title} for c in page.columns],
        "rows": [{k: _plain(v) for k, v in row.items()} for row in page.rows],
        "next_cursor": page.next_cursor,
    }


def _total_out(t: CreditTotal) -> dict[str, Any]:
    out = asdict(t)
    out["view"] = t.view.value
    out["approximate_cost"] = money(t.approximate_cost)
    return out


def credit_status_out(report: CreditStatusReport) -> dict[str, Any]:
    out: dict[str, Any] = {"retailer_id": report.retailer_id}
    for view, lines in report.views.items():
        out[view.value] = [free_good_out(line.free_good) for line in lines]
    out["totals"] = [_total_out(t) for t in report.totals]
    out["totals_by_distributor_brand"] = [_total_out(t) for t in report.totals_by_distributor_brand]
    return out


def memo_out(c: MemoComparison) -> dict[str, Any]:
    out = asdict(c)
    for line in out["lines"]:
        line["amount"], line["expected_amount"] = money(line["amount"]), money(line["expected_amount"])
    return out
