"""The three token grants against ``/admin/oauth/access_token``, and the client's one renewal after a 401."""

from __future__ import annotations

import logging
from dataclasses import replace
from urllib.parse import parse_qs

import pytest
import requests
import responses
from shopify_fakes import SHOP, FakeShopify, Reply, ok

from connector.core.errors import ProviderError
from connector.core.hooktypes import (
    GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIALS,
    GRANT_REFRESH_TOKEN,
    TokenGrantRequest,
)
from connector.plugins.shopify.config import ShopifyConfig
from connector.plugins.shopify.documents import JOB_STATUS
from connector.plugins.shopify.graphql_client import ShopifyGraphQLClient
from connector.plugins.shopify.scopes import missing_scopes, parse_scopes, requested_scopes
from connector.plugins.shopify.token_grants import request_token

TOKEN_URL = "https://reward-shop.myshopify.com/admin/oauth/access_token"
SECRET = "shpss_client_secret_do_not_leak"
REFRESH = "shprt_refresh_do_not_leak"
CONFIG = ShopifyConfig()


def _request(grant: str, **extra: str) -> TokenGrantRequest:
    return TokenGrantRequest(
        shop_domain=SHOP.domain,
        api_base_url=SHOP.api_base_url,
        grant=grant,
        client_id="client-123",
        client_secret=SECRET,
        **extra,
    )


def _sent_form(mocked: responses.RequestsMock) -> dict[str, str]:
    body = mocked.calls[-1].request.body
    text = body.decode() if isinstance(body, bytes) else str(body)
    return {key: values[0] for key, values in parse_qs(text).items()}


def test_code_exchange_asks_for_an_expiring_token_and_reads_the_whole_answer(mocked):
    mocked.post(
        TOKEN_URL,
        json={
            "access_token": "shpat_new",
            "scope": "write_orders,write_customers,read_products",
            "expires_in": 3600,
            "refresh_token": "shprt_new",
            "refresh_token_expires_in": 7776000,
        },
    )
    grant = request_token(_request(GRANT_AUTHORIZATION_CODE, code="code-1"), CONFIG)
    assert _sent_form(mocked) == {
        "client_id": "client-123",
        "client_secret": SECRET,
        "code": "code-1",
        "expiring": "1",
    }
    assert grant.access_token == "shpat_new"
    assert grant.refresh_token == "shprt_new"
    assert grant.expires_in == 3600
    assert grant.refresh_token_expires_in == 7776000
    assert grant.scopes == ("write_orders", "write_customers", "read_products")


def test_refresh_and_client_credentials_send_their_grant_type(mocked):
    mocked.post(TOKEN_URL, json={"access_token": "a", "scope": "write_orders", "expires_in": 60})
    request_token(_request(GRANT_REFRESH_TOKEN, refresh_token=REFRESH), CONFIG)
    assert _sent_form(mocked) == {
        "client_id": "client-123",
        "client_secret": SECRET,
        "grant_type": "refresh_token",
        "refresh_token": REFRESH,
    }
    grant = request_token(_request(GRANT_CLIENT_CREDENTIALS), CONFIG)
    assert _sent_form(mocked)["grant_type"] == "client_credentials"
    assert grant.refresh_token is None and grant.expires_in == 60


def test_a_refused_grant_needs_reconnection_and_says_why_without_the_secrets(mocked, caplog):
    mocked.post(
        TOKEN_URL,
        status=400,
        json={"error": "invalid_grant", "error_description": "refresh token revoked"},
    )
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ProviderError) as caught:
        request_token(_request(GRANT_REFRESH_TOKEN, refresh_token=REFRESH), CONFIG)
    assert caught.value.code == "shop_reconnect_needed"
    assert caught.value.retryable is False
    assert "invalid_grant" in caught.value.message and "refresh token revoked" in caught.value.message
    for text in (caught.value.message, caught.value.fix or "", caplog.text, repr(_request(GRANT_REFRESH_TOKEN))):
        assert SECRET not in text and REFRESH not in text


@pytest.mark.parametrize(
    "reply",
    [
        {"status": 503, "json": {"errors": "unavailable"}},
        {"status": 200, "body": "not json"},
        {"body": requests.ConnectionError("connection reset")},
        {"body": requests.ReadTimeout("read timed out")},
    ],
)
def test_no_usable_answer_is_retryable_and_stores_nothing(mocked, reply):
    mocked.post(TOKEN_URL, **reply)
    with pytest.raises(ProviderError) as caught:
        request_token(_request(GRANT_REFRESH_TOKEN, refresh_token=REFRESH), CONFIG)
    assert caught.value.code == "shop_unavailable"
    assert caught.value.retryable is True


def test_a_redirect_is_not_followed_so_the_secret_goes_nowhere_else(mocked):
    mocked.post(TOKEN_URL, status=302, headers={"Location": "https://evil.example/steal"})
    with pytest.raises(ProviderError) as caught:
        request_token(_request(GRANT_CLIENT_CREDENTIALS), CONFIG)
    assert caught.value.code == "shop_request_invalid"
    assert [call.request.url for call in mocked.calls] == [TOKEN_URL]


def test_the_secret_is_sent_only_to_the_shops_own_host(mocked):
    foreign = replace(_request(GRANT_CLIENT_CREDENTIALS), api_base_url="https://evil.example")
    with pytest.raises(ProviderError) as caught:
        request_token(foreign, CONFIG)
    assert caught.value.code == "plugin_config_invalid"
    assert len(mocked.calls) == 0


class _Keeper:
    """A host keeper with two tokens: the stored one, and the one a renewal gives."""

    def __init__(self, renewed: str = "shpat_renewed") -> None:
        self.token = SHOP.access_token
        self.renewed = renewed
        self.rejections: list[str] = []

    def current(self) -> str:
        return self.token

    def rejected(self, token: str) -> str:
        self.rejections.append(token)
        self.token = self.renewed
        return self.token


def test_a_401_renews_the_token_once_and_resends(mocked, registry, fake_time):
    shopify = FakeShopify(mocked)
    keeper = _Keeper()
    job = {"job": {"id": "gid://shopify/Job/1", "done": True}}
    shopify.on("JobStatus", Reply(status=401, body={"errors": "[API] Invalid API key or access token"}), ok(job))
    shop = replace(SHOP, tokens=keeper)
    with ShopifyGraphQLClient(shop, throttle=registry, sleep=fake_time.sleep, clock=fake_time.clock) as client:
        assert client.execute(JOB_STATUS, {"id": "j"}) == job
    assert keeper.rejections == [SHOP.access_token]
    assert [call.headers["X-Shopify-Access-Token"] for call in shopify.calls] == [SHOP.access_token, "shpat_renewed"]


def test_a_second_401_after_renewal_is_final_not_a_loop(mocked, registry, fake_time):
    shopify = FakeShopify(mocked)
    keeper = _Keeper()
    shopify.on("JobStatus", Reply(status=401, body={"errors": "[API] Invalid API key or access token"}))
    shop = replace(SHOP, tokens=keeper)
    with (
        ShopifyGraphQLClient(shop, throttle=registry, sleep=fake_time.sleep, clock=fake_time.clock) as client,
        pytest.raises(ProviderError) as caught,
    ):
        client.execute(JOB_STATUS, {"id": "j"})
    assert caught.value.code == "shop_auth_failed"
    assert len(shopify.calls) == 2 and len(keeper.rejections) == 1


def test_scopes_compare_with_write_implying_read():
    assert parse_scopes(" write_orders, read_products,,write_orders ") == ("write_orders", "read_products")
    assert missing_scopes(["write_orders", "write_customers", "read_products"]) == ()
    assert missing_scopes(["read_orders", "write_customers"]) == ("read_products", "write_orders")
    assert requested_scopes({"SHOPIFY_SCOPES": "read_inventory"}) == (
        "read_inventory",
        "read_products",
        "write_customers",
        "write_orders",
    )


class _DisconnectedKeeper(_Keeper):
    """The host's keeper once the shop was disconnected (app uninstalled): it refuses to renew."""

    def rejected(self, token: str) -> str:
        self.rejections.append(token)
        raise ProviderError("shop_disconnected", "Shop disconnected: reinstall the app", retryable=False)


def test_a_401_the_host_will_not_renew_says_nothing_was_created(mocked, registry, fake_time):
    """A 401 is refused before the operation runs: an orderCreate refused so leaves no order to look up later."""
    shopify = FakeShopify(mocked)
    keeper = _DisconnectedKeeper()
    shopify.on("JobStatus", Reply(status=401, body={"errors": "[API] Invalid API key or access token"}))
    with (
        ShopifyGraphQLClient(
            replace(SHOP, tokens=keeper), throttle=registry, sleep=fake_time.sleep, clock=fake_time.clock
        ) as client,
        pytest.raises(ProviderError) as caught,
    ):
        client.execute(JOB_STATUS, {"id": "j"})
    assert caught.value.code == "shop_disconnected" and caught.value.nothing_created
    assert len(shopify.calls) == 1


def test_a_final_401_says_nothing_was_created(mocked, registry, fake_time):
    shopify = FakeShopify(mocked)
    shopify.on("JobStatus", Reply(status=401, body={"errors": "[API] Invalid API key or access token"}))
    with (
        ShopifyGraphQLClient(SHOP, throttle=registry, sleep=fake_time.sleep, clock=fake_time.clock) as client,
        pytest.raises(ProviderError) as caught,
    ):
        client.execute(JOB_STATUS, {"id": "j"})
    assert caught.value.code == "shop_auth_failed" and caught.value.nothing_created
