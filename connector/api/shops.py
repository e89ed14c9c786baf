"""``/api/v1/shops``: the Shops page as JSON: list, read, sync webhooks, disconnect, assign a brand.

Same scope as the console (``core.shop_admin``): platform admins every shop, brand admins their own
brand's (another brand's shop id answers 404, like every other resource), other roles 403. No answer
carries a credential: only whether each is set.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import request

from connector.api.auth import current_actor
from connector.api.blueprint import bp
from connector.api.openapi import operation
from connector.api.payload import load_body, load_query
from connector.api.shop_schemas import (
    ShopAssignBrandSchema,
    ShopDisconnectSchema,
    ShopListQuerySchema,
    ShopPageSchema,
    ShopSchema,
    shop_body,
)
from connector.core import shop_admin
from connector.core.shop_overview import ShopOverview
from connector.core.tables import ShopConnection, ShopStatus
from connector.request_context import current_runtime

_TAG = "shops"
_ACTION_ERRORS = (403, 404, 409)
INSTALL_PATH = "/shopify/install"


def _install_url(shop: ShopOverview) -> str | None:
    """The install link that connects or reconnects the shop (not for client credentials or awaiting shops)."""
    if shop.connection_kind == ShopConnection.CLIENT_CREDENTIALS or shop.status == ShopStatus.AWAITING_BRAND:
        return None
    return f"{request.host_url.rstrip('/')}{INSTALL_PATH}?{urlencode({'shop': shop.domain})}"


def _dump(shop: ShopOverview) -> dict[str, Any]:
    return ShopSchema().dump(shop_body(shop, _install_url(shop)))


@bp.get("/shops")
@operation(
    summary="List the shops this token manages: connection, status, scopes, tokens' expiry, webhooks, health",
    description=(
        "Platform admins: every shop, those awaiting a brand included; brand admins: their brand's. Ordered "
        "by id; pass `next_cursor` back as `cursor` until it is null. Credentials are never included, only "
        "whether each is set."
    ),
    tag=_TAG,
    query=ShopListQuerySchema,
    responses={200: ("One page", ShopPageSchema)},
    errors=(403,),
)
def list_shops() -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    args = load_query(ShopListQuerySchema())
    page = shop_admin.list_shops(rt, actor, limit=args["limit"], cursor=args.get("cursor"))
    return ShopPageSchema().dump(
        {"items": [shop_body(s, _install_url(s)) for s in page.items], "next_cursor": page.next_cursor}
    )


@bp.get("/shops/<id:shop_id>")
@operation(
    summary="One shop, as the Shops page shows it",
    tag=_TAG,
    responses={200: ("The shop", ShopSchema)},
    errors=(403, 404),
)
def get_shop(shop_id: int) -> dict[str, Any]:
    return _dump(shop_admin.get_shop(current_runtime(), current_actor(), shop_id))


@bp.post("/shops/<id:shop_id>/sync-webhooks")
@operation(
    summary="Bring the shop's webhook subscriptions in line now (create missing, fix or delete stale ones)",
    description="Idempotent. A shop that is not connected answers 409; the shop not answering answers 502.",
    tag=_TAG,
    responses={200: ("Synced; `webhooks` holds the new summary", ShopSchema)},
    errors=(*_ACTION_ERRORS, 502),
)
def sync_shop_webhooks(shop_id: int) -> dict[str, Any]:
    return _dump(shop_admin.sync_webhooks(current_runtime(), current_actor(), shop_id))


@bp.post("/shops/<id:shop_id>/reconnect")
@operation(
    summary="Reconnect a client-credentials shop: a new token from its stored client id and secret",
    description="Install and static-token shops reconnect through their `install_url` (409 here). Credentials "
    "the shop refuses answer 400 and mark a connected shop as needing reconnection.",
    tag=_TAG,
    responses={200: ("Reconnected; its parked redemptions resume", ShopSchema)},
    errors=(*_ACTION_ERRORS, 502),
)
def reconnect_shop(shop_id: int) -> dict[str, Any]:
    return _dump(shop_admin.reconnect_client_credentials(current_runtime(), current_actor(), shop_id))


@bp.post("/shops/<id:shop_id>/disconnect")
@operation(
    summary="Disconnect a shop: no more calls to it; its pending redemptions wait until it is connected again",
    description="A shop already disconnected answers 409 and nothing changes.",
    tag=_TAG,
    body=ShopDisconnectSchema,
    responses={200: ("Disconnected", ShopSchema)},
    errors=_ACTION_ERRORS,
)
def disconnect_shop(shop_id: int) -> dict[str, Any]:
    data = load_body(ShopDisconnectSchema())
    return _dump(shop_admin.disconnect(current_runtime(), current_actor(), shop_id, reason=data["reason"]))


@bp.post("/shops/<id:shop_id>/assign-brand")
@operation(
    summary="Assign a shop awaiting a brand (installed from Shopify's side) to its brand (platform admins)",
    description="Only a shop awaiting a brand can be assigned (409 otherwise); it is connected from then on.",
    tag=_TAG,
    body=ShopAssignBrandSchema,
    responses={200: ("Assigned and connected", ShopSchema)},
    errors=_ACTION_ERRORS,
)
def assign_shop_brand(shop_id: int) -> dict[str, Any]:
    data = load_body(ShopAssignBrandSchema())
    return _dump(shop_admin.assign_brand(current_runtime(), current_actor(), shop_id, data["brand_id"]))
