"""Screenshots of the member edit page and the Rewards section, for docs/screenshots/catalogue-*.png.

    python -m tests.e2e.catalogue_screenshots            # writes docs/screenshots/catalogue-*.png
    python -m tests.e2e.catalogue_screenshots --out /tmp/shots

The same seed and server as tests/e2e/screenshots.py (a temporary SQLite file, the fake shop), in
Debian's headless Chromium at 1280x800. Kept apart from that script so refreshing these pictures does
not rewrite the others.
"""

from __future__ import annotations

from pathlib import Path

from connector.core.tables import Redemption
from tests.conftest import TEST_ENV
from tests.e2e.harness import album, build_runtime, screenshot_settings, screenshots_main
from tests.e2e.pages import click_and_wait, log_in, row, wait_until_seen
from tests.e2e.seed import seed_console
from tests.fakes import FakeShopPlugin


def take(out: Path, workdir: Path) -> list[Path]:
    settings = screenshot_settings(workdir, "screenshots.sqlite3", TEST_ENV, retry_base_seconds=60.0)
    shop = FakeShopPlugin()
    rt = build_runtime(settings, [shop])
    console = seed_console(rt, shop, realistic=True)
    r = console.redemptions
    with rt.sessions() as s:
        crm = s.get(Redemption, r["crm_id_not_found"])
        sku = s.get(Redemption, r["product_not_found"])
        assert crm is not None and sku is not None
        reward_id = sku.reward_id
    with album(rt, out) as photos:

        def page_for(user: object) -> object:
            page = photos.new_page()
            log_in(page, user)  # type: ignore[arg-type]
            return page

        shot = photos.shot
        admin = page_for(console.brand_admin)
        admin.goto("/admin/rewards")  # type: ignore[attr-defined]
        shot(admin, "catalogue-01-rewards.png")
        admin.goto(f"/admin/rewards/{reward_id}/edit")  # type: ignore[attr-defined]
        shot(admin, "catalogue-02-reward-edit-blocked.png", whole=True)

        support = page_for(console.support)
        support.goto("/admin/fulfilments?tab=unfulfilled")  # type: ignore[attr-defined]
        label = row(support, r["crm_id_not_found"]).locator(".status-label")  # type: ignore[arg-type]
        label.hover()
        wait_until_seen(label.locator(".error-tooltip"), seen=True)
        shot(support, "catalogue-03-error-tooltip-edit-link.png")
        click_and_wait(label.locator(".error-tooltip a"))
        shot(support, "catalogue-04-member-edit.png", whole=True)
        support.locator("#f-phone").fill("call me")  # type: ignore[attr-defined]
        click_and_wait(support.locator("#save-retry"))  # type: ignore[attr-defined]
        shot(support, "catalogue-05-member-edit-refused.png", whole=True)
    return photos.written


def main(argv: list[str] | None = None) -> int:
    return screenshots_main(take, (__doc__ or "").split("\n\n")[0], argv, prefix="connector-shots-")


if __name__ == "__main__":
    raise SystemExit(main())
