"""The Shops page in a real browser: the platform admin claims an unclaimed shop, a brand admin disconnects
one of theirs, Connect installs the app through Shopify's authorize page, and no credential reaches the page.

Headless Debian Chromium against the live app, the real database, the real disconnect
(``core.shop_lifecycle``) and the real install (``core.shop_connect``) with the Shopify simulator playing
Shopify's authorize page and token endpoint; see tests/e2e/conftest.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from connector.core.runtime import Runtime
from connector.core.tables import Shop
from shopify_sim import SimServer
from tests.e2e.harness import LiveServer
from tests.e2e.pages import click_and_wait, flash, log_in, url_path
from tests.e2e.seed import Console
from tests.fakes import FakeShopPlugin
from tests.install_flow import CLIENT_ID, CLIENT_SECRET, app_env
from tests.web.shop_rows import SECRETS, Shops, seed_shops, shop_state

NEW_STORE = "new-store.myshopify.com"


@pytest.fixture
def store() -> Iterator[SimServer]:
    """Shopify for the shop being connected: its authorize page approves at once, as the merchant would."""
    with SimServer(shop_domain=NEW_STORE, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as server:
        yield server


@pytest.fixture
def rt(make_runtime: Callable[..., Runtime], shop: FakeShopPlugin, store: SimServer) -> Runtime:
    return make_runtime(plugins=[shop], plugin_env=app_env(store))


@pytest.fixture
def public(rt: Runtime, live_server: LiveServer) -> str:
    """``CONNECTOR_PUBLIC_URL`` is where browsers reach the connector: the live server, known once it listens."""
    rt.settings = dataclasses.replace(rt.settings, public_url=live_server.url)
    return live_server.url


@pytest.fixture
def shops(rt: Runtime, console: Console) -> Shops:
    return seed_shops(rt, console.world)


def _card(page: Page, shop_id: int):
    return page.locator(f'section.shop[data-shop-id="{shop_id}"]')


def _no_secret_in(page: Page) -> None:
    html = page.content()
    assert [name for name, value in SECRETS.items() if value in html] == []


def test_a_platform_admin_finds_an_unclaimed_shop_and_assigns_it_to_its_brand(
    page: Page, rt: Runtime, console: Console, shops: Shops
) -> None:
    log_in(page, console.admin)
    click_and_wait(page.locator("header nav a", has_text="Shops"))
    expect(page).to_have_url(url_path("/admin/shops"))
    for shop_id in (shops.acme_static, shops.acme_install, shops.other_cc, shops.orphan):
        expect(_card(page, shop_id)).to_be_visible()
    # The missing scope stands out, and the page fits the window (nothing scrolls sideways).
    missing = _card(page, shops.acme_install).locator(".scope-missing")
    expect(missing).to_have_text("write_customers: missing")
    assert missing.evaluate("e => getComputedStyle(e).color") != _card(page, shops.acme_install).evaluate(
        "e => getComputedStyle(e).color"
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    _no_secret_in(page)

    orphan = _card(page, shops.orphan)
    expect(orphan.locator(".shop-status")).to_have_text("Awaiting a brand")
    form = orphan.locator("form.action-assign-brand")
    form.locator('select[name="brand_id"]').select_option(label="Other Brand")
    click_and_wait(form.locator('button[type="submit"]'))

    expect(flash(page, "success")).to_have_text(
        "orphan-store.myshopify.com now belongs to Other Brand; it is connected."
    )
    expect(_card(page, shops.orphan).locator(".shop-status")).to_have_text("Connected")
    expect(_card(page, shops.orphan).locator("form.action-assign-brand")).to_have_count(0)
    assert shop_state(rt, shops.orphan)["brand_id"] == console.world.other_brand.id


def test_a_brand_admin_disconnects_their_shop_after_reading_what_it_does(
    page: Page, rt: Runtime, console: Console, shops: Shops
) -> None:
    log_in(page, console.brand_admin)
    page.goto("/admin/shops")
    # Acme's two, never another brand's.
    ids = page.locator("section.shop").evaluate_all("cards => cards.map(c => Number(c.dataset.shopId))")
    assert sorted(ids) == [shops.acme_static, shops.acme_install]
    click_and_wait(_card(page, shops.acme_install).locator("a.action-disconnect"))
    expect(page.locator("#disconnect-does")).to_contain_text("stops every call to acme-install.myshopify.com")
    assert shop_state(rt, shops.acme_install)["status"] == "connected"
    page.locator("#reason").fill("moving to a new store")
    click_and_wait(page.locator("#disconnect-form button[type=submit]"))

    expect(flash(page, "success")).to_contain_text("acme-install.myshopify.com is disconnected")
    expect(_card(page, shops.acme_install).locator(".shop-status")).to_have_text("Disconnected")
    after = shop_state(rt, shops.acme_install)
    assert (after["status"], after["status_reason"]) == ("disconnected", "moving to a new store")
    _no_secret_in(page)


def test_connect_installs_the_app_through_shopify_and_the_shop_appears_connected(
    page: Page, rt: Runtime, console: Console, shops: Shops, store: SimServer, public: str
) -> None:
    log_in(page, console.brand_admin)
    page.goto("/admin/shops")
    field = page.locator("#connect-shop-domain")
    field.fill("not a shop")
    assert field.evaluate("e => e.validity.valid") is False  # the browser holds a domain that cannot be a shop
    field.fill(NEW_STORE)
    # Connect -> the connector's install start -> Shopify's authorize page (approves) -> the callback -> Shops.
    # One click, several sites: wait for the page it ends on rather than for a single navigation.
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.locator("#connect-form button[type=submit]").click()
    expect(flash(page, "success")).to_be_visible()
    authorize = [url for url in asked if url.startswith(f"{store.base_url}/admin/oauth/authorize?")]
    assert len(authorize) == 1 and f"redirect_uri={quote(public, safe='')}%2Fshopify%2Fcallback" in authorize[0]
    expect(page).to_have_url(url_path("/admin/shops"))
    expect(flash(page, "success")).to_have_text(
        f"{NEW_STORE} is connected: the connector can now create its reward orders."
    )
    with rt.sessions() as s:
        new = s.scalars(select(Shop).where(Shop.domain == NEW_STORE)).one()
        new_id, brand_id, token = new.id, new.brand_id, new.access_token
    assert brand_id == console.world.brand.id  # the brand of the admin who pressed Connect
    card = _card(page, new_id)
    expect(card.locator(".shop-status")).to_have_text("Connected")
    expect(card.locator(".shop-connection")).to_have_text("Install")
    expect(card.locator(".shop-webhooks")).to_have_attribute("data-state", "ok")  # subscribed on connect
    grants = [g["grant"] for g in store.control("oauth/grants")["grants"] if g.get("endpoint") == "access_token"]
    assert grants == ["authorization_code"]
    _no_secret_in(page)
    assert token not in page.content()
