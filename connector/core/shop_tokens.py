"""The life of a shop's expiring Admin API token: refresh before expiry, once on a 401, one process at a time.

Why the host and not the plugin: only the host can lock across every web and worker process (the shop's
row in the one database) and store the new access and refresh tokens in one transaction. The plugin
only performs the grant (``connector_grant_token``) and says when the shop refused a token.

The rules, in the order ``_renew`` applies them:

* Lock the shop's row with an UPDATE (a row lock on PostgreSQL, the write lock on SQLite), then reread
  it. A process that waited finds the token another one just stored and uses it: one refresh per expiry.
* Only a ``connected`` shop is called; any other status raises its own precise error at once.
* A grant that fails for good (refresh token or client refused) marks the shop ``needs_reconnect`` with
  the reason, commits that, and raises: every redemption it blocks says why, and nothing loops.
* A grant with no answer stores nothing: the old refresh token stays valid at Shopify until its
  replacement is first used, so the next try (here, once more, then the job's own retry) recovers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from connector.core.database import transaction
from connector.core.errors import ProviderError
from connector.core.hooktypes import (
    GRANT_CLIENT_CREDENTIALS,
    GRANT_REFRESH_TOKEN,
    ShopInfo,
    TokenGrant,
    TokenGrantRequest,
)
from connector.core.runtime import Runtime
from connector.core.shop_cache import DatabaseShopCache
from connector.core.snapshots import shop_info
from connector.core.tables import Shop, ShopConnection, ShopStatus

log = logging.getLogger("connector.shop_tokens")

#: Refresh this long before expiry (``<PROVIDER>_TOKEN_REFRESH_MARGIN_SECONDS``), at most a fifth of the
#: token's lifetime so that tokens living seconds (the tests) are still used most of their life.
DEFAULT_REFRESH_MARGIN = 300.0
#: Grants tried per renewal when the shop does not answer, before the caller's own retry takes over.
GRANT_TRIES = 2


@dataclass(frozen=True)
class AppCredentials:
    """The app-wide client id and secret (``<PROVIDER>_CLIENT_ID`` / ``_CLIENT_SECRET``) of install shops."""

    client_id: str
    client_secret: str

    @classmethod
    def from_config(cls, config: dict[str, str], provider: str) -> AppCredentials | None:
        prefix = provider.upper()
        client_id = (config.get(f"{prefix}_CLIENT_ID") or "").strip()
        secret = (config.get(f"{prefix}_CLIENT_SECRET") or "").strip()
        return cls(client_id, secret) if client_id and secret else None


def refresh_margin(config: dict[str, str], provider: str) -> float:
    raw = (config.get(f"{provider.upper()}_TOKEN_REFRESH_MARGIN_SECONDS") or "").strip()
    try:
        value = float(raw) if raw else DEFAULT_REFRESH_MARGIN
    except ValueError:
        value = DEFAULT_REFRESH_MARGIN
    return value if value >= 0 else DEFAULT_REFRESH_MARGIN


def is_due(now: datetime, expires_at: datetime | None, refreshed_at: datetime | None, margin: float) -> bool:
    """Whether a token expiring at ``expires_at`` should be renewed before its next use."""
    if expires_at is None:
        return False
    if refreshed_at is not None and expires_at > refreshed_at:
        margin = min(margin, (expires_at - refreshed_at).total_seconds() / 5)
    return now >= expires_at - timedelta(seconds=margin)


def status_error(shop: Shop) -> ProviderError | None:
    """The precise error every call to a shop that is not ``connected`` gets; None when it is."""
    reason = shop.status_reason or ""
    if shop.status == ShopStatus.CONNECTED and shop.brand_id is not None:
        return None
    if shop.status == ShopStatus.DISCONNECTED:
        return ProviderError(
            "shop_disconnected",
            f"Shop disconnected: {shop.domain} is no longer connected" + (f" ({reason})" if reason else "") + ".",
            fix="Shop disconnected: reinstall the app (Shops page, Connect); its redemptions then resume, "
            "one order each.",
            retryable=False,
        )
    if shop.status == ShopStatus.AWAITING_BRAND or shop.brand_id is None:
        return ProviderError(
            "shop_awaiting_brand",
            f"{shop.domain} installed the app but no brand has claimed it yet.",
            fix="A platform admin assigns the shop to its brand on the Shops page.",
            retryable=False,
        )
    return ProviderError(
        "shop_reconnect_needed",
        f"The connection to {shop.domain} must be renewed" + (f": {reason}" if reason else "") + ".",
        fix="Reconnect the shop from the Shops page (Reconnect); its redemptions then resume.",
        retryable=False,
    )


def store_grant(shop: Shop, grant: TokenGrant, now: datetime) -> None:
    """Keep a new token and its refresh token together (never one without the other)."""
    shop.access_token = grant.access_token
    shop.access_token_expires_at = now + timedelta(seconds=grant.expires_in) if grant.expires_in else None
    if grant.refresh_token is not None:
        shop.refresh_token = grant.refresh_token
        shop.refresh_token_expires_at = (
            now + timedelta(seconds=grant.refresh_token_expires_in) if grant.refresh_token_expires_in else None
        )
    if grant.scopes:
        shop.granted_scopes = ",".join(grant.scopes)
    shop.token_refreshed_at = now


def mark_needs_reconnect(shop: Shop, reason: str, now: datetime) -> None:
    shop.status = ShopStatus.NEEDS_RECONNECT
    shop.status_reason = reason
    shop.status_changed_at = now


class TokenKeeper:
    """``AccessTokens`` for one shop during one hook call (see the module docstring)."""

    def __init__(self, rt: Runtime, shop: Shop) -> None:
        self._rt = rt
        self._shop_id = shop.id
        self._domain = shop.domain
        self._provider = shop.provider
        self._token = shop.access_token
        self._expires_at = shop.access_token_expires_at
        self._refreshed_at = shop.token_refreshed_at
        config = rt.settings.plugin_config(shop.provider)
        self._margin = refresh_margin(config, shop.provider)

    def current(self) -> str:
        if is_due(self._rt.now(), self._expires_at, self._refreshed_at, self._margin):
            return self._renew(self._token, rejected=False)
        return self._token

    def rejected(self, token: str) -> str:
        return self._renew(token, rejected=True)

    # -- the one place a token changes ------------------------------------------------------------------

    def _renew(self, stale: str, *, rejected: bool) -> str:
        rt = self._rt
        with transaction(rt.sessions) as s:
            s.execute(
                update(Shop)
                .where(Shop.id == self._shop_id)
                .values(id=Shop.id)
                .execution_options(synchronize_session=False)
            )
            shop = s.scalars(select(Shop).where(Shop.id == self._shop_id)).one()
            problem = status_error(shop)
            if problem is not None:
                raise problem
            now = rt.now()
            fresh = shop.access_token != stale and not is_due(
                now, shop.access_token_expires_at, shop.token_refreshed_at, self._margin
            )
            if fresh:  # another process renewed it while this one waited for the lock
                self._remember(shop)
                return shop.access_token
            request = self._grant_request(shop, rejected=rejected)
            if request is None:
                reason = (
                    f"Shopify refused the stored access token of {shop.domain} (HTTP 401), and a "
                    f"{shop.connection_kind.replace('_', ' ')} connection cannot renew it by itself"
                )
                mark_needs_reconnect(shop, reason, now)
                s.commit()
                raise status_error(shop) or ProviderError("shop_reconnect_needed", reason)
            try:
                grant = self._grant(request)
            except ProviderError as exc:
                if exc.retryable:
                    raise  # nothing stored: the old refresh token still works next time
                mark_needs_reconnect(shop, exc.message, now)
                s.commit()
                log.warning("shop %s needs reconnecting: %s", shop.domain, exc.code)
                raise status_error(shop) or exc from None
            store_grant(shop, grant, now)
            self._remember(shop)
            log.info("shop %s: access token renewed (%s)", shop.domain, request.grant)
            return shop.access_token

    def _remember(self, shop: Shop) -> None:
        self._token = shop.access_token
        self._expires_at = shop.access_token_expires_at
        self._refreshed_at = shop.token_refreshed_at

    def _grant_request(self, shop: Shop, *, rejected: bool) -> TokenGrantRequest | None:
        if shop.connection_kind == ShopConnection.CLIENT_CREDENTIALS and shop.client_id and shop.client_secret:
            return TokenGrantRequest(
                shop_domain=shop.domain,
                api_base_url=shop.api_base_url,
                grant=GRANT_CLIENT_CREDENTIALS,
                client_id=shop.client_id,
                client_secret=shop.client_secret,
            )
        if shop.connection_kind == ShopConnection.INSTALL and shop.refresh_token:
            app = AppCredentials.from_config(self._rt.settings.plugin_config(shop.provider), shop.provider)
            if app is None:
                raise ProviderError(
                    "plugin_config_invalid",
                    f"{shop.domain} must renew its access token, but the app's client id and secret are not set.",
                    fix=f"Set {shop.provider.upper()}_CLIENT_ID and {shop.provider.upper()}_CLIENT_SECRET, then retry.",
                    retryable=False,
                )
            return TokenGrantRequest(
                shop_domain=shop.domain,
                api_base_url=shop.api_base_url,
                grant=GRANT_REFRESH_TOKEN,
                client_id=app.client_id,
                client_secret=app.client_secret,
                refresh_token=shop.refresh_token,
            )
        return None

    def _grant(self, request: TokenGrantRequest) -> TokenGrant:
        last: ProviderError | None = None
        for _ in range(GRANT_TRIES):
            try:
                grant = request_grant(self._rt, request, self._provider)
            except ProviderError as exc:
                if not exc.retryable:
                    raise
                last = exc
                continue
            return grant
        assert last is not None
        raise last


def shop_for_plugin(rt: Runtime, shop: Shop | None) -> ShopInfo | None:
    """The shop as a plugin sees it, with a keeper that renews its token during the call and a listener
    for the rate-limit bucket its answers report (kept in memory; see ``shop_health``), and its own cache."""
    if shop is None:
        return None
    return shop_info(
        shop,
        TokenKeeper(rt, shop),
        rt.shop_health.listener(shop.id, rt.now),
        DatabaseShopCache(rt.sessions, shop.id, rt.now),
    )


def blocked_call(shop: Shop | None, channel: str) -> ProviderError | None:
    """Why a call to ``shop`` for ``channel`` must not be made now (not connected), or None."""
    if shop is None or shop.provider != channel:
        return None
    return status_error(shop)


def request_grant(rt: Runtime, request: TokenGrantRequest, provider: str) -> TokenGrant:
    """Run ``connector_grant_token`` for ``provider``; no plugin answering is a configuration error."""
    grant: TokenGrant | None = rt.plugins.hook.connector_grant_token(
        request=request, provider=provider, ctx=rt.hook_context(provider)
    )
    if grant is None:
        raise ProviderError(
            "plugin_config_invalid",
            f"No installed plugin grants tokens for {provider!r} shops.",
            fix="Install the plugin for this kind of shop, then reconnect it.",
            retryable=False,
        )
    return grant
