"""A retailer's price list (unit cost per SKU) used to value free goods: upsert and read."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from connector.core.frequent_buyer.money import parse_money
from connector.core.frequent_buyer.programs.input_checks import _text
from connector.core.frequent_buyer.programs.permissions import check_retailer_read, check_retailer_write, is_staff
from connector.core.frequent_buyer.programs.views import PriceListResult, PriceSpec, PriceView
from connector.core.frequent_buyer.rules import sku_key
from connector.core.frequent_buyer.tables import PriceListEntry, Retailer
from connector.core.model import Role
from connector.core.runtime import Runtime


def _money(value: object, field_name: str, problems: dict[str, str], *, required: bool) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems[field_name] = "required: the cost in dollars, like 12.50"
        return None
    return parse_money(value, field_name, problems, what="the cost")


def upsert_price_list(rt: Runtime, actor: Actor, retailer_id: int, entries: Sequence[PriceSpec]) -> PriceListResult:
    """Set the retailer's cost (and SRP) per SKU: new SKUs are added, known ones updated, all or none.

    Free goods processed later carry this cost (``FreeGood.unit_cost``) so credit status shows
    approximate money (seed 002's Advanced report).
    """
    check_retailer_write(actor, retailer_id, "change a retailer's price list")
    problems: dict[str, str] = {}
    clean: dict[str, tuple[str, Decimal, Decimal | None]] = {}
    seen: set[str] = set()
    if not entries:
        problems["entries"] = "give at least one SKU and cost"
    for n, e in enumerate(entries):
        sku = _text(e.sku, f"entries.{n}.sku", problems, max_len=100)
        cost = _money(e.unit_cost, f"entries.{n}.unit_cost", problems, required=True)
        srp = _money(e.srp, f"entries.{n}.srp", problems, required=False)
        if sku and sku_key(sku) in seen:
            problems[f"entries.{n}.sku"] = f"SKU {sku!r} is given twice"
        seen.add(sku_key(sku))
        if sku and cost is not None:
            clean[sku_key(sku)] = (sku, cost, srp)
    with transaction(rt.sessions) as s:
        if s.scalars(select(Retailer).where(Retailer.id == retailer_id).with_for_update()).one_or_none() is None:
            raise NotFoundError(f"retailer {retailer_id} not found")
        if problems:
            raise ValidationError(
                "invalid price list: " + "; ".join(f"{k}: {v}" for k, v in problems.items()), problems
            )
        existing = {
            sku_key(p.sku): p
            for p in s.scalars(select(PriceListEntry).where(PriceListEntry.retailer_id == retailer_id))
        }
        created = updated = 0
        for key, (sku, cost, srp) in clean.items():
            row = existing.get(key)
            if row is None:
                s.add(PriceListEntry(retailer_id=retailer_id, sku=sku, unit_cost=cost, srp=srp))
                created += 1
            else:
                row.unit_cost, row.srp = cost, srp
                updated += 1
        s.flush()
        return PriceListResult(created, updated, tuple(_price_views(s, retailer_id)))


def _price_views(s: Session, retailer_id: int) -> list[PriceView]:
    rows = s.scalars(
        select(PriceListEntry).where(PriceListEntry.retailer_id == retailer_id).order_by(PriceListEntry.sku)
    )
    return [PriceView(p.sku, p.unit_cost, p.srp) for p in rows]


def get_price_list(rt: Runtime, actor: Actor, retailer_id: int) -> list[PriceView]:
    """A retailer's costs: the retailer and staff only (prices are the store's business)."""
    with rt.sessions() as s:
        check_retailer_read(s, actor, retailer_id)
        if not (
            is_staff(actor) or actor.role == Role.RETAILER or (actor.role == Role.VIEWER and actor.brand_id is None)
        ):
            raise PermissionDeniedError(f"role {actor.role.value} cannot read a retailer's prices")
        return _price_views(s, retailer_id)
