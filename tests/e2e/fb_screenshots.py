"""Screenshots of the console's frequent-buyer pages, for docs/screenshots/fb-*.png and for a human look.

    python -m tests.e2e.fb_screenshots            # writes docs/screenshots/fb-*.png
    python -m tests.e2e.fb_screenshots --out /tmp/shots

Seeds the DARTS sample's world (a Colorado store with two locations, its distributor, the Taste of
the Wild and Fromm programs: ``seed_darts_world``, shared with tests/e2e/test_frequent_buyer_console.py)
into a fresh SQLite file, serves the real app on 127.0.0.1 and walks the story in Debian's headless
Chromium at 1280x800: the store uploads tests/data/pos/darts-bxgy-sample.csv (6 of its 8 cards are
denied, one for each reason), the distributor batches the two processed free goods and marks the batch
credited, and the store compares the distributor's credit memo with it. Each page is photographed as
the person doing that step sees it. Self-contained (no PostgreSQL needed), like tests/e2e/screenshots.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import Page

from connector.core import catalog
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.frequent_buyer import programs
from connector.core.frequent_buyer.programs import ItemSpec, LocationSpec, PriceSpec
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.users import create_user
from tests.e2e.harness import (
    ROOT,
    album,
    build_runtime,
    screenshot_settings,
    screenshots_main,
)
from tests.e2e.pages import click_and_wait, log_in
from tests.e2e.seed import PASSWORD, ConsoleUser

SAMPLE = ROOT / "tests" / "data" / "pos" / "darts-bxgy-sample.csv"
#: The sample's outcome with the programs below: 8 cards, 2 processed, 6 denied (one per rule, twice the code).
SAMPLE_CARDS, SAMPLE_PROCESSED, SAMPLE_DENIED = 8, 2, 6


@dataclass(frozen=True)
class DartsWorld:
    """The parties of the DARTS sample and the console users who work for them."""

    retailer_id: int
    distributor_id: int
    retailer: ConsoleUser
    distributor: ConsoleUser


def seed_darts_world(rt: Runtime) -> DartsWorld:
    """Programs, store, distributor, enrollments and prices that the sample export's cards are judged against.

    As in the API test of the same file: TOTW DOG DRY 12+1 and FROMM GOLD 10+1 exist, WERUVA CAT 12+1
    does not (its cards are denied as an unknown program), and the store runs both through Rocky Mountain
    Feed. The price list gives the processed free goods an approximate cost.
    """
    admin = Actor.system("seed")
    with transaction(rt.sessions) as s:
        totw, fromm = catalog.create_brand(s, "Taste of the Wild").id, catalog.create_brand(s, "Fromm").id
    dog = programs.create_program(
        rt, admin, brand_id=totw, name="TOTW DOG DRY 12+1", buy_quantity=12,
        items=[ItemSpec("TOTW-HP-28", "High Prairie 28 lb", 28, "lb", "074198612528", "Dry Dog"),
               ItemSpec("TOTW-HP-14", "High Prairie 14 lb", 14, "lb", "074198612514", "Dry Dog"),
               ItemSpec("TOTW-HP-5", "High Prairie 5 lb", 5, "lb", None, "Dry Dog")],
    )  # fmt: skip
    gold = programs.create_program(
        rt, admin, brand_id=fromm, name="FROMM GOLD 10+1", buy_quantity=10,
        items=[ItemSpec("FRM-GOLD-15", "Gold 15 lb", 15, "lb", None, "Dry Dog"),
               ItemSpec("FRM-GOLD-5", "Gold 5 lb", 5, "lb", None, "Dry Dog")],
    )  # fmt: skip
    store = programs.create_retailer(
        rt, admin, name="Mile High Pets",
        locations=[LocationSpec("Denver", "101", "CO", "80202", "1600 Champa St", "Denver"),
                   LocationSpec("Boulder", "102", "CO", "80301", "2525 Arapahoe Ave", "Boulder")],
    )  # fmt: skip
    rocky = programs.create_distributor(
        rt, admin, name="Rocky Mountain Feed", service_states=["CO"], program_ids=[dog.id, gold.id]
    )
    for program in (dog, gold):
        programs.enroll(
            rt, admin, retailer_id=store.id, program_id=program.id, distributor_id=rocky.id, account_number="MHP-2201"
        )
    programs.upsert_price_list(
        rt, admin, store.id, [PriceSpec("TOTW-HP-28", Decimal("54.99")), PriceSpec("FRM-GOLD-5", Decimal("18.49"))]
    )
    retailer = ConsoleUser("maya@milehighpets.example", "Maya Store", Role.RETAILER)
    distributor = ConsoleUser("rex@rockymountainfeed.example", "Rex Distributor", Role.DISTRIBUTOR)
    with transaction(rt.sessions) as s:
        create_user(
            s, email=retailer.email, name=retailer.name, password=PASSWORD, role=retailer.role, retailer_id=store.id
        )
        create_user(
            s,
            email=distributor.email,
            name=distributor.name,
            password=PASSWORD,
            role=distributor.role,
            distributor_id=rocky.id,
        )
    return DartsWorld(store.id, rocky.id, retailer, distributor)


# -- the steps, in the DOM contract's selectors (the e2e test takes the same ones) ---------------------------


def upload_report(page: Page, path: Path, mode: str) -> None:
    """Choose the file in form#pos-upload and press Preview (``preview``) or Import (``import``)."""
    form = page.locator("#pos-upload")
    form.locator('input[name="file"]').set_input_files(str(path))
    click_and_wait(form.locator(f'button[name="mode"][value="{mode}"]'))


def batch_all_unbatched(page: Page, description: str) -> None:
    """On Unbatched Free Goods: tick every row and roll them into a new batch."""
    page.goto("/admin/distribution?section=unbatched")
    form = page.locator("#distribution-actions")
    for box in form.locator('input[name="ids"]').all():
        box.check()
    form.locator('input[name="description"]').fill(description)
    click_and_wait(form.locator('button[name="action"][value="batch"]'))


def fulfil_first_batch(page: Page) -> None:
    """On Unfulfilled Batches: mark the (newest) batch fulfilled/credited."""
    page.goto("/admin/distribution?section=unfulfilled")
    click_and_wait(page.locator("form.action-fulfil button").first)


def take(out: Path, workdir: Path) -> list[Path]:
    """Seed, serve, walk the story, photograph; returns the files written. Fails if the server answered any 5xx."""
    settings = screenshot_settings(workdir, "fb-screenshots.sqlite3", {})
    rt = build_runtime(settings)
    world = seed_darts_world(rt)
    memo = workdir / "rocky-credit-memo-CM-5521.csv"
    memo.write_text("SKU,Description,Qty,Amount\nTOTW-HP-28,High Prairie 28 lb,1,54.99\nFRM-GOLD-5,Gold 5 lb,2,36.98\n")
    with album(rt, out) as photos:
        new_page, shot = photos.new_page, photos.shot
        store = new_page()
        log_in(store, world.retailer)
        upload_report(store, SAMPLE, "preview")
        shot(store, "fb-01-pos-upload-preview.png", whole=True)
        upload_report(store, SAMPLE, "import")
        shot(store, "fb-02-pos-dashboard.png")
        click_and_wait(store.locator('#pos-reports td[data-status="denied"] a').first)
        store.locator("#pos-review details.fb-card").nth(1).locator("summary").click()
        shot(store, "fb-03-pos-review-denied.png", whole=True)

        rex = new_page()
        log_in(rex, world.distributor)
        rex.goto("/admin/distribution")  # past the landing choice (Free Goods or Rebates Dashboard)
        shot(rex, "fb-04-distribution-unbatched.png")
        batch_all_unbatched(rex, "Mile High Pets, March 2025")
        rex.goto("/admin/distribution?section=unfulfilled")
        click_and_wait(rex.locator("#section-batches tr[data-batch-id] a").first)
        click_and_wait(rex.locator("form.action-fulfil button"))
        shot(rex, "fb-05-batch-fulfilled.png", whole=True)

        store.goto("/admin/credit-status")
        shot(store, "fb-06-credit-status.png", whole=True)
        form = store.locator("form.credit-memo-upload").first
        form.locator('input[name="file"]').set_input_files(str(memo))
        click_and_wait(form.locator('button[type="submit"]'))
        shot(store, "fb-07-credit-memo-comparison.png", whole=True)

        # The store's own reports (each number opens its detail) and its email notice switches.
        click_and_wait(store.locator("nav a", has_text="Retailer Reports"))
        shot(store, "fb-08-participation.png", whole=True)
        click_and_wait(store.locator('#participation tr[data-program-id="total"] td[data-metric="items"] a'))
        shot(store, "fb-09-participation-items-sold.png", whole=True)
        click_and_wait(store.locator("a", has_text="Redemption by Date"))
        shot(store, "fb-10-redemption-by-date.png", whole=True)
        click_and_wait(store.locator("#account-link"))
        shot(store, "fb-11-account-notices.png")
    return photos.written


def main(argv: list[str] | None = None) -> int:
    return screenshots_main(take, (__doc__ or "").split("\n\n")[0], argv, prefix="connector-fb-shots-")


if __name__ == "__main__":
    raise SystemExit(main())
