"""Redemption by Date, and the transaction export a retailer compares with its POS day by day.

Redemption by Date lists every card the store's POS reports redeemed in the range, denied ones too (with
the seeds' denial label), so it answers "what did we give away on the 14th, and where does each stand".

The export is one CSV line per item (each purchase and each free good) with its transaction date, the
customer as the retailer knows them (internal id, name, email, phone, created date; the address is not
kept by this system, so it is not exported), the manufacturer, program, location, UPC, SKU, description,
quantity and the card's status. Every cell goes through ``csv_safe``: customer names and item descriptions
are typed by other people and must never run as spreadsheet formulas.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.csv_safe import csv_line
from connector.core.frequent_buyer.model import denial_label
from connector.core.frequent_buyer.retailer_reports.participation import (
    ReportFilters,
    pairs,
    resolve_filters,
    scoped_cards,
)
from connector.core.frequent_buyer.tables import Customer, PosRedemption, Program, RetailerLocation
from connector.core.runtime import Runtime
from connector.core.tables import Brand

#: Redemption by Date shows at most this many lines; a wider range says so and asks for a narrower one.
MAX_LINES = 5000


@dataclass(frozen=True)
class RedemptionLine:
    redemption_id: int
    redeemed_on: date
    card: str
    location: str
    customer: str
    brand: str
    program: str
    free_goods: str
    quantity: int
    status: str
    denial: str


@dataclass(frozen=True)
class RedemptionsByDate:
    filters: ReportFilters
    lines: list[RedemptionLine]
    #: True when the range holds more than ``MAX_LINES`` redemptions (only the first are listed).
    truncated: bool


def _lookups(s: Session, retailer_id: int) -> tuple[dict[int, str], dict[int, str], dict[int, str], dict[int, str]]:
    """Names for a report's lines: stores, store codes (one query over the retailer's locations), brands, programs."""
    locations = s.execute(
        select(RetailerLocation.id, RetailerLocation.name, RetailerLocation.store_code).where(
            RetailerLocation.retailer_id == retailer_id
        )
    ).all()
    stores = {loc_id: name for loc_id, name, _ in locations}
    codes = {loc_id: code for loc_id, _, code in locations}
    brands = pairs(s, select(Brand.id, Brand.name))
    programs = pairs(s, select(Program.id, Program.name))
    return stores, codes, brands, programs


def _dated(f: ReportFilters) -> Any:
    q = scoped_cards(f)
    if f.date_from is not None:
        q = q.where(PosRedemption.redeemed_on >= f.date_from)
    if f.date_to is not None:
        q = q.where(PosRedemption.redeemed_on <= f.date_to)
    return q


def redemptions_by_date(rt: Runtime, actor: Actor, filters: ReportFilters) -> RedemptionsByDate:
    """Every redemption on the account in the range, oldest first."""
    with rt.sessions() as s:
        f = resolve_filters(s, actor, filters)
        q = (
            _dated(f)
            .add_columns(Customer.name)
            .outerjoin(Customer, Customer.id == PosRedemption.customer_id)
            .order_by(PosRedemption.redeemed_on, PosRedemption.id)
            .limit(MAX_LINES + 1)
        )
        rows = s.execute(q).all()
        assert f.retailer_id is not None  # resolve_filters fixed it
        stores, _, brands, programs = _lookups(s, f.retailer_id)
    lines = [
        RedemptionLine(
            redemption_id=r.id,
            redeemed_on=r.redeemed_on,
            card=r.pos_key,
            location=stores.get(r.location_id or 0, ""),
            customer=name or r.card.get("customer", {}).get("name") or "",
            brand=brands.get(r.brand_id or 0, ""),
            program=programs.get(r.program_id or 0, r.card.get("program_code") or ""),
            free_goods="; ".join(str(i.get("description") or i.get("sku")) for i in r.card.get("free_goods", ())),
            quantity=sum(int(i.get("quantity") or 0) for i in r.card.get("free_goods", ())),
            status=r.status,
            denial=denial_label(r.denial_reason),
        )
        for r, name in rows[:MAX_LINES]
    ]
    return RedemptionsByDate(f, lines, len(rows) > MAX_LINES)


EXPORT_COLUMNS: tuple[str, ...] = (
    "Transaction Date",
    "Redemption Date",
    "Card",
    "Location",
    "Store Code",
    "Customer ID",
    "Customer Name",
    "Email",
    "Phone",
    "Customer Created",
    "Manufacturer",
    "Program",
    "Line",
    "Item Code (UPC)",
    "SKU",
    "Item Description",
    "Quantity",
    "Status",
    "Denial Reason",
)


def transaction_export(rt: Runtime, actor: Actor, filters: ReportFilters) -> Iterator[str]:
    """The export as CSV lines (header first); scope and filters are checked before the first line.

    Cards are picked by redemption date (a POS report is a report of redemptions); each line carries its
    own transaction date (the purchase date the POS printed, else the redemption date).
    """
    with rt.sessions() as s:
        f = resolve_filters(s, actor, filters)
        assert f.retailer_id is not None
        stores, codes, brands, programs = _lookups(s, f.retailer_id)
    return _export_lines(rt, f, stores, codes, brands, programs)


def _export_lines(
    rt: Runtime,
    f: ReportFilters,
    stores: dict[int, str],
    codes: dict[int, str],
    brands: dict[int, str],
    programs: dict[int, str],
) -> Iterator[str]:
    yield csv_line(EXPORT_COLUMNS)
    q = (
        _dated(f)
        .add_columns(Customer)
        .outerjoin(Customer, Customer.id == PosRedemption.customer_id)
        .order_by(PosRedemption.redeemed_on, PosRedemption.id)
        .execution_options(yield_per=500)
    )
    with rt.sessions() as s:
        for r, c in s.execute(q):
            reported = r.card.get("customer", {})
            for kind, items in (("Purchase", r.card.get("purchases", ())), ("Free good", r.card.get("free_goods", ()))):
                for i in items:
                    yield csv_line(
                        (
                            date.fromisoformat(i["purchased_on"]) if i.get("purchased_on") else r.redeemed_on,
                            r.redeemed_on,
                            r.pos_key,
                            stores.get(r.location_id or 0, ""),
                            codes.get(r.location_id or 0, r.card.get("store_code") or ""),
                            (c.internal_id if c else None) or reported.get("internal_id") or "",
                            (c.name if c else None) or reported.get("name") or "",
                            (c.email if c else None) or reported.get("email") or "",
                            (c.phone if c else None) or reported.get("phone") or "",
                            c.created_at.date() if c else None,
                            brands.get(r.brand_id or 0, ""),
                            programs.get(r.program_id or 0, r.card.get("program_code") or ""),
                            kind,
                            i.get("upc") or "",
                            i.get("sku") or "",
                            i.get("description") or "",
                            int(i.get("quantity") or 0),
                            r.status,
                            denial_label(r.denial_reason),
                        )
                    )
