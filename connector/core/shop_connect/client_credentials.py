"""Connecting (and reconnecting) a shop with the app's client credentials, and what follows any
connection (webhooks, resuming parked redemptions).
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from connector.core.catalog import rotate_webhook_secret
from connector.core.database import transaction
from connector.core.errors import ConflictError, NotFoundError, ProviderError, ValidationError
from connector.core.hooktypes import GRANT_CLIENT_CREDENTIALS, TokenGrantRequest, api_base_url_problem
from connector.core.runtime import Runtime
from connector.core.shop_connect.settings import PROVIDER, checked_domain
from connector.core.shop_connect.shared_steps import (
    _RESUMABLE,
    _check_brand,
    _check_shop_free,
    _listed,
    _missing_scopes,
    _set_status,
    after_connect,
)
from connector.core.shop_tokens import request_grant, store_grant
from connector.core.tables import Shop, ShopConnection, ShopStatus

log = logging.getLogger("connector.shop_connect")

#: A client secret is also the shop's webhook signing secret: the same floor as ``catalog.add_shop``.
MIN_SECRET_LENGTH = 16


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
