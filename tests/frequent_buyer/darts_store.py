"""The store the DARTS sample export belongs to: two Colorado locations, their distributor, two programs.

Shared by the tests that upload ``tests/data/pos/darts-bxgy-sample.csv`` through the API.
"""

from __future__ import annotations

from connector.core import catalog
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.frequent_buyer import programs
from connector.core.frequent_buyer.programs import ItemSpec, LocationSpec
from connector.core.runtime import Runtime


def seed_darts_store(rt: Runtime) -> int:
    """The DARTS sample's world: a Colorado store (101, 102), its distributor, the TOTW and Fromm programs."""
    admin = Actor.system("test-setup")
    with transaction(rt.sessions) as s:
        totw, fromm = catalog.create_brand(s, "Taste of the Wild").id, catalog.create_brand(s, "Fromm").id
    dog = programs.create_program(
        rt, admin, brand_id=totw, name="TOTW DOG DRY 12+1", buy_quantity=12,
        items=[ItemSpec("TOTW-HP-28", "High Prairie 28 lb", 28, "lb", "074198612528"),
               ItemSpec("TOTW-HP-14", "High Prairie 14 lb", 14, "lb", "074198612514"),
               ItemSpec("TOTW-HP-5", "High Prairie 5 lb", 5, "lb")],
    )  # fmt: skip
    gold = programs.create_program(
        rt, admin, brand_id=fromm, name="FROMM GOLD 10+1", buy_quantity=10,
        items=[ItemSpec("FRM-GOLD-15", "Gold 15 lb", 15, "lb"), ItemSpec("FRM-GOLD-5", "Gold 5 lb", 5, "lb")],
    )  # fmt: skip
    store = programs.create_retailer(
        rt, admin, name="Mile High Pets",
        locations=[LocationSpec("Denver", "101", "CO", "80202"), LocationSpec("Boulder", "102", "CO", "80301")],
    )  # fmt: skip
    rocky = programs.create_distributor(
        rt, admin, name="Rocky Mountain Feed", service_states=["CO"], program_ids=[dog.id, gold.id]
    )
    for program in (dog, gold):
        programs.enroll(rt, admin, retailer_id=store.id, program_id=program.id, distributor_id=rocky.id)
    return store.id
