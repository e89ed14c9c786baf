"""A shop's expiring token: renewed before expiry and once after a 401, by one process at a time.

The grants come from a small plugin registered with the real plugin manager (the Shopify plugin's HTTP
side is tested in tests/plugins/shopify/test_shopify_token_grants.py, and against the simulator with real
workers in tests/integration/test_expiring_tokens.py).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from connector import hookimpl
from connector.core.database import transaction
from connector.core.errors import ProviderError
from connector.core.hooktypes import GRANT_REFRESH_TOKEN, TokenGrant, TokenGrantRequest
from connector.core.shop_tokens import TokenKeeper, is_due
from connector.core.tables import Shop, ShopConnection, ShopStatus
from tests.conftest import seed_world

APP = {"SHOPIFY_CLIENT_ID": "app-client", "SHOPIFY_CLIENT_SECRET": "app-secret-0123456789"}


class GrantDesk:
    """Answers refresh grants like Shopify: a new access and refresh token each time, or what it is told."""

    def __init__(self, delay: float = 0.0) -> None:
        self.requests: list[TokenGrantRequest] = []
        self.failures: list[ProviderError] = []
        self.delay = delay
        self._lock = threading.Lock()

    @hookimpl
    def connector_grant_token(self, request: TokenGrantRequest, provider: str, ctx: object) -> TokenGrant | None:
        with self._lock:
            self.requests.append(request)
            n = len(self.requests)
            failure = self.failures.pop(0) if self.failures else None
        time.sleep(self.delay)
        if failure is not None:
            raise failure
        return TokenGrant(
            access_token=f"shpat_renewed_{n}",
            scopes=("write_orders", "write_customers", "read_products"),
            expires_in=3600,
            refresh_token=f"shprt_renewed_{n}",
            refresh_token_expires_in=90 * 86400,
        )


@pytest.fixture
def desk() -> GrantDesk:
    return GrantDesk()


@pytest.fixture
def rt(make_runtime, desk):
    return make_runtime(plugins=[desk], plugin_env=APP)


def _make_expiring(rt, shop_id: int, *, expires_in: float) -> None:
    with transaction(rt.sessions) as s:
        shop = s.get(Shop, shop_id)
        now = rt.now()
        shop.connection_kind = ShopConnection.INSTALL
        shop.access_token = "shpat_original"
        shop.refresh_token = "shprt_original"
        shop.token_refreshed_at = now - timedelta(seconds=3600 - expires_in)
        shop.access_token_expires_at = now + timedelta(seconds=expires_in)


def _keeper(rt, shop_id: int) -> TokenKeeper:
    with rt.sessions() as s:
        return TokenKeeper(rt, s.get(Shop, shop_id))


def _row(rt, shop_id: int) -> Shop:
    with rt.sessions() as s:
        shop = s.get(Shop, shop_id)
        s.expunge(shop)
        return shop


def test_a_token_far_from_expiry_is_used_as_it_is(rt, desk):
    world = seed_world(rt)
    _make_expiring(rt, world.shop.id, expires_in=3000)
    assert _keeper(rt, world.shop.id).current() == "shpat_original"
    assert desk.requests == []


@pytest.mark.hook("connector_grant_token")
def test_a_token_near_expiry_is_renewed_first_and_both_new_tokens_are_stored_together(rt, desk):
    world = seed_world(rt)
    _make_expiring(rt, world.shop.id, expires_in=60)  # inside the 300 s margin
    assert _keeper(rt, world.shop.id).current() == "shpat_renewed_1"
    [request] = desk.requests
    assert request.grant == GRANT_REFRESH_TOKEN
    assert request.refresh_token == "shprt_original"
    assert (request.client_id, request.client_secret) == ("app-client", "app-secret-0123456789")
    shop = _row(rt, world.shop.id)
    assert (shop.access_token, shop.refresh_token) == ("shpat_renewed_1", "shprt_renewed_1")
    assert shop.access_token_expires_at > rt.now() + timedelta(seconds=3500)
    assert shop.granted_scopes == "write_orders,write_customers,read_products"
    assert shop.status == ShopStatus.CONNECTED


def test_the_margin_shrinks_for_short_lived_tokens():
    now = datetime.now(UTC)
    refreshed = now - timedelta(seconds=5)
    # A 10-second token: a fifth (2 s) before expiry, not 300 s.
    assert not is_due(now, refreshed + timedelta(seconds=10), refreshed, 300)
    assert is_due(now + timedelta(seconds=3.5), refreshed + timedelta(seconds=10), refreshed, 300)
    assert not is_due(now, None, None, 300)  # a static token never expires


def test_processes_renewing_at_once_make_one_grant_and_all_use_its_token(make_runtime):
    desk = GrantDesk(delay=0.3)
    rt = make_runtime(plugins=[desk], plugin_env=APP)
    world = seed_world(rt)
    _make_expiring(rt, world.shop.id, expires_in=1)
    keepers = [_keeper(rt, world.shop.id) for _ in range(4)]
    results: list[str] = []
    errors: list[BaseException] = []

    def use(keeper: TokenKeeper) -> None:
        try:
            results.append(keeper.current())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=use, args=(k,)) for k in keepers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert len(desk.requests) == 1
    assert results == ["shpat_renewed_1"] * 4


def test_a_401_renews_once_and_a_401_on_a_token_already_replaced_makes_no_grant(rt, desk):
    world = seed_world(rt)
    _make_expiring(rt, world.shop.id, expires_in=3000)
    first, late = _keeper(rt, world.shop.id), _keeper(rt, world.shop.id)
    assert first.rejected("shpat_original") == "shpat_renewed_1"
    # Another process still held the old token when Shopify refused it: it finds the renewal, no new grant.
    assert late.rejected("shpat_original") == "shpat_renewed_1"
    assert len(desk.requests) == 1


def test_a_lost_answer_stores_nothing_and_the_old_refresh_token_recovers(rt, desk):
    world = seed_world(rt)
    _make_expiring(rt, world.shop.id, expires_in=10)
    lost = ProviderError("shop_unavailable", "no answer", retryable=True)
    desk.failures = [lost, lost]  # both tries of this renewal get no answer
    with pytest.raises(ProviderError) as caught:
        _keeper(rt, world.shop.id).current()
    assert caught.value.retryable is True
    shop = _row(rt, world.shop.id)
    assert (shop.access_token, shop.refresh_token, shop.status) == ("shpat_original", "shprt_original", "connected")
    # The next call (the job's retry) sends the same refresh token again and succeeds.
    assert _keeper(rt, world.shop.id).current() == "shpat_renewed_3"
    assert [r.refresh_token for r in desk.requests] == ["shprt_original"] * 3


def test_a_refusal_for_good_marks_the_shop_once_and_never_loops(rt, desk):
    world = seed_world(rt)
    _make_expiring(rt, world.shop.id, expires_in=10)
    desk.failures = [
        ProviderError("shop_reconnect_needed", "acme refused the refresh request (invalid_grant)", retryable=False)
    ]
    with pytest.raises(ProviderError) as caught:
        _keeper(rt, world.shop.id).current()
    assert caught.value.code == "shop_reconnect_needed"
    assert "invalid_grant" in caught.value.message
    assert "Reconnect" in (caught.value.fix or "")
    shop = _row(rt, world.shop.id)
    assert shop.status == ShopStatus.NEEDS_RECONNECT and "invalid_grant" in (shop.status_reason or "")
    with pytest.raises(ProviderError) as again:
        _keeper(rt, world.shop.id).rejected("shpat_original")
    assert again.value.code == "shop_reconnect_needed"
    assert len(desk.requests) == 1  # the second call did not ask again


def test_a_static_token_refused_by_the_shop_needs_reconnection(rt, desk):
    world = seed_world(rt)
    with pytest.raises(ProviderError) as caught:
        _keeper(rt, world.shop.id).rejected("shpat_test_token")
    assert caught.value.code == "shop_reconnect_needed"
    assert "HTTP 401" in caught.value.message
    assert desk.requests == []
    assert _row(rt, world.shop.id).status == ShopStatus.NEEDS_RECONNECT


def test_renewing_one_shop_leaves_every_other_shop_as_it_was(rt, desk):
    world = seed_world(rt)
    with transaction(rt.sessions) as s:
        from connector.core import catalog

        other = catalog.add_shop(
            s,
            world.other_brand,
            domain="other-brand.myshopify.com",
            access_token="shpat_other",
            webhook_secret="whsec_other_0123456789",
            api_base_url="http://127.0.0.1:9",
            allow_custom_api_base=True,
        )
        s.flush()
        other_id = other.id
    _make_expiring(rt, world.shop.id, expires_in=10)
    _make_expiring(rt, other_id, expires_in=3000)
    with rt.sessions() as s:
        before = {c.key: getattr(s.get(Shop, other_id), c.key) for c in Shop.__table__.columns}
    _keeper(rt, world.shop.id).current()
    desk.failures = [ProviderError("shop_reconnect_needed", "refused", retryable=False)]
    with pytest.raises(ProviderError):
        _keeper(rt, world.shop.id).rejected("shpat_renewed_1")
    with rt.sessions() as s:
        after = {c.key: getattr(s.get(Shop, other_id), c.key) for c in Shop.__table__.columns}
        assert after == before
        assert s.scalars(select(Shop.status).where(Shop.id == world.shop.id)).one() == ShopStatus.NEEDS_RECONNECT
