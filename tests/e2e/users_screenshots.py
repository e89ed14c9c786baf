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

from pathlib import Path

from tests.conftest import TEST_ENV
from tests.e2e.harness import album, build_runtime, screenshot_settings, screenshots_main
from tests.e2e.pages import click_and_wait, log_in
from tests.e2e.seed import PASSWORD, seed_console
from tests.fakes import FakeShopPlugin
from tests.web.admin.users_support import link_path, mails_to, user_row

INVITED = "nina.new@example.com"


def take(out: Path, workdir: Path) -> list[Path]:
    settings = screenshot_settings(workdir, "users-shots.sqlite3", TEST_ENV)
    shop = FakeShopPlugin()
    rt = build_runtime(settings, [shop])
    console = seed_console(rt, shop)
    with album(rt, out) as photos:
        shot = photos.shot
        admin = photos.new_page()
        log_in(admin, console.brand_admin)
        admin.goto("/admin/users")
        form = admin.locator("#invite-form")
        form.locator('input[name="email"]').fill(INVITED)
        form.locator('input[name="name"]').fill("Nina New")
        form.locator('select[name="role"]').select_option("support")
        shot(admin, "users-01-list-and-invite.png", whole=True)
        click_and_wait(form.locator('button[type="submit"]'))
        shot(admin, "users-02-invited-user.png", whole=True)

        nina = photos.new_page()
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
    return photos.written


def main(argv: list[str] | None = None) -> int:
    return screenshots_main(take, (__doc__ or "").split("\n\n")[0], argv, prefix="connector-user-shots-")


if __name__ == "__main__":
    raise SystemExit(main())
