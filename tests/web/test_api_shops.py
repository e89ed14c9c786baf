"""/api/v1/shops: the Shops page as JSON, in the token's scope, never with a credential.

Real database and tokens, and the real actions: disconnect (``core.shop_lifecycle``), webhook sync
(``core.shop_webhooks``) and brand assignment (``core.shop_connect``), each shop against its own Shopify
simulator (``tests.web.shop_rows.Stores``), so a test sees which store an action reached.
"""

from __future__ import annotations

import json

import pytest

from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.tables import Shop, ShopStatus
from tests.web.shop_rows import (
    PUBLIC_URL,
    WEBHOOK_URI,
    leaked,
    shop_state,
)
from tests.web.support import bearer, make_token


@pytest.fixture
def rt(make_runtime, shop) -> Runtime:
    return make_runtime(plugins=[shop], public_url=PUBLIC_URL)


@pytest.fixture
def platform(rt, world) -> str:
    return make_token(rt, Role.PLATFORM_ADMIN, name="platform-ops")


def _ids(body) -> list[int]:
    return [item["id"] for item in body["items"]]


def test_a_platform_admin_lists_every_shop_with_the_pages_fields(client, shops, platform):
    response = client.get("/api/v1/shops", headers=bearer(platform))
    assert response.status_code == 200
    body = response.get_json()
    assert _ids(body) == [shops.acme_static, shops.acme_install, shops.other_cc, shops.orphan]
    assert body["next_cursor"] is None
    install = body["items"][1]
    assert install == {
        "id": shops.acme_install,
        "domain": "acme-install.myshopify.com",
        "provider": "shopify",
        "brand_id": install["brand_id"],
        "brand_name": "Acme Pets",
        "connection_kind": "install",
        "connection_label": "Install",
        "status": "connected",
        "status_label": "Connected",
        "status_reason": None,
        "status_changed_at": None,
        "scopes": {
            "granted": ["read_products", "write_orders"],
            "required": ["read_products", "write_customers", "write_orders"],
            "missing": ["write_customers"],
            "recorded": True,
        },
        "access_token": {"set": True, "expires_at": "2026-12-06T09:42:00Z", "refreshed_at": "2026-12-06T08:42:00Z"},
        "refresh_token": {"set": True, "expires_at": "2027-03-06T09:00:00Z"},
        "client": {"client_id": None, "client_secret_set": False},
        "webhooks": {
            "state": "ok",
            "synced_at": "2026-12-06T07:00:00Z",
            "summary": {"ok": True, "created": 2, "deleted": 0, "topics": ["orders/fulfilled"]},
        },
        "last_success_at": "2026-12-06T08:57:00Z",
        "rate_limit": {"available": 1800.0, "maximum": 2000.0, "restore_rate": 100.0, "at": "2026-12-06T08:57:00Z"},
        "install_url": "http://localhost/shopify/install?shop=acme-install.myshopify.com",
        "installed_at": "2026-12-03T09:00:00Z",
        "uninstalled_at": None,
        "created_at": install["created_at"],
    }
    static, other, orphan = body["items"][0], body["items"][2], body["items"][3]
    assert (static["connection_label"], static["access_token"]["expires_at"]) == ("Static token", None)
    assert static["webhooks"] == {"state": "never_synced", "synced_at": None, "summary": None}
    assert static["scopes"]["recorded"] is True and static["scopes"]["missing"] == []
    assert (other["status_label"], other["status_reason"]) == (
        "Needs reconnecting",
        "Shopify refused the client credentials (invalid_client)",
    )
    assert other["client"] == {"client_id": "other-client-id-0001", "client_secret_set": True}
    assert other["install_url"] is None
    assert (orphan["status"], orphan["brand_id"], orphan["brand_name"]) == ("awaiting_brand", None, None)


def test_scopes_of_a_grant_never_recorded_are_unknown_not_missing(client, rt, shops, tokens):
    with rt.sessions.begin() as s:
        s.get(Shop, shops.acme_static).granted_scopes = ""
    body = client.get(f"/api/v1/shops/{shops.acme_static}", headers=bearer(tokens.admin)).get_json()
    assert body["scopes"] == {
        "granted": [],
        "required": ["read_products", "write_customers", "write_orders"],
        "missing": [],
        "recorded": False,
    }


def test_lists_page_by_cursor(client, shops, platform):
    first = client.get("/api/v1/shops?limit=3", headers=bearer(platform)).get_json()
    assert _ids(first) == [shops.acme_static, shops.acme_install, shops.other_cc]
    rest = client.get(f"/api/v1/shops?limit=3&cursor={first['next_cursor']}", headers=bearer(platform)).get_json()
    assert _ids(rest) == [shops.orphan] and rest["next_cursor"] is None
    bad = client.get("/api/v1/shops?cursor=abc", headers=bearer(platform))
    assert bad.status_code == 422
    assert bad.get_json()["error"]["fields"] == {"cursor": "pass back next_cursor unchanged"}
    past_the_end = client.get("/api/v1/shops?cursor=9999999999999999999", headers=bearer(platform))
    assert past_the_end.status_code == 200 and past_the_end.get_json() == {"items": [], "next_cursor": None}


def test_a_brand_admin_lists_and_reads_only_their_brands_shops(client, shops, tokens):
    mine = client.get("/api/v1/shops", headers=bearer(tokens.admin)).get_json()
    assert _ids(mine) == [shops.acme_static, shops.acme_install]
    theirs = client.get("/api/v1/shops", headers=bearer(tokens.other_admin)).get_json()
    assert _ids(theirs) == [shops.other_cc]
    assert client.get(f"/api/v1/shops/{shops.acme_install}", headers=bearer(tokens.admin)).status_code == 200
    for shop_id in (shops.acme_install, shops.orphan, 424242):
        response = client.get(f"/api/v1/shops/{shop_id}", headers=bearer(tokens.other_admin))
        assert response.status_code == 404
        assert response.get_json()["error"] == {"code": "not_found", "message": f"shop {shop_id} not found"}


@pytest.mark.parametrize("who", ["support", "viewer"])
def test_other_roles_are_refused(client, shops, tokens, who):
    token = getattr(tokens, who)
    for method, url in (
        ("get", "/api/v1/shops"),
        ("get", f"/api/v1/shops/{shops.acme_static}"),
        ("post", f"/api/v1/shops/{shops.acme_static}/sync-webhooks"),
        ("post", f"/api/v1/shops/{shops.acme_static}/disconnect"),
    ):
        response = getattr(client, method)(url, headers=bearer(token))
        assert response.status_code == 403, (who, url)


def test_no_answer_carries_a_credential(client, shops, platform, tokens, world, stores):
    answers = [
        client.get("/api/v1/shops", headers=bearer(platform)),
        client.get("/api/v1/shops", headers=bearer(tokens.admin)),
        client.get("/api/v1/shops", headers=bearer(tokens.other_admin)),
        client.post(f"/api/v1/shops/{shops.acme_install}/sync-webhooks", headers=bearer(tokens.admin)),
        client.post(
            f"/api/v1/shops/{shops.orphan}/assign-brand", json={"brand_id": world.brand.id}, headers=bearer(platform)
        ),
        client.post(f"/api/v1/shops/{shops.acme_static}/disconnect", json={}, headers=bearer(tokens.admin)),
    ]
    answers += [client.get(f"/api/v1/shops/{shop_id}", headers=bearer(platform)) for shop_id in vars(shops).values()]
    assert [a.status_code for a in answers] == [200] * len(answers)
    assert [leaked(a.get_data(as_text=True)) for a in answers] == [[] for _ in answers]
    # The sync and the assignment did their work in the stores (these are answers to real actions).
    assert stores[shops.acme_install].subscriptions() and stores[shops.orphan].subscriptions()


def test_another_brands_admin_cannot_sync_disconnect_or_assign_and_nothing_changes(
    client, rt, shops, tokens, world, stores
):
    targets = (shops.acme_static, shops.acme_install, shops.orphan)
    before = {shop_id: shop_state(rt, shop_id) for shop_id in targets}
    for shop_id in targets:
        for action, body in (
            ("sync-webhooks", None),
            ("disconnect", {"reason": "hostile"}),
            ("reconnect", None),
            ("assign-brand", {"brand_id": world.other_brand.id}),
        ):
            response = client.post(f"/api/v1/shops/{shop_id}/{action}", json=body, headers=bearer(tokens.other_admin))
            assert response.status_code == 404, (shop_id, action)
            assert response.get_json()["error"]["message"] == f"shop {shop_id} not found"
    assert {shop_id: shop_state(rt, shop_id) for shop_id in targets} == before
    assert [stores[shop_id].received for shop_id in targets] == [[], [], []]  # no store was even asked


def test_a_platform_admin_assigns_an_unclaimed_shop_once(client, rt, shops, platform, tokens, world, stores):
    response = client.post(
        f"/api/v1/shops/{shops.orphan}/assign-brand", json={"brand_id": world.other_brand.id}, headers=bearer(platform)
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["brand_id"], body["brand_name"], body["status"]) == (world.other_brand.id, "Other Brand", "connected")
    # Now callable, it is subscribed to its webhooks in its store, and the answer carries that health.
    assert {uri for _, uri in stores[shops.orphan].subscriptions()} == {WEBHOOK_URI}
    assert body["webhooks"]["state"] == "ok" and body["webhooks"]["summary"]["created"] == 6
    assert shops.orphan in _ids(client.get("/api/v1/shops", headers=bearer(tokens.other_admin)).get_json())
    after = shop_state(rt, shops.orphan)
    again = client.post(
        f"/api/v1/shops/{shops.orphan}/assign-brand", json={"brand_id": world.brand.id}, headers=bearer(platform)
    )
    assert again.status_code == 409 and "already belongs to a brand" in again.get_json()["error"]["message"]
    assert shop_state(rt, shops.orphan) == after


def test_assigning_refuses_a_brand_admin_and_bad_input_and_changes_nothing(client, rt, shops, platform, tokens):
    before = shop_state(rt, shops.orphan)
    own = client.post(
        f"/api/v1/shops/{shops.acme_static}/assign-brand", json={"brand_id": 1}, headers=bearer(tokens.admin)
    )
    assert own.status_code == 403
    for body, status, field in (
        ({}, 422, "brand_id"),
        ({"brand_id": "1"}, 422, "brand_id"),
        ({"brand_id": 424242}, 422, "brand_id"),
        ({"brand_id": 1, "extra": True}, 422, "extra"),
    ):
        response = client.post(f"/api/v1/shops/{shops.orphan}/assign-brand", json=body, headers=bearer(platform))
        assert response.status_code == status, body
        assert field in response.get_json()["error"]["fields"], body
    assert shop_state(rt, shops.orphan) == before


def test_sync_and_disconnect_act_on_that_shop_once(client, rt, shops, tokens, stores):
    synced = client.post(f"/api/v1/shops/{shops.acme_install}/sync-webhooks", headers=bearer(tokens.admin))
    assert synced.status_code == 200
    webhooks = synced.get_json()["webhooks"]
    assert (webhooks["state"], webhooks["synced_at"]) == ("ok", "2026-12-06T09:00:00Z")
    assert (webhooks["summary"]["healthy"], webhooks["summary"]["uri"]) == (True, WEBHOOK_URI)
    assert (webhooks["summary"]["created"], webhooks["summary"]["unchanged"]) == (6, 0)
    subscribed = stores[shops.acme_install].subscriptions()
    assert len(subscribed) == 6 and {uri for _, uri in subscribed} == {WEBHOOK_URI}
    # Run again: nothing to change, nothing changed.
    again = client.post(f"/api/v1/shops/{shops.acme_install}/sync-webhooks", headers=bearer(tokens.admin))
    assert (
        again.get_json()["webhooks"]["summary"]["created"],
        again.get_json()["webhooks"]["summary"]["unchanged"],
    ) == (
        0,
        6,
    )
    assert stores[shops.acme_install].subscriptions() == subscribed
    dropped = client.post(
        f"/api/v1/shops/{shops.acme_install}/disconnect", json={"reason": "store closed"}, headers=bearer(tokens.admin)
    )
    assert dropped.status_code == 200
    body = dropped.get_json()
    assert (body["status"], body["status_reason"]) == ("disconnected", "store closed")
    assert body["access_token"]["set"] is False and body["refresh_token"]["set"] is False
    again = client.post(f"/api/v1/shops/{shops.acme_install}/disconnect", headers=bearer(tokens.admin))
    assert again.status_code == 409 and again.get_json()["error"]["details"] == {"status": ShopStatus.DISCONNECTED}
    not_connected = client.post(f"/api/v1/shops/{shops.other_cc}/sync-webhooks", headers=bearer(tokens.other_admin))
    assert not_connected.status_code == 409
    assert stores[shops.other_cc].received == [] and stores[shops.acme_static].received == []
    after = shop_state(rt, shops.acme_install)
    assert (after["status"], after["access_token"], after["refresh_token"]) == (ShopStatus.DISCONNECTED, "", None)


def test_reconnect_renews_a_client_credentials_shop_and_points_others_to_their_install_link(
    client, rt, shops, tokens, stores
):
    before = shop_state(rt, shops.acme_install)
    refused = client.post(f"/api/v1/shops/{shops.acme_install}/reconnect", headers=bearer(tokens.admin))
    assert refused.status_code == 409 and "install link" in refused.get_json()["error"]["message"]
    assert shop_state(rt, shops.acme_install) == before and stores[shops.acme_install].received == []

    answer = client.post(f"/api/v1/shops/{shops.other_cc}/reconnect", headers=bearer(tokens.other_admin))
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["status"], body["access_token"]["set"]) == ("connected", True)
    assert not leaked(answer.get_data(as_text=True))
    grants = [g for g in stores[shops.other_cc].sim.control("oauth/grants")["grants"] if g.get("grant")]
    assert [(g["grant"], g["status"]) for g in grants] == [("client_credentials", 200)]


def test_a_sync_the_store_does_not_answer_reports_the_problem(client, rt, shops, tokens, stores):
    stores[shops.acme_install].sim.control("faults", {"rates": {"503": 1.0}})
    response = client.post(f"/api/v1/shops/{shops.acme_install}/sync-webhooks", headers=bearer(tokens.admin))
    assert response.status_code == 200
    webhooks = response.get_json()["webhooks"]
    assert webhooks["state"] == "problems" and webhooks["summary"]["healthy"] is False
    assert "HTTP 503" in webhooks["summary"]["error"] and "Sync again" in webhooks["summary"]["error"]
    # The last good sync's time is kept: this one did not reach the shop.
    assert webhooks["synced_at"] == "2026-12-06T07:00:00Z"
    assert stores[shops.acme_install].subscriptions() == set()


def test_the_openapi_document_describes_every_shops_operation(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    paths = doc["paths"]
    assert set(paths["/api/v1/shops"]) == {"get", "post"}  # POST: connect a shop (api/shop_connections.py)
    assert set(paths["/api/v1/shops/{shop_id}"]) == {"get"}
    for action in ("sync-webhooks", "disconnect", "assign-brand"):
        op = paths[f"/api/v1/shops/{{shop_id}}/{action}"]["post"]
        assert {"401", "403", "404", "409"} <= set(op["responses"]), action
    shop = doc["components"]["schemas"]["Shop"]["properties"]
    assert not {"access_token", "refresh_token"} & {k for k, v in shop.items() if "$ref" not in json.dumps(v)}
    assert "client_secret" not in json.dumps(doc["components"]["schemas"]["ShopClient"]["properties"]).replace(
        "client_secret_set", ""
    )
