"""Where the shop's access token may go: only to ``https://{shop}.myshopify.com``, never along a redirect.

Before the fix a 307 to another host made ``requests`` resend the POST with ``X-Shopify-Access-Token`` and
the member's data (even over plain HTTP) and the client accepted the answer; any ``api_base_url`` was used
as given, credentials in it included.
"""

from __future__ import annotations

import dataclasses

import pytest
import responses
from shopify_fakes import ENDPOINT, SHOP, FakeTime

from connector.core.errors import ProviderError
from connector.core.hooktypes import ShopInfo
from connector.plugins.shopify.config import ShopifyConfig
from connector.plugins.shopify.documents import CUSTOMER_CREATE, JOB_STATUS
from connector.plugins.shopify.graphql_client import ShopifyGraphQLClient
from connector.plugins.shopify.throttle import ThrottleRegistry

JOB = {"job": {"id": "gid://shopify/Job/1", "done": True}}
EVIL = "http://evil.example/steal"


def _client(shop: ShopInfo, fake_time: FakeTime, registry: ThrottleRegistry, **kwargs: object) -> ShopifyGraphQLClient:
    return ShopifyGraphQLClient(shop, throttle=registry, sleep=fake_time.sleep, clock=fake_time.clock, **kwargs)


def _tokens_sent(mocked: responses.RequestsMock) -> list[tuple[str, str | None]]:
    return [(c.request.url, c.request.headers.get("X-Shopify-Access-Token")) for c in mocked.calls]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_clear_error_and_the_token_is_not_resent(mocked, fake_time, registry, status: int):
    mocked.add(responses.POST, ENDPOINT, status=status, headers={"Location": EVIL})
    mocked.add(responses.POST, EVIL, json={"data": {"customerCreate": {"customer": {"id": "stolen"}}}})
    mocked.add(responses.GET, EVIL, json={"data": {"customerCreate": {"customer": {"id": "stolen"}}}})
    with _client(SHOP, fake_time, registry) as client, pytest.raises(ProviderError) as caught:
        client.execute(CUSTOMER_CREATE, {"input": {"email": "ada@example.com"}})
    assert _tokens_sent(mocked) == [(ENDPOINT, SHOP.access_token)]  # one request, to the shop only
    error = caught.value
    assert error.code == "shop_request_invalid" and not error.retryable
    assert f"HTTP {status}" in error.message and EVIL in error.message and "redirect" in error.message
    assert SHOP.access_token not in error.message


@pytest.mark.parametrize(
    "base",
    [
        "http://reward-shop.myshopify.com",  # plain HTTP to the right host
        "https://evil.example",  # another host
        "https://reward-shop.myshopify.com.evil.example",
        "https://other-shop.myshopify.com",  # another shop
        "http://127.0.0.1:9",  # the simulator, not allowed here
    ],
)
def test_a_base_url_other_than_the_shops_own_is_refused_unless_allowed(mocked, fake_time, registry, base: str):
    shop = dataclasses.replace(SHOP, api_base_url=base)
    with pytest.raises(ProviderError) as caught:
        _client(shop, fake_time, registry).execute(JOB_STATUS, {"id": "j"})
    assert caught.value.code == "plugin_config_invalid" and not caught.value.retryable
    assert "SHOPIFY_ALLOW_CUSTOM_API_BASE" in caught.value.message
    assert "https://reward-shop.myshopify.com" in caught.value.message
    assert len(mocked.calls) == 0  # nothing sent anywhere

    mocked.add(responses.POST, f"{base}/admin/api/2026-07/graphql.json", json={"data": JOB})
    with _client(shop, fake_time, registry, allow_custom_api_base=True) as client:
        assert client.execute(JOB_STATUS, {"id": "j"}) == JOB


@pytest.mark.parametrize(
    "base",
    [
        "https://user:secret@reward-shop.myshopify.com",
        "http://user:secret@127.0.0.1:9",
        "http://token@127.0.0.1:9",
    ],
)
def test_credentials_in_the_base_url_are_refused_even_when_custom_bases_are_allowed(
    mocked, fake_time, registry, base: str
):
    shop = dataclasses.replace(SHOP, api_base_url=base)
    for allowed in (False, True):
        with pytest.raises(ProviderError) as caught:
            _client(shop, fake_time, registry, allow_custom_api_base=allowed).execute(JOB_STATUS, {"id": "j"})
        assert caught.value.code == "plugin_config_invalid"
        assert "credentials" in caught.value.message and "secret" not in caught.value.message
    assert len(mocked.calls) == 0


def test_the_shops_own_https_address_is_always_allowed(mocked, fake_time, registry):
    for base in (
        "https://reward-shop.myshopify.com",
        "https://reward-shop.myshopify.com/",
        "https://Reward-Shop.myshopify.com",
    ):
        mocked.add(responses.POST, ENDPOINT, json={"data": JOB})
        with _client(dataclasses.replace(SHOP, api_base_url=base), fake_time, registry) as client:
            assert client.execute(JOB_STATUS, {"id": "j"}) == JOB


def test_the_allowance_is_an_explicit_setting_off_by_default():
    assert ShopifyConfig.from_mapping({}).allow_custom_api_base is False
    assert ShopifyConfig.from_mapping({"SHOPIFY_ALLOW_CUSTOM_API_BASE": "true"}).allow_custom_api_base is True
    with pytest.raises(ProviderError) as caught:
        ShopifyConfig.from_mapping({"SHOPIFY_ALLOW_CUSTOM_API_BASE": "sometimes"})
    assert caught.value.code == "plugin_config_invalid" and caught.value.field == "SHOPIFY_ALLOW_CUSTOM_API_BASE"
