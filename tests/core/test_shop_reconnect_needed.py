"""A refresh the shop refuses for good: the shop needs reconnecting, its redemptions fail once, nothing loops.

The real Shopify plugin performs the refresh grant; HTTP goes to ``responses`` (the shop's token endpoint
answers ``invalid_grant``), so every request the connector makes is counted. Real PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import responses

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.model import Role
from connector.core.redemptions import create_redemption
from connector.core.shop_lifecycle import resume_shop
from connector.core.sweeper import sweep
from connector.core.tables import Redemption, Shop, ShopConnection
from tests.conftest import event_kinds, seed_world

SUPPORT = Actor("support@acme", Role.SUPPORT)
BASE = "http://127.0.0.1:9"
TOKEN_URL = f"{BASE}/admin/oauth/access_token"
GRAPHQL_URL = f"{BASE}/admin/api/2026-07/graphql.json"
APP = {"SHOPIFY_CLIENT_ID": "app-client-id", "SHOPIFY_CLIENT_SECRET": "app-client-secret-0123456789"}


@pytest.fixture
def shopify_http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, TOKEN_URL, status=400, json={"error": "invalid_grant"})
        mock.add(responses.POST, GRAPHQL_URL, status=401, json={"errors": "[API] Invalid API key or access token"})
        yield mock


def _calls(mock: responses.RequestsMock, url: str) -> int:
    return sum(1 for call in mock.calls if call.request.url == url)


def test_a_refused_refresh_fails_each_redemption_once_with_the_precise_error_and_no_retry(make_runtime, shopify_http):
    rt = make_runtime(plugin_env=APP)  # the real Shopify plugin fulfils: no fake registered
    w = seed_world(rt, api_base_url=BASE, points=10_000)
    expired = datetime.now(UTC) - timedelta(minutes=1)
    with transaction(rt.sessions) as s:  # an install shop whose hour-long token has run out
        shop = s.get(Shop, w.shop.id)
        shop.connection_kind = ShopConnection.INSTALL
        shop.access_token_expires_at, shop.token_refreshed_at = expired, expired - timedelta(hours=1)
        shop.refresh_token = "shprt_revoked_by_the_merchant"

    first = create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=w.reward.id).redemption.id
    second = create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=w.reward.id).redemption.id

    with rt.sessions() as s:
        shop = s.get(Shop, w.shop.id)
        rows = [s.get(Redemption, rid) for rid in (first, second)]
    assert shop.status == "needs_reconnect" and "invalid_grant" in shop.status_reason
    for r in rows:
        assert (r.status, r.error_code, r.attempts) == ("error", "shop_reconnect_needed", 1)
        assert r.error_message.startswith("The connection to acme-pets.myshopify.com must be renewed")
        assert "invalid_grant" in r.error_message
        assert "Reconnect the shop" in r.error_fix and r.next_attempt_at is None
        assert event_kinds(rt, r.id) == ["claimed", "attempt_started", "failed"]  # no attempt_failed: no retry
    # One refresh asked, and refused; not one Admin API call, for either redemption.
    assert _calls(shopify_http, TOKEN_URL) == 1 and _calls(shopify_http, GRAPHQL_URL) == 0
    assert rt.dispatcher.delayed == []  # nothing scheduled ...
    assert sweep(rt).fulfilments == 0  # ... and nothing owed that a sweep would restart
    assert resume_shop(rt, w.shop.id) == 0  # not until the shop is reconnected
    assert len(shopify_http.calls) == 1


def test_a_static_token_refused_with_401_fails_once_and_makes_one_call(make_runtime, shopify_http):
    """The app was uninstalled but its webhook never came: the first call's 401 marks the shop, nothing loops."""
    rt = make_runtime()
    w = seed_world(rt, api_base_url=BASE, points=10_000)  # a static token shop, as `shops add` makes it

    first = create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=w.reward.id).redemption.id
    second = create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=w.reward.id).redemption.id

    with rt.sessions() as s:
        assert s.get(Shop, w.shop.id).status == "needs_reconnect"
        rows = [s.get(Redemption, rid) for rid in (first, second)]
    for r in rows:
        assert (r.status, r.error_code, r.attempts) == ("error", "shop_reconnect_needed", 1)
        assert "HTTP 401" in r.error_message and "Reconnect the shop" in r.error_fix
        assert event_kinds(rt, r.id) == ["claimed", "attempt_started", "failed"]
    assert _calls(shopify_http, GRAPHQL_URL) == 1 and _calls(shopify_http, TOKEN_URL) == 0
    assert rt.dispatcher.delayed == [] and sweep(rt).fulfilments == 0
