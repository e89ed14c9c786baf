"""Three flows in a real browser, each checked in the database after the clicks: a brand admin sets a program's
minimum purchase and a store's report is denied for it (Insufficient Purchase Amount); a distributor records a
credit memo that does not match and the store must confirm before reconciling; a brand admin marks its
direct-fulfilled free good credited on Brand Fulfillment (and a second brand sees none of it)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from connector.core.frequent_buyer.tables import Batch, FreeGood, PosRedemption, Program
from connector.core.runtime import Runtime
from tests.e2e.brandview_screenshots import (
    FROMM_MINIMUM,
    BrandSide,
    credit_all_owed,
    fulfil_with_memo,
    seed_brand_side,
    set_minimum,
)
from tests.e2e.fb_screenshots import SAMPLE, batch_all_unbatched, upload_report
from tests.e2e.pages import click_and_wait, flash, log_in


@pytest.fixture
def world(rt: Runtime) -> BrandSide:
    return seed_brand_side(rt)


def test_a_minimum_purchase_set_on_the_page_denies_the_card_below_it(
    new_page: Callable[[], Any], rt: Runtime, world: BrandSide
) -> None:
    fran: Page = new_page()
    log_in(fran, world.brand_admin)
    set_minimum(fran, world.gold_program_id, FROMM_MINIMUM)
    expect(flash(fran, "success")).to_have_text(f"Minimum purchase for FROMM GOLD 10+1 set to ${FROMM_MINIMUM}.")
    with rt.sessions() as s:
        assert s.get(Program, world.gold_program_id).minimum_purchase_amount == Decimal(FROMM_MINIMUM)

    store: Page = new_page()
    log_in(store, world.darts.retailer)
    upload_report(store, SAMPLE, "import")
    click_and_wait(store.locator('#pos-reports td[data-status="denied"] a').first)
    expect(store.locator("#pos-review .fb-reason", has_text="Insufficient purchase amount")).to_have_count(1)
    with rt.sessions() as s:
        denied = s.scalars(
            select(PosRedemption).where(PosRedemption.denial_reason == "insufficient_purchase_amount")
        ).one()
    assert denied.pos_key.startswith("102") and "$184.90" in (denied.denial_detail or "")


def test_a_memo_that_does_not_match_asks_the_store_to_confirm(
    new_page: Callable[[], Any], rt: Runtime, world: BrandSide
) -> None:
    store: Page = new_page()
    log_in(store, world.darts.retailer)
    upload_report(store, SAMPLE, "import")
    rex: Page = new_page()
    log_in(rex, world.darts.distributor)
    batch_all_unbatched(rex, "Mile High Pets, March 2025")
    fulfil_with_memo(rex, "CM-5521", "50.00")
    expect(flash(rex, "success")).to_contain_text("with credit memo CM-5521 for $50.00")
    with rt.sessions() as s:
        batch = s.scalars(select(Batch)).one()
        assert (batch.credit_memo_number, batch.credit_memo_amount) == ("CM-5521", Decimal("50.00"))

    store.goto(f"/admin/credit-status/batches/{batch.id}")
    expect(store.locator("#memo-check")).to_have_attribute("data-status", "DOES NOT MATCH")
    click_and_wait(store.locator("form.action-reconcile button"))
    expect(store.locator("#confirm-mismatch")).to_contain_text("DOES NOT MATCH")
    with rt.sessions() as s:
        assert s.get(Batch, batch.id).reconciled_at is None
    click_and_wait(store.locator("form.action-reconcile-confirm button"))
    expect(flash(store, "success")).to_contain_text(f"Batch {batch.id} ")
    with rt.sessions() as s:
        assert s.get(Batch, batch.id).reconciled_at is not None


def test_a_brand_admin_marks_its_direct_free_good_credited(
    new_page: Callable[[], Any], rt: Runtime, world: BrandSide
) -> None:
    tad: Page = new_page()
    log_in(tad, world.other_brand_admin)
    tad.goto("/admin/brand-fulfilment")
    expect(tad.locator("#brand-free-goods tr[data-free-good-id]")).to_have_count(0)

    fran: Page = new_page()
    log_in(fran, world.brand_admin)
    fran.goto("/admin/brand-fulfilment")
    expect(fran.locator("#brand-free-goods tr[data-free-good-id]")).to_have_count(1)
    credit_all_owed(fran, "ACH 2025-03-31")
    expect(flash(fran, "success")).to_contain_text("marked credited")
    with rt.sessions() as s:
        assert s.scalars(select(FreeGood.status).where(FreeGood.program_id == world.direct_program_id)).one() == (
            "credited"
        )
    click_and_wait(fran.locator('a[data-section="credited"]'))
    expect(fran.locator("#brand-free-goods tr[data-free-good-id]")).to_have_count(1)
