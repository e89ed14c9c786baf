"""The Free Goods Fulfillment, History and Search reports: keyset pages of free goods, with the
customer and item searches.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.frequent_buyer.distribution import (
    FreeGoodView,
    free_good_scope,
    free_good_select,
    free_good_view,
)
from connector.core.frequent_buyer.distribution.sections import day_range, stamp_window
from connector.core.frequent_buyer.distribution_reports.report_types import Column, Fetch, ReportParams, _cols
from connector.core.frequent_buyer.model import CreditStatus
from connector.core.frequent_buyer.tables import Batch, Customer, FreeGood

_FREE_GOOD_COLUMNS = _cols(
    ("free_good_id", "Free Good ID"),
    ("status", "Status"),
    ("redeemed_on", "Redeemed On"),
    ("retailer", "Retailer"),
    ("account_number", "Account Number"),
    ("location", "Location"),
    ("store_code", "Store"),
    ("customer", "Customer"),
    ("brand", "Brand"),
    ("program", "Program"),
    ("sku", "SKU"),
    ("upc", "UPC"),
    ("description", "Description"),
    ("quantity", "Qty"),
    ("unit_cost", "Unit Cost"),
    ("approximate_cost", "Approx. Cost"),
    ("batch_id", "Batch ID"),
    ("batch", "Batch"),
    ("reason", "Declined/Held Reason"),
    ("distributor", "Distributor"),
)

_HISTORY_COLUMNS = (
    *_FREE_GOOD_COLUMNS[:-2],
    Column("credited_at", "Credited At"),
    Column("credit_group_id", "MFG Credit Group ID"),
    Column("reconciled_at", "Reconciled At"),
    _FREE_GOOD_COLUMNS[-1],
)


def _free_good_row(g: FreeGoodView) -> dict[str, Any]:
    return {
        "free_good_id": g.id,
        "status": g.status,
        "redeemed_on": g.redeemed_on,
        "retailer": g.retailer_name,
        "account_number": g.retailer_account_number,
        "location": g.location_name,
        "store_code": g.store_code,
        "customer": g.customer_name,
        "brand": g.brand_name,
        "program": g.program_name,
        "sku": g.sku,
        "upc": g.upc,
        "description": g.description,
        "quantity": g.quantity,
        "unit_cost": g.unit_cost,
        "approximate_cost": g.approximate_cost,
        "batch_id": g.batch_id,
        "batch": g.batch_description,
        "reason": g.reason,
        "distributor": g.distributor_name,
        "credited_at": g.fulfilled_at,
        "reconciled_at": g.reconciled_at,
    }


def _customer_match(term: str) -> ColumnElement[bool]:
    text = term.strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    clauses = [
        func.lower(Customer.name).contains(text.lower(), autoescape=True),
        func.lower(Customer.email) == text.lower(),
    ]
    if len(digits) >= 7:
        clauses.append(Customer.phone == digits)
    if text:
        clauses.append(Customer.internal_id == text)
    return or_(*clauses)


def _item_match(term: str) -> ColumnElement[bool]:
    text = term.strip()
    return or_(
        func.upper(FreeGood.sku) == text.upper(),
        FreeGood.upc == text,
        func.lower(FreeGood.description).contains(text.lower(), autoescape=True),
    )


def _free_goods_fetch(statuses: tuple[CreditStatus, ...], *, history: bool = False) -> Fetch:
    def fetch(
        s: Session, actor: Actor, p: ReportParams, after: int | None, limit: int
    ) -> list[tuple[int, dict[str, Any]]]:
        chosen = (p.status,) if p.status else statuses
        q = free_good_select().where(
            FreeGood.distributor_id.is_not(None), FreeGood.status.in_(chosen), *free_good_scope(actor)
        )
        for column, value in (
            (FreeGood.distributor_id, p.distributor_id),
            (FreeGood.retailer_id, p.retailer_id),
            (FreeGood.brand_id, p.brand_id),
            (FreeGood.program_id, p.program_id),
            (FreeGood.batch_id, p.batch_id),
        ):
            if value is not None:
                q = q.where(column == value)
        if history:
            q = q.where(*stamp_window(Batch.fulfilled_at, p.date_from, p.date_to))
        else:
            q = q.where(*day_range(FreeGood.redeemed_on, p.date_from, p.date_to))
        if p.customer:
            q = q.where(_customer_match(p.customer))
        if p.item:
            q = q.where(_item_match(p.item))
        if after is not None:
            q = q.where(FreeGood.id < after)
        rows = s.execute(q.order_by(FreeGood.id.desc()).limit(limit)).all()
        out = []
        for row in rows:
            view = free_good_view(row)
            values = _free_good_row(view)
            if history:
                values["credit_group_id"] = None
            out.append((view.id, values))
        if history and out:
            groups = dict(
                s.execute(
                    select(Batch.id, Batch.credit_group_id).where(Batch.id.in_({v["batch_id"] for _, v in out}))
                ).all()
            )
            for _, values in out:
                values["credit_group_id"] = groups.get(values["batch_id"])
        return out

    return fetch
