"""The retailer's reports and its email notices in a real browser: the store imports its DARTS export (and
is emailed the denials), opens Frequent Buyer Participation from the header, follows a number to its
detail, reads Redemption by Date, downloads the transaction export, and switches the credited notice off
on its account page, so the distributor crediting its batch emails nobody. The outbox is checked each step."""

from __future__ import annotations

import csv
import email
import io
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from connector.core.frequent_buyer.retailer_reports import EXPORT_COLUMNS
from connector.core.runtime import Runtime
from tests.e2e.fb_screenshots import (
    SAMPLE,
    SAMPLE_CARDS,
    SAMPLE_DENIED,
    SAMPLE_PROCESSED,
    DartsWorld,
    batch_all_unbatched,
    fulfil_first_batch,
    seed_darts_world,
    upload_report,
)
from tests.e2e.pages import click_and_wait, flash, log_in, url_path


@pytest.fixture
def darts(rt: Runtime) -> DartsWorld:
    return seed_darts_world(rt)


def _outbox(rt: Runtime) -> list[tuple[str, str]]:
    """The notices in the outbox (the e2e console's brand world also emails rewards to members: left out)."""
    found = []
    for path in sorted(rt.settings.outbox_dir.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes())
        if str(msg["To"]).endswith(("@milehighpets.example", "@rockymountainfeed.example")):
            found.append((str(msg["To"]), str(msg["Subject"])))
    return found


def test_reports_export_and_notice_switches_through_the_pages(
    new_page: Callable[[], Any], rt: Runtime, darts: DartsWorld
) -> None:
    store: Page = new_page()
    log_in(store, darts.retailer)
    upload_report(store, SAMPLE, "import")
    # The import emailed the store its denials, once.
    assert _outbox(rt) == [
        (darts.retailer.email, f"{SAMPLE_DENIED} denied redemption(s) in your POS report {SAMPLE.name}")
    ]

    # Frequent Buyer Participation from the header; each number opens its detail.
    click_and_wait(store.locator("nav a", has_text="Retailer Reports"))
    expect(store).to_have_url(url_path("/admin/retailer-reports/participation"))
    total = store.locator('#participation tr[data-program-id="total"]')
    expect(total.locator('td[data-metric="redeemed"]')).to_have_text(str(SAMPLE_PROCESSED))
    click_and_wait(total.locator('td[data-metric="redeemed"] a'))
    expect(store.locator("h1")).to_have_text("Rewards Redeemed")
    expect(store.locator("#participation-detail tbody tr")).to_have_count(SAMPLE_PROCESSED)

    # Redemption by Date lists every card, denied ones with the seeds' reason.
    click_and_wait(store.locator("a", has_text="Redemption by Date"))
    expect(store.locator("#redemptions-by-date tr[data-redemption-id]")).to_have_count(SAMPLE_CARDS)
    expect(store.locator("#redemptions-by-date")).to_contain_text("Multiple Brands on the Card")

    # The transaction export downloads as CSV, one line per item.
    with store.expect_download() as download:
        store.locator("#transaction-export").click()
    text = download.value.path().read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == EXPORT_COLUMNS and len(rows) > SAMPLE_CARDS


def test_denials_emailed_and_the_credited_notice_switched_off_through_the_pages(
    new_page: Callable[[], Any], rt: Runtime, darts: DartsWorld
) -> None:
    store: Page = new_page()
    log_in(store, darts.retailer)
    upload_report(store, SAMPLE, "import")
    # The import emailed the store its denials, once.
    denials = f"{SAMPLE_DENIED} denied redemption(s) in your POS report {SAMPLE.name}"
    assert _outbox(rt) == [(darts.retailer.email, denials)]

    # The account page: switch the credited notice off.
    click_and_wait(store.locator("#account-link"))
    store.locator("#notice-credited").uncheck()
    click_and_wait(store.locator("#notice-preferences button[type=submit]"))
    expect(flash(store, "success")).to_contain_text("off: A batch of your free goods was marked credited")
    expect(store.locator("#notice-credited")).not_to_be_checked()
    expect(store.locator("#notice-denials")).to_be_checked()

    # The distributor credits the batch: the store, having switched that notice off, gets no email.
    rex: Page = new_page()
    log_in(rex, darts.distributor)
    batch_all_unbatched(rex, "Mile High Pets, March 2025")
    fulfil_first_batch(rex)
    expect(flash(rex, "success")).to_be_visible()
    assert _outbox(rt) == [(darts.retailer.email, denials)]
