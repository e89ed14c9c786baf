"""Steps shared by the install, client-credentials and brand-assignment paths: the brand exists, the shop
is not another brand's, the granted scopes, the status a (re)connection sets, and what follows any
connection (webhooks, resuming parked redemptions).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.errors import ConflictError, ConnectorError, NotFoundError
from connector.core.hooktypes import ScopeCheck, TokenGrant
from connector.core.runtime import Runtime
from connector.core.shop_connect.settings import PUBLIC_URL
from connector.core.shop_lifecycle import resume_shop
from connector.core.shop_webhooks import sync_shop_webhooks
from connector.core.tables import Brand, Shop, ShopStatus

log = logging.getLogger("connector.shop_connect")

#: Statuses a reinstall or reconnect brings back to ``connected`` (their redemptions then resume).
_RESUMABLE = (ShopStatus.DISCONNECTED, ShopStatus.NEEDS_RECONNECT)


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


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
