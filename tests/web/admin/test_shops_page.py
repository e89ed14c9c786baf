"""The Shops page: who sees which shops, what each shows (never a credential), and its actions.

Real database, real sign-in, real CSRF, and the real actions: the disconnect (``core.shop_lifecycle``), the
webhook sync (``core.shop_webhooks``), the client-credentials reconnect and the brand assignment
(``core.shop_connect``). Each shop has its own Shopify simulator (``tests.web.shop_rows.Stores``), so a test
sees what the store received: the subscriptions a sync made, the token a reconnect asked for, or nothing.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from connector.core.access import Actor
from connector.core.errors import ProviderError
from connector.core.model import Role
from connector.core.redemptions import create_redemption
from connector.core.runtime import Runtime
from connector.core.tables import Redemption, Shop, ShopStatus
from tests.web.admin.conftest import flashes
from tests.web.admin.dom import Node
from tests.web.shop_rows import (
    NOW,
    PUBLIC_URL,
    SECRETS,
    WEBHOOK_URI,
    leaked,
    shop_state,
)

SUPPORT = Actor("support@acme", Role.SUPPORT)
TOKEN_ENDPOINT = "/admin/oauth/access_token"
GRAPHQL = "/admin/api/2026-07/graphql.json"


@pytest.fixture
def rt(make_runtime, shop) -> Runtime:
    return make_runtime(plugins=[shop], public_url=PUBLIC_URL)


def _cards(page: Node) -> dict[int, Node]:
    return {int(card["data-shop-id"]): card for card in page.find_all("section", class_="shop")}


def _field(card: Node, name: str) -> str:
    return " ".join(card.one("dd", class_=f"shop-{name}").text.split())


def _health(rt: Runtime, shop_id: int) -> dict:
    return json.loads(shop_state(rt, shop_id)["webhook_health"] or "null")


# -- who sees what ------------------------------------------------------------------------------------------


def test_a_platform_admin_sees_every_shop_with_its_connection_status_scopes_tokens_and_health(signed_in, people, shops):
    page = signed_in(people.platform_admin).page("/admin/shops")
    cards = _cards(page)
    assert set(cards) == {shops.acme_static, shops.acme_install, shops.other_cc, shops.orphan}

    static = cards[shops.acme_static]
    assert static.one("span", class_="shop-domain").text == "acme-pets.myshopify.com"
    assert static.one("span", class_="shop-status").text == "Connected"
    assert _field(static, "brand") == "Acme Pets"
    assert _field(static, "connection") == "Static token"
    assert _field(static, "token") == "set; does not expire"
    assert _field(static, "refresh-token") == "none (static token)"
    assert _field(static, "webhooks") == "never synced"
    assert _field(static, "last-success") == "none recorded yet"
    assert _field(static, "rate-limit") == "not seen yet"
    assert static.find("strong", class_="scope-missing") is None

    install = cards[shops.acme_install]
    assert _field(install, "connection") == "Install"
    assert _field(install, "token") == "set; expires in 42 min (2026-12-06 09:42 UTC)"
    assert _field(install, "refresh-token") == "set; expires in 90 days (2027-03-06 09:00 UTC)"
    # Required scopes come from the Shopify plugin; the one not granted is highlighted and named.
    scopes = {li["data-scope"]: li["data-granted"] for li in install.find_all("li", class_="scope")}
    assert scopes == {"read_products": "yes", "write_customers": "no", "write_orders": "yes"}
    assert install.one("strong", class_="scope-missing").text == "write_customers: missing"
    assert "Missing write_customers: reconnect the shop" in install.one("p", class_="scope-fix").text
    assert install.one("dd", class_="shop-webhooks")["data-state"] == "ok"
    assert _field(install, "webhooks").startswith("in order; synced 2 h ago (2026-12-06 07:00 UTC)")
    assert "created: 2" in _field(install, "webhooks")
    assert _field(install, "last-success") == "3 min ago (2026-12-06 08:57 UTC)"
    assert _field(install, "rate-limit") == (
        "1,800 of 2,000 points available, refilling 100 a second; seen 3 min ago (2026-12-06 08:57 UTC)"
    )
    assert install.one("a", class_="action-reconnect")["href"] == "/shopify/install?shop=acme-install.myshopify.com"
    assert install.find("form", class_="action-sync-webhooks") is not None

    other = cards[shops.other_cc]
    assert other.one("span", class_="shop-status").text == "Needs reconnecting"
    assert other.one("p", class_="shop-reason").text == "Shopify refused the client credentials (invalid_client)"
    assert _field(other, "connection") == "Client credentials · client id other-client-id-0001 · client secret set"
    assert _field(other, "token").startswith("set; expired 1 h ago (2026-12-06 08:00 UTC)")
    assert other.one("form", class_="action-reconnect")["method"] == "post"
    assert other.find("form", class_="action-sync-webhooks") is None  # not callable until reconnected

    orphan = cards[shops.orphan]
    assert orphan.one("span", class_="shop-status").text == "Awaiting a brand"
    assert _field(orphan, "brand") == "none yet (awaiting a brand)"
    form = orphan.one("form", class_="action-assign-brand")
    assert [o.text for o in form.find_all("option")] == ["Choose a brand", "Acme Pets", "Other Brand"]
    assert orphan.find("form", class_="action-sync-webhooks") is None
    # Connect: a form that opens the install flow with the shop's domain.
    connect = page.one("form", id="connect-form")
    assert (connect["method"], connect["action"]) == ("get", "/shopify/install")
    assert connect.one("input", name="shop")


def test_a_brand_admin_sees_only_their_brands_shops_and_no_assign_form(signed_in, people, shops):
    page = signed_in(people.brand_admin).page("/admin/shops")
    assert set(_cards(page)) == {shops.acme_static, shops.acme_install}
    assert page.find("form", class_="action-assign-brand") is None
    assert page.find("dd", class_="shop-brand") is None
    other = signed_in(people.other_admin).page("/admin/shops")
    assert set(_cards(other)) == {shops.other_cc}


@pytest.mark.parametrize("role", ["support", "viewer", "global_viewer", "distributor", "retailer"])
def test_other_roles_have_no_shops_page_nor_its_link(signed_in, people, shops, role):
    browser = signed_in(getattr(people, role))
    response = browser.get("/admin/shops")
    assert response.status_code == 403
    assert not leaked(response.text)
    home = browser.follow(browser.get("/admin/"))
    assert "Shops" not in [a.text for a in home.one("header").one("nav").find_all("a")]


def test_connect_may_leave_for_the_shops_authorize_page_and_nothing_else_is_loosened(signed_in, people, shops):
    """Browsers apply form-action to a form's redirects: Connect's goes to Shopify, so the page allows it."""
    csp = signed_in(people.brand_admin).get("/admin/shops").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["form-action"] == "'self' https://*.myshopify.com"
    assert (directives["default-src"], directives["script-src"], directives["frame-ancestors"]) == (
        "'self'",
        "'self'",
        "'none'",
    )
    other = signed_in(people.brand_admin).get("/admin/fulfilments").headers["Content-Security-Policy"]
    assert "myshopify" not in other


def test_the_shops_link_is_in_the_header_of_the_roles_that_manage_shops(signed_in, people, shops):
    for person in (people.platform_admin, people.brand_admin):
        page = signed_in(person).page("/admin/fulfilments")
        links = {a.text: a["href"] for a in page.one("header").one("nav").find_all("a")}
        assert links["Shops"] == "/admin/shops"


# -- never a credential ----------------------------------------------------------------------------------


def test_no_page_shows_a_token_refresh_token_or_secret(rt, signed_in, people, world, shops, stores):
    admin = signed_in(people.platform_admin)
    texts = [admin.get("/admin/shops").text]
    for shop_id in (shops.acme_static, shops.acme_install, shops.other_cc, shops.orphan):
        texts.append(admin.get(f"/admin/shops/{shop_id}/disconnect").text)
    texts.append(admin.follow(admin.post(f"/admin/shops/{shops.acme_install}/sync-webhooks")).text)
    texts.append(admin.follow(admin.post(f"/admin/shops/{shops.other_cc}/reconnect")).text)
    texts.append(
        admin.follow(admin.post(f"/admin/shops/{shops.orphan}/assign-brand", {"brand_id": world.brand.id})).text
    )
    # Each action reached its store (so the pages above are the answers to real work, not refusals).
    assert stores[shops.acme_install].subscriptions() and stores[shops.orphan].subscriptions()
    granted = shop_state(rt, shops.other_cc)["access_token"]
    assert granted != SECRETS["other cc access"] and shop_state(rt, shops.other_cc)["status"] == ShopStatus.CONNECTED
    texts.append(signed_in(people.brand_admin).get("/admin/shops").text)
    texts.append(signed_in(people.other_admin).get("/admin/shops").text)
    assert all(text for text in texts)
    assert [leaked(text) for text in texts] == [[] for _ in texts]
    assert [text for text in texts if granted in text] == []  # nor the token the reconnect was just given


# -- tenants never meet ----------------------------------------------------------------------------------


def test_a_brand_admin_cannot_see_sync_disconnect_reconnect_or_assign_another_brands_shop(
    rt, signed_in, people, world, shops, stores
):
    """Oscar (Other Brand) tries every action on Acme's shops and on the unclaimed one: 404, nothing changes."""
    oscar = signed_in(people.other_admin)
    targets = (shops.acme_static, shops.acme_install, shops.orphan)
    before = {shop_id: shop_state(rt, shop_id) for shop_id in targets}
    for shop_id in targets:
        assert oscar.get(f"/admin/shops/{shop_id}/disconnect").status_code == 404
        for action, data in (
            ("sync-webhooks", {}),
            ("disconnect", {"reason": "hostile"}),
            ("reconnect", {}),
            ("assign-brand", {"brand_id": world.other_brand.id}),
        ):
            response = oscar.post(f"/admin/shops/{shop_id}/{action}", data)
            assert response.status_code == 404, (shop_id, action, response.status_code)
            assert not leaked(response.text)
    assert {shop_id: shop_state(rt, shop_id) for shop_id in targets} == before
    assert [stores[shop_id].received for shop_id in targets] == [[], [], []]  # no store was even asked
    # Their own page still lists only their own shop.
    assert set(_cards(oscar.page("/admin/shops"))) == {shops.other_cc}


def test_a_brand_admin_may_not_assign_a_brand_even_to_their_own_shop(rt, signed_in, people, world, shops):
    bea = signed_in(people.brand_admin)
    before = shop_state(rt, shops.acme_static)
    response = bea.post(f"/admin/shops/{shops.acme_static}/assign-brand", {"brand_id": world.other_brand.id})
    assert response.status_code == 403
    assert shop_state(rt, shops.acme_static) == before


# -- actions ---------------------------------------------------------------------------------------------


def test_a_platform_admin_assigns_an_unclaimed_shop_to_a_brand_once(rt, signed_in, people, world, shops, stores):
    pat = signed_in(people.platform_admin)
    page = pat.follow(pat.post(f"/admin/shops/{shops.orphan}/assign-brand", {"brand_id": world.other_brand.id}))
    assert flashes(page, "success") == ["orphan-store.myshopify.com now belongs to Other Brand; it is connected."]
    # Now that it may be called, its webhooks are subscribed in its store, and the card says so.
    assert {uri for _, uri in stores[shops.orphan].subscriptions()} == {WEBHOOK_URI}
    assert _cards(page)[shops.orphan].one("dd", class_="shop-webhooks")["data-state"] == "ok"
    after = shop_state(rt, shops.orphan)
    assert (after["brand_id"], after["status"], after["status_changed_at"]) == (
        world.other_brand.id,
        ShopStatus.CONNECTED,
        NOW,
    )
    card = _cards(page)[shops.orphan]
    assert card.one("span", class_="shop-status").text == "Connected"
    assert card.find("form", class_="action-assign-brand") is None
    # The other brand's admin now sees it; a second assignment is refused and moves nothing.
    assert shops.orphan in _cards(signed_in(people.other_admin).page("/admin/shops"))
    again = pat.follow(pat.post(f"/admin/shops/{shops.orphan}/assign-brand", {"brand_id": world.brand.id}))
    assert "already belongs to a brand" in flashes(again, "error")[0]
    assert shop_state(rt, shops.orphan) == after


def test_assigning_needs_a_brand_that_exists(rt, signed_in, people, shops):
    pat = signed_in(people.platform_admin)
    before = shop_state(rt, shops.orphan)
    for value in ("", "abc", "999999"):
        page = pat.follow(pat.post(f"/admin/shops/{shops.orphan}/assign-brand", {"brand_id": value}))
        assert flashes(page, "error"), value
        assert "brand" in flashes(page, "error")[0].lower()
    assert shop_state(rt, shops.orphan) == before


def test_every_action_needs_the_forms_csrf_token(rt, signed_in, people, world, shops, stores):
    pat = signed_in(people.platform_admin)
    before = {shop_id: shop_state(rt, shop_id) for shop_id in (shops.orphan, shops.acme_install, shops.other_cc)}
    attempts = [
        (shops.orphan, "assign-brand", {"brand_id": world.brand.id}),
        (shops.acme_install, "sync-webhooks", {}),
        (shops.acme_install, "disconnect", {}),
        (shops.other_cc, "reconnect", {}),
    ]
    for shop_id, action, data in attempts:
        for token in (None, "forged-token"):
            response = pat.post(f"/admin/shops/{shop_id}/{action}", data, csrf=token)
            assert response.status_code == 400, (action, token)
            assert "nothing was changed" in response.text
    assert {shop_id: shop_state(rt, shop_id) for shop_id in before} == before
    assert [stores[shop_id].received for shop_id in before] == [[], [], []]


def test_sync_webhooks_subscribes_that_shop_in_its_store_and_shows_the_health(rt, signed_in, people, shops, stores):
    bea = signed_in(people.brand_admin)
    page = bea.follow(bea.post(f"/admin/shops/{shops.acme_static}/sync-webhooks"))
    assert flashes(page, "success") == ["Webhook subscriptions of acme-pets.myshopify.com synced; they are in order."]
    subscribed = stores[shops.acme_static].subscriptions()
    assert len(subscribed) == 6 and {uri for _, uri in subscribed} == {WEBHOOK_URI}
    assert ("ORDERS_FULFILLED", WEBHOOK_URI) in subscribed
    card = _cards(page)[shops.acme_static]
    assert card.one("dd", class_="shop-webhooks")["data-state"] == "ok"
    assert _field(card, "webhooks").startswith("in order; synced just now")
    assert "created: 6" in _field(card, "webhooks") and f"uri: {WEBHOOK_URI}" in _field(card, "webhooks")
    assert "orders/fulfilled created" in _field(card, "webhooks") and "{" not in _field(card, "webhooks")
    # Only that shop's store was reached; the other Acme shop's was not.
    assert stores[shops.acme_install].received == []
    # A second sync finds everything in place and changes nothing.
    again = bea.follow(bea.post(f"/admin/shops/{shops.acme_static}/sync-webhooks"))
    assert stores[shops.acme_static].subscriptions() == subscribed
    assert (_health(rt, shops.acme_static)["created"], _health(rt, shops.acme_static)["unchanged"]) == (0, 6)
    assert "unchanged: 6" in _field(_cards(again)[shops.acme_static], "webhooks")


def test_a_sync_the_store_does_not_answer_shows_the_problem_not_in_order(rt, signed_in, people, shops, stores):
    stores[shops.acme_install].sim.control("faults", {"rates": {"503": 1.0}})
    bea = signed_in(people.brand_admin)
    page = bea.follow(bea.post(f"/admin/shops/{shops.acme_install}/sync-webhooks"))
    assert flashes(page, "success") == [
        "Webhook subscriptions of acme-install.myshopify.com synced; they are not all in order: see the summary."
    ]
    card = _cards(page)[shops.acme_install]
    assert card.one("dd", class_="shop-webhooks")["data-state"] == "problems"
    assert "HTTP 503" in _field(card, "webhooks") and "Sync again" in _field(card, "webhooks")
    assert stores[shops.acme_install].subscriptions() == set()


def test_a_shop_that_is_not_connected_is_not_synced(rt, signed_in, people, shops, stores):
    oscar = signed_in(people.other_admin)
    before = shop_state(rt, shops.other_cc)
    page = oscar.follow(oscar.post(f"/admin/shops/{shops.other_cc}/sync-webhooks"))
    assert "is not connected (needs reconnect)" in flashes(page, "error")[0]
    assert stores[shops.other_cc].received == [] and shop_state(rt, shops.other_cc) == before


def test_reconnect_gets_a_new_token_with_the_stored_client_credentials_and_subscribes_the_shop(
    rt, signed_in, people, shops, stores
):
    oscar = signed_in(people.other_admin)
    page = oscar.follow(oscar.post(f"/admin/shops/{shops.other_cc}/reconnect"))
    assert flashes(page, "success") == ["other-cc.myshopify.com reconnected: connected."]
    store = stores[shops.other_cc]
    assert store.received[0] == TOKEN_ENDPOINT and GRAPHQL in store.received
    grants = [g for g in store.sim.control("oauth/grants")["grants"] if g.get("endpoint") == "access_token"]
    assert [(g["grant"], g["status"]) for g in grants] == [("client_credentials", 200)]
    after = shop_state(rt, shops.other_cc)
    assert (after["status"], after["status_reason"], after["status_changed_at"]) == (ShopStatus.CONNECTED, None, NOW)
    assert after["access_token"] not in (SECRETS["other cc access"], "")
    assert after["access_token_expires_at"] == NOW + timedelta(seconds=86399)
    assert {uri for _, uri in store.subscriptions()} == {WEBHOOK_URI}
    card = _cards(page)[shops.other_cc]
    assert card.one("span", class_="shop-status").text == "Connected"
    assert card.one("dd", class_="shop-webhooks")["data-state"] == "ok"
    assert card.find("form", class_="action-sync-webhooks") is not None
    assert after["access_token"] not in page.text and not leaked(page.text)


def test_a_reconnect_the_store_refuses_says_why_and_how_and_the_shop_still_needs_reconnecting(
    rt, signed_in, people, shops, stores
):
    """The app's client secret was rotated in Shopify: the stored one is refused; nothing is stored."""
    store = stores[shops.other_cc]
    store.sim.control("config", {"client_secret": "ccsec_rotated_in_the_dev_dashboard_0001"})
    before = shop_state(rt, shops.other_cc)
    oscar = signed_in(people.other_admin)
    page = oscar.follow(oscar.post(f"/admin/shops/{shops.other_cc}/reconnect"))
    [error] = flashes(page, "error")
    assert error.startswith(
        "Shopify refused the stored client credentials of other-cc.myshopify.com: other-cc.myshopify.com refused"
    )
    assert "invalid_client" in error and "connect the shop again with its current client id and secret" in error
    assert shop_state(rt, shops.other_cc) == before and before["status"] == ShopStatus.NEEDS_RECONNECT
    assert store.received == [TOKEN_ENDPOINT] and store.subscriptions() == set()
    assert _cards(page)[shops.other_cc].one("span", class_="shop-status").text == "Needs reconnecting"
    assert not leaked(page.text) and "ccsec_rotated" not in page.text


def test_a_connected_shop_whose_credentials_are_refused_becomes_needs_reconnect_with_the_reason(
    rt, signed_in, people, world, shops, stores
):
    oscar = signed_in(people.other_admin)
    oscar.post(f"/admin/shops/{shops.other_cc}/reconnect")
    assert shop_state(rt, shops.other_cc)["status"] == ShopStatus.CONNECTED
    stores[shops.other_cc].sim.control("config", {"client_secret": "ccsec_rotated_in_the_dev_dashboard_0001"})
    # Acme's shops, and the row's credentials, are not touched by Other Brand's refusal.
    acme_before = {shop_id: shop_state(rt, shop_id) for shop_id in (shops.acme_static, shops.acme_install)}
    connected = shop_state(rt, shops.other_cc)

    page = oscar.follow(oscar.post(f"/admin/shops/{shops.other_cc}/reconnect"))
    assert "invalid_client" in flashes(page, "error")[0]
    after = shop_state(rt, shops.other_cc)
    assert (after["status"], after["status_changed_at"]) == (ShopStatus.NEEDS_RECONNECT, NOW)
    assert "invalid_client" in after["status_reason"] and "connect the shop again" in after["status_reason"]
    unchanged = {k for k in after if after[k] == connected[k]}
    assert set(after) - unchanged == {"status", "status_reason"}  # status_changed_at was NOW already
    card = _cards(page)[shops.other_cc]
    assert card.one("span", class_="shop-status").text == "Needs reconnecting"
    assert card.one("p", class_="shop-reason").text == after["status_reason"]
    assert card.find("form", class_="action-sync-webhooks") is None
    assert {shop_id: shop_state(rt, shop_id) for shop_id in acme_before} == acme_before
    assert not leaked(page.text) and after["access_token"] not in page.text


def test_disconnect_asks_first_then_disconnects_once_and_parks_the_shops_pending_redemptions(
    rt, signed_in, people, world, shop, shops
):
    # A redemption waiting for its retry (the shop answered 503 once): it must be parked, not lost.
    shop.script.append(ProviderError("shop_unavailable", "Shopify answered 503", retryable=True))
    waiting = create_redemption(rt, SUPPORT, member_id=world.member.id, reward_id=world.reward.id).redemption.id
    bea = signed_in(people.brand_admin)
    confirm = bea.page(f"/admin/shops/{shops.acme_static}/disconnect")
    assert "stops every call to acme-pets.myshopify.com" in confirm.one("section", id="disconnect-does").text
    assert shop_state(rt, shops.acme_static)["status"] == ShopStatus.CONNECTED  # asking changed nothing
    form = confirm.one("form", id="disconnect-form")
    assert form["action"] == f"/admin/shops/{shops.acme_static}/disconnect"
    page = bea.follow(bea.post(form["action"], {"reason": "moving to a new store"}))
    assert flashes(page, "success")[0].startswith("acme-pets.myshopify.com is disconnected")
    after = shop_state(rt, shops.acme_static)
    assert (after["status"], after["status_reason"], after["status_changed_at"]) == (
        ShopStatus.DISCONNECTED,
        "moving to a new store",
        NOW,
    )
    card = _cards(page)[shops.acme_static]
    assert card.one("span", class_="shop-status").text == "Disconnected"
    assert card.one("p", class_="shop-reason").text == "moving to a new store"
    assert _field(card, "token") == "not set"  # the disconnect drops the token; the page says so
    assert card.find("a", class_="action-disconnect") is None
    with rt.sessions() as s:
        parked = s.get(Redemption, waiting)
        assert (parked.status, parked.error_code) == ("error", "shop_disconnected")
        assert [e.actor for e in parked.events if e.kind == "parked"] == ["user:bea@acme.example"]
    # A second POST (a double click, a replayed form) is refused and changes nothing.
    again = bea.follow(bea.post(form["action"], {"reason": "again"}))
    assert "already disconnected" in flashes(again, "error")[0]
    assert shop_state(rt, shops.acme_static) == after


def test_a_shop_whose_grant_was_never_recorded_shows_its_scopes_as_unknown_not_missing(rt, signed_in, people, shops):
    """A static token pasted before grants were tracked: nothing is claimed missing that nobody checked."""
    with rt.sessions.begin() as s:
        s.get(Shop, shops.acme_static).granted_scopes = ""
    card = _cards(signed_in(people.brand_admin).page("/admin/shops"))[shops.acme_static]
    assert card.find("strong", class_="scope-missing") is None
    assert "reconnect the shop to record and check them" in card.one("span", class_="scope-unknown").text
    assert [li["data-scope"] for li in card.find_all("li", class_="scope")] == [
        "read_products",
        "write_customers",
        "write_orders",
    ]
