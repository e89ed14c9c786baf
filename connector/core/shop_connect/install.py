"""The install (authorization code grant): the connector's install link, a one-time state bound to the
browser, then the callback's checks in order (state, host, signature), the code exchange and storing the
shop and its token.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Mapping
from urllib.parse import urlencode

from sqlalchemy import delete, select, update

from connector.core.catalog import rotate_webhook_secret
from connector.core.database import rowcount, transaction
from connector.core.errors import InstallRefusedError, NotConfiguredError, ProviderError
from connector.core.hooktypes import (
    GRANT_AUTHORIZATION_CODE,
    InstallCallback,
    InstallLinkRequest,
    TokenGrant,
    TokenGrantRequest,
)
from connector.core.runtime import Runtime
from connector.core.shop_connect.settings import (
    PROVIDER,
    STATE_LIFETIME,
    STATE_RETENTION,
    _minutes,
    _public_url,
    app_credentials,
    checked_domain,
    redirect_uri,
    state_digest,
)
from connector.core.shop_connect.shared_steps import (
    _RESUMABLE,
    _aware,
    _check_brand,
    _check_shop_free,
    _listed,
    _missing_scopes,
    _owned_elsewhere,
    _set_status,
    after_connect,
)
from connector.core.shop_tokens import AppCredentials, request_grant, store_grant
from connector.core.tables import Shop, ShopConnection, ShopInstallState, ShopStatus

log = logging.getLogger("connector.shop_connect")

_RESTART = "Start the install again from the Shops page (Connect), or from Shopify."


def install_link(rt: Runtime, shop_domain: str, brand_id: int | None, provider: str = PROVIDER) -> str:
    """The connector's own install address for ``shop_domain`` (and brand), to open in a signed-in browser.

    Not the provider's authorize page: the state must be set in the browser that finishes the install, so
    the install starts at the connector (``GET /<provider>/install``), which sets it and redirects.
    """
    domain = checked_domain(shop_domain)
    app_credentials(rt, provider)
    if brand_id is not None:  # refused now rather than after the merchant approved
        with rt.sessions() as s:
            _check_brand(s, brand_id)
            _check_shop_free(s, domain, brand_id)
    query = {"shop": domain, **({"brand": str(brand_id)} if brand_id is not None else {})}
    return f"{_public_url(rt)}/{provider}/install?{urlencode(query)}"


def begin_install(
    rt: Runtime,
    shop_domain: str,
    brand_id: int | None,
    user_id: int | None,
    *,
    provider: str = PROVIDER,
) -> tuple[str, str]:
    """Store a one-time state for an install of ``shop_domain`` and return (authorize URL, state).

    The caller puts the state in the browser (signed cookie) and redirects it to the URL. ``brand_id`` is the
    brand the shop joins (an install started from the console); None for an install started from the
    provider's side. A shop that already belongs to another brand is refused here, before Shopify is asked.
    """
    domain = checked_domain(shop_domain)
    app_credentials(rt, provider)
    state = secrets.token_urlsafe(32)
    url = _authorize_url(rt, provider, InstallLinkRequest(domain, state, redirect_uri(rt, provider)))
    now = rt.now()
    with transaction(rt.sessions) as s:
        if brand_id is not None:
            _check_brand(s, brand_id)
            _check_shop_free(s, domain, brand_id)
        s.execute(delete(ShopInstallState).where(ShopInstallState.expires_at < now - STATE_RETENTION))
        s.add(
            ShopInstallState(
                state_digest=state_digest(state),
                shop_domain=domain,
                brand_id=brand_id,
                created_by_user_id=user_id,
                created_at=now,
                expires_at=now + STATE_LIFETIME,
            )
        )
    log.info("install of %s started (brand %s)", domain, brand_id if brand_id is not None else "none yet")
    return url, state


def _authorize_url(rt: Runtime, provider: str, request: InstallLinkRequest) -> str:
    url: str | None = rt.plugins.hook.connector_install_url(
        request=request, provider=provider, ctx=rt.hook_context(provider)
    )
    if url is None:
        raise NotConfiguredError(
            f"No installed plugin installs {provider!r} shops.", setting="CONNECTOR_DISABLED_PLUGINS"
        )
    return url


def verify_signed_query(rt: Runtime, query: Mapping[str, str], provider: str = PROVIDER) -> InstallCallback:
    """The plugin's check of a query the provider signed (shop host rule, signature); CPU only."""
    app_credentials(rt, provider)
    verified: InstallCallback | None = rt.plugins.hook.connector_verify_install_callback(
        query=query, provider=provider, ctx=rt.hook_context(provider)
    )
    if verified is None:
        raise NotConfiguredError(
            f"No installed plugin verifies {provider!r} installs.", setting="CONNECTOR_DISABLED_PLUGINS"
        )
    return verified


def complete_install(
    rt: Runtime, query: Mapping[str, str], browser_state: str | None, *, provider: str = PROVIDER
) -> Shop:
    """Finish an install from the provider's callback ``query``; ``browser_state`` is the browser's cookie.

    Raises ``InstallRefusedError`` (nothing stored) when any check fails; see the module docstring for the
    order. Returns the connected (or awaiting-brand) shop.
    """
    try:
        return _complete_install(rt, query, browser_state, provider)
    except InstallRefusedError as exc:  # the reason, for the operator: never the state, code or signature
        log.warning("install callback refused: %s", exc.message)
        raise


def _complete_install(rt: Runtime, query: Mapping[str, str], browser_state: str | None, provider: str) -> Shop:
    state = query.get("state") or ""
    if not browser_state:
        raise InstallRefusedError(
            "This browser has no install in progress (its install cookie is missing or expired after "
            f"{_minutes()} minutes), so the callback cannot be matched to it. Nothing was stored.",
            fix=_RESTART + " Finish it in the same browser, with cookies allowed.",
        )
    if not state:
        raise InstallRefusedError("The callback carries no state, so it cannot be matched to an install.")
    if not hmac.compare_digest(state.encode(), browser_state.encode()):
        raise InstallRefusedError(
            "The callback's state is not the one this browser started: it belongs to another browser or "
            "another install. Nothing was stored.",
            fix=_RESTART + " Finish it in the browser that started it.",
        )
    app = app_credentials(rt, provider)
    now = rt.now()
    with transaction(rt.sessions) as s:
        row = s.scalars(select(ShopInstallState).where(ShopInstallState.state_digest == state_digest(state))).first()
        if row is None:
            raise InstallRefusedError("The callback's state was never issued by this connector. Nothing was stored.")
        if row.used_at is not None:
            raise InstallRefusedError(
                "This install's state was already used: a callback is accepted once (this one is a replay, "
                "or the page was reloaded). Nothing more was stored."
            )
        if _aware(row.expires_at) <= _aware(now):
            raise InstallRefusedError(
                f"This install took longer than {_minutes()} minutes, so its state expired. Nothing was stored."
            )
        verified = verify_signed_query(rt, query, provider)
        if verified.shop_domain != row.shop_domain:
            raise InstallRefusedError(
                f"The callback is for {verified.shop_domain}, but this install was started for "
                f"{row.shop_domain}. Nothing was stored."
            )
        if not verified.code:
            raise InstallRefusedError("The callback carries no authorization code. Nothing was stored.")
        brand_id = row.brand_id
        if brand_id is not None and _owned_elsewhere(s, row.shop_domain, brand_id):
            raise InstallRefusedError(f"{row.shop_domain} is connected to another brand. Nothing was stored.")
        used = s.execute(
            update(ShopInstallState)
            .where(ShopInstallState.id == row.id, ShopInstallState.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        if rowcount(used) != 1:
            raise InstallRefusedError("This install's state was just used by another request. Nothing more was stored.")
    grant = _exchange(
        rt,
        provider,
        TokenGrantRequest(
            shop_domain=verified.shop_domain,
            api_base_url=verified.api_base_url,
            grant=GRANT_AUTHORIZATION_CODE,
            client_id=app.client_id,
            client_secret=app.client_secret,
            code=verified.code,
        ),
    )
    missing = _missing_scopes(rt, provider, grant)
    if missing:
        raise InstallRefusedError(
            f"{verified.shop_domain} granted the app {_listed(grant.scopes)}, but the connector needs "
            f"{_listed(missing)} too. Nothing was stored.",
            fix="Reconnect the shop and approve every scope the install page asks for (SHOPIFY_SCOPES must "
            "include them).",
        )
    shop, resume = _store_install(rt, verified, brand_id, grant, app, provider)
    after_connect(rt, shop, resume=resume)
    return shop


def _exchange(rt: Runtime, provider: str, request: TokenGrantRequest) -> TokenGrant:
    try:
        return request_grant(rt, request, provider)
    except ProviderError as exc:
        log.warning("install of %s: the code exchange failed (%s)", request.shop_domain, exc.code)
        again = " Try again in a minute." if exc.retryable else ""
        raise InstallRefusedError(
            f"{request.shop_domain} did not give the connector a token for the authorization code: "
            f"{exc.message.rstrip('.')}. Nothing was stored.{again}",
        ) from None


def _store_install(
    rt: Runtime,
    verified: InstallCallback,
    brand_id: int | None,
    grant: TokenGrant,
    app: AppCredentials,
    provider: str,
) -> tuple[Shop, bool]:
    now = rt.now()
    with transaction(rt.sessions) as s:
        shop = s.scalars(select(Shop).where(Shop.domain == verified.shop_domain).with_for_update()).first()
        if shop is not None and brand_id is not None and shop.brand_id not in (None, brand_id):
            raise InstallRefusedError(f"{shop.domain} is connected to another brand. Nothing was stored.")
        resume = shop is not None and shop.status in _RESUMABLE
        if shop is None:
            shop = Shop(domain=verified.shop_domain, provider=provider, created_at=now)
            shop.webhook_secret = app.client_secret
            s.add(shop)
        elif shop.webhook_secret != app.client_secret:
            rotate_webhook_secret(s, shop, app.client_secret, now)
        shop.brand_id = brand_id if brand_id is not None else shop.brand_id
        shop.api_base_url = verified.api_base_url.rstrip("/")
        shop.connection_kind = ShopConnection.INSTALL
        shop.client_id = shop.client_secret = None
        shop.refresh_token = shop.refresh_token_expires_at = None
        store_grant(shop, grant, now)
        shop.granted_scopes = ",".join(grant.scopes)
        _set_status(shop, ShopStatus.CONNECTED if shop.brand_id is not None else ShopStatus.AWAITING_BRAND, now)
        shop.active = True
        shop.installed_at, shop.uninstalled_at = now, None
        s.flush()
    rt.secret_cache.forget(shop.domain)
    log.info("shop %s installed: %s (brand %s)", shop.domain, shop.status, shop.brand_id)
    return shop, resume
