"""Checkout in a real browser: a cashier looks a pet owner up, adds her, scans her card full, redeems the free good
once (a second press of the button changes nothing), and finishes back at the lookup. The database is checked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from connector.core.frequent_buyer.tables import Customer, FreeGood
from connector.core.runtime import Runtime
from tests.e2e.checkout_screenshots import CASHIER, add_customer, add_item, look_up, redeem, seed_counter
from tests.e2e.fb_screenshots import DartsWorld
from tests.e2e.pages import click_and_wait, flash, log_in, url_path


@pytest.fixture
def counter(rt: Runtime) -> DartsWorld:
    return seed_counter(rt)


def _count(rt: Runtime, model: Any) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_lookup_add_scan_and_redeem_at_the_counter(new_page: Callable[[], Any], rt: Runtime, counter: DartsWorld):
    till: Page = new_page()
    log_in(till, CASHIER)
    expect(till).to_have_url(url_path("/admin/checkout"))
    expect(till.locator("header nav a")).to_have_text(["Checkout"])

    look_up(till, "Avery")
    expect(till.locator("#checkout-none")).to_be_visible()
    add_customer(till, "Avery Brooks", "303-555-0142", "avery@example.com")
    expect(flash(till, "success")).to_have_text("Added Avery Brooks as a new customer.")
    assert _count(rt, Customer) == 1

    add_item(till, "TOTW-HP-28", 7)
    card = till.locator(".co-card", has_text="TOTW DOG DRY 12+1")
    expect(card.locator(".co-progress")).to_have_text("7 of 12 purchased")
    expect(card).to_have_attribute("data-eligible", "false")
    add_item(till, "074198612528", 5)  # scanned by UPC
    expect(till.locator("#reward-alert")).to_contain_text("qualifies for a free good on TOTW DOG DRY 12+1")
    expect(card).to_have_attribute("data-eligible", "true")

    # The button pressed, then the same form sent again (a double-click, a browser retry): one free good.
    form = card.locator("form.redeem-form")
    action = form.get_attribute("action") or ""
    sent = dict(form.locator("input[name], select[name]").evaluate_all("es => es.map(e => [e.name, e.value])"))
    redeem(till, "TOTW DOG DRY 12+1")
    visit = till.locator("#visit-rewards")
    expect(visit.locator(".co-redeemed")).to_have_text(["This reward was redeemed this visit"])
    assert _count(rt, FreeGood) == 1
    again = till.request.post(action, form=sent)
    assert again.ok and _count(rt, FreeGood) == 1
    till.reload()
    expect(visit.locator(".co-redeemed")).to_have_count(1)

    click_and_wait(till.locator("#finished"))
    expect(till).to_have_url(url_path("/admin/checkout"))
    look_up(till, "303555")
    expect(till.locator("#checkout-results li")).to_have_count(1)
