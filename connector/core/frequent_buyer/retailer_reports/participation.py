"""Frequent Buyer Participation: per manufacturer and program, what the store's customers did in a date range.

The five numbers, each over the cards the POS reports carried (denied cards are left out: they did not count
for any program; POS Reports lists them with their reasons):

* **Unique Customers**: customers with at least one purchase in the range; a customer counts once.
* **Cards Punched**: cards with at least one purchase in the range; a card with several punches counts once.
* **Items Sold**: the quantity of those purchases.
* **Rewards Earned**: cards completed in the range (redemption date) that passed the program's rules.
* **Rewards Redeemed**: of those, the ones processed into a free good (the rest wait in Quality Check).

A purchase's date is the one the POS printed for it, else the card's redemption date. A purchase is never
after its card's redemption, so only cards redeemed on or after the range's first day are read.

Each number opens its detail (``participation_detail``): the customers, the cards with each punch's item,
the items sold, the rewards earned or redeemed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from connector.core.frequent_buyer.model import PosRedemptionStatus as PS
from connector.core.frequent_buyer.tables import Customer, PosRedemption, Program, Retailer, RetailerLocation
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.tables import Brand

_READERS = {Role.RETAILER, Role.PLATFORM_ADMIN, Role.SUPPORT}
EARNED = (PS.QUALITY_CHECK.value, PS.PROCESSED.value)
#: Metric → its detail's title, as the report names the number.
DETAIL_METRICS: dict[str, str] = {
    "customers": "Unique Customers",
    "cards": "Cards Punched",
    "items": "Items Sold",
    "earned": "Rewards Earned",
    "redeemed": "Rewards Redeemed",
}


def pairs(s: Session, stmt: Select[int, str]) -> dict[int, str]:
    """A two-column query as a lookup (id → name)."""
    return {row[0]: row[1] for row in s.execute(stmt)}


def check_reads_retailer_reports(actor: Actor) -> None:
    """The retailer's customers are its own: its users, support and platform admins read; others do not."""
    if actor.role not in _READERS:
        raise PermissionDeniedError(
            f"role {actor.role.value} does not see a retailer's reports; they name the retailer's customers, "
            "so only the retailer (or support on its behalf) reads them"
        )


@dataclass(frozen=True)
class ReportFilters:
    """What every retailer report is narrowed by. ``retailer_id`` is the caller's own for a retailer user."""

    retailer_id: int | None = None
    brand_id: int | None = None
    location_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None

    def in_range(self, day: date) -> bool:
        return (self.date_from is None or day >= self.date_from) and (self.date_to is None or day <= self.date_to)


def resolve_filters(s: Session, actor: Actor, f: ReportFilters) -> ReportFilters:
    """The filters checked against the caller's scope: the retailer fixed, the location its own."""
    check_reads_retailer_reports(actor)
    retailer_id = f.retailer_id
    if actor.role == Role.RETAILER:
        if retailer_id is not None and retailer_id != actor.retailer_id:
            raise NotFoundError(f"retailer {retailer_id} not found")
        retailer_id = actor.retailer_id
    if retailer_id is None:
        raise ValidationError("which retailer?", fields={"retailer_id": "required for a non-retailer user"})
    if actor.role != Role.RETAILER and s.get(Retailer, retailer_id) is None:  # a retailer's own: no cards yet
        raise NotFoundError(f"retailer {retailer_id} not found")
    if f.date_from and f.date_to and f.date_from > f.date_to:
        raise ValidationError("date_to is before date_from", fields={"date_to": "must be on or after date_from"})
    if f.location_id is not None:
        loc = s.get(RetailerLocation, f.location_id)
        if loc is None or loc.retailer_id != retailer_id:
            raise NotFoundError(f"location {f.location_id} not found")
    return ReportFilters(retailer_id, f.brand_id, f.location_id, f.date_from, f.date_to)


def scoped_cards(f: ReportFilters) -> Select[PosRedemption]:
    """The retailer's reported cards under the brand and location filters (no date or status filter)."""
    q = select(PosRedemption).where(PosRedemption.retailer_id == f.retailer_id)
    if f.brand_id is not None:
        q = q.where(PosRedemption.brand_id == f.brand_id)
    if f.location_id is not None:
        q = q.where(PosRedemption.location_id == f.location_id)
    return q


def purchases_in_range(card: PosRedemption, f: ReportFilters) -> Iterator[tuple[date, dict[str, Any]]]:
    """The card's purchases dated inside the range (the POS's purchase date, else the redemption date)."""
    for item in card.card.get("purchases", ()):
        raw = item.get("purchased_on")
        day = date.fromisoformat(raw) if raw else card.redeemed_on
        if f.in_range(day):
            yield day, item


def _counted_cards(s: Session, f: ReportFilters, program_id: int | None = None) -> list[PosRedemption]:
    q = scoped_cards(f).where(PosRedemption.status != PS.DENIED.value)
    if f.date_from is not None:  # a purchase is never after its card's redemption
        q = q.where(PosRedemption.redeemed_on >= f.date_from)
    if program_id is not None:
        q = q.where(PosRedemption.program_id == program_id)
    return list(s.scalars(q.order_by(PosRedemption.redeemed_on, PosRedemption.id)))


@dataclass
class ParticipationRow:
    """One manufacturer's program (or the total, with ``program_id`` None)."""

    brand_id: int | None
    brand_name: str
    program_id: int | None
    program_name: str
    unique_customers: int = 0
    cards_punched: int = 0
    items_sold: int = 0
    rewards_earned: int = 0
    rewards_redeemed: int = 0
    _customers: set[int] = field(default_factory=set, repr=False, compare=False)


@dataclass(frozen=True)
class ParticipationReport:
    filters: ReportFilters
    rows: list[ParticipationRow]
    total: ParticipationRow


def _names(s: Session, cards: list[PosRedemption]) -> tuple[dict[int, str], dict[int, str]]:
    brand_ids = {c.brand_id for c in cards if c.brand_id is not None}
    program_ids = {c.program_id for c in cards if c.program_id is not None}
    brands = pairs(s, select(Brand.id, Brand.name).where(Brand.id.in_(brand_ids)))
    progs = pairs(s, select(Program.id, Program.name).where(Program.id.in_(program_ids)))
    return brands, progs


def _add(row: ParticipationRow, card: PosRedemption, f: ReportFilters) -> None:
    bought = [item for _, item in purchases_in_range(card, f)]
    if bought:
        row.cards_punched += 1
        row.items_sold += sum(int(i.get("quantity") or 0) for i in bought)
        if card.customer_id is not None:
            row._customers.add(card.customer_id)
    if f.in_range(card.redeemed_on) and card.status in EARNED:
        row.rewards_earned += 1
        if card.status == PS.PROCESSED.value:
            row.rewards_redeemed += 1
    row.unique_customers = len(row._customers)


def participation(rt: Runtime, actor: Actor, filters: ReportFilters) -> ParticipationReport:
    """Frequent Buyer Participation per manufacturer and program, and its total, under ``filters``."""
    with rt.sessions() as s:
        f = resolve_filters(s, actor, filters)
        cards = _counted_cards(s, f)
        brands, progs = _names(s, cards)
    by_program: dict[tuple[int | None, int | None], ParticipationRow] = {}
    total = ParticipationRow(None, "", None, "All programs")
    for card in cards:
        key = (card.brand_id, card.program_id)
        row = by_program.get(key)
        if row is None:
            row = by_program[key] = ParticipationRow(
                card.brand_id,
                brands.get(card.brand_id or 0, ""),
                card.program_id,
                progs.get(card.program_id or 0, card.card.get("program_code") or ""),
            )
        _add(row, card, f)
        _add(total, card, f)
    rows = [r for r in by_program.values() if r.cards_punched or r.rewards_earned]
    rows.sort(key=lambda r: (r.brand_name.lower(), r.program_name.lower()))
    return ParticipationReport(f, rows, total)


# -- details -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DetailTable:
    """What one number counts, as a table: ``columns`` are (key, label) pairs naming each row's cells."""

    metric: str
    title: str
    columns: list[tuple[str, str]]
    rows: list[dict[str, Any]]


def _item_text(item: dict[str, Any]) -> str:
    return f"{item.get('description') or item.get('sku')} × {item.get('quantity')}"


def participation_detail(
    rt: Runtime, actor: Actor, filters: ReportFilters, metric: str, *, program_id: int | None = None
) -> DetailTable:
    """The rows behind one number of the participation report (for one program, or for all)."""
    if metric not in DETAIL_METRICS:
        raise ValidationError("unknown number", fields={"metric": f"one of {', '.join(DETAIL_METRICS)}"})
    with rt.sessions() as s:
        f = resolve_filters(s, actor, filters)
        cards = _counted_cards(s, f, program_id)
        ids = {c.customer_id for c in cards if c.customer_id is not None}
        names = pairs(s, select(Customer.id, Customer.name).where(Customer.id.in_(ids)))
        stores = pairs(
            s, select(RetailerLocation.id, RetailerLocation.name).where(RetailerLocation.retailer_id == f.retailer_id)
        )
    title = DETAIL_METRICS[metric]

    def who(card: PosRedemption) -> str:
        return names.get(card.customer_id or 0) or card.card.get("customer", {}).get("name") or ""

    rows: list[dict[str, Any]] = []
    if metric in ("customers", "cards", "items"):
        per_customer: dict[str, dict[str, Any]] = {}
        for card in cards:
            bought = list(purchases_in_range(card, f))
            if not bought:
                continue
            if metric == "items":
                rows += [
                    {"customer": who(card), "purchased_on": day, "upc": i.get("upc") or "", "sku": i.get("sku"),
                     "description": i.get("description"), "quantity": int(i.get("quantity") or 0), "card": card.pos_key}
                    for day, i in bought
                ]  # fmt: skip
            elif metric == "cards":
                rows.append(
                    {"customer": who(card), "card": card.pos_key, "store": stores.get(card.location_id or 0, ""),
                     "status": card.status, "punches": "; ".join(f"{d.isoformat()} {_item_text(i)}" for d, i in bought)}
                )  # fmt: skip
            else:
                key = str(card.customer_id or who(card))
                entry = per_customer.setdefault(key, {"customer": who(card), "cards": 0, "items": 0})
                entry["cards"] += 1
                entry["items"] += sum(int(i.get("quantity") or 0) for _, i in bought)
        if metric == "customers":
            rows = sorted(per_customer.values(), key=lambda r: r["customer"].lower())
    else:
        wanted = EARNED if metric == "earned" else (PS.PROCESSED.value,)
        rows = [
            {"customer": who(c), "card": c.pos_key, "redeemed_on": c.redeemed_on,
             "store": stores.get(c.location_id or 0, ""), "status": c.status,
             "free_goods": "; ".join(_item_text(i) for i in c.card.get("free_goods", ()))}
            for c in cards
            if c.status in wanted and f.in_range(c.redeemed_on)
        ]  # fmt: skip
    return DetailTable(metric, title, _DETAIL_COLUMNS[metric], rows)


_REWARD_COLUMNS = [
    ("customer", "Customer"),
    ("card", "Card"),
    ("redeemed_on", "Redeemed"),
    ("store", "Location"),
    ("status", "Status"),
    ("free_goods", "Free goods"),
]
_DETAIL_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "customers": [("customer", "Customer"), ("cards", "Cards punched"), ("items", "Items sold")],
    "cards": [("customer", "Customer"), ("card", "Card"), ("store", "Location"), ("status", "Status"),
              ("punches", "Punches")],
    "items": [("customer", "Customer"), ("purchased_on", "Purchase date"), ("upc", "UPC"), ("sku", "SKU"),
              ("description", "Description"), ("quantity", "Quantity"), ("card", "Card")],
    "earned": _REWARD_COLUMNS,
    "redeemed": _REWARD_COLUMNS,
}  # fmt: skip
