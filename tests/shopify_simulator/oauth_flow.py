"""What an app does against the simulator's OAuth endpoints, step by step, over real HTTP."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from shopify_sim import SimServer

CLIENT_ID = "sim-client-id"
CLIENT_SECRET = "sim-client-secret"
REDIRECT_URI = "https://connector.example/shopify/callback"
SCOPES = "read_orders,write_orders"

#: A read the static token and any token with ``read_orders`` may make.
ORDERS_PAGE = """
query OrdersPage { orders(first: 1) { nodes { id } } }
"""
#: What the connector asks to check the granted scopes.
APP_SCOPES = """
query AppScopes { currentAppInstallation { id accessScopes { handle description } } }
"""


def authorize(
    sim: SimServer,
    *,
    client_id: str = CLIENT_ID,
    scope: str = SCOPES,
    redirect_uri: str = REDIRECT_URI,
    state: str | None = "nonce-1",
) -> requests.Response:
    """The merchant's browser at ``/admin/oauth/authorize`` (redirects not followed)."""
    params = {"client_id": client_id, "scope": scope, "redirect_uri": redirect_uri}
    if state is not None:
        params["state"] = state
    return requests.get(f"{sim.base_url}/admin/oauth/authorize", params=params, allow_redirects=False, timeout=10)


def callback_params(response: requests.Response) -> dict[str, str]:
    """The query parameters Shopify put on the redirect to the app's callback."""
    assert response.status_code == 302, response.text
    return dict(parse_qsl(urlsplit(response.headers["Location"]).query))


def token_request(sim: SimServer, params: dict[str, Any], *, as_json: bool = False, **kwargs: Any) -> requests.Response:
    """``POST /admin/oauth/access_token``, form-encoded (default) or JSON."""
    url = f"{sim.base_url}/admin/oauth/access_token"
    if as_json:
        return requests.post(url, json=params, timeout=kwargs.pop("timeout", 10), **kwargs)
    return requests.post(url, data=params, timeout=kwargs.pop("timeout", 10), **kwargs)


def exchange(sim: SimServer, code: str, *, expiring: bool = True, **kwargs: Any) -> requests.Response:
    """Exchange an authorization code (``expiring=1`` unless told otherwise)."""
    params: dict[str, Any] = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code": code}
    if expiring:
        params["expiring"] = "1"
    return token_request(sim, params, **kwargs)


def refresh(sim: SimServer, refresh_token: str, **kwargs: Any) -> requests.Response:
    """``grant_type=refresh_token``."""
    params = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
    }
    return token_request(sim, params, **kwargs)


def install(sim: SimServer, scope: str = SCOPES) -> dict[str, Any]:
    """Authorize then exchange for an expiring offline token; returns the token answer."""
    response = exchange(sim, callback_params(authorize(sim, scope=scope))["code"])
    assert response.status_code == 200, response.text
    return response.json()


def status_with(sim: SimServer, token: str) -> int:
    """HTTP status of a small GraphQL read made with ``token``."""
    return sim.graphql(ORDERS_PAGE, token=token).status_code
