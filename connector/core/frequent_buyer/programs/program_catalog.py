"""Programs and their items: create, add items, read, list, and export the product list as CSV."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from connector.core.access import Actor
from connector.core.csv_safe import csv_line
from connector.core.database import transaction
from connector.core.errors import ValidationError
from connector.core.frequent_buyer.model import FulfilmentType
from connector.core.frequent_buyer.money import parse_money
from connector.core.frequent_buyer.programs.input_checks import _text
from connector.core.frequent_buyer.programs.permissions import _check_manages_program, _load_program
from connector.core.frequent_buyer.programs.views import ItemSpec, ItemView, ProgramView, _program_view
from connector.core.frequent_buyer.rules import sku_key, upc_key
from connector.core.frequent_buyer.tables import Program, ProgramItem
from connector.core.frequent_buyer.units import format_quantity, make_size
from connector.core.runtime import Runtime
from connector.core.tables import Brand

_MAX_ITEMS = 5_000
_MINIMUM = "the minimum purchase (blank for none)"


def normalise_upc(upc: str | None) -> str | None:
    """Digits only (spaces and dashes dropped); None when empty."""
    if upc is None:
        return None
    digits = re.sub(r"[\s-]", "", upc)
    return digits or None


def _validate_items(
    specs: Sequence[ItemSpec], problems: dict[str, str], *, taken_skus: set[str], taken_upcs: set[str]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if len(specs) > _MAX_ITEMS:
        problems["items"] = f"at most {_MAX_ITEMS} items per request"
        return rows
    skus = dict.fromkeys(taken_skus, "an existing item")
    upcs = dict.fromkeys(taken_upcs, "an existing item")
    for n, spec in enumerate(specs):
        at = f"items.{n}"
        sku = _text(spec.sku, f"{at}.sku", problems, max_len=100)
        description = _text(spec.description, f"{at}.description", problems, max_len=300)
        category = _text(spec.category, f"{at}.category", problems, max_len=100, required=False)
        upc = normalise_upc(spec.upc)
        if upc is not None and not (upc.isdigit() and 6 <= len(upc) <= 14):
            problems[f"{at}.upc"] = f"{spec.upc!r} is not a UPC/EAN: 6 to 14 digits"
            upc = None
        size = None
        try:
            size = make_size(spec.size_value, spec.size_unit)
            if size.value != size.value.quantize(Decimal("0.001")):
                problems[f"{at}.size_value"] = "at most 3 decimal places"
        except ValueError as exc:
            name = "size_unit" if "unit" in str(exc) else "size_value"
            problems[f"{at}.{name}"] = str(exc)
        if sku:
            key = sku_key(sku)
            if key in skus:
                problems[f"{at}.sku"] = f"SKU {sku!r} is already {skus[key]} of this program"
            skus.setdefault(key, f"item {n}")
        if upc:
            ukey = upc_key(upc) or upc
            if ukey in upcs:
                problems[f"{at}.upc"] = f"UPC {upc!r} is already {upcs[ukey]} of this program"
            upcs.setdefault(ukey, f"item {n}")
        if size is not None:
            rows.append(
                {
                    "sku": sku,
                    "upc": upc,
                    "description": description,
                    "size_value": size.value,
                    "size_unit": size.unit,
                    "category": category,
                }
            )
    return rows


def create_program(
    rt: Runtime,
    actor: Actor,
    *,
    brand_id: int,
    name: str,
    buy_quantity: int,
    items: Sequence[ItemSpec],
    code: str | None = None,
    free_quantity: int = 1,
    fulfilment_type: FulfilmentType | str = FulfilmentType.DISTRIBUTOR,
    starts_on: date | None = None,
    ends_on: date | None = None,
    quality_check_required: bool = False,
    minimum_purchase_amount: Decimal | str | None = None,
    rebate_amount: Decimal | str | None = None,
) -> ProgramView:
    """A brand's Buy X Get Y program with its eligible items; refused whole if any item is wrong.

    With ``rebate_amount`` it is a dollars-off program: a processed redemption owes the retailer that many
    dollars (a rebate, credited through the distributor) instead of a free good.
    """
    actor.check_can_configure()
    problems: dict[str, str] = {}
    minimum = parse_money(minimum_purchase_amount, "minimum_purchase_amount", problems, what=_MINIMUM)
    rebate = parse_money(rebate_amount, "rebate_amount", problems, what="the rebate (blank for a free-good program)")
    if rebate is not None and rebate <= 0:
        problems["rebate_amount"] = "a dollar amount above zero, like 5.00 (leave it empty for a free-good program)"
    name = _text(name, "name", problems, max_len=200)
    code = _text(code if code is not None else name, "code", problems, max_len=100)
    if not isinstance(buy_quantity, int) or buy_quantity < 1 or buy_quantity > 10_000:
        problems["buy_quantity"] = "a whole number of purchases from 1 to 10000 (the X in Buy X Get Y)"
    if not isinstance(free_quantity, int) or free_quantity < 1 or free_quantity > 1_000:
        problems["free_quantity"] = "a whole number from 1 to 1000 (the Y in Buy X Get Y)"
    try:
        kind = FulfilmentType(fulfilment_type)
    except ValueError:
        problems["fulfilment_type"] = f"one of: {', '.join(t.value for t in FulfilmentType)}"
        kind = FulfilmentType.DISTRIBUTOR
    if starts_on and ends_on and ends_on < starts_on:
        problems["ends_on"] = f"must not be before starts_on ({starts_on.isoformat()})"
    if not items:
        problems["items"] = "a program needs at least one eligible item"
    rows = _validate_items(items, problems, taken_skus=set(), taken_upcs=set())
    with transaction(rt.sessions) as s:
        brand = s.get(Brand, brand_id)
        if brand is None or not actor.sees_brand(brand_id):
            problems["brand_id"] = f"no brand {brand_id}"
        elif code and s.scalar(
            select(Program.id).where(Program.brand_id == brand_id, func.lower(Program.code) == code.lower())
        ):
            problems["code"] = f"brand {brand.name!r} already has a program with code {code!r}; choose another code"
        if problems:
            raise ValidationError("invalid program: " + "; ".join(f"{k}: {v}" for k, v in problems.items()), problems)
        program = Program(
            brand_id=brand_id,
            name=name,
            code=code,
            buy_quantity=buy_quantity,
            free_quantity=free_quantity,
            fulfilment_type=kind.value,
            starts_on=starts_on,
            ends_on=ends_on,
            quality_check_required=quality_check_required,
            minimum_purchase_amount=minimum,
            rebate_amount=rebate,
            created_at=rt.now(),
        )
        s.add(program)
        s.flush()
        s.add_all(ProgramItem(program_id=program.id, **row) for row in rows)
        s.flush()
        return _program_view(s, program, with_items=True)


def add_program_items(rt: Runtime, actor: Actor, program_id: int, items: Sequence[ItemSpec]) -> ProgramView:
    """More eligible items for a program (all or none); an SKU or UPC already in it is refused."""
    actor.check_can_configure()
    with transaction(rt.sessions) as s:
        program = _load_program(s, actor, program_id, lock=True)
        _check_manages_program(actor, program)
        existing = s.execute(select(ProgramItem.sku, ProgramItem.upc).where(ProgramItem.program_id == program.id)).all()
        problems: dict[str, str] = {}
        if not items:
            problems["items"] = "give at least one item"
        rows = _validate_items(
            items,
            problems,
            taken_skus={sku_key(sku) for sku, _ in existing},
            taken_upcs={upc_key(upc) or upc for _, upc in existing if upc},
        )
        if problems:
            raise ValidationError("invalid items: " + "; ".join(f"{k}: {v}" for k, v in problems.items()), problems)
        s.add_all(ProgramItem(program_id=program.id, **row) for row in rows)
        s.flush()
        return _program_view(s, program, with_items=True)


def set_minimum_purchase(
    rt: Runtime, actor: Actor, program_id: int, minimum_purchase_amount: Decimal | str | None
) -> ProgramView:
    """Edit a program's minimum purchase in dollars ("Insufficient Purchase Amount"); None or blank removes it.

    Cards are judged when their report is imported, so a change applies to reports imported afterwards
    (and to denied rows resubmitted then), never to redemptions already processed.
    """
    actor.check_can_configure()
    problems: dict[str, str] = {}
    minimum = parse_money(minimum_purchase_amount, "minimum_purchase_amount", problems, what=_MINIMUM)
    with transaction(rt.sessions) as s:
        program = _load_program(s, actor, program_id, lock=True)
        _check_manages_program(actor, program)
        if problems:
            raise ValidationError("invalid program: " + "; ".join(f"{k}: {v}" for k, v in problems.items()), problems)
        program.minimum_purchase_amount = minimum
        s.flush()
        return _program_view(s, program, with_items=True)


def get_program(rt: Runtime, actor: Actor, program_id: int) -> ProgramView:
    with rt.sessions() as s:
        return _program_view(s, _load_program(s, actor, program_id), with_items=True)


def list_programs(rt: Runtime, actor: Actor, *, brand_id: int | None = None) -> list[ProgramView]:
    """Programs the actor may see (brand-scoped users: their brand's), oldest first, without items."""
    with rt.sessions() as s:
        q = select(Program).order_by(Program.id)
        if not actor.is_party and actor.brand_id is not None:
            q = q.where(Program.brand_id == actor.brand_id)
        if brand_id is not None:
            q = q.where(Program.brand_id == brand_id)
        return [_program_view(s, p, with_items=False) for p in s.scalars(q)]


PRODUCT_COLUMNS = ("SKU", "UPC", "Description", "Size", "Unit", "Category")


def product_list_lines(items: Iterable[ItemView]) -> Iterator[str]:
    """The Product List export as CSV lines (header first, every cell quoted and neutralised, CRLF endings)."""
    yield csv_line(PRODUCT_COLUMNS)
    for i in items:
        yield csv_line([i.sku, i.upc or "", i.description, format_quantity(i.size_value), i.size_unit, i.category])


def export_product_list(rt: Runtime, actor: Actor, program_id: int) -> tuple[ProgramView, Iterator[str]]:
    """The program (for a file name) and its Product List as CSV lines; access is checked before any line."""
    program = get_program(rt, actor, program_id)
    return program, product_list_lines(program.items)
