"""Fix what an error names, then "Save and retry", in a real browser, all the way to a shop order.

Headless Chromium against the live app; the real Shopify plugin fulfils against the Shopify simulator
over HTTP (no fake shop here), so the error, the check on save and the retried order are all real:

* the member's city has digits → ``crm_id_not_found`` → the tooltip's "Edit the member" → fix the city
  → Save and retry → FULFILLED, one order in the simulator;
* the reward's SKU is not in the shop → ``product_not_found`` → the details page's "Edit the reward"
  → a SKU the shop lacks is refused with the shop's words → the right SKU → Save and retry → FULFILLED.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.model import Role
from connector.core.redemptions import create_redemption
from connector.core.runtime import Runtime
from connector.core.tables import Member, Redemption, Reward
from shopify_sim import SimServer
from tests.conftest import seed_world
from tests.e2e.pages import click_and_wait, flash, log_in, url_path
from tests.e2e.seed import Console, _users

SHOP_DOMAIN = "acme-pets.myshopify.com"
CLAIMER = Actor("e2e@connector.local", Role.SUPPORT)


@pytest.fixture
def sim() -> Iterator[SimServer]:
    with SimServer(access_token="shpat_test_token", shop_domain=SHOP_DOMAIN) as server:
        server.control("products", {"title": "Ambassador T-Shirt", "variants": [{"sku": "TSHIRT-M", "inventory": 100}]})
        yield server


@pytest.fixture
def rt(make_runtime: Callable[..., Runtime], sim: SimServer) -> Runtime:
    return make_runtime()  # the installed plugins only: Shopify fulfils, against the simulator


@pytest.fixture
def console(rt: Runtime, sim: SimServer) -> Console:
    world = seed_world(rt, api_base_url=sim.base_url, points=10_000)
    admin, support, brand_admin, viewer = _users(rt, world)
    return Console(world=world, admin=admin, support=support, brand_admin=brand_admin, viewer=viewer)


def claim(rt: Runtime, console: Console) -> Redemption:
    rid = create_redemption(
        rt, CLAIMER, member_id=console.world.member.id, reward_id=console.world.reward.id
    ).redemption.id
    return state(rt, rid)


def state(rt: Runtime, redemption_id: int) -> Redemption:
    with rt.sessions() as s:
        r = s.get(Redemption, redemption_id)
        assert r is not None
        s.expunge(r)
        return r


def test_fix_the_member_then_save_and_retry_fulfils(new_page, rt: Runtime, console: Console, sim: SimServer):
    with transaction(rt.sessions) as s:
        s.get(Member, console.world.member.id).city = "Ottawa 5"  # type: ignore[union-attr]
    r = claim(rt, console)
    assert (r.status, r.error_code, r.error_field) == ("error", "crm_id_not_found", "city")

    page: Page = new_page()
    log_in(page, console.support)
    page.goto("/admin/fulfilments?tab=all")
    label = page.locator(f'tr[data-redemption-id="{r.id}"] .status-label')
    label.hover()
    link = page.locator(f"#tip-{r.id} a", has_text="Edit the member")
    expect(link).to_be_visible()
    click_and_wait(link)
    expect(page).to_have_url(url_path(f"/admin/members/{console.world.member.id}/edit"))
    expect(page.locator("#f-city")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#current-problems")).to_contain_text("city contains digits")

    page.locator("#f-city").fill("Ottawa")
    click_and_wait(page.locator("#save-retry"))
    expect(flash(page, "success")).to_contain_text(f"Saved: city. Retried 1: {r.code}.")

    page.goto(f"/admin/redemptions/{r.id}")
    expect(page.locator("h1 .status-label")).to_contain_text("FULFILLED")
    expect(page.locator("#timeline")).to_contain_text("member details changed: city")
    expect(page.locator("#timeline")).to_contain_text("user:sam.support@example.com")
    assert state(rt, r.id).external_order_id and sim.control("orders")["count"] == 1


def test_fix_the_sku_then_save_and_retry_fulfils(new_page, rt: Runtime, console: Console, sim: SimServer):
    with transaction(rt.sessions) as s:
        s.get(Reward, console.world.reward.id).sku = "TSHIRT-XL"  # type: ignore[union-attr]
    r = claim(rt, console)
    assert (r.status, r.error_code) == ("error", "product_not_found")

    page: Page = new_page()
    log_in(page, console.support)
    page.goto(f"/admin/redemptions/{r.id}")
    click_and_wait(page.locator("#error a.error-fix-link", has_text="Edit the reward"))
    expect(page).to_have_url(url_path(f"/admin/rewards/{console.world.reward.id}/edit"))
    expect(page.locator(f'#blocked-redemptions tr[data-redemption-id="{r.id}"]')).to_be_visible()

    # A SKU the shop does not have is refused with the shop plugin's own words; nothing is stored.
    page.locator("#f-sku").fill("TSHIRT-S")
    click_and_wait(page.locator("#save-retry"))
    expect(flash(page, "error")).to_contain_text(f"SKU 'TSHIRT-S' does not exist in {SHOP_DOMAIN}.")
    expect(page.locator("#e-sku")).to_be_visible()
    with rt.sessions() as s:
        assert s.get(Reward, console.world.reward.id).sku == "TSHIRT-XL"  # type: ignore[union-attr]

    page.locator("#f-sku").fill("TSHIRT-M")
    click_and_wait(page.locator("#save-retry"))
    expect(page).to_have_url(url_path(f"/admin/redemptions/{r.id}"))  # back where the fix started
    expect(flash(page, "success")).to_contain_text(f"Retried 1: {r.code}. The shop confirmed the SKU can be ordered.")
    expect(page.locator("h1 .status-label")).to_contain_text("FULFILLED")
    assert state(rt, r.id).external_order_id and sim.control("orders")["count"] == 1
