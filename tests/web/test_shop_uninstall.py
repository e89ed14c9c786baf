"""``app/uninstalled`` through ``POST /webhooks/shopify``: the signing shop is disconnected at once, its pending
redemptions park with a clear error and fix, no call reaches it, and a reinstall resumes them, one order each.

Most tests use ``FakeShopPlugin`` (its ``requests`` are every call that reached "the shop"); the last runs the
real Shopify plugin against the simulator and counts the simulator's requests and orders. Real PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from connector.app import create_app
from connector.core import catalog
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import ProviderError
from connector.core.model import Role
from connector.core.redemptions import create_redemption
from connector.core.runtime import Runtime
from connector.core.shop_lifecycle import resume_shop
from connector.core.tables import (
    Brand,
    Redemption,
    RedemptionEventRow,
    Shop,
    ShopConnection,
    ShopStatus,
    WebhookDelivery,
)
from tests.conftest import seed_world
from tests.web.support import (
    SHOP_DOMAIN,
    SHOP_SECRET,
    as_body,
    delivery_count,
    fulfillment_payload,
    shop_payload,
    shopify_headers,
    topic_payload,
)

SUPPORT = Actor("support@acme", Role.SUPPORT)
URL = "/webhooks/shopify"
TOPIC = "app/uninstalled"
OTHER_DOMAIN, OTHER_SECRET = "other-brand.myshopify.com", "whsec_other_brand_secret_987654"
NEWCOMER_DOMAIN, NEWCOMER_SECRET = "newcomer.myshopify.com", "whsec_app_client_secret_0123456"


def _uninstall(client, domain: str = SHOP_DOMAIN, secret: str = SHOP_SECRET, **headers: Any) -> Any:
    body = as_body(shop_payload(domain))
    return client.post(URL, data=body, headers=shopify_headers(body, TOPIC, domain=domain, secret=secret, **headers))


def _load(rt, rid: int) -> Redemption:
    with rt.sessions() as s:
        return s.get(Redemption, rid)


def _shop(rt, domain: str = SHOP_DOMAIN) -> Shop:
    with rt.sessions() as s:
        return s.scalars(select(Shop).where(Shop.domain == domain)).one()


def _kinds(rt, rid: int, kind: str) -> int:
    with rt.sessions() as s:
        return len(
            s.scalars(
                select(RedemptionEventRow.id).where(
                    RedemptionEventRow.redemption_id == rid, RedemptionEventRow.kind == kind
                )
            ).all()
        )


def _redeem(rt, member_id: int, reward_id: int) -> int:
    return create_redemption(rt, SUPPORT, member_id=member_id, reward_id=reward_id).redemption.id


def _reinstall(rt, domain: str = SHOP_DOMAIN, token: str = "shpat_after_reinstall") -> int:
    """What a reinstall leaves on the shop row: a new token, connected, installed now."""
    now = datetime.now(UTC)
    with transaction(rt.sessions) as s:
        shop = s.scalars(select(Shop).where(Shop.domain == domain)).one()
        shop.status, shop.status_reason, shop.status_changed_at = ShopStatus.CONNECTED, None, now
        shop.access_token, shop.installed_at = token, now
        return shop.id


@pytest.fixture
def rt(make_runtime, shop) -> Runtime:
    """The web tests' runtime with retries a minute away: on a loaded machine a one-second retry can come
    due before a fixture looks, and run inline, so "waiting for its retry" would not hold."""
    return make_runtime(plugins=[shop], retry_base_seconds=60.0)


@pytest.fixture
def pending(rt, world, shop) -> dict[str, int]:
    """Brand A's shop has a fulfilled redemption, one waiting for its retry, and one whose order may exist."""
    done = _redeem(rt, world.member.id, world.reward.id)
    shop.script.append(ProviderError("shop_unavailable", "HTTP 503", retryable=True))
    waiting = _redeem(rt, world.member.id, world.reward.id)
    shop.script.append("crash_after_create")
    in_doubt = _redeem(rt, world.member.id, world.reward.id)
    assert [_load(rt, r).status for r in (done, waiting, in_doubt)] == ["fulfilled", "pending", "pending"]
    return {"done": done, "waiting": waiting, "in_doubt": in_doubt}


@pytest.fixture
def brand_b(rt, world, shop) -> dict[str, int]:
    """Brand B: its own shop, with a redemption waiting for a retry."""
    with transaction(rt.sessions) as s:
        other = s.get(Brand, world.other_brand.id)
        b_shop = catalog.add_shop(
            s, other, domain=OTHER_DOMAIN, access_token="shpat_other", webhook_secret=OTHER_SECRET
        )
        reward = catalog.add_reward(s, other, name="Mug", sku="MUG", points_cost=10, shop=b_shop)
        shop_id, reward_id = b_shop.id, reward.id
    shop.script.append(ProviderError("shop_unavailable", "HTTP 503", retryable=True))
    waiting = _redeem(rt, world.other_member.id, reward_id)
    assert _load(rt, waiting).status == "pending"
    return {"shop": shop_id, "waiting": waiting}


def _snapshot(rt, shop_id: int) -> dict[str, list[tuple]]:
    """Every column of the shop's row, its redemptions and their events."""
    with rt.sessions() as s:
        ids = select(Redemption.id).where(Redemption.shop_id == shop_id)

        def rows(model, *where):
            table = model.__table__
            return [tuple(r) for r in s.execute(select(table).where(*where).order_by(table.c.id))]

        return {
            "shop": rows(Shop, Shop.id == shop_id),
            "redemptions": rows(Redemption, Redemption.shop_id == shop_id),
            "events": rows(RedemptionEventRow, RedemptionEventRow.redemption_id.in_(ids)),
        }


# -- at once, with the error and fix ---------------------------------------------------------------------------


def test_uninstall_parks_pending_redemptions_at_once_with_the_error_and_fix(rt, world, shop, client, pending):
    woken: list[str] = []
    rt.dispatcher.wake = lambda job, *, key: woken.append(key) or True  # the drain job never runs here

    response = _uninstall(client)

    assert response.status_code == 200 and response.get_json()["status"] == "accepted"
    assert woken  # the drain is still woken; it has nothing left to do
    shop_row = _shop(rt)
    assert (shop_row.status, shop_row.status_reason) == ("disconnected", "the app was uninstalled from the shop")
    assert shop_row.uninstalled_at is not None and shop_row.access_token == "" and shop_row.active is True
    for key in ("waiting", "in_doubt"):
        r = _load(rt, pending[key])
        assert (r.status, r.error_code) == ("error", "shop_disconnected")
        assert "Shop disconnected" in r.error_message and "uninstalled" in r.error_message
        assert r.error_fix.startswith("Shop disconnected: reinstall the app")
        assert _kinds(rt, r.id, "parked") == 1
    assert _load(rt, pending["done"]).status == "fulfilled"
    with rt.sessions() as s:
        delivery = s.scalars(select(WebhookDelivery).where(WebhookDelivery.topic == TOPIC)).one()
    assert delivery.status == "processed"


def test_uninstall_delivered_three_times_has_one_effect(rt, world, client, pending):
    body = as_body(shop_payload())
    headers = shopify_headers(body, TOPIC)
    answers = [client.post(URL, data=body, headers=headers).get_json()["status"] for _ in range(3)]
    assert answers == ["accepted", "duplicate", "duplicate"]
    changed_at = _shop(rt).status_changed_at
    # The same body under fresh delivery ids, and a second genuine-looking uninstall with a newer body.
    assert client.post(URL, data=body, headers=shopify_headers(body, TOPIC)).get_json()["status"] == "duplicate"
    newer = as_body(shop_payload(updated_at="2026-07-05T11:00:00-04:00"))
    assert client.post(URL, data=newer, headers=shopify_headers(newer, TOPIC)).get_json()["status"] == "accepted"
    assert delivery_count(rt) == 2
    assert _shop(rt).status_changed_at == changed_at
    for rid in (pending["waiting"], pending["in_doubt"]):
        assert _kinds(rt, rid, "parked") == 1 and _kinds(rt, rid, "failed") == 0


def test_no_call_reaches_the_shop_after_the_uninstall(rt, world, shop, client, pending):
    assert _uninstall(client).status_code == 200
    calls = len(shop.requests)
    rt.dispatcher.run_due(until=datetime.now(UTC) + timedelta(days=1))  # the retries scheduled before it
    late = _redeem(rt, world.member.id, world.reward.id)
    assert len(shop.requests) == calls
    r = _load(rt, late)
    assert (r.status, r.error_code) == ("error", "shop_disconnected")
    assert rt.dispatcher.delayed == []


def test_reinstall_resumes_each_parked_redemption_to_one_order(rt, world, shop, client, pending):
    order = shop.orders[_load(rt, pending["in_doubt"]).code]
    assert _uninstall(client).status_code == 200
    assert resume_shop(rt, _reinstall(rt)) == 2
    for rid in (pending["waiting"], pending["in_doubt"]):
        assert _load(rt, rid).status == "fulfilled"
    assert _load(rt, pending["in_doubt"]).external_order_id == order
    assert len(shop.orders) == 3  # done, waiting, in_doubt: one each


# -- the signing shop only ---------------------------------------------------------------------------------------


def test_uninstall_signed_by_brand_b_never_touches_brand_a(rt, world, client, pending, brand_b):
    a_before = _snapshot(rt, world.shop.id)
    assert _uninstall(client, OTHER_DOMAIN, OTHER_SECRET).status_code == 200
    assert _snapshot(rt, world.shop.id) == a_before
    assert _shop(rt, OTHER_DOMAIN).status == "disconnected"
    assert _load(rt, brand_b["waiting"]).error_code == "shop_disconnected"


def test_uninstall_signed_by_brand_a_never_touches_brand_b(rt, world, client, pending, brand_b):
    b_before = _snapshot(rt, brand_b["shop"])
    assert _uninstall(client).status_code == 200
    assert _snapshot(rt, brand_b["shop"]) == b_before
    assert _load(rt, pending["waiting"]).error_code == "shop_disconnected"


def test_uninstall_body_naming_another_shop_is_refused_and_changes_nothing(rt, world, client, pending, brand_b):
    """Brand B signs a body that names brand A's shop: refused (400), stored nowhere, neither shop changes."""
    before = (_snapshot(rt, world.shop.id), _snapshot(rt, brand_b["shop"]))
    body = as_body(shop_payload(SHOP_DOMAIN))
    response = client.post(
        URL, data=body, headers=shopify_headers(body, TOPIC, domain=OTHER_DOMAIN, secret=OTHER_SECRET)
    )
    assert response.status_code == 400
    assert "myshopify_domain is not the shop that signed it" in response.get_json()["error"]["message"]
    assert delivery_count(rt) == 0
    assert (_snapshot(rt, world.shop.id), _snapshot(rt, brand_b["shop"])) == before


def test_a_late_uninstall_from_before_the_reinstall_changes_nothing(rt, world, client, pending):
    with transaction(rt.sessions) as s:
        s.get(Shop, world.shop.id).installed_at = datetime(2026, 7, 2, tzinfo=UTC)
    before = _snapshot(rt, world.shop.id)
    assert _uninstall(client, triggered_at="2026-07-01T16:00:00.000Z").status_code == 200
    assert _snapshot(rt, world.shop.id) == before
    # The next uninstall, after that install (the shop's updated_at moved with it): applies.
    body = as_body(shop_payload(updated_at="2026-07-03T16:00:00Z"))
    headers = shopify_headers(body, TOPIC, triggered_at="2026-07-03T16:00:00.000Z")
    assert client.post(URL, data=body, headers=headers).get_json()["status"] == "accepted"
    assert _shop(rt).status == "disconnected"


# -- shop/redact, 48 hours later, still works -------------------------------------------------------------------


def test_shop_redact_after_the_uninstall_still_verifies_and_erases(rt, world, client, pending):
    shipping = as_body(fulfillment_payload(1, "in_transit", "2026-07-01T12:00:00Z"))
    assert client.post(URL, data=shipping, headers=shopify_headers(shipping, "fulfillments/update")).status_code == 200
    assert _uninstall(client).status_code == 200
    rt.secret_cache.forget(SHOP_DOMAIN)  # the secret is read again from the disconnected shop's row
    body = as_body(topic_payload("shop/redact"))
    response = client.post(URL, data=body, headers=shopify_headers(body, "shop/redact"))
    assert response.status_code == 200 and response.get_json()["status"] == "accepted"
    shop_row = _shop(rt)
    assert shop_row.active is False and shop_row.access_token == "" and shop_row.refresh_token is None
    with rt.sessions() as s:
        bodies = list(s.scalars(select(WebhookDelivery.body).where(WebhookDelivery.shop_domain == SHOP_DOMAIN)))
    assert bodies and all(b is None for b in bodies)


def test_shop_redact_without_an_uninstall_first_also_disconnects(rt, world, shop, client, pending):
    """The uninstall delivery was lost: shop/redact still stops every call and parks what is pending."""
    body = as_body(topic_payload("shop/redact"))
    assert client.post(URL, data=body, headers=shopify_headers(body, "shop/redact")).status_code == 200
    assert _shop(rt).status == "disconnected"
    assert _load(rt, pending["waiting"]).error_code == "shop_disconnected"


# -- a shop that awaits its brand -------------------------------------------------------------------------------


@pytest.fixture
def newcomer(rt, world) -> int:
    """Installed from Shopify's side, no brand yet (``brand_id`` NULL)."""
    with transaction(rt.sessions) as s:
        row = Shop(
            brand_id=None,
            domain=NEWCOMER_DOMAIN,
            api_base_url=f"https://{NEWCOMER_DOMAIN}",
            access_token="shpat_newcomer",
            webhook_secret=NEWCOMER_SECRET,
            connection_kind=ShopConnection.INSTALL,
            status=ShopStatus.AWAITING_BRAND,
        )
        s.add(row)
        s.flush()
        return row.id


def test_a_shop_awaiting_its_brand_reaches_no_brand_but_can_be_uninstalled_and_redacted(
    rt, world, client, pending, newcomer
):
    a_before = _snapshot(rt, world.shop.id)
    for topic in ("customers/update", "fulfillments/update", "orders/cancelled", "products/update"):
        body = as_body(topic_payload(topic, NEWCOMER_DOMAIN))
        headers = shopify_headers(body, topic, domain=NEWCOMER_DOMAIN, secret=NEWCOMER_SECRET)
        assert client.post(URL, data=body, headers=headers).status_code == 200, topic
    assert _snapshot(rt, world.shop.id) == a_before
    assert _uninstall(client, NEWCOMER_DOMAIN, NEWCOMER_SECRET).status_code == 200
    assert _shop(rt, NEWCOMER_DOMAIN).status == "disconnected"
    body = as_body(topic_payload("shop/redact", NEWCOMER_DOMAIN))
    headers = shopify_headers(body, "shop/redact", domain=NEWCOMER_DOMAIN, secret=NEWCOMER_SECRET)
    assert client.post(URL, data=body, headers=headers).status_code == 200
    assert _shop(rt, NEWCOMER_DOMAIN).active is False
    assert _snapshot(rt, world.shop.id) == a_before


# -- the real plugin against the simulator ----------------------------------------------------------------------


@pytest.fixture
def sim() -> Iterator[Any]:
    from shopify_sim import SimServer

    server = SimServer(access_token="shpat_test_token", webhook_secret=SHOP_SECRET, shop_domain=SHOP_DOMAIN)
    server.start()
    server.control("products", {"title": "Ambassador T-Shirt", "variants": [{"sku": "TSHIRT-M", "inventory": 1000}]})
    yield server
    server.stop()


def test_with_the_simulator_uninstall_stops_every_call_and_reinstall_makes_one_order_each(make_runtime, sim):
    # The real Shopify plugin. Retries a minute away: on a loaded machine a one-second retry can come due
    # before the test looks, and run inline.
    rt = make_runtime(retry_base_seconds=60.0)
    w = seed_world(rt, api_base_url=sim.base_url, points=100_000)
    client = create_app(settings=rt.settings, runtime=rt).test_client()
    sim.control("faults", {"queue": [{"kind": "503"}]})
    waiting = _redeem(rt, w.member.id, w.reward.id)
    sim.control("faults", {"queue": [{"kind": "after_effect_500", "operation": "orderCreate"}]})
    in_doubt = _redeem(rt, w.member.id, w.reward.id)
    assert (_load(rt, waiting).status, _load(rt, waiting).submitted_at) == ("pending", None)
    doubt = _load(rt, in_doubt)
    assert doubt.status == "pending" and doubt.submitted_at is not None
    [made] = sim.control(f"orders?tag=redemption-{doubt.code}")["orders"]  # created; the answer was lost

    sim.control("config", {"access_token": "shpat_revoked_at_uninstall_only_shopify_knows"})
    assert _uninstall(client).status_code == 200
    requests_at_uninstall = sim.control("stats")["requests"]
    rt.dispatcher.run_due(until=datetime.now(UTC) + timedelta(days=1))  # the retries scheduled before it
    late = _redeem(rt, w.member.id, w.reward.id)
    assert sim.control("stats")["requests"] == requests_at_uninstall  # not one call to the uninstalled shop
    for rid in (waiting, in_doubt, late):
        r = _load(rt, rid)
        assert (r.status, r.error_code) == ("error", "shop_disconnected"), rid
        assert r.error_fix.startswith("Shop disconnected: reinstall the app")

    sim.control("config", {"access_token": "shpat_reinstalled"})
    assert resume_shop(rt, _reinstall(rt, token="shpat_reinstalled")) == 3

    for rid in (waiting, in_doubt, late):
        r = _load(rt, rid)
        assert r.status == "fulfilled", (r.error_code, r.error_message)
        orders = sim.control(f"orders?tag=redemption-{r.code}")["orders"]
        assert len(orders) == 1, r.code
    assert str(made["id"]) in _load(rt, in_doubt).external_order_id  # the order made before, found
