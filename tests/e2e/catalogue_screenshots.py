"""Screenshots of the member edit page and the Rewards section, for docs/screenshots/catalogue-*.png.

    python -m tests.e2e.catalogue_screenshots            # writes docs/screenshots/catalogue-*.png
    python -m tests.e2e.catalogue_screenshots --out /tmp/shots

The same seed and server as tests/e2e/screenshots.py (a temporary SQLite file, the fake shop), in
Debian's headless Chromium at 1280x800. Kept apart from that script so refreshing these pictures does
not rewrite the others.
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
from connector.core.tables import Redemption
from connector.migrations import upgrade
from tests.conftest import TEST_ENV
from tests.e2e.harness import CHROMIUM, DEFAULT_TIMEOUT_MS, LiveServer, build_runtime, launch_chromium
from tests.e2e.pages import click_and_wait, log_in, row, wait_until_seen
from tests.e2e.screenshots import ROOT, VIEWPORT
from tests.e2e.seed import seed_console
from tests.fakes import FakeShopPlugin


def take(out: Path, workdir: Path) -> list[Path]:
    database_url = f"sqlite:///{workdir / 'screenshots.sqlite3'}"
    upgrade(database_url)
    settings = Settings.from_env(
        TEST_ENV,
        database_url=database_url,
        outbox_dir=workdir / "outbox",
        jobs_mode="sync",
        retry_base_seconds=60.0,
        secret_key=secrets.token_hex(32),
        encryption_keys=(generate_key(),),
    )
    shop = FakeShopPlugin()
    rt = build_runtime(settings, [shop])
    console = seed_console(rt, shop, realistic=True)
    r = console.redemptions
    with rt.sessions() as s:
        crm = s.get(Redemption, r["crm_id_not_found"])
        sku = s.get(Redemption, r["product_not_found"])
        assert crm is not None and sku is not None
        member_id, reward_id = crm.member_id, sku.reward_id
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with LiveServer(rt) as server, sync_playwright() as playwright:
        browser = launch_chromium(playwright)

        def page_for(user: object) -> object:
            context = browser.new_context(base_url=server.url, viewport=VIEWPORT)
            context.set_default_timeout(DEFAULT_TIMEOUT_MS)
            page = context.new_page()
            log_in(page, user)  # type: ignore[arg-type]
            return page

        def shot(page: object, name: str, *, whole: bool = False) -> None:
            written.append(out / name)
            page.screenshot(path=written[-1], full_page=whole)  # type: ignore[attr-defined]

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
        browser.close()
    rt.engine.dispose()
    if server.errors.seen:
        raise SystemExit(f"the server answered with errors: {server.errors.seen}")
    del member_id
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="folder for the PNGs")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: run .ci/install-browser first", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="connector-shots-") as workdir:
        for path in take(args.out, Path(workdir)):
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
