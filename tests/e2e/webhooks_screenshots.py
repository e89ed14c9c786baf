"""Screenshots of the Webhooks page, for docs/screenshots/webhooks-*.png.

    python -m tests.e2e.webhooks_screenshots            # writes docs/screenshots/webhooks-*.png
    python -m tests.e2e.webhooks_screenshots --out /tmp/shots

Seeds the e2e console (tests/e2e/seed.py) into a fresh SQLite file, starts a real receiver on
127.0.0.1 (tests/web/receiver.py) and serves the real app with CONNECTOR_OUTBOUND_WEBHOOKS_ALLOW_LOCAL
on, in Debian's headless Chromium at 1280x800. The brand admin adds the receiver as an endpoint (the
page shows its signing secret, once); then redemptions of the brand are claimed through the core and
the receiver answers each event its own way, so the delivery log holds one of each: delivered, failing
and waiting for its next attempt, and given up after the last attempt. Self-contained (no PostgreSQL
needed), like tests/e2e/screenshots.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from connector.core.errors import ProviderError
from connector.core.outbound_tables import OutboundDelivery
from connector.core.redemptions import create_redemption
from connector.core.runtime import Runtime
from connector.outbound_http import HttpWebhookSender
from tests.conftest import TEST_ENV
from tests.e2e.harness import album, build_runtime, screenshot_settings, screenshots_main
from tests.e2e.pages import click_and_wait, log_in
from tests.e2e.seed import SEEDER, Console, PinnedClock, _ship, pinned, seed_console
from tests.fakes import FakeShopPlugin
from tests.web.receiver import Receiver, running_receiver

#: Sends of one event before it is given up: three, so the given-up row shows a short, whole history.
MAX_ATTEMPTS = 3


def _claim(rt: Runtime, shop: FakeShopPlugin, member_id: int, reward_id: int, outcome: object = "ok") -> int:
    shop.script.append(outcome)
    return create_redemption(rt, SEEDER, member_id=member_id, reward_id=reward_id).redemption.id


def _pending(rt: Runtime, redemption_id: int) -> OutboundDelivery | None:
    with rt.sessions() as s:
        row = s.scalars(
            select(OutboundDelivery).where(
                OutboundDelivery.redemption_id == redemption_id, OutboundDelivery.status == "pending"
            )
        ).first()
        s.expunge_all()
        return row


def _retry_until_settled(rt: Runtime, clock: PinnedClock, redemption_id: int) -> None:
    """Move the pinned clock to each scheduled retry and run it, as the worker would when the time comes."""
    while (waiting := _pending(rt, redemption_id)) is not None:
        assert waiting.next_attempt_at is not None
        clock.at = waiting.next_attempt_at.replace(tzinfo=waiting.next_attempt_at.tzinfo or UTC)
        rt.dispatcher.run_due(until=clock.at)


def _deliveries(rt: Runtime, shop: FakeShopPlugin, console: Console, receiver: Receiver, start: datetime) -> None:
    """One delivery of each kind, claimed over the last two hours so the log reads like a working day."""
    m, w = console.members, console.rewards
    with pinned(rt) as clock:
        rt.dispatcher.clock = clock  # type: ignore[attr-defined]
        clock.at = start + timedelta(minutes=20)
        receiver.script = [500] * MAX_ATTEMPTS  # the platform is down for this one's every attempt
        given_up = _claim(rt, shop, m["grace"], w["mug"])
        _retry_until_settled(rt, clock, given_up)

        clock.at = start + timedelta(minutes=55)
        delivered = _claim(rt, shop, m["ada"], w["tee"])
        clock.at = start + timedelta(minutes=80)
        _claim(rt, shop, m["linus"], w["hoodie"], ProviderError("product_not_found", field="sku"))
        clock.at = start + timedelta(minutes=100)
        _ship(rt, delivered, "in_transit", clock.at)  # the shop's signed webhook: a shipped event
    # The failing one at the real "now", so its retry stays in the future and the row stays pending.
    rt.dispatcher.clock = lambda: datetime.now(UTC)  # type: ignore[attr-defined]
    receiver.script = [503]
    _claim(rt, shop, m["marie"], w["bottle"])


def take(out: Path, workdir: Path) -> list[Path]:
    """Seed, add the endpoint in the browser, send, photograph; fails if the server answered any 5xx."""
    settings = screenshot_settings(
        workdir,
        "webhooks-shots.sqlite3",
        TEST_ENV,
        retry_base_seconds=60.0,
        outbound_allow_local=True,
        outbound_max_attempts=MAX_ATTEMPTS,
    )
    shop = FakeShopPlugin()
    rt = build_runtime(settings, [shop])
    rt.webhook_sender = HttpWebhookSender(allow_local=settings.outbound_allow_local)  # as connector/bootstrap.py does
    console = seed_console(rt, shop)
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
    with running_receiver() as receiver, album(rt, out) as photos:
        admin = photos.new_page()
        log_in(admin, console.brand_admin)
        with pinned(rt) as clock:
            clock.at = start
            admin.goto("/admin/webhooks")
            form = admin.locator("#add-endpoint form")
            form.locator("#endpoint-url").fill(receiver.url)
            form.locator("#endpoint-description").fill("Loyalty platform: points and member notifications")
            click_and_wait(form.locator('button[type="submit"]'))
            admin.locator("#new-secret .signing-secret").wait_for()
        photos.shot(admin, "webhooks-02-secret-shown-once.png", whole=True)

        _deliveries(rt, shop, console, receiver, start)
        admin.goto("/admin/webhooks")
        statuses = admin.locator("tr.delivery").evaluate_all("rows => rows.map(r => r.dataset.status)")
        assert sorted(set(statuses)) == ["delivered", "given_up", "pending"], statuses
        assert admin.locator("form.action-resend-webhook").count() == len(statuses) - statuses.count("pending")
        photos.shot(admin, "webhooks-01-endpoints-and-deliveries.png", whole=True)
    return sorted(photos.written)


def main(argv: list[str] | None = None) -> int:
    return screenshots_main(take, (__doc__ or "").split("\n\n")[0], argv, prefix="connector-webhook-shots-")


if __name__ == "__main__":
    raise SystemExit(main())
