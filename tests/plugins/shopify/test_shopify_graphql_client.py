"""The GraphQL client: rate-limit waits, retries and the mapping of failures to catalogue codes."""

from __future__ import annotations

import dataclasses
import threading

import pytest
import requests
from shopify_fakes import SHOP, FakeShopify, FakeTime, Reply, ok, throttled
from urllib3.exceptions import MaxRetryError, NewConnectionError

from connector.core.errors import ProviderError
from connector.core.hooktypes import RateLimitStatus
from connector.plugins.shopify.documents import CUSTOMER_BY_ID, CUSTOMER_CREATE, JOB_STATUS
from connector.plugins.shopify.graphql_client import ShopifyGraphQLClient
from connector.plugins.shopify.throttle import ThrottleRegistry

JOB = {"job": {"id": "gid://shopify/Job/1", "done": True}}


def test_posts_document_with_token_and_returns_data(client, shopify: FakeShopify):
    shopify.on("JobStatus", ok(JOB))
    assert client.execute(JOB_STATUS, {"id": "gid://shopify/Job/1"}) == JOB
    call = shopify.calls[0]
    assert call.headers["X-Shopify-Access-Token"] == SHOP.access_token
    assert call.variables == {"id": "gid://shopify/Job/1"}
    assert client.endpoint == "https://reward-shop.myshopify.com/admin/api/2026-07/graphql.json"


def test_learns_cost_and_bucket_from_every_answer(client, shopify, registry: ThrottleRegistry, fake_time):
    shopify.on("JobStatus", ok(JOB, requested=12, available=1500))
    client.execute(JOB_STATUS, {"id": "j"})
    assert registry.cost_of(SHOP.domain, "JobStatus") == 12
    assert registry.estimate(SHOP.domain, fake_time.now) == pytest.approx(1500)
    assert registry.estimate(SHOP.domain, fake_time.now + 2) == pytest.approx(1700)  # restores 100/s


def test_waits_for_the_bucket_before_sending_instead_of_overdrawing(client, shopify, fake_time: FakeTime):
    # The first answer says 5 points are left; the operation costs 50.
    shopify.on("JobStatus", ok(JOB, requested=50, available=5), ok(JOB, requested=50, available=0))
    client.execute(JOB_STATUS, {"id": "j"})
    sent_when_sleeping: list[int] = []
    fake_time.on_sleep = lambda _: sent_when_sleeping.append(len(shopify.calls))

    client.execute(JOB_STATUS, {"id": "j"})

    assert fake_time.sleeps == [pytest.approx(0.45)]  # (50 - 5) / 100
    assert sent_when_sleeping == [1]  # it slept before the second request went out
    assert len(shopify.calls) == 2


def test_never_sends_when_the_wait_would_exceed_the_budget(shopify, registry, fake_time):
    shopify.on("JobStatus", ok(JOB, requested=500, available=0, rate=10))
    with ShopifyGraphQLClient(
        SHOP, throttle=registry, sleep=fake_time.sleep, clock=fake_time.clock, max_throttle_wait=30
    ) as client:
        client.execute(JOB_STATUS, {"id": "j"})
        with pytest.raises(ProviderError) as caught:
            client.execute(JOB_STATUS, {"id": "j"})
    assert caught.value.code == "throttled"
    assert caught.value.retryable is True
    assert caught.value.retry_after == pytest.approx(50)  # 500 points at 10/s
    assert len(shopify.calls) == 1  # the second request was never sent
    assert fake_time.sleeps == []


def test_throttled_answer_waits_the_computed_time_then_succeeds(client, shopify, fake_time):
    shopify.on("JobStatus", throttled(requested=50, available=10, rate=100), ok(JOB))
    assert client.execute(JOB_STATUS, {"id": "j"}) == JOB
    assert fake_time.sleeps == [pytest.approx(0.4)]  # (50 - 10) / 100
    assert len(shopify.calls) == 2


def test_throttled_for_longer_than_the_budget_gives_up_retryable(shopify, registry, fake_time):
    shopify.on("JobStatus", throttled(requested=1000, available=0, rate=100))
    with (
        ShopifyGraphQLClient(
            SHOP, throttle=registry, sleep=fake_time.sleep, clock=fake_time.clock, max_throttle_wait=25
        ) as client,
        pytest.raises(ProviderError) as caught,
    ):
        client.execute(JOB_STATUS, {"id": "j"})
    assert caught.value.code == "throttled"
    assert caught.value.retryable and caught.value.retry_after == pytest.approx(10)
    assert sum(fake_time.sleeps) <= 25
    assert not caught.value.in_doubt  # a throttled request never ran


def test_http_429_honours_retry_after(client, shopify, fake_time):
    shopify.on("CustomerCreate", Reply({"errors": "Exceeded"}, 429, {"Retry-After": "2.0"}), ok({"x": 1}))
    assert client.execute(CUSTOMER_CREATE, {"input": {}}) == {"x": 1}
    assert fake_time.sleeps == [2.0]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_shop_unavailable_retryable_and_in_doubt_for_mutations(client, shopify, status):
    shopify.on("CustomerCreate", Reply("<html>oops</html>", status, {"Retry-After": "5"}))
    shopify.on("CustomerById", Reply("<html>oops</html>", status))
    with pytest.raises(ProviderError) as mutation:
        client.execute(CUSTOMER_CREATE, {"input": {}})
    with pytest.raises(ProviderError) as query:
        client.execute(CUSTOMER_BY_ID, {"id": "gid://shopify/Customer/1"})
    assert mutation.value.code == query.value.code == "shop_unavailable"
    assert mutation.value.retryable and query.value.retryable
    assert mutation.value.in_doubt is True and query.value.in_doubt is False
    assert mutation.value.retry_after == 5


def test_read_timeout_is_network_error_in_doubt_for_a_mutation(client, shopify):
    shopify.on("CustomerCreate", Reply(raises=requests.ReadTimeout("read timed out")))
    with pytest.raises(ProviderError) as caught:
        client.execute(CUSTOMER_CREATE, {"input": {}})
    assert caught.value.code == "network_error"
    assert caught.value.retryable and caught.value.in_doubt


def test_connect_failures_are_network_errors_that_were_never_sent(client, shopify):
    refused = requests.ConnectionError(MaxRetryError(None, "/", NewConnectionError(None, "refused")))
    shopify.on("CustomerCreate", Reply(raises=requests.ConnectTimeout("connect timed out")), Reply(raises=refused))
    for _ in range(2):
        with pytest.raises(ProviderError) as caught:
            client.execute(CUSTOMER_CREATE, {"input": {}})
        assert caught.value.code == "network_error"
        assert caught.value.retryable and not caught.value.in_doubt


def test_timeouts_come_from_the_constructor(shopify, registry, fake_time, mocked):
    seen = []
    shopify.on("JobStatus", ok(JOB))
    with ShopifyGraphQLClient(
        SHOP, throttle=registry, sleep=fake_time.sleep, clock=fake_time.clock, connect_timeout=2, read_timeout=7
    ) as client:
        original = client._session.post

        def spy(*args, **kwargs):
            seen.append(kwargs["timeout"])
            return original(*args, **kwargs)

        client._session.post = spy
        client.execute(JOB_STATUS, {"id": "j"})
    assert seen == [(2, 7)]


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_are_shop_auth_failed_permanent(client, shopify, status):
    shopify.on("JobStatus", Reply({"errors": "[API] Invalid API key or access token"}, status))
    with pytest.raises(ProviderError) as caught:
        client.execute(JOB_STATUS, {"id": "j"})
    assert caught.value.code == "shop_auth_failed"
    assert caught.value.retryable is False
    assert SHOP.access_token not in caught.value.message


def test_access_denied_error_is_shop_auth_failed(client, shopify):
    denied = {
        "errors": [
            {
                "message": "Access denied for orderCreate field. Required access: `write_orders` access scope.",
                "extensions": {"code": "ACCESS_DENIED", "documentation": "https://shopify.dev/api/usage/access-scopes"},
            }
        ]
    }
    shopify.on("JobStatus", denied)
    with pytest.raises(ProviderError) as caught:
        client.execute(JOB_STATUS, {"id": "j"})
    assert caught.value.code == "shop_auth_failed" and not caught.value.retryable
    assert "write_orders" in caught.value.message


def test_other_graphql_errors_are_permanent_and_leave_variable_values_out(client, shopify):
    invalid = {
        "errors": [
            {
                "message": "Variable $input of type CustomerInput! was provided invalid value for email (secret@x.com)",
                "extensions": {
                    "code": "INVALID_VARIABLE",
                    "value": {"email": "secret@x.com"},
                    "problems": [{"path": ["email"], "explanation": "Expected a String"}],
                },
            }
        ]
    }
    shopify.on("CustomerCreate", invalid)
    with pytest.raises(ProviderError) as caught:
        client.execute(CUSTOMER_CREATE, {"input": {"email": "secret@x.com"}})
    assert caught.value.code == "shop_request_invalid" and not caught.value.retryable
    assert "secret@x.com" not in caught.value.message
    assert "email: Expected a String" in caught.value.message


def test_internal_server_error_in_body_is_retryable(client, shopify):
    shopify.on(
        "CustomerCreate", {"errors": [{"message": "Internal error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}
    )
    with pytest.raises(ProviderError) as caught:
        client.execute(CUSTOMER_CREATE, {"input": {}})
    assert caught.value.code == "shop_unavailable" and caught.value.retryable and caught.value.in_doubt


def test_body_that_is_not_json_is_shop_unavailable(client, shopify):
    shopify.on("JobStatus", Reply("<html>maintenance</html>", 200))
    with pytest.raises(ProviderError) as caught:
        client.execute(JOB_STATUS, {"id": "j"})
    assert caught.value.code == "shop_unavailable" and caught.value.retryable


def test_registry_reservations_keep_concurrent_threads_from_overdrawing():
    registry = ThrottleRegistry()
    from connector.plugins.shopify.throttle import Reservation

    # Teach it a bucket of 100 points restoring at 10/s and an operation costing 40.
    registry.settle(
        Reservation("shop", 0),
        "Op",
        {
            "cost": {
                "requestedQueryCost": 40,
                "throttleStatus": {"maximumAvailable": 100, "currentlyAvailable": 100, "restoreRate": 10},
            }
        },
        now=0.0,
    )
    granted: list[float] = []
    lock = threading.Lock()

    def worker():
        reservation, wait = registry.try_reserve("shop", "Op", now=0.0)
        with lock:
            granted.append(wait if reservation is None else 0.0)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(granted)[:2] == [0.0, 0.0]  # two fit in 100 points
    assert all(wait > 0 for wait in sorted(granted)[2:])  # the others must wait


def test_reports_each_answers_bucket_to_the_host_including_a_throttled_one(shopify, registry, fake_time):
    """The Shops page's rate-limit bucket: the client hands every reported throttleStatus to the host."""
    seen: list[RateLimitStatus] = []
    shop = dataclasses.replace(SHOP, rate_limit_seen=seen.append)
    shopify.on("JobStatus", throttled(requested=50, available=10, rate=100), ok(JOB, available=1500, maximum=2000))
    with ShopifyGraphQLClient(
        shop, throttle=registry, sleep=fake_time.sleep, clock=fake_time.clock, max_throttle_wait=30
    ) as client:
        client.execute(JOB_STATUS, {"id": "j"})
    assert seen == [
        RateLimitStatus(available=10, maximum=2000, restore_rate=100),
        RateLimitStatus(available=1500, maximum=2000, restore_rate=100),
    ]


def test_an_answer_without_a_bucket_reports_nothing(shopify):
    seen: list[RateLimitStatus] = []
    shop = dataclasses.replace(SHOP, rate_limit_seen=seen.append)
    shopify.on("JobStatus", {"data": JOB})
    with ShopifyGraphQLClient(shop, throttle=ThrottleRegistry()) as plain:
        assert plain.execute(JOB_STATUS, {"id": "j"}) == JOB
    assert seen == []
