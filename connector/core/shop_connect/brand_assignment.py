"""A brand for a shop installed from the provider's side: a platform admin assigns one to a shop
that arrived without a brand.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import ConflictError, NotFoundError, PermissionDeniedError
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.shop_connect.shared_steps import _check_brand, _set_status, after_connect
from connector.core.tables import Shop, ShopStatus

log = logging.getLogger("connector.shop_connect")


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
