"""The two rebate reports of the Distributor Portal (seed 001's Reports menu, items 8 and 9).

* **Search Rebate Fulfillment**: any rebate (a dollars-off redemption owed through the distributor), by
  retailer, customer, item, Distributor Rebate Credit Batch, status or redemption date.
* **Rebate Credit Fulfillment**: the rebates the distributor marked credited, with their batch and the day it
  was credited (the dates filter by that day): the dollars reported and credited.

Both use the rebates' own scope (``rebate_scope``): a distributor sees its own rebates only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, or_
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.frequent_buyer.distribution.sections import day_range, stamp_window
from connector.core.frequent_buyer.distribution_reports.free_good_reports import _customer_match
from connector.core.frequent_buyer.distribution_reports.report_types import Column, Fetch, ReportParams, _cols
from connector.core.frequent_buyer.model import CreditStatus
from connector.core.frequent_buyer.rebate_tables import Rebate, RebateBatch
from connector.core.frequent_buyer.rebates import RebateView, rebate_select, rebate_view
from connector.core.frequent_buyer.rebates.permissions import rebate_scope

#: The statuses a rebate can be in (``lifecycle.REBATE_TRANSITIONS``).
REBATE_STATUSES = (CreditStatus.UNBATCHED, CreditStatus.BATCHED, CreditStatus.CREDITED, CreditStatus.DECLINED)

REBATE_COLUMNS = _cols(
    ("rebate_id", "Rebate ID"),
    ("status", "Status"),
    ("redeemed_on", "Redeemed On"),
    ("retailer", "Retailer"),
    ("account_number", "Account Number"),
    ("location", "Location"),
    ("customer", "Customer"),
    ("brand", "Brand"),
    ("program", "Program"),
    ("sku", "SKU"),
    ("description", "Description"),
    ("amount", "Rebate Amount"),
    ("batch_id", "Batch ID"),
    ("batch", "Batch"),
    ("reason", "Declined Reason"),
    ("distributor", "Distributor"),
)

REBATE_CREDIT_COLUMNS = (*REBATE_COLUMNS[:-2], Column("credited_at", "Credited At"), REBATE_COLUMNS[-1])


def _row(v: RebateView) -> dict[str, Any]:
    return {
        "rebate_id": v.id,
        "status": v.status,
        "redeemed_on": v.redeemed_on,
        "retailer": v.retailer_name,
        "account_number": v.retailer_account_number,
        "location": v.location_name,
        "customer": v.customer_name,
        "brand": v.brand_name,
        "program": v.program_name,
        "sku": v.sku,
        "description": v.description,
        "amount": v.amount,
        "batch_id": v.batch_id,
        "batch": v.batch_description,
        "reason": v.reason,
        "distributor": v.distributor_name,
        "credited_at": v.credited_at,
    }


def _item_match(term: str) -> ColumnElement[bool]:
    text = term.strip()
    return or_(
        func.upper(Rebate.sku) == text.upper(),
        func.lower(Rebate.description).contains(text.lower(), autoescape=True),
    )


def rebates_fetch(*, credited: bool) -> Fetch:
    """Rebates newest first within scope; ``credited``: only credited ones, dated by the day they were credited."""

    def fetch(
        s: Session, actor: Actor, p: ReportParams, after: int | None, limit: int
    ) -> list[tuple[int, dict[str, Any]]]:
        chosen = (CreditStatus.CREDITED,) if credited else ((p.status,) if p.status else REBATE_STATUSES)
        q = rebate_select().where(Rebate.distributor_id.is_not(None), Rebate.status.in_(chosen), *rebate_scope(actor))
        for column, value in (
            (Rebate.distributor_id, p.distributor_id),
            (Rebate.retailer_id, p.retailer_id),
            (Rebate.brand_id, p.brand_id),
            (Rebate.program_id, p.program_id),
            (Rebate.batch_id, p.batch_id),
        ):
            if value is not None:
                q = q.where(column == value)
        if credited:
            q = q.where(*stamp_window(RebateBatch.credited_at, p.date_from, p.date_to))
        else:
            q = q.where(*day_range(Rebate.redeemed_on, p.date_from, p.date_to))
        if p.customer:
            q = q.where(_customer_match(p.customer))
        if p.item:
            q = q.where(_item_match(p.item))
        if after is not None:
            q = q.where(Rebate.id < after)
        rows = s.execute(q.order_by(Rebate.id.desc()).limit(limit)).all()
        return [(v.id, _row(v)) for v in (rebate_view(r) for r in rows)]

    return fetch
