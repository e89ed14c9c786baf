"""Setting up frequent buying: programs and their items, retailers, distributors, enrollments, prices.

Who may do what (one table, checked here so the API, CLI and admin UI agree):

===========================  =====================================================================
platform admin, support      everything below ("staff": support sets accounts up for retailers)
brand admin                  create programs and add items for its own brand; associate
                             distributors with its own programs; read what concerns its brand
retailer user                its own retailer only: locations, enrollments (and the distributor
                             on each), price list; reads every program (it must find them to
                             enroll) and every distributor (it must pick one)
distributor user             reads programs, distributors, and the retailers and enrollments
                             that chose it; changes nothing here
viewer                       reads like a brand admin of its brand (or everything, unscoped)
===========================  =====================================================================

Another party's record answers "not found", never "forbidden", so its existence does not leak.
Use cases take ``rt`` and an ``Actor`` and run one transaction each; they return frozen views
(plain values, safe after the session closes) rather than ORM rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.catalog import slugify
from connector.core.csv_safe import csv_line
from connector.core.database import transaction
from connector.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from connector.core.frequent_buyer.model import FulfilmentType
from connector.core.frequent_buyer.rules import sku_key, upc_key
from connector.core.frequent_buyer.tables import (
    Distributor,
    DistributorProgram,
    Enrollment,
    FbEvent,
    PriceListEntry,
    Program,
    ProgramItem,
    Retailer,
    RetailerLocation,
)
from connector.core.frequent_buyer.units import format_quantity, make_size
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.tables import Brand

STAFF_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.SUPPORT})
_STATE = re.compile(r"^[A-Z]{2}$")
_ZIP_PREFIX = re.compile(r"^[A-Z0-9]{1,10}$")
_MAX_ITEMS = 5_000


# -- who may do what -------------------------------------------------------------------------------------


def is_staff(actor: Actor) -> bool:
    return actor.role in STAFF_ROLES


def check_staff(actor: Actor, doing: str) -> None:
    if not is_staff(actor):
        raise PermissionDeniedError(f"role {actor.role.value} cannot {doing}; ask support")


def check_retailer_write(actor: Actor, retailer_id: int, doing: str) -> None:
    """Staff act for any retailer; a retailer user only for its own; nobody else changes a retailer's data."""
    if is_staff(actor):
        return
    if actor.role == Role.RETAILER:
        if actor.retailer_id != retailer_id:
            raise NotFoundError(f"retailer {retailer_id} not found")
        return
    raise PermissionDeniedError(f"role {actor.role.value} cannot {doing}; a retailer user or support can")


def retailer_visible(s: Session, actor: Actor, retailer_id: int) -> bool:
    """Staff and unscoped viewers see every retailer; parties and brands only those they deal with."""
    if is_staff(actor) or (actor.role == Role.VIEWER and actor.brand_id is None):
        return True
    if actor.role == Role.RETAILER:
        return actor.retailer_id == retailer_id
    if actor.role == Role.DISTRIBUTOR:
        return bool(
            s.scalar(
                select(
                    exists().where(
                        Enrollment.retailer_id == retailer_id, Enrollment.distributor_id == actor.distributor_id
                    )
                )
            )
        )
    if actor.brand_id is not None:
        return bool(
            s.scalar(
                select(
                    exists()
                    .where(Enrollment.retailer_id == retailer_id, Enrollment.program_id == Program.id)
                    .where(Program.brand_id == actor.brand_id)
                )
            )
        )
    return False


def check_retailer_read(s: Session, actor: Actor, retailer_id: int) -> Retailer:
    retailer = s.get(Retailer, retailer_id)
    if retailer is None or not retailer_visible(s, actor, retailer_id):
        raise NotFoundError(f"retailer {retailer_id} not found")
    return retailer


def _program_visible(actor: Actor, program: Program) -> bool:
    # Programs are the catalogue retailers enroll from and distributors associate with: parties see all.
    return actor.is_party or actor.sees_brand(program.brand_id)


def _load_program(s: Session, actor: Actor, program_id: int, *, lock: bool = False) -> Program:
    q = select(Program).where(Program.id == program_id)
    program = s.scalars(q.with_for_update() if lock else q).one_or_none()
    if program is None or not _program_visible(actor, program):
        raise NotFoundError(f"program {program_id} not found")
    return program


def _check_manages_program(actor: Actor, program: Program) -> None:
    if actor.role == Role.PLATFORM_ADMIN:
        return
    if actor.role == Role.BRAND_ADMIN and actor.brand_id == program.brand_id:
        return
    raise PermissionDeniedError(f"role {actor.role.value} cannot change program {program.name!r}; its brand admin can")


def record(s: Session, subject_type: str, subject_id: int, event: str, actor: Actor, at: datetime, detail: str) -> None:
    """An audit row in ``fb_events`` for a change that has no status (enrollments, reports)."""
    s.add(
        FbEvent(
            subject_type=subject_type,
            subject_id=subject_id,
            event=event,
            from_status=None,
            to_status=None,
            actor=actor.name,
            detail=detail,
            at=at,
        )
    )


# -- views -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemSpec:
    """An item to add to a program, as the user typed it (validated by ``create_program``)."""

    sku: str
    description: str
    size_value: Decimal | int | float | str
    size_unit: str
    upc: str | None = None
    category: str = ""


@dataclass(frozen=True)
class ItemView:
    id: int
    program_id: int
    sku: str
    upc: str | None
    description: str
    size_value: Decimal
    size_unit: str
    category: str

    @property
    def size(self) -> str:
        return f"{format_quantity(self.size_value)} {self.size_unit}"


@dataclass(frozen=True)
class ProgramView:
    id: int
    brand_id: int
    brand_name: str
    name: str
    code: str
    buy_quantity: int
    free_quantity: int
    fulfilment_type: str
    starts_on: date | None
    ends_on: date | None
    quality_check_required: bool
    created_at: datetime
    item_count: int
    distributor_ids: tuple[int, ...]
    #: Empty in lists; every item in ``get_program``.
    items: tuple[ItemView, ...] = ()


@dataclass(frozen=True)
class LocationSpec:
    name: str
    store_code: str
    state: str
    zip: str
    address1: str = ""
    city: str = ""


@dataclass(frozen=True)
class LocationView:
    id: int
    retailer_id: int
    name: str
    store_code: str
    address1: str
    city: str
    state: str
    zip: str


@dataclass(frozen=True)
class RetailerView:
    id: int
    name: str
    slug: str
    account_number: str | None
    created_at: datetime
    locations: tuple[LocationView, ...]


@dataclass(frozen=True)
class DistributorView:
    id: int
    name: str
    slug: str
    service_states: tuple[str, ...]
    service_zip_prefixes: tuple[str, ...]
    program_ids: tuple[int, ...]
    created_at: datetime


@dataclass(frozen=True)
class EnrollmentView:
    id: int
    retailer_id: int
    retailer_name: str
    program_id: int
    program_name: str
    fulfilment_type: str
    distributor_id: int | None
    distributor_name: str | None
    enrolled_at: datetime
    ended_at: datetime | None

    @property
    def active(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True)
class PriceSpec:
    sku: str
    unit_cost: Decimal | int | float | str
    srp: Decimal | int | float | str | None = None


@dataclass(frozen=True)
class PriceView:
    sku: str
    unit_cost: Decimal
    srp: Decimal | None


@dataclass(frozen=True)
class PriceListResult:
    created: int
    updated: int
    entries: tuple[PriceView, ...] = field(default=())


def _item_view(i: ProgramItem) -> ItemView:
    return ItemView(i.id, i.program_id, i.sku, i.upc, i.description, i.size_value, i.size_unit, i.category)


def _program_view(s: Session, p: Program, *, with_items: bool) -> ProgramView:
    brand_name = s.scalar(select(Brand.name).where(Brand.id == p.brand_id)) or ""
    items = (
        tuple(
            _item_view(i)
            for i in s.scalars(select(ProgramItem).where(ProgramItem.program_id == p.id).order_by(ProgramItem.id))
        )
        if with_items
        else ()
    )
    count = len(items) if with_items else int(s.scalar(select(func.count()).where(ProgramItem.program_id == p.id)) or 0)
    distributors = tuple(
        s.scalars(
            select(DistributorProgram.distributor_id)
            .where(DistributorProgram.program_id == p.id)
            .order_by(DistributorProgram.distributor_id)
        )
    )
    return ProgramView(
        id=p.id,
        brand_id=p.brand_id,
        brand_name=brand_name,
        name=p.name,
        code=p.code,
        buy_quantity=p.buy_quantity,
        free_quantity=p.free_quantity,
        fulfilment_type=p.fulfilment_type,
        starts_on=p.starts_on,
        ends_on=p.ends_on,
        quality_check_required=p.quality_check_required,
        created_at=p.created_at,
        item_count=count,
        distributor_ids=distributors,
        items=items,
    )


def _location_view(loc: RetailerLocation) -> LocationView:
    return LocationView(loc.id, loc.retailer_id, loc.name, loc.store_code, loc.address1, loc.city, loc.state, loc.zip)


def _retailer_view(s: Session, r: Retailer) -> RetailerView:
    locations = s.scalars(
        select(RetailerLocation).where(RetailerLocation.retailer_id == r.id).order_by(RetailerLocation.id)
    )
    return RetailerView(
        r.id, r.name, r.slug, r.account_number, r.created_at, tuple(_location_view(x) for x in locations)
    )


def _distributor_view(s: Session, d: Distributor) -> DistributorView:
    programs = s.scalars(
        select(DistributorProgram.program_id)
        .where(DistributorProgram.distributor_id == d.id)
        .order_by(DistributorProgram.program_id)
    )
    return DistributorView(
        d.id,
        d.name,
        d.slug,
        tuple(d.service_states or ()),
        tuple(d.service_zip_prefixes or ()),
        tuple(programs),
        d.created_at,
    )


# -- programs --------------------------------------------------------------------------------------------


def _text(value: str | None, field_name: str, problems: dict[str, str], *, max_len: int, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        problems[field_name] = "required; must not be empty"
    elif len(text) > max_len:
        problems[field_name] = f"at most {max_len} characters (got {len(text)})"
    return text


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
) -> ProgramView:
    """A brand's Buy X Get Y program with its eligible items; refused whole if any item is wrong."""
    actor.check_can_configure()
    problems: dict[str, str] = {}
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


# -- retailers -------------------------------------------------------------------------------------------


def store_code_key(code: str) -> str:
    """Store numbers compare trimmed, case-insensitively, and without leading zeros ("001" is store 1)."""
    key = code.strip().upper()
    return (key.lstrip("0") or "0") if key.isdigit() else key


def normalise_zip(value: str) -> str:
    return re.sub(r"[\s-]", "", value).upper()


def _validate_location(spec: LocationSpec, at: str, problems: dict[str, str]) -> dict[str, str]:
    state = (spec.state or "").strip().upper()
    zip_code = (spec.zip or "").strip().upper()
    if not _STATE.match(state):
        problems[f"{at}state"] = f"{spec.state!r} is not a two-letter state or province code (like WA, OR, ON)"
    if not zip_code or len(zip_code) > 20:
        problems[f"{at}zip"] = "the location's ZIP or postal code (distributors serve by ZIP prefix)"
    return {
        "name": _text(spec.name, f"{at}name", problems, max_len=200),
        "store_code": _text(spec.store_code, f"{at}store_code", problems, max_len=50),
        "address1": _text(spec.address1, f"{at}address1", problems, max_len=200, required=False),
        "city": _text(spec.city, f"{at}city", problems, max_len=100, required=False),
        "state": state,
        "zip": zip_code,
    }


def _check_store_codes(rows: Sequence[dict[str, str]], taken: dict[str, str], problems: dict[str, str]) -> None:
    seen = dict(taken)
    for n, row in enumerate(rows):
        if not row["store_code"]:
            continue
        key = store_code_key(row["store_code"])
        if key in seen:
            problems[f"locations.{n}.store_code"] = (
                f"store code {row['store_code']!r} is already used by {seen[key]}; each location needs its own"
            )
        seen.setdefault(key, f"location {row['name']!r}")


def _unique_slug(
    s: Session, model: type[Retailer] | type[Distributor], slug: str | None, name: str, problems: dict[str, str]
) -> str:
    # A slug made from a long name is cut to the column's 100 characters (it was a 500 from the database).
    chosen = slugify(slug) if slug else (slugify(name)[:100].strip("-") or "brand")
    if slug is not None and chosen != slug:
        problems["slug"] = f"use lower-case letters, digits and dashes (like {chosen!r})"
    elif s.scalar(select(model.id).where(model.slug == chosen)) is not None:
        problems["slug"] = f"{chosen!r} is taken; choose another slug"
    return chosen


def create_retailer(
    rt: Runtime,
    actor: Actor,
    *,
    name: str,
    slug: str | None = None,
    account_number: str | None = None,
    locations: Sequence[LocationSpec] = (),
) -> RetailerView:
    """A store account with its locations (each with the store code its POS prints). Staff only."""
    check_staff(actor, "create retailers")
    problems: dict[str, str] = {}
    name = _text(name, "name", problems, max_len=200)
    account = _text(account_number, "account_number", problems, max_len=50, required=False) or None
    rows = [_validate_location(spec, f"locations.{n}.", problems) for n, spec in enumerate(locations)]
    _check_store_codes(rows, {}, problems)
    with transaction(rt.sessions) as s:
        chosen = _unique_slug(s, Retailer, slug, name, problems)
        if problems:
            raise ValidationError("invalid retailer: " + "; ".join(f"{k}: {v}" for k, v in problems.items()), problems)
        retailer = Retailer(name=name, slug=chosen, account_number=account, created_at=rt.now())
        s.add(retailer)
        s.flush()
        s.add_all(RetailerLocation(retailer_id=retailer.id, **row) for row in rows)
        s.flush()
        return _retailer_view(s, retailer)


def add_location(rt: Runtime, actor: Actor, retailer_id: int, spec: LocationSpec) -> LocationView:
    """Another store of a retailer. A distributor already chosen keeps serving the retailer's other stores;
    enrollments chosen later are checked against every location."""
    check_retailer_write(actor, retailer_id, "add store locations")
    problems: dict[str, str] = {}
    row = _validate_location(spec, "", problems)
    with transaction(rt.sessions) as s:
        retailer = s.scalars(select(Retailer).where(Retailer.id == retailer_id).with_for_update()).one_or_none()
        if retailer is None:
            raise NotFoundError(f"retailer {retailer_id} not found")
        taken = {
            store_code_key(code): f"location {name!r}"
            for code, name in s.execute(
                select(RetailerLocation.store_code, RetailerLocation.name).where(
                    RetailerLocation.retailer_id == retailer_id
                )
            )
        }
        if row["store_code"] and store_code_key(row["store_code"]) in taken:
            problems["store_code"] = (
                f"store code {row['store_code']!r} is already used by {taken[store_code_key(row['store_code'])]}"
            )
        if problems:
            raise ValidationError("invalid location: " + "; ".join(f"{k}: {v}" for k, v in problems.items()), problems)
        location = RetailerLocation(retailer_id=retailer_id, **row)
        s.add(location)
        s.flush()
        return _location_view(location)


def get_retailer(rt: Runtime, actor: Actor, retailer_id: int) -> RetailerView:
    with rt.sessions() as s:
        return _retailer_view(s, check_retailer_read(s, actor, retailer_id))


def list_retailers(rt: Runtime, actor: Actor) -> list[RetailerView]:
    """The retailers the actor may see (a distributor: those enrolled with it — its Participating Retailers)."""
    with rt.sessions() as s:
        q = select(Retailer).order_by(Retailer.id)
        if actor.role == Role.RETAILER:
            q = q.where(Retailer.id == actor.retailer_id)
        elif actor.role == Role.DISTRIBUTOR:
            q = q.where(
                exists().where(Enrollment.retailer_id == Retailer.id, Enrollment.distributor_id == actor.distributor_id)
            )
        elif not is_staff(actor) and actor.brand_id is not None:
            q = q.where(
                exists()
                .where(Enrollment.retailer_id == Retailer.id, Enrollment.program_id == Program.id)
                .where(Program.brand_id == actor.brand_id)
            )
        return [_retailer_view(s, r) for r in s.scalars(q)]


def find_retailer(s: Session, ref: str | int) -> Retailer:
    """A retailer by id or slug (for the CLI)."""
    ref = str(ref).strip()
    retailer = (
        s.get(Retailer, int(ref)) if ref.isdigit() else s.scalars(select(Retailer).where(Retailer.slug == ref)).first()
    )
    if retailer is None:
        raise NotFoundError(f"retailer {ref!r} not found")
    return retailer


# -- distributors ----------------------------------------------------------------------------------------


def _service_area(
    states: Iterable[str], prefixes: Iterable[str], problems: dict[str, str]
) -> tuple[list[str], list[str]]:
    clean_states = sorted({s.strip().upper() for s in states if s and s.strip()})
    clean_prefixes = sorted({normalise_zip(p) for p in prefixes if p and p.strip()})
    bad_states = [s for s in clean_states if not _STATE.match(s)]
    bad_prefixes = [p for p in clean_prefixes if not _ZIP_PREFIX.match(p)]
    if bad_states:
        problems["service_states"] = f"not two-letter state codes: {', '.join(bad_states)}"
    if bad_prefixes:
        problems["service_zip_prefixes"] = f"not ZIP prefixes (1 to 10 letters or digits): {', '.join(bad_prefixes)}"
    if not clean_states and not clean_prefixes and "service_states" not in problems:
        problems["service_states"] = (
            "a distributor serves only retailers inside its service area: give states and/or ZIP prefixes"
        )
    return clean_states, clean_prefixes


def serves(distributor: Distributor | DistributorView, state: str, zip_code: str) -> bool:
    """Inside the service area: the location's state is listed, or its ZIP starts with a listed prefix."""
    if state.strip().upper() in (distributor.service_states or ()):
        return True
    z = normalise_zip(zip_code)
    return any(z.startswith(p) for p in distributor.service_zip_prefixes or ())


def area_text(d: Distributor) -> str:
    parts = []
    if d.service_states:
        parts.append("states " + ", ".join(d.service_states))
    if d.service_zip_prefixes:
        parts.append("ZIP prefixes " + ", ".join(d.service_zip_prefixes))
    return "; ".join(parts) or "nowhere"


def create_distributor(
    rt: Runtime,
    actor: Actor,
    *,
    name: str,
    slug: str | None = None,
    service_states: Iterable[str] = (),
    service_zip_prefixes: Iterable[str] = (),
    program_ids: Iterable[int] = (),
) -> DistributorView:
    """A distribution company, its service area and the programs it is a distributor option for. Staff only."""
    check_staff(actor, "create distributors")
    problems: dict[str, str] = {}
    name = _text(name, "name", problems, max_len=200)
    states, prefixes = _service_area(service_states, service_zip_prefixes, problems)
    wanted = sorted(set(program_ids))
    with transaction(rt.sessions) as s:
        chosen = _unique_slug(s, Distributor, slug, name, problems)
        known = set(s.scalars(select(Program.id).where(Program.id.in_(wanted)))) if wanted else set()
        if set(wanted) - known:
            problems["program_ids"] = f"no program(s) {', '.join(str(i) for i in wanted if i not in known)}"
        if problems:
            raise ValidationError(
                "invalid distributor: " + "; ".join(f"{k}: {v}" for k, v in problems.items()), problems
            )
        d = Distributor(
            name=name, slug=chosen, service_states=states, service_zip_prefixes=prefixes, created_at=rt.now()
        )
        s.add(d)
        s.flush()
        s.add_all(DistributorProgram(distributor_id=d.id, program_id=p, associated_at=rt.now()) for p in wanted)
        s.flush()
        return _distributor_view(s, d)


def associate_program(rt: Runtime, actor: Actor, distributor_id: int, program_id: int) -> DistributorView:
    """Make a distributor an option for a program's retailers (staff, or the program's brand admin)."""
    with transaction(rt.sessions) as s:
        program = _load_program(s, actor, program_id)
        if not is_staff(actor):
            _check_manages_program(actor, program)
        d = s.get(Distributor, distributor_id)
        if d is None:
            raise NotFoundError(f"distributor {distributor_id} not found")
        if s.get(DistributorProgram, (distributor_id, program_id)) is None:
            s.add(DistributorProgram(distributor_id=distributor_id, program_id=program_id, associated_at=rt.now()))
            s.flush()
        return _distributor_view(s, d)


def get_distributor(rt: Runtime, actor: Actor, distributor_id: int) -> DistributorView:
    """Distributors are public options (retailers pick from them), so any signed-in actor may read one."""
    with rt.sessions() as s:
        d = s.get(Distributor, distributor_id)
        if d is None:
            raise NotFoundError(f"distributor {distributor_id} not found")
        return _distributor_view(s, d)


def list_distributors(rt: Runtime, actor: Actor, *, program_id: int | None = None) -> list[DistributorView]:
    with rt.sessions() as s:
        q = select(Distributor).order_by(Distributor.id)
        if program_id is not None:
            q = q.where(
                exists().where(
                    DistributorProgram.distributor_id == Distributor.id, DistributorProgram.program_id == program_id
                )
            )
        return [_distributor_view(s, d) for d in s.scalars(q)]


def find_distributor(s: Session, ref: str | int) -> Distributor:
    ref = str(ref).strip()
    d = (
        s.get(Distributor, int(ref))
        if ref.isdigit()
        else s.scalars(select(Distributor).where(Distributor.slug == ref)).first()
    )
    if d is None:
        raise NotFoundError(f"distributor {ref!r} not found")
    return d


def find_program(s: Session, ref: str | int, *, brand: str | None = None) -> Program:
    """A program by id, or by code (case-insensitive; ``brand`` slug when two brands share the code)."""
    ref = str(ref).strip()
    if ref.isdigit():
        program = s.get(Program, int(ref))
        if program is None:
            raise NotFoundError(f"program {ref} not found")
        return program
    q = select(Program).where(func.lower(Program.code) == ref.lower())
    if brand:
        q = q.join(Brand, Brand.id == Program.brand_id).where(Brand.slug == brand)
    found = list(s.scalars(q.order_by(Program.id)))
    if not found:
        raise NotFoundError(f"no program with code {ref!r}" + (f" in brand {brand!r}" if brand else ""))
    if len(found) > 1:
        raise ValidationError(
            f"{len(found)} brands have a program with code {ref!r}", fields={"brand": "give the brand's slug"}
        )
    return found[0]


# -- enrollments -----------------------------------------------------------------------------------------


def _distributor_problem(
    s: Session, program: Program, retailer: Retailer, distributor_id: int | None
) -> tuple[str, str] | None:
    """(field, what is wrong and how to fix it) when ``distributor_id`` cannot fulfil ``program`` for ``retailer``."""
    kind = FulfilmentType(program.fulfilment_type)
    if kind != FulfilmentType.DISTRIBUTOR:
        if distributor_id is not None:
            who = "the manufacturer credits the store" if kind == FulfilmentType.DIRECT else "the store secures it"
            return (
                "distributor_id",
                f"program {program.name!r} is {kind.value}-fulfilled ({who}); leave the distributor out",
            )
        return None
    locations = list(
        s.scalars(
            select(RetailerLocation).where(RetailerLocation.retailer_id == retailer.id).order_by(RetailerLocation.id)
        )
    )
    if not locations:
        return "retailer_id", (
            f"retailer {retailer.name!r} has no store location yet; add one first "
            "(a distributor is chosen by the area it serves)"
        )
    associated = list(
        s.scalars(
            select(Distributor)
            .join(DistributorProgram, DistributorProgram.distributor_id == Distributor.id)
            .where(DistributorProgram.program_id == program.id)
            .order_by(Distributor.id)
        )
    )
    options = [d for d in associated if all(serves(d, loc.state, loc.zip) for loc in locations)]
    choose = (
        "choose one of: " + ", ".join(f"{d.name} (id {d.id})" for d in options)
        if options
        else "no associated distributor serves every location yet; ask support to add one to the program"
    )
    if distributor_id is None:
        return "distributor_id", f"program {program.name!r} is fulfilled by a distributor; {choose}"
    d = s.get(Distributor, distributor_id)
    if d is None:
        return "distributor_id", f"no distributor {distributor_id}; {choose}"
    if d.id not in {a.id for a in associated}:
        return "distributor_id", f"distributor {d.name!r} is not associated with program {program.name!r}; {choose}"
    outside = [loc for loc in locations if not serves(d, loc.state, loc.zip)]
    if outside:
        where = ", ".join(f"{loc.name!r} ({loc.state} {loc.zip})" for loc in outside)
        return "distributor_id", (
            f"distributor {d.name!r} does not serve {where}: its service area is {area_text(d)}; {choose}"
        )
    return None


def _enrollment_view(s: Session, e: Enrollment) -> EnrollmentView:
    retailer = s.get(Retailer, e.retailer_id)
    program = s.get(Program, e.program_id)
    d = s.get(Distributor, e.distributor_id) if e.distributor_id else None
    assert retailer is not None and program is not None
    return EnrollmentView(
        id=e.id,
        retailer_id=e.retailer_id,
        retailer_name=retailer.name,
        program_id=e.program_id,
        program_name=program.name,
        fulfilment_type=program.fulfilment_type,
        distributor_id=e.distributor_id,
        distributor_name=d.name if d else None,
        enrolled_at=e.enrolled_at,
        ended_at=e.ended_at,
    )


def enroll(
    rt: Runtime, actor: Actor, *, retailer_id: int, program_id: int, distributor_id: int | None = None
) -> EnrollmentView:
    """The retailer runs the program and names who fulfils it.

    For a distributor-fulfilled program the distributor must be associated with the program and
    serve every location of the retailer; direct and retailer-fulfilled programs take none. An
    ended enrollment is re-opened rather than duplicated.
    """
    check_retailer_write(actor, retailer_id, "enroll retailers in programs")
    now = rt.now()
    with transaction(rt.sessions) as s:
        retailer = s.scalars(select(Retailer).where(Retailer.id == retailer_id).with_for_update()).one_or_none()
        if retailer is None:
            raise NotFoundError(f"retailer {retailer_id} not found")
        program = s.get(Program, program_id)
        if program is None:
            raise ValidationError("program not found", fields={"program_id": f"no program {program_id}"})
        problem = _distributor_problem(s, program, retailer, distributor_id)
        if problem:
            raise ValidationError(f"cannot enroll: {problem[1]}", fields={problem[0]: problem[1]})
        e = s.scalars(
            select(Enrollment).where(Enrollment.retailer_id == retailer_id, Enrollment.program_id == program_id)
        ).one_or_none()
        if e is not None and e.ended_at is None:
            raise ConflictError(
                f"retailer {retailer.name!r} is already enrolled in program {program.name!r} (enrollment {e.id}); "
                "change its distributor instead"
            )
        if e is None:
            e = Enrollment(
                retailer_id=retailer_id, program_id=program_id, distributor_id=distributor_id, enrolled_at=now
            )
            s.add(e)
        else:
            e.distributor_id, e.enrolled_at, e.ended_at = distributor_id, now, None
        s.flush()
        record(s, "enrollment", e.id, "enroll", actor, now, f"program {program.id}, distributor {distributor_id}")
        return _enrollment_view(s, e)


def _load_enrollment(s: Session, actor: Actor, enrollment_id: int, *, lock: bool = False) -> Enrollment:
    q = select(Enrollment).where(Enrollment.id == enrollment_id)
    e = s.scalars(q.with_for_update() if lock else q).one_or_none()
    if e is None or not _enrollment_visible(s, actor, e):
        raise NotFoundError(f"enrollment {enrollment_id} not found")
    return e


def _enrollment_visible(s: Session, actor: Actor, e: Enrollment) -> bool:
    if actor.role == Role.DISTRIBUTOR:
        return e.distributor_id == actor.distributor_id
    if actor.role == Role.RETAILER:
        return e.retailer_id == actor.retailer_id
    if is_staff(actor) or actor.brand_id is None:
        return True
    return s.scalar(select(Program.brand_id).where(Program.id == e.program_id)) == actor.brand_id


def change_distributor(rt: Runtime, actor: Actor, enrollment_id: int, distributor_id: int | None) -> EnrollmentView:
    """Pick another distributor for an enrollment, checked like ``enroll``.

    Free goods already processed stay with the distributor they were sent to; cards imported
    from now on go to the new one.
    """
    now = rt.now()
    with transaction(rt.sessions) as s:
        e = _load_enrollment(s, actor, enrollment_id, lock=True)
        check_retailer_write(actor, e.retailer_id, "change an enrollment's distributor")
        if e.ended_at is not None:
            raise ConflictError(f"enrollment {e.id} has ended; enroll again to choose a distributor")
        retailer, program = s.get(Retailer, e.retailer_id), s.get(Program, e.program_id)
        assert retailer is not None and program is not None
        problem = _distributor_problem(s, program, retailer, distributor_id)
        if problem:
            raise ValidationError(f"cannot change the distributor: {problem[1]}", fields={problem[0]: problem[1]})
        before, e.distributor_id = e.distributor_id, distributor_id
        s.flush()
        record(s, "enrollment", e.id, "change_distributor", actor, now, f"distributor {before} -> {distributor_id}")
        return _enrollment_view(s, e)


def end_enrollment(rt: Runtime, actor: Actor, enrollment_id: int) -> EnrollmentView:
    """The retailer stops running the program: cards redeemed from today on are ``ineligible_program``."""
    now = rt.now()
    with transaction(rt.sessions) as s:
        e = _load_enrollment(s, actor, enrollment_id, lock=True)
        check_retailer_write(actor, e.retailer_id, "end an enrollment")
        if e.ended_at is not None:
            raise ConflictError(f"enrollment {e.id} already ended on {e.ended_at:%Y-%m-%d}")
        e.ended_at = now
        s.flush()
        record(s, "enrollment", e.id, "end", actor, now, "")
        return _enrollment_view(s, e)


def get_enrollment(rt: Runtime, actor: Actor, enrollment_id: int) -> EnrollmentView:
    with rt.sessions() as s:
        return _enrollment_view(s, _load_enrollment(s, actor, enrollment_id))


def list_enrollments(
    rt: Runtime,
    actor: Actor,
    *,
    retailer_id: int | None = None,
    program_id: int | None = None,
    distributor_id: int | None = None,
    active_only: bool = False,
) -> list[EnrollmentView]:
    """Enrollments in the actor's scope (a distributor's Enrolled Programs, a retailer's Enrolled list)."""
    with rt.sessions() as s:
        q = select(Enrollment).order_by(Enrollment.id)
        if actor.role == Role.RETAILER:
            q = q.where(Enrollment.retailer_id == actor.retailer_id)
        elif actor.role == Role.DISTRIBUTOR:
            q = q.where(Enrollment.distributor_id == actor.distributor_id)
        elif not is_staff(actor) and actor.brand_id is not None:
            q = q.where(Enrollment.program_id.in_(select(Program.id).where(Program.brand_id == actor.brand_id)))
        if retailer_id is not None:
            q = q.where(Enrollment.retailer_id == retailer_id)
        if program_id is not None:
            q = q.where(Enrollment.program_id == program_id)
        if distributor_id is not None:
            q = q.where(Enrollment.distributor_id == distributor_id)
        if active_only:
            q = q.where(Enrollment.ended_at.is_(None))
        return [_enrollment_view(s, e) for e in s.scalars(q)]


# -- price list ------------------------------------------------------------------------------------------


def _money(value: object, field_name: str, problems: dict[str, str], *, required: bool) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems[field_name] = "required: the cost in dollars, like 12.50"
        return None
    shown = str(value).strip()
    try:
        amount = Decimal(shown)
    except InvalidOperation:
        problems[field_name] = f"{shown!r} is not an amount; use dollars like 12.50"
        return None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("10000000000"):
        problems[field_name] = f"{shown!r} must be zero or more (and under 10 billion)"
        return None
    if amount != amount.quantize(Decimal("0.01")):
        problems[field_name] = f"{shown!r} has more than 2 decimal places"
        return None
    return amount.quantize(Decimal("0.01"))


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
