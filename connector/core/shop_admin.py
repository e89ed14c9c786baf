"""The Shops page's and the shops API's use cases: list and read shops in scope, and act on one.

Who may do what (the console and the API call the same functions):

* platform admins see and act on every shop, including those ``awaiting_brand`` (no brand yet), and
  are the only ones who assign a brand to such a shop;
* brand admins see and act on their own brand's shops only (``Shop.brand_id == actor.brand_id``, an
  exact match that NULL never meets); any other shop is "not found", never "forbidden", so another
  brand's shop ids do not leak;
* every other role is refused (shops are configuration).

Webhook sync, disconnect, client-credentials reconnect and brand assignment are other modules' work
(``shop_webhooks``, ``shop_lifecycle``, ``shop_connect``); this module adds who may do them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from connector.core import shop_connect, shop_lifecycle, shop_webhooks
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from connector.core.id_paging import id_page
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.shop_overview import ShopOverview, overview
from connector.core.shop_tokens import mark_needs_reconnect
from connector.core.tables import Brand, Shop, ShopConnection, ShopStatus

log = logging.getLogger("connector.shop_admin")

#: The roles that manage shops (connections are configuration).
SHOP_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.BRAND_ADMIN})
#: A disconnect reason is stored in ``status_reason`` and shown on every redemption it blocks.
MAX_REASON = 500
#: What to do when the shop refuses the client credentials the connector stores (the page cannot take new ones).
CONNECT_AGAIN = (
    "if the app's client secret was rotated or the app replaced, connect the shop again with its current client "
    "id and secret (POST /api/v1/shops with connection_kind client_credentials, or `connector shops connect "
    "DOMAIN --brand SLUG --client-id ID --client-secret-stdin`)"
)


@dataclass(frozen=True)
class ShopPage:
    items: Sequence[ShopOverview]
    #: Pass back as ``cursor`` for the next page; None on the last one.
    next_cursor: str | None


def check_manages_shops(actor: Actor) -> None:
    if actor.role not in SHOP_ROLES:
        raise PermissionDeniedError(
            f"role {actor.role.value} cannot see or change shop connections; ask a brand admin or a platform admin"
        )


def _scoped(actor: Actor) -> Select[Shop, str | None]:
    q = select(Shop, Brand.name).outerjoin(Brand, Brand.id == Shop.brand_id)
    if actor.role != Role.PLATFORM_ADMIN:
        # Exact match on the actor's brand; a brand admin without a brand (never created) sees nothing.
        q = q.where(Shop.brand_id == actor.brand_id) if actor.brand_id is not None else q.where(Shop.id.is_(None))
    # SQLAlchemy types the outer-joined column as ``str``; it is None for a shop still awaiting its brand.
    return cast("Select[Shop, str | None]", q)


def list_shops(rt: Runtime, actor: Actor, *, limit: int = 50, cursor: str | None = None) -> ShopPage:
    """The actor's shops by id, ``limit`` at a time (awaiting-brand ones first in id order like the rest)."""
    check_manages_shops(actor)
    items, next_cursor = id_page(
        rt, _scoped(actor), Shop.id, lambda row: overview(row[0], rt.plugins, row[1]), limit=limit, cursor=cursor
    )
    return ShopPage(items=items, next_cursor=next_cursor)


def _load(s: Session, actor: Actor, shop_id: int, *, lock: bool = False) -> tuple[Shop, str | None]:
    q = _scoped(actor).where(Shop.id == shop_id)
    if lock:
        q = q.with_for_update(of=Shop)
    row = s.execute(q).first()
    if row is None:
        raise NotFoundError(f"shop {shop_id} not found")
    return row[0], row[1]


def get_shop(rt: Runtime, actor: Actor, shop_id: int) -> ShopOverview:
    check_manages_shops(actor)
    with rt.sessions() as s:
        shop, brand_name = _load(s, actor, shop_id)
        return overview(shop, rt.plugins, brand_name)


def brand_choices(rt: Runtime, actor: Actor) -> list[tuple[int, str]]:
    """Brands a platform admin may assign an awaiting shop to (none for anyone else)."""
    if actor.role != Role.PLATFORM_ADMIN:
        return []
    with rt.sessions() as s:
        return [(b.id, b.name) for b in s.scalars(select(Brand).order_by(Brand.name, Brand.id))]


def assign_brand(rt: Runtime, actor: Actor, shop_id: int, brand_id: int) -> ShopOverview:
    """Give a shop installed from Shopify's side (``awaiting_brand``) its brand; it is then connected.

    Only platform admins. The shop must still be awaiting a brand (a second assignment is refused, so
    a shop never silently moves between brands) and the brand must exist. ``shop_connect.assign_brand``
    makes the change, resumes what the missing brand parked and subscribes the shop's webhooks.
    """
    check_manages_shops(actor)
    with rt.sessions() as s:
        # Scope first: another brand's shop is "not found" to a brand admin, never "forbidden" (no id leaks).
        shop, _ = _load(s, actor, shop_id)
        if actor.role != Role.PLATFORM_ADMIN:
            raise PermissionDeniedError("only a platform admin assigns a shop to a brand")
        if shop.status != ShopStatus.AWAITING_BRAND or shop.brand_id is not None:
            raise ConflictError(
                f"shop {shop.domain} already belongs to a brand; only a shop awaiting a brand can be assigned",
                status=shop.status,
            )
        if s.get(Brand, brand_id) is None:
            raise ValidationError("no such brand", fields={"brand_id": f"there is no brand {brand_id}; pick one"})
    shop_connect.assign_brand(rt, shop_id, brand_id, actor)
    return get_shop(rt, actor, shop_id)


def _check_acts(actor: Actor) -> None:
    check_manages_shops(actor)
    actor.check_can_configure()


def sync_webhooks(rt: Runtime, actor: Actor, shop_id: int) -> ShopOverview:
    """Bring the shop's webhook subscriptions in line now (``shop_webhooks.sync_shop_webhooks``)."""
    _check_acts(actor)
    with rt.sessions() as s:
        shop, _ = _load(s, actor, shop_id)
        if not shop.callable:
            raise ConflictError(
                f"shop {shop.domain} is not connected ({shop.status.replace('_', ' ')}), so its webhook "
                "subscriptions cannot be synced; reconnect it first",
                status=shop.status,
            )
    shop_webhooks.sync_shop_webhooks(rt, shop_id, public_url=rt.settings.public_url, brand_id=shop.brand_id)
    return get_shop(rt, actor, shop_id)


def disconnect(rt: Runtime, actor: Actor, shop_id: int, *, reason: str = "") -> ShopOverview:
    """Stop every call to the shop and park its pending redemptions (``shop_lifecycle.disconnect_shop``)."""
    _check_acts(actor)
    reason = reason.strip()[:MAX_REASON] or f"disconnected from the console by {actor.name}"
    with rt.sessions() as s:
        shop, _ = _load(s, actor, shop_id)
        if shop.status == ShopStatus.DISCONNECTED:
            raise ConflictError(f"shop {shop.domain} is already disconnected", status=shop.status)
    with transaction(rt.sessions) as s:
        shop, _ = _load(s, actor, shop_id, lock=True)
        if shop.status == ShopStatus.DISCONNECTED:  # another request won the race: once is enough
            raise ConflictError(f"shop {shop.domain} is already disconnected", status=shop.status)
        shop_lifecycle.disconnect_shop(s, shop, reason=reason, actor=actor.name, now=rt.now())
    return get_shop(rt, actor, shop_id)


def reconnect_client_credentials(rt: Runtime, actor: Actor, shop_id: int) -> ShopOverview:
    """Ask the shop for a new token with its stored client credentials (``shop_connect``).

    A refusal of those credentials is a grant that failed for good: a shop still connected with them
    becomes ``needs_reconnect`` with the shop's words as its reason (its token cannot be renewed, so the
    operations team learns it now, not when the token runs out); one already waiting to be reconnected is
    left as it was. Either way the error says how to give the connector new credentials.
    """
    _check_acts(actor)
    with rt.sessions() as s:
        shop, _ = _load(s, actor, shop_id)
        if shop.connection_kind != ShopConnection.CLIENT_CREDENTIALS:
            raise ConflictError(
                f"shop {shop.domain} connects by {shop.connection_kind.replace('_', ' ')}; reconnect it through the "
                "install link",
                connection_kind=shop.connection_kind,
            )
        domain, stored = shop.domain, (shop.client_id, shop.client_secret)
    try:
        shop_connect.reconnect_client_credentials(rt, shop_id)
    except ValidationError as exc:
        refusal = exc.fields.get("client_secret")
        if refusal is None:  # not a refusal of the credentials (missing scopes): nothing was changed
            raise
        reason = f"{refusal}; {CONNECT_AGAIN}"
        with transaction(rt.sessions) as s:
            shop, _ = _load(s, actor, shop_id, lock=True)
            # Only a shop still connected with the credentials just refused: a concurrent connect with new
            # ones, or a disconnect, is left alone.
            if (
                shop.status == ShopStatus.CONNECTED
                and shop.connection_kind == ShopConnection.CLIENT_CREDENTIALS
                and (shop.client_id, shop.client_secret) == stored
            ):
                mark_needs_reconnect(shop, reason, rt.now())
                log.warning("shop %s: its client credentials were refused; it needs reconnecting", domain)
        raise ValidationError(
            f"Shopify refused the stored client credentials of {domain}", fields={"client_secret": reason}
        ) from None
    return get_shop(rt, actor, shop_id)
