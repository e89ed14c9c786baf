"""The rebate story in a real browser: the distributor lands on "Free Goods or Rebates Dashboard", opens the
Rebates Dashboard, batches the store's dollars-off rebates into a Distributor Rebate Credit Batch and marks it
credited; the store then sees the credited batch under Distributor Rebate Credit Batches. Every step is a click;
the database is checked after each one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from connector.core.frequent_buyer.rebate_tables import Rebate, RebateBatch
from connector.core.runtime import Runtime
from tests.e2e.pages import click_and_wait, flash, log_in, url_path
from tests.e2e.rebate_screenshots import (
    REBATE_CARDS,
    RebateWorld,
    batch_all_rebates,
    credit_first_batch,
    open_rebates_dashboard,
    seed_rebate_world,
)


@pytest.fixture
def rebate_world(rt: Runtime) -> RebateWorld:
    return seed_rebate_world(rt)


def _rebates(rt: Runtime) -> set[tuple[str, int | None]]:
    with rt.sessions() as s:
        return {(r.status, r.batch_id) for r in s.execute(select(Rebate.status, Rebate.batch_id))}


def test_batch_and_credit_rebates_through_the_pages(
    new_page: Callable[[], Any], rt: Runtime, rebate_world: RebateWorld
) -> None:
    rex: Page = new_page()
    log_in(rex, rebate_world.darts.distributor)
    expect(rex).to_have_url(url_path("/admin/distributor"))
    expect(rex.locator("h1")).to_contain_text("Free Goods or Rebates Dashboard")
    expect(rex.locator('#dashboard-choice strong[data-count="rebates"]')).to_have_text(str(REBATE_CARDS))

    open_rebates_dashboard(rex)
    expect(rex).to_have_url(url_path("/admin/rebates"))
    expect(rex.locator("#section-rebates tr[data-rebate-id]")).to_have_count(REBATE_CARDS)

    batch_all_rebates(rex, "Mile High Pets rebates, March 2025")
    expect(flash(rex, "success")).to_contain_text("$15.00")
    with rt.sessions() as s:
        batch_id = s.scalars(select(RebateBatch.id)).one()
    assert _rebates(rt) == {("batched", batch_id)}

    credit_first_batch(rex)
    expect(flash(rex, "success")).to_contain_text(f"Rebate batch {batch_id} ")
    click_and_wait(rex.locator('a[data-section="fulfilled"]'))
    expect(rex.locator(f'#section-batches tr[data-batch-id="{batch_id}"][data-status="fulfilled"]')).to_have_count(1)
    assert _rebates(rt) == {("credited", batch_id)}

    store: Page = new_page()
    log_in(store, rebate_world.darts.retailer)
    store.goto("/admin/credit-status")
    click_and_wait(store.locator("#rebate-credit-batches-link"))
    row = store.locator(f'#rebate-credit-batches tr[data-batch-id="{batch_id}"]')
    expect(row).to_have_attribute("data-status", "fulfilled")
    expect(row).to_contain_text("$15.00")
