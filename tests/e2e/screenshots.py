"""Screenshots of the admin console's main pages, for docs/screenshots/ and for a human look.

    python -m tests.e2e.screenshots            # writes docs/screenshots/*.png
    python -m tests.e2e.screenshots --out /tmp/shots

Seeds a realistic dataset (the e2e seed plus more claims) into a fresh SQLite file, serves the
real app on 127.0.0.1 and photographs each page in Debian's headless Chromium at 1280x800, the
way support staff see it: logged in as the support user, an ERROR tooltip hovered. Self-contained
(no PostgreSQL needed) so anyone can refresh the pictures after a UI change with one command.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page

from tests.conftest import TEST_ENV
from tests.e2e.harness import (
    album,
    build_runtime,
    screenshot_settings,
    screenshots_main,
)
from tests.e2e.pages import log_in_to_fulfilments, open_tab, row, submit, wait_until_seen
from tests.e2e.seed import Console, seed_console
from tests.fakes import FakeShopPlugin


def _shots(console: Console) -> list[tuple[str, Callable[[Page], None], bool]]:
    """(file name, how to get the page into the state to photograph, whole page?), in the order a person meets them.

    Pages with a history (the timeline, the ledger) are taken whole; the rest as the 1280x800 window shows them.
    """
    r = console.redemptions

    def goto(url: str) -> Callable[[Page], None]:
        return lambda page: page.goto(url) and None

    def hovered_error(page: Page) -> None:
        page.goto("/admin/fulfilments?tab=unfulfilled")
        label = row(page, r["product_not_found"]).locator(".status-label")
        label.hover()
        wait_until_seen(label.locator(".error-tooltip"), seen=True)

    def fulfilled(page: Page) -> None:
        page.goto("/admin/fulfilments")
        open_tab(page, "fulfilled")

    def reversed_with_flash(page: Page) -> None:
        page.goto(f"/admin/redemptions/{r['fresh']}/reverse")
        form = page.locator("#reverse-form")
        form.locator('input[name="order"][value="cancel_restock"]').check()
        form.locator('textarea[name="reason"], input[name="reason"]').fill("Member asked for a different reward")
        submit(form)
        page.locator('.flash[data-kind="success"]').wait_for()

    return [
        ("02-unfulfilled-error-tooltip.png", hovered_error, False),
        ("03-fulfilled.png", fulfilled, False),
        ("04-reversed.png", goto("/admin/fulfilments?tab=reversed"), False),
        ("05-details-timeline.png", goto(f"/admin/redemptions/{r['delivered']}"), True),
        ("06-details-error.png", goto(f"/admin/redemptions/{r['crm_id_not_found']}"), False),
        ("07-reverse-confirmation.png", goto(f"/admin/redemptions/{r['fresh']}/reverse"), False),
        ("08-member-ledger.png", goto(f"/admin/members/{console.members['alan']}"), True),
        ("09-reversed-details-flash.png", reversed_with_flash, True),
    ]


def take(out: Path, workdir: Path) -> list[Path]:
    """Seed, serve, photograph; returns the files written. Fails if the server answered any 5xx."""
    settings = screenshot_settings(workdir, "screenshots.sqlite3", TEST_ENV, retry_base_seconds=60.0)
    shop = FakeShopPlugin()
    rt = build_runtime(settings, [shop])
    console = seed_console(rt, shop, realistic=True)
    with album(rt, out) as photos:
        page = photos.new_page()
        page.goto("/admin/login")
        photos.shot(page, "01-login.png")
        log_in_to_fulfilments(page, console.support)
        for name, prepare, whole in _shots(console):
            prepare(page)
            photos.shot(page, name, whole=whole)
    return photos.written


def main(argv: list[str] | None = None) -> int:
    return screenshots_main(take, __doc__.split("\n\n")[0], argv, prefix="connector-shots-")


if __name__ == "__main__":
    raise SystemExit(main())
