"""Screenshots of retailer and distributor self-service, for docs/screenshots/enroll-*.png.

    python -m tests.e2e.enrollment_screenshots            # writes docs/screenshots/enroll-*.png
    python -m tests.e2e.enrollment_screenshots --out /tmp/shots

Seeds a Colorado store with no enrollments yet, two distributors serving Colorado and two programs
(``seed_enrollment_world``, shared with tests/e2e/test_enrollment_self_service.py) into a fresh SQLite
file, serves the real app and walks both stories in headless Chromium at 1280x800: the store enrolls from
the Programs page's Enroll button choosing Rocky Mountain Feed with its account number, then moves to
Front Range Pet Supply; Front Range chooses its programs and tries a service area that would strand the
store (refused, naming it), then the Account Number Changes report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page

from connector.core import catalog
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.frequent_buyer import programs
from connector.core.frequent_buyer.programs import ItemSpec, LocationSpec
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.users import create_user
from tests.e2e.harness import album, build_runtime, screenshot_settings, screenshots_main
from tests.e2e.pages import click_and_wait, log_in
from tests.e2e.seed import PASSWORD, ConsoleUser


@dataclass(frozen=True)
class EnrollmentWorld:
    retailer_id: int
    dog_id: int
    cat_id: int
    rocky_id: int
    front_range_id: int
    retailer: ConsoleUser
    front_range: ConsoleUser


def seed_enrollment_world(rt: Runtime) -> EnrollmentWorld:
    """A store in Denver and Boulder enrolled in nothing; Rocky Mountain Feed carries both programs, Front
    Range Pet Supply only the dog program; both serve Colorado."""
    admin = Actor.system("seed")
    with transaction(rt.sessions) as s:
        totw = catalog.create_brand(s, "Taste of the Wild").id
    dog = programs.create_program(
        rt, admin, brand_id=totw, name="TOTW DOG DRY 12+1", buy_quantity=12,
        items=[ItemSpec("TOTW-HP-28", "High Prairie 28 lb", 28, "lb", None, "Dry Dog")],
    )  # fmt: skip
    cat = programs.create_program(
        rt, admin, brand_id=totw, name="TOTW CAT DRY 10+1", buy_quantity=10,
        items=[ItemSpec("TOTW-CAT-15", "Rocky Mountain Feline 15 lb", 15, "lb", None, "Dry Cat")],
    )  # fmt: skip
    store = programs.create_retailer(
        rt, admin, name="Mile High Pets",
        locations=[LocationSpec("Denver", "101", "CO", "80202", "1600 Champa St", "Denver"),
                   LocationSpec("Boulder", "102", "CO", "80301", "2525 Arapahoe Ave", "Boulder")],
    )  # fmt: skip
    rocky = programs.create_distributor(
        rt, admin, name="Rocky Mountain Feed", service_states=["CO", "WY"], program_ids=[dog.id, cat.id]
    )
    front = programs.create_distributor(
        rt, admin, name="Front Range Pet Supply", service_states=["CO"], program_ids=[dog.id]
    )
    retailer = ConsoleUser("maya@milehighpets.example", "Maya Store", Role.RETAILER)
    front_user = ConsoleUser("fran@frontrange.example", "Fran Distributor", Role.DISTRIBUTOR)
    with transaction(rt.sessions) as s:
        create_user(
            s, email=retailer.email, name=retailer.name, password=PASSWORD, role=retailer.role, retailer_id=store.id
        )
        create_user(
            s, email=front_user.email, name=front_user.name, password=PASSWORD, role=front_user.role,
            distributor_id=front.id,
        )  # fmt: skip
    return EnrollmentWorld(store.id, dog.id, cat.id, rocky.id, front.id, retailer, front_user)


# -- the steps (the e2e test takes the same selectors) ------------------------------------------------------


def enroll_from_programs_page(page: Page, program_id: int, distributor: str, account_number: str) -> None:
    """Programs → the program's Enroll button → choose the distributor, type the account number, Enroll."""
    page.goto("/admin/programs")
    click_and_wait(page.locator(f'tr[data-program-id="{program_id}"] a.fb-enroll'))
    form = page.locator("#enroll-form")
    form.locator('select[name="distributor_id"]').select_option(label=distributor)
    form.locator('input[name="account_number"]').fill(account_number)
    click_and_wait(form.locator('button[type="submit"]'))


def change_distributor(page: Page, distributor: str, account_number: str) -> None:
    form = page.locator("#change-distributor")
    form.locator('select[name="distributor_id"]').select_option(label=distributor)
    form.locator('input[name="account_number"]').fill(account_number)
    click_and_wait(form.locator('button[type="submit"]'))


def open_distributor_setup(page: Page) -> None:
    page.goto("/admin/distribution")
    click_and_wait(page.locator("#distributor-setup"))


def save_service_area(page: Page, states: str, zips: str = "") -> None:
    form = page.locator("#service-area")
    form.locator('input[name="service_states"]').fill(states)
    form.locator('input[name="zips"]').fill(zips)
    click_and_wait(form.locator('button[type="submit"]'))


def take(out: Path, workdir: Path) -> list[Path]:
    settings = screenshot_settings(workdir, "enroll-screenshots.sqlite3", {})
    rt = build_runtime(settings)
    world = seed_enrollment_world(rt)
    with album(rt, out) as photos:
        store = photos.new_page()
        log_in(store, world.retailer)
        store.goto("/admin/programs")
        photos.shot(store, "enroll-01-programs-enroll-button.png")
        click_and_wait(store.locator(f'tr[data-program-id="{world.dog_id}"] a.fb-enroll'))
        store.locator('#enroll-form input[name="account_number"]').fill("MHP-2201")
        photos.shot(store, "enroll-02-enroll-form.png", whole=True)
        click_and_wait(store.locator('#enroll-form button[type="submit"]'))
        change_distributor(store, "Front Range Pet Supply", "FR-0417")
        photos.shot(store, "enroll-03-distributor-changed.png", whole=True)

        fran = photos.new_page()
        log_in(fran, world.front_range)
        open_distributor_setup(fran)
        fran.locator(f'#distributor-programs input[value="{world.cat_id}"]').check()
        click_and_wait(fran.locator('#distributor-programs button[type="submit"]'))
        save_service_area(fran, "WY")
        photos.shot(fran, "enroll-04-distributor-setup-refused.png", whole=True)
        fran.goto("/admin/distribution/reports/account-number-changes")
        photos.shot(fran, "enroll-05-account-number-changes-report.png", whole=True)
    return photos.written


def main(argv: list[str] | None = None) -> int:
    return screenshots_main(take, (__doc__ or "").split("\n\n")[0], argv, prefix="connector-enroll-shots-")


if __name__ == "__main__":
    raise SystemExit(main())
