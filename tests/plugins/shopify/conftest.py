"""Fixtures for the Shopify plugin tests: a fake Admin API on ``responses``, fake time, the schema.

No test here touches the network or really sleeps: HTTP goes to ``responses``
and every wait goes through ``FakeTime``, whose sleep advances its clock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import responses
from graphql import GraphQLSchema, build_schema
from shopify_fakes import NOW, SHOP, FakeShopify, FakeTime

from connector.core.hooktypes import HookContext, ShopInfo
from connector.plugins.shopify import hooks
from connector.plugins.shopify.config import ShopifyConfig
from connector.plugins.shopify.graphql_client import ShopifyGraphQLClient
from connector.plugins.shopify.throttle import ThrottleRegistry
from tests.shopify_schema import admin_sdl


@pytest.fixture(scope="session")
def admin_schema() -> GraphQLSchema:
    """Shopify's Admin schema 2026-07, built once per session (3.8 MB of SDL, a few seconds)."""
    # assume_valid: graphql-core 3.3 rejects Shopify's own SDL ("Interface field Node.id is not
    # deprecated, so implementation field ….id must not be deprecated"), a rule newer than the
    # schema. That concerns the schema's types, not our documents, which ``validate`` still checks.
    return build_schema(admin_sdl(), assume_valid=True)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def shopify(mocked: responses.RequestsMock) -> FakeShopify:
    return FakeShopify(mocked)


@pytest.fixture
def registry() -> ThrottleRegistry:
    return ThrottleRegistry()


@pytest.fixture
def client(fake_time: FakeTime, registry: ThrottleRegistry, shopify: FakeShopify) -> Iterator[ShopifyGraphQLClient]:
    with ShopifyGraphQLClient(
        SHOP, throttle=registry, sleep=fake_time.sleep, clock=fake_time.clock, max_throttle_wait=30.0
    ) as c:
        yield c


@pytest.fixture
def ctx(fake_time: FakeTime, registry: ThrottleRegistry, monkeypatch: pytest.MonkeyPatch) -> HookContext:
    """A hook context whose clients use fake time and a private throttle registry."""

    def make_client(shop: ShopInfo, context: HookContext, config: ShopifyConfig) -> ShopifyGraphQLClient:
        return ShopifyGraphQLClient(
            shop,
            connect_timeout=config.connect_timeout_seconds,
            read_timeout=config.read_timeout_seconds,
            max_throttle_wait=config.throttle_max_wait_seconds,
            throttle=registry,
            sleep=context.sleep,
            clock=fake_time.clock,
            logger=context.logger,
        )

    monkeypatch.setattr(hooks, "make_client", make_client)
    return HookContext(config={}, logger=logging.getLogger("tests.shopify"), now=lambda: NOW, sleep=fake_time.sleep)
