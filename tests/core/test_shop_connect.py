"""core/shop_connect.py against the simulator playing Shopify: the install, client credentials, a brand.

Every forged callback is refused before any token is asked for, and stores nothing: the shop rows are
compared before and after, and the simulator's token log shows whether an exchange was even tried.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select, text

from connector.core import shop_connect
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import (
    ConflictError,
    InstallRefusedError,
    NotConfiguredError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from connector.core.model import Role
from connector.core.redemptions import create_redemption
from connector.core.runtime import Runtime
from connector.core.shop_lifecycle import disconnect_shop
from connector.core.shop_tokens import mark_needs_reconnect
from connector.core.tables import Redemption, Shop, ShopConnection, ShopInstallState, ShopStatus
from shopify_sim import SimServer
from tests import install_flow
from tests.conftest import World, seed_world
from tests.install_flow import (
    CALLBACK,
    CLIENT_ID,
    CLIENT_SECRET,
    NEW_SHOP,
    PUBLIC_URL,
    app_env,
    approve,
    shop_rows,
    sign,
    token_grants,
    used_states,
)

oauth_sim_server = install_flow.oauth_sim_server
oauth_sim = install_flow.oauth_sim
SUPPORT = Actor("user:sam@support.example", Role.SUPPORT)
ADMIN = Actor("user:pat@platform.example", Role.PLATFORM_ADMIN)


@pytest.fixture
def rt(make_runtime, oauth_sim: SimServer) -> Runtime:
    return make_runtime(plugin_env=app_env(oauth_sim), public_url=PUBLIC_URL)


@pytest.fixture
def world(rt: Runtime) -> World:
    return seed_world(rt)


def _install(rt: Runtime, brand_id: int | None, domain: str = NEW_SHOP) -> tuple[dict[str, str], str]:
    """Start an install and let the merchant approve: (callback query, the browser's state)."""
    url, state = shop_connect.begin_install(rt, domain, brand_id, None)
    return approve(url), state


def _shop(rt: Runtime, domain: str = NEW_SHOP) -> Shop | None:
    with rt.sessions() as s:
        return s.scalars(select(Shop).where(Shop.domain == domain)).first()


# -- the authorize page ----------------------------------------------------------------------------------------


@pytest.mark.hook("connector_install_url")
def test_begin_install_sends_the_browser_to_the_shops_authorize_page_and_keeps_only_the_states_digest(
    rt: Runtime, world: World, oauth_sim: SimServer
):
    url, state = shop_connect.begin_install(rt, NEW_SHOP, world.brand.id, None)
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    assert f"{parts.scheme}://{parts.netloc}" == oauth_sim.base_url and parts.path == "/admin/oauth/authorize"
    assert query == {
        "client_id": CLIENT_ID,
        "scope": "read_products,write_customers,write_orders",
        "redirect_uri": CALLBACK,
        "state": state,
    }
    with rt.sessions() as s:
        row = s.scalars(select(ShopInstallState)).one()
        raw = s.execute(text("SELECT * FROM shop_install_states")).mappings().one()
    assert row.state_digest == shop_connect.state_digest(state) and state not in {str(v) for v in raw.values()}
    assert (row.shop_domain, row.brand_id, row.used_at) == (NEW_SHOP, world.brand.id, None)
    assert row.expires_at - row.created_at == timedelta(minutes=10)


def test_a_shop_on_its_own_address_gets_shopifys_authorize_page(make_runtime):
    rt = make_runtime(
        plugin_env={"SHOPIFY_CLIENT_ID": CLIENT_ID, "SHOPIFY_CLIENT_SECRET": CLIENT_SECRET}, public_url=PUBLIC_URL
    )
    url, _ = shop_connect.begin_install(rt, "Acme-Pets.myshopify.com", None, None)
    assert url.startswith("https://acme-pets.myshopify.com/admin/oauth/authorize?client_id=sim-client-id&")


@pytest.mark.parametrize("domain", ["acme.example.com", "evil.com/.myshopify.com", "-x.myshopify.com", ""])
def test_begin_install_refuses_a_shop_that_is_not_a_myshopify_host(rt: Runtime, world: World, domain: str):
    with pytest.raises(ValidationError) as caught:
        shop_connect.begin_install(rt, domain, world.brand.id, None)
    assert "your-shop.myshopify.com" in caught.value.fields["shop"]
    with rt.sessions() as s:
        assert s.scalars(select(ShopInstallState)).first() is None


@pytest.mark.parametrize(
    ("missing", "env", "public_url"),
    [
        ("SHOPIFY_CLIENT_ID", {"SHOPIFY_CLIENT_SECRET": CLIENT_SECRET}, PUBLIC_URL),
        ("SHOPIFY_CLIENT_SECRET", {"SHOPIFY_CLIENT_ID": CLIENT_ID}, PUBLIC_URL),
        ("CONNECTOR_PUBLIC_URL", {"SHOPIFY_CLIENT_ID": CLIENT_ID, "SHOPIFY_CLIENT_SECRET": CLIENT_SECRET}, None),
    ],
)
def test_a_missing_app_setting_is_named(make_runtime, missing: str, env: dict[str, str], public_url: str | None):
    rt = make_runtime(plugin_env=env, public_url=public_url)
    with pytest.raises(NotConfiguredError) as caught:
        shop_connect.begin_install(rt, NEW_SHOP, None, None)
    assert caught.value.setting == missing and missing in caught.value.message


# -- the whole install --------------------------------------------------------------------------------------------


@pytest.mark.hook("connector_verify_install_callback")
def test_an_install_from_the_console_connects_the_shop_to_the_brand_with_an_expiring_token(
    rt: Runtime, world: World, oauth_sim: SimServer
):
    query, state = _install(rt, world.brand.id)
    shop = shop_connect.complete_install(rt, query, state)

    assert (shop.domain, shop.brand_id, shop.connection_kind, shop.status) == (
        NEW_SHOP,
        world.brand.id,
        ShopConnection.INSTALL,
        ShopStatus.CONNECTED,
    )
    stored = _shop(rt)
    assert stored is not None and stored.callable
    assert stored.api_base_url == oauth_sim.base_url
    assert stored.access_token and stored.refresh_token and stored.access_token != stored.refresh_token
    assert stored.access_token_expires_at is not None and stored.refresh_token_expires_at is not None
    assert stored.granted_scopes == "read_products,write_customers,write_orders"
    assert stored.webhook_secret == CLIENT_SECRET and stored.client_secret is None
    assert stored.installed_at is not None and stored.status_reason is None
    # The shop was asked for an expiring token, once, by the app's own client id.
    grants = token_grants(oauth_sim)
    assert [(g["grant"], g["status"], g["expiring"], g["client_id"]) for g in grants] == [
        ("authorization_code", 200, True, CLIENT_ID)
    ]
    # The token the shop gave works for the connector's calls: the connect subscribed the shop's webhooks with it.
    health = json.loads(stored.webhook_health)
    assert stored.webhooks_synced_at is not None and health["healthy"] and health["created"] > 0
    assert health["uri"] == f"{PUBLIC_URL}/webhooks/shopify"
    with rt.sessions() as s:
        raw = s.execute(text("SELECT access_token, refresh_token FROM shops WHERE domain = :d"), {"d": NEW_SHOP}).one()
    assert all(value.startswith("gAAAAA") for value in raw), "tokens are encrypted at rest"


def test_an_install_from_shopifys_side_for_an_unknown_shop_waits_for_a_brand_then_a_platform_admin_assigns_it(
    rt: Runtime, world: World
):
    query, state = _install(rt, None)
    shop = shop_connect.complete_install(rt, query, state)
    assert (shop.brand_id, shop.status) == (None, ShopStatus.AWAITING_BRAND)
    assert not _shop(rt).callable

    brand_admin = Actor("user:bea@acme.example", Role.BRAND_ADMIN, brand_id=world.brand.id)
    with pytest.raises(PermissionDeniedError):
        shop_connect.assign_brand(rt, shop.id, world.brand.id, brand_admin)
    assert _shop(rt).brand_id is None

    assigned = shop_connect.assign_brand(rt, shop.id, world.brand.id, ADMIN)
    assert (assigned.brand_id, assigned.status) == (world.brand.id, ShopStatus.CONNECTED)
    assert shop_connect.assign_brand(rt, shop.id, world.brand.id, ADMIN).brand_id == world.brand.id  # again: same
    with pytest.raises(ConflictError, match="never moved between brands"):
        shop_connect.assign_brand(rt, shop.id, world.other_brand.id, ADMIN)
    assert (_shop(rt).brand_id, _shop(rt).status) == (world.brand.id, ShopStatus.CONNECTED)


def test_an_install_from_shopifys_side_for_a_known_shop_keeps_its_brand(rt: Runtime, world: World, oauth_sim):
    oauth_sim.control("config", {"shop_domain": "acme-pets.myshopify.com"})
    query, state = _install(rt, None, "acme-pets.myshopify.com")
    shop = shop_connect.complete_install(rt, query, state)
    assert (shop.brand_id, shop.status, shop.connection_kind) == (
        world.brand.id,
        ShopStatus.CONNECTED,
        ShopConnection.INSTALL,
    )
    stored = _shop(rt, "acme-pets.myshopify.com")
    # The legacy app's secret keeps verifying webhooks for an hour while Shopify switches to the app's.
    assert (stored.webhook_secret, stored.previous_webhook_secret) == (CLIENT_SECRET, "whsec_test_secret_0123456789")


def test_a_reinstall_reconnects_a_disconnected_shop_and_its_parked_redemption_gets_one_order(
    rt: Runtime, world: World, oauth_sim: SimServer
):
    oauth_sim.control("config", {"shop_domain": "acme-pets.myshopify.com"})
    oauth_sim.control("products", {"sku": "TSHIRT-M", "title": "Ambassador T-Shirt", "inventory": 5})
    with transaction(rt.sessions) as s:  # the app was uninstalled: the shop is disconnected
        shop = s.scalars(select(Shop).where(Shop.id == world.shop.id).with_for_update()).one()
        disconnect_shop(s, shop, reason="the app was uninstalled", actor="test", now=rt.now(), uninstalled=True)
    rid = create_redemption(rt, SUPPORT, member_id=world.member.id, reward_id=world.reward.id).redemption.id
    with rt.sessions() as s:
        parked = s.get(Redemption, rid)
        assert (parked.status, parked.error_code) == ("error", "shop_disconnected")

    query, state = _install(rt, world.brand.id, "acme-pets.myshopify.com")
    shop_connect.complete_install(rt, query, state)

    stored = _shop(rt, "acme-pets.myshopify.com")
    assert (stored.status, stored.status_reason, stored.connection_kind, stored.brand_id) == (
        ShopStatus.CONNECTED,
        None,
        ShopConnection.INSTALL,
        world.brand.id,
    )
    with rt.sessions() as s:
        resumed = s.get(Redemption, rid)
        assert resumed.status == "fulfilled" and resumed.external_order_id, (resumed.error_code, resumed.error_message)
    assert len(oauth_sim.control("orders")["orders"]) == 1


# -- forged and failed callbacks: refused, nothing stored ---------------------------------------------------------


def _refused(rt: Runtime, oauth_sim: SimServer, query: dict[str, str], browser_state: str | None, words: str) -> None:
    before, grants = shop_rows(rt), len(token_grants(oauth_sim))
    with pytest.raises(InstallRefusedError) as caught:
        shop_connect.complete_install(rt, query, browser_state)
    assert words in caught.value.message
    assert shop_rows(rt) == before, "a refused callback stores nothing"
    assert len(token_grants(oauth_sim)) == grants, "a forged callback never reaches the token endpoint"


def test_a_tampered_hmac_is_refused(rt: Runtime, world: World, oauth_sim):
    query, state = _install(rt, world.brand.id)
    _refused(rt, oauth_sim, {**query, "hmac": "0" * 64}, state, "signature (hmac) of the address does not match")
    _refused(rt, oauth_sim, {**query, "code": query["code"] + "x"}, state, "does not match")
    _refused(rt, oauth_sim, sign(query, "not-the-app-secret"), state, "does not match")
    _refused(rt, oauth_sim, {k: v for k, v in query.items() if k != "hmac"}, state, "no Shopify signature")
    assert used_states(rt) == 0
    assert shop_connect.complete_install(rt, query, state).domain == NEW_SHOP  # the genuine one still works


def test_a_missing_or_other_browsers_state_is_refused(rt: Runtime, world: World, oauth_sim):
    query, state = _install(rt, world.brand.id)
    _, other_browser_state = _install(rt, world.brand.id)
    _refused(rt, oauth_sim, query, None, "has no install in progress")
    _refused(rt, oauth_sim, query, "", "has no install in progress")
    _refused(rt, oauth_sim, query, other_browser_state, "not the one this browser started")
    _refused(rt, oauth_sim, {k: v for k, v in query.items() if k != "state"}, state, "carries no state")
    forged = sign({**query, "state": "a-state-never-issued"})  # even signed with the real secret
    _refused(rt, oauth_sim, forged, "a-state-never-issued", "never issued")
    assert used_states(rt) == 0


def test_a_replayed_callback_is_refused_and_the_code_exchanged_once(rt: Runtime, world: World, oauth_sim):
    query, state = _install(rt, world.brand.id)
    shop_connect.complete_install(rt, query, state)
    _refused(rt, oauth_sim, query, state, "already used")
    assert len(token_grants(oauth_sim)) == 1


def test_two_callbacks_racing_with_one_state_exchange_one_code(rt: Runtime, world: World, oauth_sim):
    query, state = _install(rt, world.brand.id)
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def finish() -> None:
        start.wait()
        try:
            shop_connect.complete_install(rt, query, state)
            outcomes.append("connected")
        except InstallRefusedError:
            outcomes.append("refused")

    threads = [threading.Thread(target=finish) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["connected", "refused", "refused", "refused"]
    assert len(token_grants(oauth_sim)) == 1


def test_a_bad_shop_host_is_refused_even_when_signed(rt: Runtime, world: World, oauth_sim):
    query, state = _install(rt, world.brand.id)
    for host in ("evil.example", "new-shop.myshopify.com.evil.example", "NEW-SHOP.myshopify.com"):
        _refused(rt, oauth_sim, sign({**query, "shop": host}), state, "not a plain NAME.myshopify.com host")
    _refused(rt, oauth_sim, sign({**query, "shop": "other-shop.myshopify.com"}), state, "started for new-shop")


def test_an_expired_state_is_refused(rt: Runtime, world: World, oauth_sim):
    query, state = _install(rt, world.brand.id)
    started = rt.now()
    rt.now = lambda: started + timedelta(minutes=10, seconds=1)
    _refused(rt, oauth_sim, query, state, "longer than 10 minutes")


def test_a_failed_exchange_stores_nothing_and_uses_the_state(rt: Runtime, world: World, oauth_sim):
    query, state = _install(rt, world.brand.id)
    oauth_sim.control("faults", {"queue": [{"kind": "500", "operation": "oauth:authorization_code"}]})
    before = shop_rows(rt)
    with pytest.raises(InstallRefusedError, match="did not give the connector a token"):
        shop_connect.complete_install(rt, query, state)
    assert shop_rows(rt) == before and _shop(rt) is None
    assert used_states(rt) == 1  # the code may have been spent: this callback is not accepted again
    _refused(rt, oauth_sim, query, state, "already used")


@pytest.mark.hook("connector_check_scopes")
def test_missing_scopes_are_named_and_nothing_is_stored(rt: Runtime, world: World, oauth_sim):
    oauth_sim.control("config", {"granted_scopes": "read_products,write_customers"})
    query, state = _install(rt, world.brand.id)
    before = shop_rows(rt)
    with pytest.raises(InstallRefusedError) as caught:
        shop_connect.complete_install(rt, query, state)
    assert "needs write_orders too" in caught.value.message
    assert shop_rows(rt) == before and _shop(rt) is None


# -- tenants ------------------------------------------------------------------------------------------------------


def test_a_brand_cannot_install_a_shop_of_another_brand(rt: Runtime, world: World, oauth_sim):
    with pytest.raises(ConflictError, match="another brand"):
        shop_connect.begin_install(rt, "acme-pets.myshopify.com", world.other_brand.id, None)
    # An install begun while the shop was free, finished after another brand connected it: refused too.
    query, state = _install(rt, world.other_brand.id)
    first_query, first_state = _install(rt, world.brand.id)
    shop_connect.complete_install(rt, first_query, first_state)
    owned = shop_rows(rt)
    _refused(rt, oauth_sim, query, state, "connected to another brand")
    assert shop_rows(rt) == owned and _shop(rt).brand_id == world.brand.id


# -- client credentials -------------------------------------------------------------------------------------------


def test_client_credentials_fetch_a_token_at_once_and_store_the_secret_encrypted(rt: Runtime, world: World, oauth_sim):
    shop = shop_connect.connect_client_credentials(
        rt, world.brand.id, NEW_SHOP, CLIENT_ID, CLIENT_SECRET, api_base_url=oauth_sim.base_url
    )
    assert (shop.connection_kind, shop.status, shop.brand_id) == (
        ShopConnection.CLIENT_CREDENTIALS,
        ShopStatus.CONNECTED,
        world.brand.id,
    )
    stored = _shop(rt)
    assert (stored.client_id, stored.client_secret, stored.webhook_secret) == (CLIENT_ID, CLIENT_SECRET, CLIENT_SECRET)
    assert stored.refresh_token is None and stored.access_token_expires_at is not None
    assert [g["grant"] for g in token_grants(oauth_sim)] == ["client_credentials"]
    with rt.sessions() as s:
        raw = s.execute(text("SELECT client_secret FROM shops WHERE domain = :d"), {"d": NEW_SHOP}).scalar_one()
    assert raw.startswith("gAAAAA")


def test_refused_client_credentials_or_missing_scopes_store_nothing(rt: Runtime, world: World, oauth_sim):
    before = shop_rows(rt)
    with pytest.raises(ValidationError) as caught:
        shop_connect.connect_client_credentials(
            rt, world.brand.id, NEW_SHOP, CLIENT_ID, "a-wrong-secret-0123456789", api_base_url=oauth_sim.base_url
        )
    assert "invalid_client" in caught.value.fields["client_secret"]
    oauth_sim.control("config", {"granted_scopes": "read_products"})
    with pytest.raises(ValidationError) as caught:
        shop_connect.connect_client_credentials(
            rt, world.brand.id, NEW_SHOP, CLIENT_ID, CLIENT_SECRET, api_base_url=oauth_sim.base_url
        )
    assert "add write_customers, write_orders" in caught.value.fields["scopes"]
    assert shop_rows(rt) == before


def test_client_credentials_of_the_shops_own_organization_claim_a_shop_awaiting_a_brand(
    rt: Runtime, world: World, oauth_sim
):
    query, state = _install(rt, None)
    assert shop_connect.complete_install(rt, query, state).status == ShopStatus.AWAITING_BRAND
    shop = shop_connect.connect_client_credentials(
        rt, world.brand.id, NEW_SHOP, CLIENT_ID, CLIENT_SECRET, api_base_url=oauth_sim.base_url
    )
    assert (shop.brand_id, shop.status, shop.connection_kind) == (
        world.brand.id,
        ShopStatus.CONNECTED,
        ShopConnection.CLIENT_CREDENTIALS,
    )


def test_reconnect_with_the_stored_client_credentials(rt: Runtime, world: World, oauth_sim):
    shop = shop_connect.connect_client_credentials(
        rt, world.brand.id, NEW_SHOP, CLIENT_ID, CLIENT_SECRET, api_base_url=oauth_sim.base_url
    )
    with transaction(rt.sessions) as s:
        mark_needs_reconnect(s.get(Shop, shop.id), "Shopify refused the client credentials", rt.now())
    again = shop_connect.reconnect_client_credentials(rt, shop.id)
    assert (again.status, again.status_reason) == (ShopStatus.CONNECTED, None)
    assert [g["grant"] for g in token_grants(oauth_sim)] == ["client_credentials", "client_credentials"]
    with pytest.raises(ConflictError, match="does not connect by client credentials"):
        shop_connect.reconnect_client_credentials(rt, world.shop.id)  # a static token: the install link
    with pytest.raises(NotFoundError):
        shop_connect.reconnect_client_credentials(rt, 999_999)


def test_client_credentials_never_take_another_brands_shop(rt: Runtime, world: World, oauth_sim):
    before = shop_rows(rt)
    with pytest.raises(ConflictError, match="another brand"):
        shop_connect.connect_client_credentials(
            rt,
            world.other_brand.id,
            "acme-pets.myshopify.com",
            CLIENT_ID,
            CLIENT_SECRET,
            api_base_url=oauth_sim.base_url,
        )
    assert shop_rows(rt) == before and token_grants(oauth_sim) == []


def test_the_install_logs_no_secret(rt: Runtime, world: World, oauth_sim, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    query, state = _install(rt, world.brand.id)
    with pytest.raises(InstallRefusedError):
        shop_connect.complete_install(rt, {**query, "hmac": "0" * 64}, state)
    shop_connect.complete_install(rt, query, state)
    stored = _shop(rt)
    # The connector's own records (urllib3's lines about the test's browser visiting the authorize page are not).
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("connector"))
    assert "installed" in logged and "does not match" in logged
    for secret in (CLIENT_SECRET, state, query["code"], query["hmac"], stored.access_token, stored.refresh_token):
        assert secret not in logged
