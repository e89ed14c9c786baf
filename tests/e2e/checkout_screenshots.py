"""Screenshots of Checkout (in-store redemption), for docs/screenshots/fb-checkout-*.png and for a human look.

    python -m tests.e2e.checkout_screenshots            # writes docs/screenshots/fb-checkout-*.png
    python -m tests.e2e.checkout_screenshots --out /tmp/shots

Seeds the DARTS sample's world (``seed_darts_world``: Mile High Pets, Rocky Mountain Feed, the Taste of
the Wild and Fromm programs) plus the store's cashier login, serves the real app on 127.0.0.1 and walks
the counter in Debian's headless Chromium at 1280x800: the cashier looks a customer up, adds her as a
New Customer, scans twelve bags onto her card and redeems the free bag. The steps are the ones
tests/e2e/test_checkout_console.py takes.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

from connector.core.database import transaction
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.users import create_user
from tests.e2e.fb_screenshots import DartsWorld, seed_darts_world
from tests.e2e.harness import album, build_runtime, screenshot_settings, screenshots_main
from tests.e2e.pages import click_and_wait, log_in
from tests.e2e.seed import PASSWORD, ConsoleUser

CASHIER = ConsoleUser("till@milehighpets.example", "Mile High Pets Counter", Role.CASHIER)


def seed_counter(rt: Runtime) -> DartsWorld:
    """The DARTS world and the store's shared cashier login."""
    world = seed_darts_world(rt)
    with transaction(rt.sessions) as s:
        create_user(
            s,
            email=CASHIER.email,
            name=CASHIER.name,
            password=PASSWORD,
            role=CASHIER.role,
            retailer_id=world.retailer_id,
        )
    return world


# -- the steps, in the pages' selectors (the e2e test takes the same ones) -----------------------------------


def look_up(page: Page, text: str) -> None:
    form = page.locator("#checkout-lookup")
    form.locator('input[name="q"]').fill(text)
    click_and_wait(form.locator('button[type="submit"]'))


def add_customer(page: Page, name: str, phone: str, email: str) -> None:
    click_and_wait(page.locator("#add-customer"))
    form = page.locator("#add-customer-form")
    form.locator('input[name="name"]').fill(name)
    form.locator('input[name="phone"]').fill(phone)
    form.locator('input[name="email"]').fill(email)
    click_and_wait(form.locator('button[type="submit"]'))


def add_item(page: Page, item: str, quantity: int) -> None:
    form = page.locator("#add-item-form")
    form.locator('input[name="item"]').fill(item)
    form.locator('input[name="quantity"]').fill(str(quantity))
    click_and_wait(form.locator('button[type="submit"]'))


def redeem(page: Page, program_name: str) -> None:
    card = page.locator(".co-card", has_text=program_name)
    click_and_wait(card.locator("form.redeem-form button[type=submit]"))


def take(out: Path, workdir: Path) -> list[Path]:
    """Seed, serve, walk the counter, photograph; returns the files written."""
    rt = build_runtime(screenshot_settings(workdir, "checkout-screenshots.sqlite3", {}))
    seed_counter(rt)
    with album(rt, out) as photos:
        till = photos.new_page()
        log_in(till, CASHIER)
        look_up(till, "Avery")
        photos.shot(till, "fb-checkout-01-lookup.png")
        add_customer(till, "Avery Brooks", "303-555-0142", "avery@example.com")
        add_item(till, "TOTW-HP-28", 7)
        photos.shot(till, "fb-checkout-02-card-progress.png", whole=True)
        add_item(till, "074198612528", 5)
        photos.shot(till, "fb-checkout-03-reward-ready.png", whole=True)
        redeem(till, "TOTW DOG DRY 12+1")
        photos.shot(till, "fb-checkout-04-redeemed-this-visit.png", whole=True)
    return photos.written


def main(argv: list[str] | None = None) -> int:
    return screenshots_main(take, (__doc__ or "").split("\n\n")[0], argv, prefix="connector-checkout-shots-")


if __name__ == "__main__":
    raise SystemExit(main())
