"""Screenshots of the brand side and of the credit memo flow, for docs/screenshots/brand-*.png.

    python -m tests.e2e.brandview_screenshots            # writes docs/screenshots/brand-*.png
    python -m tests.e2e.brandview_screenshots --out /tmp/shots

On the DARTS sample's world (``seed_darts_world``) plus a Fromm direct-fulfilled program with one owed
free good and a Fromm brand admin (``seed_brand_side``): the brand admin sets FROMM GOLD's minimum
purchase, the store imports the sample (the Fromm card is now denied as Insufficient Purchase Amount),
the distributor marks its batch credited with a credit memo that does not match, the store is asked to
confirm, the distributor groups the batch for MFG credit, and the brand admin marks its direct free good
credited; Taste of the Wild's admin sees the MFG credit group (its free good) and none of Fromm's.
Shared with tests/e2e/test_brandview_console.py (the same steps and selectors).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import Page
from sqlalchemy import select

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.frequent_buyer import programs
from connector.core.frequent_buyer.pos_ingest import import_pos_report
from connector.core.frequent_buyer.pos_types import ParsedReport, PosCard, PosCustomer, PosItem
from connector.core.frequent_buyer.programs import ItemSpec, PriceSpec
from connector.core.frequent_buyer.tables import Program
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.tables import Brand
from connector.core.users import create_user
from tests.e2e.fb_screenshots import SAMPLE, DartsWorld, batch_all_unbatched, seed_darts_world, upload_report
from tests.e2e.harness import album, build_runtime, screenshot_settings, screenshots_main
from tests.e2e.pages import click_and_wait, log_in
from tests.e2e.seed import PASSWORD, ConsoleUser

#: The minimum the brand admin sets on FROMM GOLD 10+1: the sample's Fromm card (10 × FRM-GOLD-5 at the
#: store's $18.49) comes to $184.90, so it is denied as Insufficient Purchase Amount.
FROMM_MINIMUM = "200.00"


@dataclass(frozen=True)
class BrandSide:
    darts: DartsWorld
    fromm_id: int
    gold_program_id: int
    direct_program_id: int
    brand_admin: ConsoleUser
    other_brand_admin: ConsoleUser


def seed_brand_side(rt: Runtime) -> BrandSide:
    """The DARTS world, a Fromm direct-fulfilled program the store runs with one owed free good, and the admins."""
    darts = seed_darts_world(rt)
    admin = Actor.system("seed")
    with rt.sessions() as s:
        fromm = s.scalars(select(Brand.id).where(Brand.name == "Fromm")).one()
        totw = s.scalars(select(Brand.id).where(Brand.name == "Taste of the Wild")).one()
        gold = s.scalars(select(Program.id).where(Program.name == "FROMM GOLD 10+1")).one()
    direct = programs.create_program(
        rt, admin, brand_id=fromm, name="FROMM FOUR-STAR DIRECT 8+1", code="FROMM-4S", buy_quantity=8,
        fulfilment_type="direct", items=[ItemSpec("FRM-4S-12", "Four-Star 12 lb", 12, "lb", None, "Dry Dog")],
    )  # fmt: skip
    programs.enroll(rt, admin, retailer_id=darts.retailer_id, program_id=direct.id)
    programs.upsert_price_list(rt, admin, darts.retailer_id, [PriceSpec("FRM-4S-12", Decimal("41.99"))])
    day = date(2025, 3, 20)
    card = PosCard(
        key="101-90001",
        redeemed_on=day,
        customer=PosCustomer(name="Sam Ortiz", phone="3035550170"),
        purchases=(PosItem("FRM-4S-12", "Four-Star 12 lb", 8, row=2),),
        free_goods=(PosItem("FRM-4S-12", "Four-Star 12 lb", 1, row=3),),
        store_code="101",
        program_code="FROMM-4S",
        rows=(2, 3),
    )
    report = ParsedReport(format="darts", sha256="b" * 64, row_count=3, cards=(card,))
    summary = import_pos_report(rt, admin, darts.retailer_id, report, "fromm-direct.csv")
    assert summary.processed == 1, summary
    brand_admin = ConsoleUser("fran@fromm.example", "Fran Fromm", Role.BRAND_ADMIN)
    other = ConsoleUser("tad@tasteofthewild.example", "Tad Wild", Role.BRAND_ADMIN)
    with transaction(rt.sessions) as s:
        for user, brand in ((brand_admin, fromm), (other, totw)):
            create_user(s, email=user.email, name=user.name, password=PASSWORD, role=user.role, brand_id=brand)
    return BrandSide(darts, fromm, gold, direct.id, brand_admin, other)


# -- the steps -------------------------------------------------------------------------------------------------


def set_minimum(page: Page, program_id: int, amount: str) -> None:
    page.goto(f"/admin/programs/{program_id}")
    form = page.locator("#minimum-purchase-form")
    form.locator('input[name="minimum_purchase_amount"]').fill(amount)
    click_and_wait(form.locator('button[type="submit"]'))


def fulfil_with_memo(page: Page, number: str, amount: str) -> None:
    """Open the newest unfulfilled batch and mark it fulfilled/credited with its credit memo."""
    page.goto("/admin/distribution?section=unfulfilled")
    click_and_wait(page.locator("#section-batches tr[data-batch-id] a").first)
    form = page.locator("form.action-fulfil")
    form.locator('input[name="credit_memo_number"]').fill(number)
    form.locator('input[name="credit_memo_amount"]').fill(amount)
    click_and_wait(form.locator('button[type="submit"]'))


def credit_all_owed(page: Page, note: str) -> None:
    page.goto("/admin/brand-fulfilment")
    form = page.locator("#brand-credit")
    for box in form.locator('input[name="ids"]').all():
        box.check()
    form.locator('input[name="note"]').fill(note)
    click_and_wait(form.locator('button[type="submit"]'))


def take(out: Path, workdir: Path) -> list[Path]:
    settings = screenshot_settings(workdir, "brand-screenshots.sqlite3", {})
    rt = build_runtime(settings)
    world = seed_brand_side(rt)
    with album(rt, out) as photos:
        new_page, shot = photos.new_page, photos.shot
        fran = new_page()
        log_in(fran, world.brand_admin)
        set_minimum(fran, world.gold_program_id, FROMM_MINIMUM)
        shot(fran, "brand-01-program-minimum-purchase.png")

        store = new_page()
        log_in(store, world.darts.retailer)
        upload_report(store, SAMPLE, "import")
        click_and_wait(store.locator('#pos-reports td[data-status="denied"] a').first)
        shot(store, "brand-02-insufficient-purchase-amount.png", whole=True)

        rex = new_page()
        log_in(rex, world.darts.distributor)
        batch_all_unbatched(rex, "Mile High Pets, March 2025")
        fulfil_with_memo(rex, "CM-5521", "50.00")
        shot(rex, "brand-03-batch-credited-with-memo.png", whole=True)

        store.goto("/admin/credit-status")
        click_and_wait(store.locator("#credit-batches tr[data-batch-id] a").first)
        click_and_wait(store.locator("form.action-reconcile button"))
        shot(store, "brand-04-reconcile-confirm-mismatch.png", whole=True)

        # The distributor groups the credited batch for MFG credit; the brand sees it with its own totals.
        rex.goto("/admin/distribution?section=fulfilled")
        form = rex.locator("#group-form")
        for box in form.locator('input[name="batch_ids"]').all():
            box.check()
        form.locator('input[name="description"]').fill("Rocky claim, March 2025")
        click_and_wait(form.locator('button[value="group"]'))
        fran.goto("/admin/brand-fulfilment")
        shot(fran, "brand-05-brand-fulfillment-owed.png", whole=True)
        credit_all_owed(fran, "ACH 2025-03-31")
        shot(fran, "brand-06-brand-fulfillment-credited.png", whole=True)
        tad = new_page()  # Taste of the Wild's admin: the group holds its free good; Fromm's direct one is not shown
        log_in(tad, world.other_brand_admin)
        tad.goto("/admin/brand-fulfilment")
        shot(tad, "brand-07-mfg-credit-groups-other-brand.png", whole=True)
    return photos.written


def main(argv: list[str] | None = None) -> int:
    return screenshots_main(take, (__doc__ or "").split("\n\n")[0], argv, prefix="connector-brand-shots-")


if __name__ == "__main__":
    raise SystemExit(main())
