"""The frequent-buyer story in a real browser: a store uploads its DARTS export through the page (preview, then
import) and sees its denials, its distributor batches the new free goods and marks the batch credited, and the
store reconciles it. Every step is a click on the page; the database is checked after each one."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from connector.core.frequent_buyer.tables import Batch, FbEvent, FreeGood, PosReport
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


def _reports(rt: Runtime) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(PosReport)) or 0)


def _free_goods(rt: Runtime) -> list[tuple[int, str, int | None]]:
    with rt.sessions() as s:
        return [
            tuple(r) for r in s.execute(select(FreeGood.id, FreeGood.status, FreeGood.batch_id).order_by(FreeGood.id))
        ]


def test_upload_batch_credit_and_reconcile_through_the_pages(
    new_page: Callable[[], Any], rt: Runtime, darts: DartsWorld
) -> None:
    # The store signs in and lands on its POS Reports Status Dashboard.
    store: Page = new_page()
    log_in(store, darts.retailer)
    expect(store).to_have_url(url_path("/admin/pos-reports"))

    # Preview: what the import would do, and nothing stored.
    upload_report(store, SAMPLE, "preview")
    summary = store.locator("#pos-summary")
    expect(summary.locator('dd[data-count="cards"]')).to_have_text(str(SAMPLE_CARDS))
    expect(summary.locator('dd[data-count="denied"]')).to_contain_text(str(SAMPLE_DENIED))
    expect(store.locator("#pos-preview-denials tr[data-pos-key]")).to_have_count(SAMPLE_DENIED)
    assert _reports(rt) == 0

    # Import from the preview page's form: the dashboard shows the new report's counts.
    upload_report(store, SAMPLE, "import")
    expect(store).to_have_url(url_path("/admin/pos-reports"))
    expect(flash(store, "success")).to_contain_text(f"{SAMPLE_PROCESSED} processed, 0 in quality check, 6 denied")
    row = store.locator("#pos-reports tr[data-report-id]")
    expect(row).to_have_count(1)
    expect(row.locator('td[data-status="denied"]')).to_have_text(str(SAMPLE_DENIED))
    expect(row.locator('td[data-status="processed"]')).to_have_text(str(SAMPLE_PROCESSED))
    assert _reports(rt) == 1

    # Review the denials: each row says why.
    click_and_wait(row.locator('td[data-status="denied"] a'))
    expect(store.locator('#pos-review tr[data-status="denied"]')).to_have_count(SAMPLE_DENIED)
    expect(store.locator("#pos-review .fb-reason").first).to_have_text(re.compile(r"\w"))

    goods = _free_goods(rt)
    assert [status for _, status, _ in goods] == ["unbatched"] * SAMPLE_PROCESSED

    # The distributor lands on its portal, batches the two new free goods and marks the batch credited.
    rex: Page = new_page()
    log_in(rex, darts.distributor)
    expect(rex).to_have_url(url_path("/admin/distributor"))  # the landing choice: Free Goods or Rebates Dashboard
    click_and_wait(rex.locator("#free-goods-dashboard"))
    expect(rex).to_have_url(url_path("/admin/distribution"))
    expect(rex.locator('a[data-section="unbatched"] .count')).to_have_text(str(SAMPLE_PROCESSED))
    batch_all_unbatched(rex, "Mile High Pets, March 2025")
    expect(flash(rex, "success")).to_contain_text('"Mile High Pets, March 2025" created for Mile High Pets')
    with rt.sessions() as s:
        batch_id = s.scalars(select(Batch.id)).one()
    assert {(status, batch) for _, status, batch in _free_goods(rt)} == {("batched", batch_id)}

    fulfil_first_batch(rex)
    expect(flash(rex, "success")).to_contain_text(f"Batch {batch_id} ")
    expect(flash(rex, "success")).to_contain_text("marked fulfilled/credited")
    click_and_wait(rex.locator('a[data-section="fulfilled"]'))
    expect(rex.locator(f'#section-batches tr[data-batch-id="{batch_id}"][data-status="fulfilled"]')).to_have_count(1)
    assert {status for _, status, _ in _free_goods(rt)} == {"credited"}

    # The store sees the credited batch on its credit status and reconciles it.
    store.goto("/admin/credit-status")
    batch_row = store.locator(f'#credit-batches tr[data-batch-id="{batch_id}"]')
    expect(batch_row).to_have_count(1)
    click_and_wait(batch_row.locator("form.action-reconcile button"))
    expect(flash(store, "success")).to_contain_text(f"Batch {batch_id} ")
    expect(store.locator("#credit-batches")).to_have_count(0)
    expect(store.locator('#credit-status tbody[data-view="reconciled"] tr[data-free-good-id]')).to_have_count(
        SAMPLE_PROCESSED
    )
    with rt.sessions() as s:
        batch = s.get(Batch, batch_id)
        assert batch is not None and batch.reconciled_by == f"user:{darts.retailer.email}"
        actors = list(
            s.scalars(select(FbEvent.actor).where(FbEvent.subject_type == "batch", FbEvent.subject_id == batch_id))
        )
    assert actors == [f"user:{darts.distributor.email}"] * 2 + [f"user:{darts.retailer.email}"]
