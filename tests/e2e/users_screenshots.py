"""Screenshots of the Users, API tokens and Audit log pages, for docs/screenshots/users-*.png.

    python -m tests.e2e.users_screenshots            # writes docs/screenshots/users-*.png
    python -m tests.e2e.users_screenshots --out /tmp/shots

Seeds the e2e console (tests/e2e/seed.py) into a fresh SQLite file, serves the real app on 127.0.0.1
and walks the story in Debian's headless Chromium at 1280x800: the brand admin invites a support
user, the invited person opens the emailed link (read from the outbox) and chooses a password, the
brand admin creates an API token (its secret shown once) and disables the viewer; then the Audit log.
Self-contained (no PostgreSQL needed), like tests/e2e/screenshots.py.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from connector.config import Settings
from connector.core.credentials import generate_key
from connector.migrations import upgrade
from tests.conftest import TEST_ENV
from tests.e2e.harness import CHROMIUM, DEFAULT_TIMEOUT_MS, LiveServer, build_runtime, launch_chromium
from tests.e2e.pages import click_and_wait, log_in
from tests.e2e.seed import PASSWORD, seed_console
from tests.fakes import FakeShopPlugin
from tests.web.admin.users_support import link_path, mails_to, user_row

ROOT = Path(__file__).resolve().parents[2]
VIEWPORT = {"width": 1280, "height": 800}
INVITED = "nina.new@example.com"


def take(out: Path, workdir: Path) -> list[Path]:
    database_url = f"sqlite:///{workdir / 'users-shots.sqlite3'}"
    upgrade(database_url)
    settings = Settings.from_env(
        TEST_ENV,
        database_url=database_url,
        outbox_dir=workdir / "outbox",
        jobs_mode="sync",
        secret_key=secrets.token_hex(32),
        encryption_keys=(generate_key(),),
    )
    shop = FakeShopPlugin()
    rt = build_runtime(settings, [shop])
    console = seed_console(rt, shop)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    with LiveServer(rt) as server, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        admin = browser.new_context(base_url=server.url, viewport=VIEWPORT).new_page()
        admin.set_default_timeout(DEFAULT_TIMEOUT_MS)

        def shot(page: object, name: str, whole: bool = False) -> None:
            written.append(out / name)
            page.screenshot(path=written[-1], full_page=whole)  # type: ignore[attr-defined]

        log_in(admin, console.brand_admin)
        admin.goto("/admin/users")
        form = admin.locator("#invite-form")
        form.locator('input[name="email"]').fill(INVITED)
        form.locator('input[name="name"]').fill("Nina New")
        form.locator('select[name="role"]').select_option("support")
        shot(admin, "users-01-list-and-invite.png", whole=True)
        click_and_wait(form.locator('button[type="submit"]'))
        shot(admin, "users-02-invited-user.png", whole=True)

        nina = browser.new_context(base_url=server.url, viewport=VIEWPORT).new_page()
        nina.goto(link_path(mails_to(rt, INVITED)[0]))
        nina.locator("#password").fill(PASSWORD)
        nina.locator("#password-again").fill(PASSWORD)
        shot(nina, "users-03-choose-password.png")
        click_and_wait(nina.locator('#welcome-form button[type="submit"]'))

        admin.goto(f"/admin/users/{user_row(rt, console.viewer.email).id}")
        click_and_wait(admin.locator('#disable-form button[type="submit"]'))
        shot(admin, "users-04-disabled-user.png", whole=True)

        admin.goto("/admin/tokens")
        token_form = admin.locator("#token-form")
        token_form.locator('input[name="name"]').fill("warehouse-sync")
        token_form.locator('select[name="role"]').select_option("viewer")
        click_and_wait(token_form.locator('button[type="submit"]'))
        shot(admin, "users-05-token-secret-shown-once.png", whole=True)

        admin.goto("/admin/audit")
        shot(admin, "users-06-audit-log.png", whole=True)
        browser.close()
    rt.engine.dispose()
    if server.errors.seen:
        raise SystemExit(f"the server answered with errors: {server.errors.seen}")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="folder for the PNGs")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: run .ci/install-browser first", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="connector-user-shots-") as workdir:
        for path in take(args.out, Path(workdir)):
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
