"""The frequent-buyer half of ``connector demo``: a store, its distributor, programs and a real report.

It imports the DARTS sample that ships with the darts plugin, so the POS Reports dashboard
shows processed and denied cards (each denial with its reason), the distributor has New
Rewards to batch and one credited batch, and the retailer has a batch to reconcile. All of it
goes through the same use cases the console and the API call.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from connector.core import catalog
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.frequent_buyer import distribution, programs
from connector.core.frequent_buyer.pos_ingest import find_pos_format, import_pos_report
from connector.core.frequent_buyer.programs import ItemSpec, LocationSpec, PriceSpec
from connector.core.frequent_buyer.tables import FreeGood
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.users import create_user

SAMPLE = Path(__file__).resolve().parent / "plugins" / "darts" / "samples" / "darts-bxgy-sample.csv"
_ADMIN = Actor("demo@connector.local", Role.PLATFORM_ADMIN)

_TOTW = "Taste of the Wild High Prairie Canine, Bison & Venison"
_GOLD = "Fromm Gold Adult Dog Food"
_WERUVA = "Weruva Paw Lickin' Chicken Cat Food"


@dataclass(frozen=True)
class FrequentBuyerDemo:
    retailer_id: int
    distributor_id: int
    processed: int
    denied: int


def seed_frequent_buyer(rt: Runtime, password: str) -> FrequentBuyerDemo:
    """Create the parties and programs, import the sample report, batch and credit one free good."""
    with transaction(rt.sessions) as s:
        brands = {
            slug: catalog.create_brand(s, name, slug).id
            for slug, name in (("taste-of-the-wild", "Taste of the Wild"), ("fromm", "Fromm"), ("weruva", "Weruva"))
        }
    dog = programs.create_program(
        rt, _ADMIN, brand_id=brands["taste-of-the-wild"], name="Taste of the Wild Dry Dog Buy 12 Get 1",
        code="TOTW DOG DRY 12+1", buy_quantity=12,
        items=[ItemSpec("TOTW-HP-5", _TOTW, 5, "lb", "074198612505", "Dry dog food"),
               ItemSpec("TOTW-HP-14", _TOTW, 14, "lb", "074198612514", "Dry dog food"),
               ItemSpec("TOTW-HP-28", _TOTW, 28, "lb", "074198612528", "Dry dog food")],
    )  # fmt: skip
    gold = programs.create_program(
        rt, _ADMIN, brand_id=brands["fromm"], name="Fromm Gold Buy 10 Get 1", code="FROMM GOLD 10+1",
        buy_quantity=10,
        items=[ItemSpec("FRM-GOLD-5", _GOLD, 5, "lb", "072705115105", "Dry dog food"),
               ItemSpec("FRM-GOLD-15", _GOLD, 15, "lb", "072705115115", "Dry dog food")],
    )  # fmt: skip
    cat = programs.create_program(
        rt, _ADMIN, brand_id=brands["weruva"], name="Weruva Cat Buy 12 Get 1", code="WERUVA CAT 12+1",
        buy_quantity=12,
        items=[ItemSpec("WRV-PLC-3", _WERUVA, 3, "oz", "878408004537", "Wet cat food"),
               ItemSpec("WRV-PLC-5.5", _WERUVA, "5.5", "oz", "878408004551", "Wet cat food")],
    )  # fmt: skip
    store = programs.create_retailer(
        rt, _ADMIN, name="Mile High Pets", slug="mile-high-pets",
        locations=[LocationSpec("Mile High Pets Denver", "101", "CO", "80202", "1600 Champa St", "Denver"),
                   LocationSpec("Mile High Pets Boulder", "102", "CO", "80301", "2525 Arapahoe Ave", "Boulder")],
    )  # fmt: skip
    rocky = programs.create_distributor(
        rt,
        _ADMIN,
        name="Rocky Mountain Feed",
        slug="rocky-mountain-feed",
        service_states=["CO", "WY"],
        program_ids=[dog.id, gold.id, cat.id],
    )
    for program in (dog, gold, cat):
        programs.enroll(
            rt, _ADMIN, retailer_id=store.id, program_id=program.id, distributor_id=rocky.id, account_number="MHP-001"
        )
    programs.upsert_price_list(
        rt,
        _ADMIN,
        store.id,
        [PriceSpec("TOTW-HP-28", "54.99", "69.99"), PriceSpec("FRM-GOLD-5", "17.49", "22.99")],
    )
    with SAMPLE.open("rb") as fh:
        report = find_pos_format(rt, "darts-bxgy").parse(fh, SAMPLE.name)
    summary = import_pos_report(rt, _ADMIN, store.id, report, SAMPLE.name)
    with rt.sessions() as s:
        goods = s.scalars(select(FreeGood.id).where(FreeGood.retailer_id == store.id).order_by(FreeGood.id)).all()
    distributor = Actor("distributor@demo.local", Role.DISTRIBUTOR, distributor_id=rocky.id)
    if goods:
        batch = distribution.create_batch(rt, distributor, goods[:1], "March credits, Denver")
        distribution.mark_batch_fulfilled(rt, distributor, batch.id, note="credit memo CM-1042")
    with transaction(rt.sessions) as s:
        create_user(
            s, email="retailer@demo.local", name="Mile High Pets", password=password, role=Role.RETAILER,
            retailer_id=store.id,
        )  # fmt: skip
        create_user(
            s, email="distributor@demo.local", name="Rocky Mountain Feed", password=password,
            role=Role.DISTRIBUTOR, distributor_id=rocky.id,
        )  # fmt: skip
    return FrequentBuyerDemo(store.id, rocky.id, summary.processed, summary.denied)
