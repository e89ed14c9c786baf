"""Screenshots of the Distributor Portal's landing choice and its Rebates side, for docs/screenshots/fb-rebates-*.png.

    python -m tests.e2e.rebate_screenshots            # writes docs/screenshots/fb-rebates-*.png
    python -m tests.e2e.rebate_screenshots --out /tmp/shots

Seeds the DARTS sample's world (``seed_darts_world``) plus a dollars-off program, *Fromm Gold $5 Off*, whose
three redemptions at Mile High Pets owe the store $5.00 each through Rocky Mountain Feed (``seed_rebate_world``,
shared with tests/e2e/test_rebates_console.py), serves the real app on 127.0.0.1 and walks the story in
headless Chromium at 1280x800: the distributor lands on "Free Goods or Rebates Dashboard", opens the Rebates
Dashboard, batches the rebates, marks the batch credited, and the store sees it under Distributor Rebate
Credit Batches. Self-contained (a temporary SQLite file), like tests/e2e/fb_screenshots.py.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import Page

from connector.core.access import Actor
from connector.core.frequent_buyer import pos_ingest, programs
from connector.core.frequent_buyer.pos_types import ParsedReport, PosCard, PosCustomer, PosItem
from connector.core.frequent_buyer.programs import ItemSpec
from connector.core.runtime import Runtime
from tests.e2e.fb_screenshots import DartsWorld, seed_darts_world
from tests.e2e.harness import album, build_runtime, screenshot_settings, screenshots_main
from tests.e2e.pages import click_and_wait, log_in

REBATE_CARDS = 3


@dataclass(frozen=True)
class RebateWorld:
    darts: DartsWorld
    program_id: int


def _card(n: int) -> PosCard:
    def item(quantity: int, row: int) -> PosItem:
        return PosItem(sku="FRM-GOLD-26", description="Gold 26 lb", quantity=quantity, size_value=Decimal(26),
                       size_unit="lb", row=row)  # fmt: skip

    customer = PosCustomer(name=f"Rebate Customer {n}", email=f"rebate{n}@example.com")
    return PosCard(
        key=f"101-R{n}", redeemed_on=date(2025, 3, 10 + n), customer=customer, purchases=(item(4, 2 * n),),
        free_goods=(item(1, 2 * n + 1),), store_code="101", program_code="FROMM GOLD $5 OFF",
        rows=(2 * n, 2 * n + 1),
    )  # fmt: skip


def seed_rebate_world(rt: Runtime) -> RebateWorld:
    """The DARTS world plus a $5.00-off Fromm program and ``REBATE_CARDS`` processed redemptions of it."""
    darts = seed_darts_world(rt)
    admin = Actor.system("seed")
    fromm = programs.list_programs(rt, admin)[-1].brand_id
    program = programs.create_program(
        rt, admin, brand_id=fromm, name="Fromm Gold $5 Off", code="FROMM GOLD $5 OFF", buy_quantity=4,
        rebate_amount="5.00", items=[ItemSpec("FRM-GOLD-26", "Gold 26 lb", 26, "lb", None, "Dry Dog")],
    )  # fmt: skip
    programs.associate_program(rt, admin, darts.distributor_id, program.id)
    programs.enroll(
        rt, admin, retailer_id=darts.retailer_id, program_id=program.id, distributor_id=darts.distributor_id
    )
    cards = tuple(_card(n) for n in range(1, REBATE_CARDS + 1))
    digest = hashlib.sha256(repr(cards).encode()).hexdigest()
    report = ParsedReport(format="darts", sha256=digest, row_count=2 * REBATE_CARDS + 1, cards=cards)
    summary = pos_ingest.import_pos_report(rt, admin, darts.retailer_id, report, "offers-march.csv")
    assert summary.rebates_created == REBATE_CARDS, summary
    return RebateWorld(darts, program.id)


# -- the steps, in the DOM contract's selectors (the e2e test takes the same ones) ---------------------------


def open_rebates_dashboard(page: Page) -> None:
    """From the landing choice, open the Rebates Dashboard."""
    click_and_wait(page.locator("#rebates-dashboard"))


def batch_all_rebates(page: Page, description: str) -> None:
    """On Unbatched Rebates: tick every row and roll them into a new Distributor Rebate Credit Batch."""
    page.goto("/admin/rebates?section=unbatched")
    form = page.locator("#rebate-actions")
    for box in form.locator('input[name="ids"]').all():
        box.check()
    form.locator('input[name="description"]').fill(description)
    click_and_wait(form.locator('button[name="action"][value="batch"]'))


def credit_first_batch(page: Page) -> None:
    """On Unfulfilled Batches: mark the (newest) rebate batch credited."""
    page.goto("/admin/rebates?section=unfulfilled")
    click_and_wait(page.locator("#section-batches form.action-credit button").first)


def take(out: Path, workdir: Path) -> list[Path]:
    """Seed, serve, walk the story, photograph; returns the files written. Fails if the server answered any 5xx."""
    rt = build_runtime(screenshot_settings(workdir, "fb-rebate-screenshots.sqlite3", {}))
    world = seed_rebate_world(rt)
    with album(rt, out) as photos:
        rex = photos.new_page()
        log_in(rex, world.darts.distributor)
        photos.shot(rex, "fb-rebates-01-landing-choice.png")
        open_rebates_dashboard(rex)
        photos.shot(rex, "fb-rebates-02-unbatched-rebates.png")
        batch_all_rebates(rex, "Mile High Pets rebates, March 2025")
        rex.goto("/admin/rebates?section=unfulfilled")
        click_and_wait(rex.locator("#section-batches tr[data-batch-id] a").first)
        click_and_wait(rex.locator("form.action-credit button"))
        photos.shot(rex, "fb-rebates-03-batch-credited.png", whole=True)
        rex.goto("/admin/distribution/reports/rebate-credit-fulfillment")
        photos.shot(rex, "fb-rebates-04-rebate-credit-fulfillment.png")
        store = photos.new_page()
        log_in(store, world.darts.retailer)
        store.goto("/admin/rebate-credit-batches")
        photos.shot(store, "fb-rebates-05-retailer-rebate-credit-batches.png")
    return photos.written


def main(argv: list[str] | None = None) -> int:
    return screenshots_main(take, (__doc__ or "").split("\n\n")[0], argv, prefix="connector-fb-rebate-shots-")


if __name__ == "__main__":
    raise SystemExit(main())
