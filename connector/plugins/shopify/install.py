"""The Shopify side of an install (authorization code grant): the authorize page address and the callback check.

The host owns the one-time ``state`` (bound to the browser, stored as a digest), the order of the checks and
what is stored; this module knows only what is Shopify's: the ``NAME.myshopify.com`` host rule, the
authorize URL's parameters, and the callback's signature, a **hex** HMAC-SHA256 keyed by the app's client
secret over the other query parameters sorted by name and joined ``k=v&k=v`` (webhooks differ: base64 over
the raw body).

The ShopifyAPI package's ``shopify.Session`` does both where it fits: ``create_permission_url`` builds the
authorize URL and ``validate_hmac`` / ``calculate_hmac`` check the signature (``hmac.compare_digest``, so in
constant time). Its client id and secret are class attributes, so each call uses its own subclass rather
than ``Session.setup``, which would share one app's secret between threads. Its ``request_token`` is not
used for the code exchange (see ``token_grants``): no timeout, no ``expiring`` flag, no refresh or
client-credentials grants.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

import shopify

from connector.core.errors import InstallRefusedError, ProviderError, ValidationError
from connector.core.hooktypes import (
    ALLOW_CUSTOM_API_BASE,
    SHOP_DOMAIN,
    InstallCallback,
    InstallLinkRequest,
    api_base_url_problem,
)
from connector.plugins.shopify.config import ShopifyConfig
from connector.plugins.shopify.scopes import requested_scopes

CLIENT_ID = "SHOPIFY_CLIENT_ID"
CLIENT_SECRET = "SHOPIFY_CLIENT_SECRET"
#: Development only (needs ``SHOPIFY_ALLOW_CUSTOM_API_BASE=true``): the address every installed shop is reached
#: at instead of its own ``https://NAME.myshopify.com``, i.e. a local Shopify simulator (demo, tests).
INSTALL_API_BASE = "SHOPIFY_INSTALL_API_BASE_URL"
#: ``shopify.Session`` wants an Admin API version; the authorize URL does not carry it.
API_VERSION = "2026-07"
#: Longest shop value quoted back in an error message.
_QUOTE = 80


def _setting(config: Mapping[str, str], name: str) -> str:
    value = (config.get(name) or "").strip()
    if not value:
        raise ProviderError(
            "plugin_config_invalid",
            f"{name} is not set: installs need the Shopify app's client id and client secret.",
            fix=f"Set {name} (from the app's settings in Shopify's Dev Dashboard) and restart.",
            retryable=False,
            field=name,
        )
    return value


def _app_session(config: Mapping[str, str]) -> type[shopify.Session]:
    """A ``shopify.Session`` class holding this app's client id and secret, for this call only."""
    attrs = {"api_key": _setting(config, CLIENT_ID), "secret": _setting(config, CLIENT_SECRET)}
    return type("ConnectorAppSession", (shopify.Session,), attrs)


def shop_api_base_url(domain: str, config: Mapping[str, str]) -> str:
    """Where ``domain`` is reached: its own ``https://`` address, or the simulator the installation names."""
    override = (config.get(INSTALL_API_BASE) or "").strip().rstrip("/")
    if not override:
        return f"https://{domain}"
    problem = api_base_url_problem(
        domain, override, allow_custom=ShopifyConfig.from_mapping(config).allow_custom_api_base
    )
    if problem:
        raise ProviderError(
            "plugin_config_invalid",
            f"{INSTALL_API_BASE} is refused: {problem}.",
            fix=f"Unset {INSTALL_API_BASE} in production; for a local simulator also set {ALLOW_CUSTOM_API_BASE}=true.",
            retryable=False,
            field=INSTALL_API_BASE,
        )
    return override


def checked_domain(shop: str) -> str:
    """``shop`` lower-cased if it is a plain ``NAME.myshopify.com`` host, else a ``ValidationError``."""
    domain = (shop or "").strip().lower()
    if not SHOP_DOMAIN.fullmatch(domain):
        raise ValidationError(
            "invalid shop domain",
            fields={"shop": f"{shop[:_QUOTE]!r} is not a shop address like your-shop.myshopify.com"},
        )
    return domain


def authorize_url(request: InstallLinkRequest, config: Mapping[str, str]) -> str:
    """Shopify's authorize page for the shop, asking for the connector's scopes (offline access is the default)."""
    domain = checked_domain(request.shop_domain)
    session = _app_session(config)(domain, API_VERSION)
    url: str = session.create_permission_url(list(requested_scopes(config)), request.redirect_uri, state=request.state)
    base = shop_api_base_url(domain, config)
    if base != f"https://{domain}":  # the simulator: same path and query, its own address
        target, parts = urlsplit(base), urlsplit(url)
        url = urlunsplit((target.scheme, target.netloc, target.path + parts.path, parts.query, ""))
    return url


def verify_callback(query: Mapping[str, str], config: Mapping[str, str]) -> InstallCallback:
    """The shop, its address and the code of a query Shopify signed; ``InstallRefusedError`` otherwise.

    Checked in this order, both CPU only: the shop host rule, then the hex HMAC in constant time.
    """
    shop = query.get("shop") or ""
    if not SHOP_DOMAIN.fullmatch(shop):
        raise InstallRefusedError(
            f"The shop in the address ({shop[:_QUOTE]!r}) is not a plain NAME.myshopify.com host, so the "
            "request did not come from Shopify; nothing was stored.",
        )
    if not query.get("hmac"):
        raise InstallRefusedError(
            "The address has no Shopify signature (hmac), so it did not come from Shopify; nothing was stored."
        )
    if not _app_session(config).validate_hmac(dict(query)):
        raise InstallRefusedError(
            "The Shopify signature (hmac) of the address does not match: it was altered after Shopify signed it, "
            f"or {CLIENT_SECRET} is not this app's client secret. Nothing was stored.",
            fix=f"Start the install again; if it keeps failing, check {CLIENT_SECRET} against the app's settings.",
        )
    code = query.get("code") or None
    return InstallCallback(shop_domain=shop, api_base_url=shop_api_base_url(shop, config), code=code)
