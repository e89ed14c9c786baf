"""Connecting a shop: the install (authorization code grant), client credentials, and a brand for an orphan shop.

The provider's part (its authorize page, its host rule, the callback's signature, the token endpoint, which
scopes it needs) is reached through hooks; this module holds what must be true whatever the provider:

* An install's ``state`` is one-time, bound to the browser that started it (the web layer keeps it in a
  signed cookie; the database keeps only its SHA-256), and lives ten minutes.
* ``complete_install`` checks, before anything else, that the callback's state is the browser's and that it
  is known, unused and unexpired; then the shop's host and the callback's signature (plugin); only then does
  it mark the state used (one conditional UPDATE: a replay, even a concurrent one, finds it used) and
  exchange the code. Any failure stores no shop and no token.
* Granted scopes are checked before anything is stored: a missing scope is named now, not discovered at the
  first order.
* Tenants never meet: an install or a client-credentials connection for a brand never takes a shop that
  belongs to another brand; an install from the provider's side (no brand) keeps a known shop's brand, and an
  unknown shop waits, with no brand, for a platform admin (``assign_brand``).
* A reinstall or reconnect of a disconnected shop resumes its parked redemptions (``shop_lifecycle``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.catalog import rotate_webhook_secret
from connector.core.database import transaction
from connector.core.errors import (
    ConflictError,
    ConnectorError,
    InstallRefusedError,
    NotConfiguredError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    ValidationError,
)
from connector.core.hooktypes import (
    GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIALS,
    SHOP_DOMAIN,
    InstallCallback,
    InstallLinkRequest,
    ScopeCheck,
    TokenGrant,
    TokenGrantRequest,
    api_base_url_problem,
)
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.shop_lifecycle import resume_shop
from connector.core.shop_tokens import AppCredentials, request_grant, store_grant
from connector.core.shop_webhooks import sync_shop_webhooks
from connector.core.tables import Brand, Shop, ShopConnection, ShopInstallState, ShopStatus

log = logging.getLogger("connector.shop_connect")

PROVIDER = "shopify"
#: How long an install may take between the connector's redirect and Shopify's callback.
STATE_LIFETIME = timedelta(minutes=10)
#: Install states are deleted this long after they expire (used or not): nothing reads them after expiry.
STATE_RETENTION = timedelta(days=1)
PUBLIC_URL = "CONNECTOR_PUBLIC_URL"
#: A client secret is also the shop's webhook signing secret: the same floor as ``catalog.add_shop``.
MIN_SECRET_LENGTH = 16
#: Statuses a reinstall or reconnect brings back to ``connected`` (their redemptions then resume).
_RESUMABLE = (ShopStatus.DISCONNECTED, ShopStatus.NEEDS_RECONNECT)
_RESTART = "Start the install again from the Shops page (Connect), or from Shopify."


def state_digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


# -- settings -----------------------------------------------------------------------------------------------


def app_credentials(rt: Runtime, provider: str = PROVIDER) -> AppCredentials:
    """The app-wide client id and secret, or an error naming the variable that is missing."""
    config = rt.settings.plugin_config(provider)
    for suffix in ("CLIENT_ID", "CLIENT_SECRET"):
        name = f"{provider.upper()}_{suffix}"
        if not (config.get(name) or "").strip():
            raise NotConfiguredError(
                f"{name} is not set, so shops cannot install the app: set it to the value in the app's "
                "settings (Shopify Dev Dashboard) and restart the connector.",
                setting=name,
            )
    app = AppCredentials.from_config(config, provider)
    assert app is not None
    return app


def redirect_uri(rt: Runtime, provider: str = PROVIDER) -> str:
    """``{CONNECTOR_PUBLIC_URL}/<provider>/callback``: must be listed in the app's allowed redirection URLs."""
    return f"{_public_url(rt)}/{provider}/callback"


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


def _public_url(rt: Runtime) -> str:
    if not rt.settings.public_url:
        raise NotConfiguredError(
            f"{PUBLIC_URL} is not set: it is the address Shopify sends the browser back to after an install "
            f"({PUBLIC_URL}/shopify/callback). Set it, e.g. https://connector.example.com, and restart.",
            setting=PUBLIC_URL,
        )
    return rt.settings.public_url


def checked_domain(shop_domain: str) -> str:
    domain = (shop_domain or "").strip().lower()
    if not SHOP_DOMAIN.fullmatch(domain):
        raise ValidationError(
            "invalid shop domain",
            fields={"shop": f"{(shop_domain or '')[:80]!r} is not a shop address like your-shop.myshopify.com"},
        )
    return domain


# -- install: start -----------------------------------------------------------------------------------------


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


# -- install: callback --------------------------------------------------------------------------------------


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
        if used.rowcount != 1:  # type: ignore[attr-defined]
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


# -- client credentials -------------------------------------------------------------------------------------


def connect_client_credentials(
    rt: Runtime,
    brand_id: int,
    shop_domain: str,
    client_id: str,
    client_secret: str,
    api_base_url: str | None = None,
    *,
    provider: str = PROVIDER,
) -> Shop:
    """Connect (or reconnect) a shop of the brand's own organization with its app's client id and secret.

    A token is fetched at once, so wrong credentials or missing scopes are refused now, with nothing stored.
    ``TokenKeeper`` fetches the next one before this one expires.
    """
    domain = checked_domain(shop_domain)
    client_id, problems = (client_id or "").strip(), {}
    if not client_id or len(client_id) > 100:
        problems["client_id"] = "the app's client id (Dev Dashboard, app settings), at most 100 characters"
    if len(client_secret or "") < MIN_SECRET_LENGTH:
        problems["client_secret"] = f"the app's client secret (at least {MIN_SECRET_LENGTH} characters)"
    base = (api_base_url or f"https://{domain}").rstrip("/")
    problem = api_base_url_problem(domain, base, allow_custom=rt.settings.allow_custom_shop_api_base)
    if problem:
        problems["api_base_url"] = problem
    if problems:
        raise ValidationError("the client credentials connection is incomplete", fields=problems)
    with rt.sessions() as s:
        _check_brand(s, brand_id)
        _check_shop_free(s, domain, brand_id)
    request = TokenGrantRequest(
        shop_domain=domain,
        api_base_url=base,
        grant=GRANT_CLIENT_CREDENTIALS,
        client_id=client_id,
        client_secret=client_secret,
    )
    try:
        grant = request_grant(rt, request, provider)
    except ProviderError as exc:
        if exc.retryable:
            raise
        raise ValidationError(
            "the shop refused the client credentials",
            fields={
                "client_secret": f"{exc.message.rstrip('.')}: check the client id and secret of an app made in "
                "the Dev Dashboard by the shop's own organization"
            },
        ) from None
    missing = _missing_scopes(rt, provider, grant)
    if missing:
        raise ValidationError(
            "the app lacks access scopes the connector needs",
            fields={"scopes": f"granted {_listed(grant.scopes)}; add {_listed(missing)} to the app's access scopes"},
        )
    now = rt.now()
    with transaction(rt.sessions) as s:
        shop = s.scalars(select(Shop).where(Shop.domain == domain).with_for_update()).first()
        if shop is not None and shop.brand_id not in (None, brand_id):
            raise ConflictError(f"shop {domain} is already connected to another brand")
        resume = shop is not None and shop.status in _RESUMABLE
        if shop is None:
            shop = Shop(domain=domain, provider=provider, brand_id=brand_id, created_at=now)
            shop.webhook_secret = client_secret
            s.add(shop)
        elif shop.webhook_secret != client_secret:
            rotate_webhook_secret(s, shop, client_secret, now)
        # A shop awaiting a brand is claimed: its own organization's app credentials prove it is the brand's.
        shop.brand_id = brand_id
        shop.api_base_url = base
        shop.connection_kind = ShopConnection.CLIENT_CREDENTIALS
        shop.client_id, shop.client_secret = client_id, client_secret
        shop.refresh_token = shop.refresh_token_expires_at = None
        store_grant(shop, grant, now)
        shop.granted_scopes = ",".join(grant.scopes)
        _set_status(shop, ShopStatus.CONNECTED, now)
        shop.active = True
        s.flush()
    rt.secret_cache.forget(domain)
    log.info("shop %s connected with client credentials (brand %s)", domain, brand_id)
    after_connect(rt, shop, resume=resume)
    return shop


def reconnect_client_credentials(rt: Runtime, shop_id: int) -> Shop:
    """The Shops page's Reconnect for a client-credentials shop: a new grant with the id and secret it stores.

    Refused (409) for a shop of another kind (those reconnect through the install link) or one missing its
    stored credentials or brand; the same checks, storage and resume as ``connect_client_credentials``.
    """
    with rt.sessions() as s:
        shop = s.get(Shop, shop_id)
        if shop is None:
            raise NotFoundError(f"shop {shop_id} not found")
        if shop.connection_kind != ShopConnection.CLIENT_CREDENTIALS:
            raise ConflictError(f"shop {shop.domain} does not connect by client credentials; use the install link")
        if not shop.client_id or not shop.client_secret or shop.brand_id is None:
            raise ConflictError(
                f"shop {shop.domain} has no stored client credentials or brand; connect it again with "
                "`connector shops connect DOMAIN --brand SLUG --client-id ID --client-secret-stdin`"
            )
        brand_id, domain, client_id, secret = shop.brand_id, shop.domain, shop.client_id, shop.client_secret
        base, provider = shop.api_base_url, shop.provider
    return connect_client_credentials(rt, brand_id, domain, client_id, secret, base, provider=provider)


def after_connect(rt: Runtime, shop: Shop, *, resume: bool = False) -> None:
    """What follows a new connection: resume what it parked, then subscribe the shop to its webhooks.

    The webhook sync (``shop_webhooks``) is best effort here: its outcome, good or bad, is the shop's
    webhook health on the Shops page, and ``connector shops sync-webhooks`` runs it again; a shop that
    answers its token grant but not the sync is still connected. Skipped for a shop that may not be called
    yet (awaiting a brand) and when ``CONNECTOR_PUBLIC_URL`` is not set (nothing to subscribe to).
    """
    if resume:
        resume_shop(rt, shop.id)
    if not shop.callable:
        return
    if not rt.settings.public_url:
        log.info("shop %s: webhooks not subscribed: %s is not set", shop.domain, PUBLIC_URL)
        return
    try:
        result = sync_shop_webhooks(rt, shop.id, public_url=rt.settings.public_url)
    except ConnectorError as exc:
        log.warning("shop %s: webhooks not subscribed: %s", shop.domain, exc.message)
        return
    if result.error:
        log.warning("shop %s: webhooks not subscribed: %s", shop.domain, result.error)


# -- a brand for a shop installed from the provider's side --------------------------------------------------


def assign_brand(rt: Runtime, shop_id: int, brand_id: int, actor: Actor) -> Shop:
    """Give a shop awaiting a brand its brand (platform admins only); it is then called like any other.

    A shop that already belongs to a brand keeps it: moving a shop between brands would hand one brand's
    orders to another, so it is refused (the same brand again is accepted and changes nothing).
    """
    if actor.role != Role.PLATFORM_ADMIN:
        raise PermissionDeniedError("only a platform admin assigns a shop to a brand")
    now = rt.now()
    with transaction(rt.sessions) as s:
        shop = s.scalars(select(Shop).where(Shop.id == shop_id).with_for_update()).first()
        if shop is None:
            raise NotFoundError(f"shop {shop_id} not found")
        brand = _check_brand(s, brand_id)
        if shop.brand_id == brand_id:
            return shop
        if shop.brand_id is not None:
            raise ConflictError(
                f"shop {shop.domain} already belongs to another brand; a shop is never moved between brands"
            )
        shop.brand_id = brand_id
        if shop.status == ShopStatus.AWAITING_BRAND:
            _set_status(shop, ShopStatus.CONNECTED, now)
        s.flush()
        log.info("shop %s assigned to brand %s by %s", shop.domain, brand.slug, actor.name)
    after_connect(rt, shop, resume=True)  # resumes anything its missing brand parked, then its webhooks
    return shop


# -- helpers ------------------------------------------------------------------------------------------------


def _check_brand(s: Session, brand_id: int) -> Brand:
    brand = s.get(Brand, brand_id)
    if brand is None:
        raise NotFoundError(f"brand {brand_id} not found")
    return brand


def _check_shop_free(s: Session, domain: str, brand_id: int) -> None:
    """Refuse a shop that belongs to another brand (an orphan shop, or the brand's own, may be connected)."""
    if _owned_elsewhere(s, domain, brand_id):
        raise ConflictError(f"shop {domain} is already connected to another brand")


def _owned_elsewhere(s: Session, domain: str, brand_id: int) -> bool:
    owner = s.scalars(select(Shop.brand_id).where(Shop.domain == domain)).first()
    return owner is not None and owner != brand_id


def _missing_scopes(rt: Runtime, provider: str, grant: TokenGrant) -> tuple[str, ...]:
    """The scopes the provider's plugin needs that the grant lacks (``connector_check_scopes``)."""
    check: ScopeCheck | None = rt.plugins.hook.connector_check_scopes(provider=provider, granted=tuple(grant.scopes))
    return tuple(check.missing) if check is not None else ()


def _set_status(shop: Shop, status: str, now: datetime) -> None:
    if shop.status != status or shop.status_reason is not None:
        shop.status_changed_at = now
    shop.status, shop.status_reason = status, None


def _listed(scopes: tuple[str, ...]) -> str:
    return ", ".join(scopes) if scopes else "no scopes"


def _minutes() -> int:
    return int(STATE_LIFETIME.total_seconds() // 60)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
