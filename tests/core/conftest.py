"""Fixtures for the core tests that fulfil against the Shopify simulator over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector.core.runtime import Runtime
from shopify_sim import SimServer
from tests.conftest import World, seed_world


@pytest.fixture
def sim() -> Iterator[SimServer]:
    """The brand's store, selling the seeded reward's SKU (TSHIRT-M); a module may add products to it."""
    with SimServer(access_token="shpat_test_token", shop_domain="acme-pets.myshopify.com") as server:
        server.control("products", {"title": "Ambassador T-Shirt", "variants": [{"sku": "TSHIRT-M", "inventory": 100}]})
        yield server


@pytest.fixture
def rt(make_runtime) -> Runtime:
    return make_runtime()


@pytest.fixture
def world(rt: Runtime, sim: SimServer) -> World:
    """The seeded brand, its shop pointed at ``sim``, and a member with 10,000 points."""
    return seed_world(rt, api_base_url=sim.base_url, points=10_000)
