"""``POST /api/v1/shops``: connect a shop by install link, client credentials or a static token.

Brand admins connect shops to their own brand only; platform admins to any. A shop that belongs to another
brand is refused (409) whatever the kind. No answer ever holds a token or a secret.
"""

from __future__ import annotations

from typing import Any

from connector.api.auth import current_actor
from connector.api.blueprint import bp
from connector.api.openapi import operation
from connector.api.payload import load_body
from connector.api.shop_connection_schemas import ConnectedShopSchema, InstallLinkSchema, ShopConnectSchema
from connector.core import catalog, shop_connect
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import ValidationError
from connector.core.tables import Shop, ShopConnection
from connector.request_context import current_runtime

#: The fields each kind needs, and what to give for each.
_NEEDS: dict[str, dict[str, str]] = {
    ShopConnection.CLIENT_CREDENTIALS: {
        "client_id": "the Dev Dashboard app's client id",
        "client_secret": "the app's client secret",
    },
    ShopConnection.STATIC_TOKEN: {
        "access_token": "the custom app's Admin API access token",
        "webhook_secret": "the custom app's client secret (it signs the webhooks)",
    },
}


def _brand_for(actor: Actor, kind: str, brand_id: int | None) -> int | None:
    actor.check_can_configure()
    if actor.brand_id is not None:
        if brand_id is not None:
            actor.check_brand(brand_id, "brand")
        return actor.brand_id
    if brand_id is None and kind != ShopConnection.INSTALL:
        raise ValidationError("brand_id is required", fields={"brand_id": "the brand the shop joins"})
    return brand_id


def _shop_answer(shop: Shop) -> dict[str, Any]:
    return ConnectedShopSchema().dump(
        {
            "id": shop.id,
            "domain": shop.domain,
            "brand_id": shop.brand_id,
            "connection_kind": shop.connection_kind,
            "status": shop.status,
            "granted_scopes": [s for s in (shop.granted_scopes or "").split(",") if s],
            "access_token_expires_at": shop.access_token_expires_at,
            "api_base_url": shop.api_base_url,
        }
    )


@bp.post("/shops")
@operation(
    summary="Connect a shop: an install link, client credentials, or a static token",
    description=(
        "`install` answers 200 with the install link to open in a browser signed in to the console (a brand "
        "admin of the brand, or a platform admin): the state of the authorization code grant must be bound to "
        "that browser, so the API cannot finish an install itself. `client_credentials` fetches a token at once "
        "(wrong credentials or missing scopes: 422, nothing stored) and answers 201 with the shop. "
        "`static_token` stores a legacy custom app's token and answers 201. A shop of another brand: 409. "
        "Secrets are stored encrypted and never answered."
    ),
    tag="shops",
    body=ShopConnectSchema,
    responses={
        201: ("Connected", ConnectedShopSchema),
        200: ("`install`: the link to open in a signed-in browser", InstallLinkSchema),
    },
    errors=(403, 404, 409, 502, 503),
)
def connect_shop() -> tuple[dict[str, Any], int]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(ShopConnectSchema())
    kind = data["connection_kind"]
    brand_id = _brand_for(actor, kind, data["brand_id"])
    missing = {name: f"required for {kind}: {what}" for name, what in _NEEDS.get(kind, {}).items() if not data[name]}
    if missing:
        raise ValidationError(f"{', '.join(missing)} required for {kind}", fields=missing)
    domain = shop_connect.checked_domain(data["shop"])
    if kind == ShopConnection.INSTALL:
        return InstallLinkSchema().dump({"install_url": shop_connect.install_link(rt, domain, brand_id)}), 200
    assert brand_id is not None
    if kind == ShopConnection.CLIENT_CREDENTIALS:
        shop = shop_connect.connect_client_credentials(
            rt, brand_id, domain, data["client_id"], data["client_secret"], data["api_base_url"]
        )
        return _shop_answer(shop), 201
    with transaction(rt.sessions) as s:  # the domain was checked above, so add_shop's errors name fields as sent
        shop = catalog.add_shop(
            s,
            catalog.get_brand(s, brand_id),
            domain=domain,
            access_token=data["access_token"],
            webhook_secret=data["webhook_secret"],
            api_base_url=data["api_base_url"],
            allow_custom_api_base=rt.settings.allow_custom_shop_api_base,
        )
    shop_connect.after_connect(rt, shop)  # its webhook subscriptions; the outcome is the shop's webhook health
    return _shop_answer(shop), 201
