"""Helpers for the install tests: the app's settings, the simulator's authorize step, an independent signer.

The simulator plays Shopify (``simulator/shopify_sim/oauth_routes.py``): its authorize page approves at
once and redirects to the connector's callback with a real code and hex HMAC; its token endpoint exchanges
the code. ``sign`` computes the callback HMAC independently of the code under test, to forge variants.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from sqlalchemy import func, select

from connector.core.runtime import Runtime
from connector.core.tables import Shop, ShopInstallState
from shopify_sim import SimServer

CLIENT_ID = "sim-client-id"
CLIENT_SECRET = "sim-client-secret"
PUBLIC_URL = "https://connector.example"
CALLBACK = f"{PUBLIC_URL}/shopify/callback"
NEW_SHOP = "new-shop.myshopify.com"


def app_env(sim: SimServer) -> dict[str, str]:
    """The app-wide settings of an installation whose shops live in ``sim``."""
    return {
        "SHOPIFY_CLIENT_ID": CLIENT_ID,
        "SHOPIFY_CLIENT_SECRET": CLIENT_SECRET,
        "SHOPIFY_INSTALL_API_BASE_URL": sim.base_url,
    }


@pytest.fixture(scope="session")
def oauth_sim_server() -> Iterator[SimServer]:
    with SimServer(shop_domain=NEW_SHOP, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as server:
        yield server


@pytest.fixture
def oauth_sim(oauth_sim_server: SimServer) -> SimServer:
    oauth_sim_server.control("reset", {"config": True})
    return oauth_sim_server


def approve(authorize_url: str) -> dict[str, str]:
    """The merchant approves on the (simulated) authorize page: the callback query Shopify sends back."""
    response = requests.get(authorize_url, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:500]
    location = response.headers["Location"]
    assert location.startswith(CALLBACK + "?"), location
    return dict(parse_qsl(urlsplit(location).query))


def sign(query: dict[str, str], secret: str = CLIENT_SECRET) -> dict[str, str]:
    """``query`` with the hmac Shopify would put on it: hex HMAC-SHA256 over the sorted other params."""
    message = "&".join(f"{k}={v}" for k, v in sorted(query.items()) if k != "hmac")
    return {**query, "hmac": hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()}


def shop_rows(rt: Runtime) -> list[tuple[object, ...]]:
    """Every shop row's stored connection, to compare before and after a refused callback."""
    with rt.sessions() as s:
        return [
            (
                shop.domain,
                shop.brand_id,
                shop.connection_kind,
                shop.status,
                shop.access_token,
                shop.refresh_token,
                shop.webhook_secret,
                shop.api_base_url,
            )
            for shop in s.scalars(select(Shop).order_by(Shop.id))
        ]


def used_states(rt: Runtime) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).where(ShopInstallState.used_at.is_not(None))) or 0)


def token_grants(sim: SimServer) -> list[dict[str, object]]:
    """The token requests the simulated shop answered (never a secret), oldest first."""
    return [g for g in sim.control("oauth/grants")["grants"] if g.get("endpoint") == "access_token"]
