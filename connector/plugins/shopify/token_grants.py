"""``POST /admin/oauth/access_token``: the three grants that give the connector an Admin API token.

Why not ``shopify.Session.request_token`` from the ShopifyAPI package: it posts through urllib with no
timeout, follows redirects, knows only the authorization code grant and asks for a non-expiring token,
which Shopify refuses for public apps from 2027-01-01. This module adds exactly that: the ``expiring``
flag, the refresh and client-credentials grants, timeouts, no redirects, and the same address rule as
the GraphQL client (the client secret goes only to the shop's own host).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import requests

from connector import __version__
from connector.core.errors import ProviderError
from connector.core.hooktypes import (
    GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIALS,
    GRANT_REFRESH_TOKEN,
    TokenGrant,
    TokenGrantRequest,
    api_base_url_problem,
)
from connector.plugins.shopify.config import ShopifyConfig
from connector.plugins.shopify.scopes import parse_scopes

_RECONNECT_FIX = "Reconnect the shop from the Shops page (Reconnect), then retry."


def token_url(api_base_url: str) -> str:
    return f"{api_base_url.rstrip('/')}/admin/oauth/access_token"


def grant_form(request: TokenGrantRequest) -> dict[str, str]:
    """The form Shopify expects for ``request.grant`` (secrets included: only for the shop's host)."""
    form = {"client_id": request.client_id, "client_secret": request.client_secret}
    if request.grant == GRANT_AUTHORIZATION_CODE:
        form.update(code=request.code or "", expiring="1")
    elif request.grant == GRANT_REFRESH_TOKEN:
        form.update(grant_type="refresh_token", refresh_token=request.refresh_token or "")
    elif request.grant == GRANT_CLIENT_CREDENTIALS:
        form.update(grant_type="client_credentials")
    else:
        raise ValueError(f"unknown grant {request.grant!r}")
    return form


def request_token(
    request: TokenGrantRequest,
    config: ShopifyConfig,
    *,
    session: requests.Session | None = None,
    logger: logging.Logger | None = None,
) -> TokenGrant:
    """Ask the shop for a token; raise ``ProviderError`` saying whether trying again can help."""
    log = logger or logging.getLogger("connector.plugins.shopify")
    problem = api_base_url_problem(request.shop_domain, request.api_base_url, allow_custom=config.allow_custom_api_base)
    if problem:
        raise ProviderError(
            "plugin_config_invalid",
            f"The API base URL of {request.shop_domain} is refused: {problem}.",
            fix="Connect the shop by its own https://<shop>.myshopify.com address.",
            retryable=False,
            field="api_base_url",
        )
    http = session or requests.Session()
    try:
        response = http.post(
            token_url(request.api_base_url),
            data=grant_form(request),
            headers={"Accept": "application/json", "User-Agent": f"connector-shopify/{__version__}"},
            timeout=(config.connect_timeout_seconds, config.read_timeout_seconds),
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        log.warning("shopify %s: %s grant got no answer (%s)", request.shop_domain, request.grant, type(exc).__name__)
        raise ProviderError(
            "shop_unavailable",
            f"{request.shop_domain} did not answer the {request.grant.replace('_', ' ')} token request "
            f"({type(exc).__name__}); nothing was stored and the same grant is tried again.",
            retryable=True,
        ) from None
    finally:
        if session is None:
            http.close()
    return _grant_from(request, response, log)


def _grant_from(request: TokenGrantRequest, response: requests.Response, log: logging.Logger) -> TokenGrant:
    domain, grant = request.shop_domain, request.grant.replace("_", " ")
    status = response.status_code
    body = _json(response)
    if status >= 500 or status == 429:
        raise ProviderError(
            "shop_unavailable",
            f"{domain} answered the {grant} token request with HTTP {status}; the same grant is tried again.",
            retryable=True,
        )
    if 300 <= status < 400:
        raise ProviderError(
            "shop_request_invalid",
            f"{domain} answered the {grant} token request with a redirect (HTTP {status}); it was not followed.",
            fix="Check the shop's domain: the token endpoint never redirects.",
            retryable=False,
        )
    if status == 200 and not isinstance(body, Mapping):
        raise ProviderError(
            "shop_unavailable",
            f"{domain} answered the {grant} token request with a body that is not JSON; the grant is tried again.",
            retryable=True,
        )
    if status != 200 or not isinstance(body, Mapping):
        reason = _oauth_error(body) or f"HTTP {status}"
        log.warning("shopify %s: %s grant refused (%s)", domain, request.grant, reason)
        raise ProviderError(
            "shop_reconnect_needed",
            f"{domain} refused the {grant} token request ({reason})",
            fix=_RECONNECT_FIX,
            retryable=False,
        )
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise ProviderError(
            "shop_unavailable",
            f"{domain} answered the {grant} token request without an access token; the grant is tried again.",
            retryable=True,
        )
    refresh = body.get("refresh_token")
    return TokenGrant(
        access_token=token,
        scopes=parse_scopes(body.get("scope") if isinstance(body.get("scope"), str) else ""),
        expires_in=_seconds(body.get("expires_in")),
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        refresh_token_expires_in=_seconds(body.get("refresh_token_expires_in")),
    )


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _oauth_error(body: Any) -> str | None:
    """Shopify's ``error``/``error_description`` (or ``errors``) text, cut short; never echoes secrets."""
    if not isinstance(body, Mapping):
        return None
    parts = [str(body.get(key))[:200] for key in ("error", "error_description", "errors") if body.get(key)]
    return ": ".join(parts) or None


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return float(value)
