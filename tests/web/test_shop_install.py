"""``GET /shopify/install`` and ``GET /shopify/callback`` in a browser, with the simulator playing Shopify.

The browser is Flask's test client (its own cookie jar); Shopify's authorize page is the simulator's, over
real HTTP, which approves at once and sends the browser back with a real code and signature.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from connector.app import create_app
from connector.core.runtime import Runtime
from connector.core.tables import Shop, ShopConnection, ShopInstallState, ShopStatus
from connector.shop_install_routes import STATE_COOKIE
from shopify_sim import SimServer
from tests import install_flow
from tests.conftest import World
from tests.install_flow import CLIENT_SECRET, NEW_SHOP, PUBLIC_URL, app_env, approve, shop_rows, sign, token_grants
from tests.web.admin import conftest as console_fixtures
from tests.web.admin.conftest import Console, People, Person

oauth_sim_server = install_flow.oauth_sim_server
oauth_sim = install_flow.oauth_sim
people = console_fixtures.people
signed_in = console_fixtures.signed_in
console = console_fixtures.console


@pytest.fixture
def rt(make_runtime, shop, oauth_sim: SimServer) -> Runtime:
    return make_runtime(plugins=[shop], plugin_env=app_env(oauth_sim), public_url=PUBLIC_URL)


def _start(browser: Console, shop: str = NEW_SHOP, **params: str) -> TestResponse:
    return browser.get("/shopify/install?" + urlencode({"shop": shop, **params}))


def _callback(browser: Console, query: dict[str, str]) -> TestResponse:
    return browser.get("/shopify/callback?" + urlencode(query))


def _through_shopify(browser: Console, started: TestResponse) -> dict[str, str]:
    """Follow the connector's redirect to the (simulated) authorize page: the callback query it sends back."""
    assert started.status_code == 302, started.text[:1000]
    return approve(started.headers["Location"])


def _shop(rt: Runtime, domain: str = NEW_SHOP) -> Shop | None:
    with rt.sessions() as s:
        return s.scalars(select(Shop).where(Shop.domain == domain)).first()


def _states(rt: Runtime) -> list[ShopInstallState]:
    with rt.sessions() as s:
        return list(s.scalars(select(ShopInstallState)))


def _set_cookie(response: TestResponse) -> str:
    return next(v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith(STATE_COOKIE + "="))


# -- the whole flow ------------------------------------------------------------------------------------------------


def test_a_brand_admin_installs_the_app_and_lands_on_the_shops_page(
    rt: Runtime, world: World, people: People, signed_in: Callable[[Person], Console], oauth_sim: SimServer
):
    browser = signed_in(people.brand_admin)
    started = _start(browser)
    cookie = _set_cookie(started)
    for attribute in ("HttpOnly", "SameSite=Lax", "Path=/shopify/", "Max-Age=600"):
        assert attribute in cookie
    assert "Secure" not in cookie  # plain http here; see the next test
    assert started.headers["Location"].startswith(f"{oauth_sim.base_url}/admin/oauth/authorize?client_id=")

    done = _callback(browser, _through_shopify(browser, started))

    assert done.status_code == 302 and done.headers["Location"] == "/admin/shops"
    shop = _shop(rt)
    assert (shop.brand_id, shop.status, shop.connection_kind) == (
        world.brand.id,
        ShopStatus.CONNECTED,
        ShopConnection.INSTALL,
    )
    assert STATE_COOKIE + "=;" in _set_cookie(done)  # the one-time state leaves the browser
    with browser.client.session_transaction() as session:
        assert ("success", f"{NEW_SHOP} is connected: the connector can now create its reward orders.") in session[
            "_flashes"
        ]


def test_the_state_cookie_is_secure_over_https(rt: Runtime, make_runtime, shop, oauth_sim: SimServer, world: World):
    secure_rt = make_runtime(plugins=[shop], plugin_env=app_env(oauth_sim), public_url=PUBLIC_URL, secure_cookies=True)
    browser = Console(create_app(settings=secure_rt.settings, runtime=secure_rt))
    signed = sign({"shop": NEW_SHOP, "timestamp": "1733400000", "host": "YWRtaW4"})
    assert "Secure" in _set_cookie(_start(browser, **signed))


def test_an_install_from_shopifys_side_is_signed_and_waits_for_a_brand(
    rt: Runtime, world: World, console: Console, oauth_sim: SimServer
):
    signed = sign({"shop": NEW_SHOP, "timestamp": "1733400000", "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvbmV3"})
    done = _callback(console, _through_shopify(console, _start(console, **signed)))

    assert done.status_code == 200
    assert "A platform admin now assigns it to its brand" in done.text
    shop = _shop(rt)
    assert (shop.brand_id, shop.status) == (None, ShopStatus.AWAITING_BRAND)
    assert CLIENT_SECRET not in done.text and shop.access_token not in done.text


def test_a_platform_admin_chooses_the_brand(
    rt: Runtime, world: World, people: People, signed_in: Callable[[Person], Console]
):
    browser = signed_in(people.platform_admin)
    done = _callback(browser, _through_shopify(browser, _start(browser, brand=str(world.other_brand.id))))
    assert done.status_code == 302
    assert _shop(rt).brand_id == world.other_brand.id


# -- refused starts ------------------------------------------------------------------------------------------------


def _page_refused(response: TestResponse, status: int, words: str) -> None:
    assert response.status_code == status, response.text[:1000]
    assert response.mimetype == "text/html"
    assert words in response.text, response.text[:3000]
    assert STATE_COOKIE not in response.headers.get("Set-Cookie", "")


def test_an_unsigned_install_from_a_browser_not_signed_in_is_refused(rt: Runtime, world: World, console: Console):
    _page_refused(_start(console), 403, "not signed by Shopify")
    _page_refused(_start(console, **{**sign({"shop": NEW_SHOP}), "hmac": "0" * 64}), 400, "does not match")
    _page_refused(_start(console, **sign({"shop": NEW_SHOP}), brand=str(world.brand.id)), 403, "sign in")
    assert _states(rt) == []


def test_roles_that_cannot_configure_cannot_start_an_install(
    rt: Runtime, world: World, people: People, signed_in: Callable[[Person], Console]
):
    for person in (people.support, people.viewer):
        _page_refused(_start(signed_in(person)), 403, "cannot connect shops")
    assert _states(rt) == []


def test_a_brand_admin_cannot_start_an_install_for_another_brand_or_its_shop(
    rt: Runtime, world: World, people: People, signed_in: Callable[[Person], Console]
):
    other = signed_in(people.other_admin)
    _page_refused(_start(other, brand=str(world.brand.id)), 403, "only to your own brand")
    _page_refused(_start(other, shop="acme-pets.myshopify.com"), 409, "already connected to another brand")
    assert _states(rt) == []


def test_a_bad_shop_name_is_refused(rt: Runtime, world: World, people: People, signed_in):
    page = _start(signed_in(people.brand_admin), shop="acme.example.com")
    _page_refused(page, 422, "your-shop.myshopify.com")


def test_a_missing_setting_is_named_on_the_page(make_runtime, shop, world: World, oauth_sim: SimServer):
    rt = make_runtime(plugins=[shop], plugin_env=app_env(oauth_sim), public_url=None)
    browser = Console(create_app(settings=rt.settings, runtime=rt))
    page = _start(browser, **sign({"shop": NEW_SHOP}))
    _page_refused(page, 503, "CONNECTOR_PUBLIC_URL is not set")
    assert "Set CONNECTOR_PUBLIC_URL" in page.text


# -- refused callbacks: 400, a precise page, nothing stored --------------------------------------------------------


@pytest.fixture
def approved(
    rt: Runtime, world: World, people: People, signed_in: Callable[[Person], Console]
) -> tuple[Console, dict[str, str]]:
    """A brand admin's browser back from Shopify's authorize page, before it reaches the callback."""
    browser = signed_in(people.brand_admin)
    return browser, _through_shopify(browser, _start(browser))


def _callback_refused(rt: Runtime, sim: SimServer, response: TestResponse, words: str) -> None:
    _page_refused(response, 400, words)
    assert _shop(rt) is None and token_grants(sim) == []


def test_a_tampered_callback_is_refused(rt: Runtime, approved, oauth_sim: SimServer):
    browser, query = approved
    _callback_refused(rt, oauth_sim, _callback(browser, {**query, "code": "another-code"}), "does not match")
    _callback_refused(rt, oauth_sim, _callback(browser, sign({**query, "shop": "evil.example"})), "NAME.myshopify")
    repeated = browser.get("/shopify/callback?" + urlencode(query) + "&code=x")
    _callback_refused(rt, oauth_sim, repeated, "more than once")
    saved = browser.client.get_cookie(STATE_COOKIE, path="/shopify/").value
    assert _callback(browser, query).status_code == 302  # the genuine callback still works, once
    _page_refused(_callback(browser, query), 400, "no install in progress")  # its cookie is gone
    browser.client.set_cookie(STATE_COOKIE, saved, path="/shopify/")  # a saved copy replayed
    _page_refused(_callback(browser, query), 400, "already used")
    assert len(token_grants(oauth_sim)) == 1


def test_a_callback_in_another_browser_is_refused(
    rt: Runtime, approved, people: People, signed_in, console: Console, oauth_sim: SimServer
):
    """Brand A's install, finished by brand B's admin (or anyone else): no cookie, no install."""
    _, query = approved
    other = signed_in(people.other_admin)
    _callback_refused(rt, oauth_sim, _callback(other, query), "no install in progress")
    _start(other, shop="other-shop.myshopify.com")  # their own install's state is not brand A's
    _callback_refused(rt, oauth_sim, _callback(other, query), "not the one this browser started")
    _callback_refused(rt, oauth_sim, _callback(console, query), "no install in progress")


def test_a_state_cookie_signed_with_another_key_is_ignored(rt: Runtime, approved, oauth_sim: SimServer):
    browser, query = approved
    browser.client.set_cookie(STATE_COOKIE, "forged." + query["state"], path="/shopify/")
    _callback_refused(rt, oauth_sim, _callback(browser, query), "no install in progress")


def test_missing_scopes_are_named_on_the_page(rt: Runtime, world: World, people, signed_in, oauth_sim: SimServer):
    oauth_sim.control("config", {"granted_scopes": "read_products"})
    browser = signed_in(people.brand_admin)
    page = _callback(browser, _through_shopify(browser, _start(browser)))
    _page_refused(page, 400, "needs write_customers, write_orders too")
    assert _shop(rt) is None


def test_pages_and_logs_never_show_a_secret(
    rt: Runtime, approved, oauth_sim: SimServer, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG, logger="connector")
    browser, query = approved
    pages = [_callback(browser, {**query, "hmac": "f" * 64}).text, _callback(browser, query).text]
    pages.append(_callback(browser, query).text)  # the replay's page
    stored = _shop(rt)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("connector"))
    for secret in (CLIENT_SECRET, query["code"], query["hmac"], query["state"], stored.access_token):
        assert all(secret not in page for page in pages)
        assert secret not in logged
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ShopInstallState)) == 1


def test_the_redirect_carries_the_apps_redirect_uri_and_scopes(rt: Runtime, world: World, people, signed_in):
    started = _start(signed_in(people.brand_admin))
    query = dict(parse_qsl(urlsplit(started.headers["Location"]).query))
    assert query["redirect_uri"] == f"{PUBLIC_URL}/shopify/callback"
    assert query["scope"] == "read_products,write_customers,write_orders"
    assert shop_rows(rt)[0][0] == "acme-pets.myshopify.com" and len(shop_rows(rt)) == 1
