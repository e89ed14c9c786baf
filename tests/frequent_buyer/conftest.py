"""Frequent-buyer fixtures shared by the POS and the distribution tests.

``fb_world`` builds, through the real use cases, a small world worth testing against:

* brands Acme Pets and Wild Taste;
* programs: *Acme Kibble Buy 10 Get 1* (code ``ACME-KIBBLE``, distributor-fulfilled, from
  2026-01-01), *Acme Treats Buy 5 Get 1* (``ACME-TREATS``, direct, quality check required,
  2026) and *Wild Taste Buy 8 Get 1* (``WILD-8``, distributor-fulfilled), with sized items
  (lb, kg, oz and a 6-count pack);
* retailers Paws Corner (stores ``001`` Seattle and ``002`` Tacoma, WA) and Bark Avenue (store
  ``B1`` Portland, OR);
* distributors Northwest Pet Supply (serves WA; kibble and wild) and Columbia Distributing
  (serves OR and ZIPs 986…; kibble);
* enrollments: Paws Corner in kibble with Northwest and in treats (direct); Bark Avenue in
  kibble with Columbia. Paws Corner is *not* enrolled in wild;
* Paws Corner's price list: KIB-4 costs 12.50;
* an ``Actor`` of every role, scoped to the world (``fb_world.actors``).

``make_card`` builds a ``PosCard`` the way a parser would; ``make_report`` wraps cards in a
``ParsedReport``; ``import_cards`` imports them. ``CardsCsvFormat`` is a tiny test-only POS
format (``test-cards``) registered on the ``rt`` runtime, for upload routes and the CLI.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import IO

import pytest
from flask import Flask
from flask.testing import FlaskClient

from connector import hookimpl
from connector.app import create_app
from connector.core import catalog
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.frequent_buyer import pos_ingest, programs
from connector.core.frequent_buyer.model import FulfilmentType
from connector.core.frequent_buyer.pos_types import (
    ParsedReport,
    PosCard,
    PosCustomer,
    PosFormat,
    PosItem,
    PosReportProblem,
    PosReportRejected,
)
from connector.core.frequent_buyer.programs import ItemSpec, LocationSpec, PriceSpec
from connector.core.hooktypes import HookContext, PluginInfo
from connector.core.model import Role
from connector.core.runtime import Runtime
from tests.frequent_buyer.distribution_fixtures import Market, build_market

REDEEMED = date(2026, 6, 15)

#: SKU → (description, size, unit, UPC) of every item in the world, so cards print real descriptions.
ITEMS: dict[str, tuple[str, str, str, str | None]] = {
    "KIB-4": ("Acme Kibble 4 lb", "4", "lb", "012345000041"),
    "KIB-15": ("Acme Kibble 15 lb", "15", "lb", "012345000157"),
    "KIB-28": ("Acme Kibble 28 lb", "28", "lb", None),
    "KIB-2KG": ("Acme Kibble 2 kg", "2", "kg", None),
    "KIB-SAMPLE": ("Acme Kibble Sample 6 ct", "6", "ct", None),
    "TRT-8OZ": ("Acme Treats 8 oz", "8", "oz", None),
    "TRT-16OZ": ("Acme Treats 16 oz", "16", "oz", None),
    "WT-5": ("Wild Taste 5 lb", "5", "lb", None),
    "WT-15": ("Wild Taste 15 lb", "15", "lb", None),
}


def _specs(*skus: str) -> list[ItemSpec]:
    return [
        ItemSpec(sku=sku, description=ITEMS[sku][0], size_value=ITEMS[sku][1], size_unit=ITEMS[sku][2],
                 upc=ITEMS[sku][3], category="Dry Food" if sku.startswith(("KIB", "WT")) else "Treats")
        for sku in skus
    ]  # fmt: skip


@dataclass(frozen=True)
class FbActors:
    platform_admin: Actor
    support: Actor
    brand_admin: Actor
    other_brand_admin: Actor
    viewer: Actor
    retailer: Actor
    other_retailer: Actor
    distributor: Actor
    other_distributor: Actor


@dataclass(frozen=True)
class FbWorld:
    brand_id: int
    other_brand_id: int
    kibble_id: int
    treats_id: int
    wild_id: int
    #: SKU → ProgramItem id
    items: dict[str, int]
    retailer_id: int
    other_retailer_id: int
    store_001_id: int
    store_002_id: int
    store_b1_id: int
    distributor_id: int
    other_distributor_id: int
    kibble_enrollment_id: int
    treats_enrollment_id: int
    other_kibble_enrollment_id: int
    actors: FbActors


def seed_fb_world(rt: Runtime) -> FbWorld:
    admin = Actor.system("test-setup")
    with transaction(rt.sessions) as s:
        brand = catalog.create_brand(s, "Acme Pets")
        other = catalog.create_brand(s, "Wild Taste")
        brand_id, other_brand_id = brand.id, other.id
    kibble = programs.create_program(
        rt,
        admin,
        brand_id=brand_id,
        name="Acme Kibble Buy 10 Get 1",
        code="ACME-KIBBLE",
        buy_quantity=10,
        starts_on=date(2026, 1, 1),
        items=_specs("KIB-4", "KIB-15", "KIB-28", "KIB-2KG", "KIB-SAMPLE"),
    )
    treats = programs.create_program(
        rt,
        admin,
        brand_id=brand_id,
        name="Acme Treats Buy 5 Get 1",
        code="ACME-TREATS",
        buy_quantity=5,
        fulfilment_type=FulfilmentType.DIRECT,
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 12, 31),
        quality_check_required=True,
        items=_specs("TRT-8OZ", "TRT-16OZ"),
    )
    wild = programs.create_program(
        rt,
        admin,
        brand_id=other_brand_id,
        name="Wild Taste Buy 8 Get 1",
        code="WILD-8",
        buy_quantity=8,
        items=_specs("WT-5", "WT-15"),
    )
    paws = programs.create_retailer(
        rt,
        admin,
        name="Paws Corner",
        locations=[
            LocationSpec("Paws Corner Seattle", "001", "WA", "98101", "1 Pike St", "Seattle"),
            LocationSpec("Paws Corner Tacoma", "002", "WA", "98402", "9 Pacific Ave", "Tacoma"),
        ],
    )
    bark = programs.create_retailer(
        rt, admin, name="Bark Avenue", locations=[LocationSpec("Bark Avenue Portland", "B1", "OR", "97201")]
    )
    nw = programs.create_distributor(
        rt, admin, name="Northwest Pet Supply", service_states=["WA"], program_ids=[kibble.id, wild.id]
    )
    columbia = programs.create_distributor(
        rt,
        admin,
        name="Columbia Distributing",
        service_states=["OR"],
        service_zip_prefixes=["986"],
        program_ids=[kibble.id],
    )
    e_kibble = programs.enroll(rt, admin, retailer_id=paws.id, program_id=kibble.id, distributor_id=nw.id)
    e_treats = programs.enroll(rt, admin, retailer_id=paws.id, program_id=treats.id)
    e_other = programs.enroll(rt, admin, retailer_id=bark.id, program_id=kibble.id, distributor_id=columbia.id)
    programs.upsert_price_list(rt, admin, paws.id, [PriceSpec("KIB-4", "12.50", "19.99")])
    items = {i.sku: i.id for p in (kibble, treats, wild) for i in p.items}
    actors = FbActors(
        platform_admin=Actor("test:platform", Role.PLATFORM_ADMIN),
        support=Actor("test:support", Role.SUPPORT),
        brand_admin=Actor("test:acme-admin", Role.BRAND_ADMIN, brand_id=brand_id),
        other_brand_admin=Actor("test:wild-admin", Role.BRAND_ADMIN, brand_id=other_brand_id),
        viewer=Actor("test:viewer", Role.VIEWER),
        retailer=Actor("test:paws", Role.RETAILER, retailer_id=paws.id),
        other_retailer=Actor("test:bark", Role.RETAILER, retailer_id=bark.id),
        distributor=Actor("test:nw", Role.DISTRIBUTOR, distributor_id=nw.id),
        other_distributor=Actor("test:columbia", Role.DISTRIBUTOR, distributor_id=columbia.id),
    )
    return FbWorld(
        brand_id=brand_id,
        other_brand_id=other_brand_id,
        kibble_id=kibble.id,
        treats_id=treats.id,
        wild_id=wild.id,
        items=items,
        retailer_id=paws.id,
        other_retailer_id=bark.id,
        store_001_id=paws.locations[0].id,
        store_002_id=paws.locations[1].id,
        store_b1_id=bark.locations[0].id,
        distributor_id=nw.id,
        other_distributor_id=columbia.id,
        kibble_enrollment_id=e_kibble.id,
        treats_enrollment_id=e_treats.id,
        other_kibble_enrollment_id=e_other.id,
        actors=actors,
    )


# -- cards and reports -------------------------------------------------------------------------------------

ItemArg = tuple[str, int] | tuple[str, int, str | None] | PosItem


def _item(arg: ItemArg, row: int) -> PosItem:
    if isinstance(arg, PosItem):
        return arg
    sku, quantity, *rest = arg
    description, size, unit, upc = ITEMS.get(sku, (sku, None, None, None))
    return PosItem(
        sku=sku,
        description=description,
        quantity=quantity,
        upc=rest[0] if rest else upc,
        size_value=Decimal(size) if size else None,
        size_unit=unit,
        row=row,
    )


def make_card(
    key: str = "001-C1",
    *,
    purchases: Sequence[ItemArg] = (("KIB-4", 10),),
    free: Sequence[ItemArg] = (("KIB-4", 1),),
    redeemed_on: date = REDEEMED,
    store: str | None = "001",
    program_code: str | None = None,
    name: str = "Dana Smith",
    phone: str | None = "2065550101",
    email: str | None = None,
    internal_id: str | None = None,
    first_row: int = 2,
) -> PosCard:
    """A completed card as a parser would hand it over; items are ``(sku, quantity[, upc])`` or ``PosItem``."""
    rows = iter(range(first_row, first_row + len(purchases) + len(free)))
    bought = tuple(_item(p, next(rows)) for p in purchases)
    given = tuple(_item(f, next(rows)) for f in free)
    return PosCard(
        key=key,
        redeemed_on=redeemed_on,
        customer=PosCustomer(name=name, phone=phone, email=email, internal_id=internal_id),
        purchases=bought,
        free_goods=given,
        store_code=store,
        program_code=program_code,
        rows=tuple(i.row for i in (*bought, *given)),
    )


def make_report(cards: Sequence[PosCard], *, sha256: str | None = None, fmt: str = "test-cards") -> ParsedReport:
    """Cards as one parsed file; the same cards give the same hash (the same file), unless ``sha256`` says otherwise."""
    digest = sha256 or hashlib.sha256(repr(tuple(cards)).encode()).hexdigest()
    rows = sum(len(c.purchases) + len(c.free_goods) for c in cards) + 1
    return ParsedReport(format=fmt, sha256=digest, row_count=rows, cards=tuple(cards))


def import_cards(
    rt: Runtime,
    actor: Actor,
    retailer_id: int,
    cards: Sequence[PosCard],
    *,
    filename: str = "report.csv",
    sha256: str | None = None,
    dry_run: bool = False,
) -> pos_ingest.ImportSummary:
    return pos_ingest.import_pos_report(
        rt, actor, retailer_id, make_report(cards, sha256=sha256), filename, dry_run=dry_run
    )


# -- a test-only POS format ------------------------------------------------------------------------------

CSV_COLUMNS = ["key", "store", "redeemed_on", "name", "phone", "email", "kind", "sku", "quantity", "program"]


def cards_csv(cards: Sequence[PosCard]) -> bytes:
    """``cards`` written in the ``test-cards`` format (one row per item)."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    for c in cards:
        for kind, items in (("purchase", c.purchases), ("free", c.free_goods)):
            for i in items:
                w.writerow(
                    [c.key, c.store_code or "", c.redeemed_on.isoformat(), c.customer.name, c.customer.phone or "",
                     c.customer.email or "", kind, i.sku, i.quantity, c.program_code or ""]
                )  # fmt: skip
    return out.getvalue().encode()


def parse_cards_csv(stream: IO[bytes], filename: str) -> ParsedReport:
    raw = stream.read()
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8")))
    if reader.fieldnames != CSV_COLUMNS:
        raise PosReportRejected(
            f"{filename}: unexpected header",
            [PosReportProblem(1, "header", ",".join(reader.fieldnames or []), ",".join(CSV_COLUMNS))],
        )
    problems: list[PosReportProblem] = []
    grouped: dict[str, dict] = {}
    row_number = 1
    for row_number, row in enumerate(reader, start=2):
        quantity = row["quantity"]
        if not quantity.isdigit():
            problems.append(PosReportProblem(row_number, "quantity", quantity, "a whole number"))
            continue
        try:
            day = date.fromisoformat(row["redeemed_on"])
        except ValueError:
            problems.append(PosReportProblem(row_number, "redeemed_on", row["redeemed_on"], "a date like 2026-06-15"))
            continue
        card = grouped.setdefault(
            row["key"],
            {"row": row, "day": day, "purchases": [], "free": [], "rows": []},
        )
        description = ITEMS.get(row["sku"], (row["sku"],))[0]
        item = PosItem(sku=row["sku"], description=description, quantity=int(quantity), row=row_number)
        card["free" if row["kind"] == "free" else "purchases"].append(item)
        card["rows"].append(row_number)
    if problems:
        raise PosReportRejected(f"{len(problems)} problem(s) in {filename}", problems)
    cards = tuple(
        PosCard(
            key=key,
            redeemed_on=c["day"],
            customer=PosCustomer(
                name=c["row"]["name"], phone=c["row"]["phone"] or None, email=c["row"]["email"] or None
            ),
            purchases=tuple(c["purchases"]),
            free_goods=tuple(c["free"]),
            store_code=c["row"]["store"] or None,
            program_code=c["row"]["program"] or None,
            rows=tuple(c["rows"]),
        )
        for key, c in grouped.items()
    )
    return ParsedReport("test-cards", hashlib.sha256(raw).hexdigest(), row_number, cards)


class CardsCsvFormat:
    """A plugin offering the ``test-cards`` format, as the darts plugin offers ``darts-bxgy``."""

    __name__ = "test_cards_format"

    @hookimpl
    def connector_plugin_info(self) -> PluginInfo:
        return PluginInfo(name="test_cards_format", version="0")

    @hookimpl
    def connector_pos_formats(self, ctx: HookContext) -> list[PosFormat]:
        return [PosFormat("test-cards", "CSV, one row per item (tests only)", parse_cards_csv)]


# -- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture
def rt(make_runtime) -> Runtime:
    return make_runtime(plugins=[CardsCsvFormat()])


@pytest.fixture
def m(rt) -> Market:
    """The distribution tests' market: brands, programs, retailers and distributors (``build_market``)."""
    return build_market(rt)


@pytest.fixture
def fb_world(rt) -> FbWorld:
    return seed_fb_world(rt)


@pytest.fixture
def actors(fb_world) -> FbActors:
    return fb_world.actors


@dataclass(frozen=True)
class FbTokens:
    """API bearer tokens scoped like ``fb_world.actors``."""

    platform_admin: str
    support: str
    brand_admin: str
    viewer: str
    retailer: str
    other_retailer: str
    distributor: str


@pytest.fixture
def fb_tokens(rt, fb_world) -> FbTokens:
    from connector.core.tables import Brand

    with transaction(rt.sessions) as s:
        brand = s.get(Brand, fb_world.brand_id)

        def token(name: str, role: Role, **scope: object) -> str:
            return catalog.create_api_token(s, name, role, **scope)[1]  # type: ignore[arg-type]

        return FbTokens(
            platform_admin=token("fb-platform", Role.PLATFORM_ADMIN),
            support=token("fb-support", Role.SUPPORT),
            brand_admin=token("fb-acme-admin", Role.BRAND_ADMIN, brand=brand),
            viewer=token("fb-viewer", Role.VIEWER),
            retailer=token("fb-paws", Role.RETAILER, retailer_id=fb_world.retailer_id),
            other_retailer=token("fb-bark", Role.RETAILER, retailer_id=fb_world.other_retailer_id),
            distributor=token("fb-nw", Role.DISTRIBUTOR, distributor_id=fb_world.distributor_id),
        )


@pytest.fixture
def fb_app(rt, fb_world) -> Flask:
    return create_app(settings=rt.settings, runtime=rt)


@pytest.fixture
def fb_client(fb_app) -> FlaskClient:
    return fb_app.test_client()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
