"""The rule book: the programs, items, enrollments and prices a file's cards are judged by, loaded once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.core.frequent_buyer.model import FulfilmentType
from connector.core.frequent_buyer.pos_ingest.bulk import chunks
from connector.core.frequent_buyer.pos_types import PosCard
from connector.core.frequent_buyer.rules import (
    RuleBook,
    RuleEnrollment,
    RuleItem,
    RuleProgram,
    code_key,
    sku_key,
    upc_key,
)
from connector.core.frequent_buyer.tables import Enrollment, PriceListEntry, Program, ProgramItem
from connector.core.frequent_buyer.units import Size
from connector.core.tables import Brand

_IN_CHUNK = 1_000


def _rule_programs(s: Session, program_ids: Iterable[int]) -> list[RuleProgram]:
    ids = sorted(set(program_ids))
    if not ids:
        return []
    programs: list[Program] = []
    items: dict[int, list[RuleItem]] = {}
    for part in chunks(ids, _IN_CHUNK):
        programs.extend(s.scalars(select(Program).where(Program.id.in_(part))))
        for i in s.scalars(select(ProgramItem).where(ProgramItem.program_id.in_(part)).order_by(ProgramItem.id)):
            items.setdefault(i.program_id, []).append(
                RuleItem(i.id, i.program_id, i.sku, i.upc, i.description, Size(i.size_value, i.size_unit), i.category)
            )
    brands = {
        brand_id: name
        for brand_id, name in s.execute(
            select(Brand.id, Brand.name).where(Brand.id.in_({p.brand_id for p in programs}))
        )
    }
    return [
        RuleProgram(
            id=p.id,
            brand_id=p.brand_id,
            brand_name=brands.get(p.brand_id, ""),
            name=p.name,
            code=p.code,
            buy_quantity=p.buy_quantity,
            free_quantity=p.free_quantity,
            fulfilment_type=FulfilmentType(p.fulfilment_type),
            starts_on=p.starts_on,
            ends_on=p.ends_on,
            quality_check_required=p.quality_check_required,
            minimum_purchase_amount=p.minimum_purchase_amount,
            items=tuple(items.get(p.id, ())),
            rebate_amount=p.rebate_amount,
        )
        for p in programs
    ]


def load_rule_book(s: Session, retailer_id: int, cards: Sequence[PosCard]) -> RuleBook:
    """The retailer's enrollments and every program the cards can touch (by SKU, UPC, code, enrollment)."""
    enrollments = [
        RuleEnrollment(program_id, distributor_id, ended_at.date() if ended_at else None)
        for program_id, distributor_id, ended_at in s.execute(
            select(Enrollment.program_id, Enrollment.distributor_id, Enrollment.ended_at).where(
                Enrollment.retailer_id == retailer_id
            )
        )
    ]
    skus: set[str] = set()
    upcs: set[str] = set()
    codes: set[str] = set()
    for card in cards:
        if card.program_code and card.program_code.strip():
            codes.add(code_key(card.program_code))
        for item in (*card.purchases, *card.free_goods):
            skus.add(sku_key(item.sku))
            if key := upc_key(item.upc):
                upcs.add(key)
    program_ids = {e.program_id for e in enrollments}
    for part in chunks(sorted(skus), _IN_CHUNK):
        program_ids.update(
            s.scalars(select(ProgramItem.program_id).where(func.upper(func.trim(ProgramItem.sku)).in_(part)))
        )
    for part in chunks(sorted(upcs), _IN_CHUNK):
        program_ids.update(s.scalars(select(ProgramItem.program_id).where(func.ltrim(ProgramItem.upc, "0").in_(part))))
    for part in chunks(sorted(codes), _IN_CHUNK):
        program_ids.update(s.scalars(select(Program.id).where(func.lower(func.trim(Program.code)).in_(part))))
    return RuleBook(_rule_programs(s, program_ids), enrollments, store_prices(s, retailer_id))


def store_prices(s: Session, retailer_id: int) -> dict[str, Decimal]:
    """The store's price per SKU for the minimum purchase amount: the SRP (what the customer paid), else the
    unit cost when the price list has no SRP for it."""
    return {
        sku_key(sku): Decimal(srp if srp is not None else cost)
        for sku, cost, srp in s.execute(
            select(PriceListEntry.sku, PriceListEntry.unit_cost, PriceListEntry.srp).where(
                PriceListEntry.retailer_id == retailer_id
            )
        )
    }
