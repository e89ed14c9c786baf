"""What ``POST /api/v1/shops`` accepts and answers (connecting a shop); never a secret in an answer."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from connector.api.schemas import NOT_BLANK_PATTERN, PLAIN_TEXT_PATTERN, UtcDateTime, body_id
from connector.core.tables import ShopConnection, ShopStatus

#: A shop's own address, as Shopify names it (lower-case; the server lower-cases what it is given).
SHOP_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]*\.[Mm][Yy][Ss][Hh][Oo][Pp][Ii][Ff][Yy]\.[Cc][Oo][Mm]$"


def _text(description: str, *, max_length: int, load_only: bool = False) -> fields.String:
    return fields.String(
        load_default=None,
        load_only=load_only,
        validate=[
            validate.Length(min=1, max=max_length),
            validate.Regexp(NOT_BLANK_PATTERN, error="must not be blank"),
        ],
        metadata={"description": description, "pattern": PLAIN_TEXT_PATTERN},
    )


class ShopConnectSchema(Schema):
    shop = fields.String(
        required=True,
        validate=[
            validate.Length(max=255),
            validate.Regexp(SHOP_PATTERN, error="must be the shop's address, like your-shop.myshopify.com"),
        ],
        metadata={"description": "The shop's own address, `NAME.myshopify.com`."},
    )
    connection_kind = fields.String(
        required=True,
        validate=validate.OneOf(ShopConnection.ALL, error=f"must be one of: {', '.join(ShopConnection.ALL)}"),
        metadata={
            "description": "`install`: answers the install link to open in a browser signed in to the console "
            "(authorization code grant). `client_credentials`: an app of the shop's own organization, a token "
            "is fetched at once. `static_token`: a legacy custom app's admin token."
        },
    )
    brand_id = body_id(
        load_default=None,
        metadata={
            "description": "The brand the shop joins. Brand admins: their own (may be left out). Platform "
            "admins: required, except for `install`, where no brand leaves a new shop awaiting one."
        },
    )
    client_id = _text("`client_credentials`: the Dev Dashboard app's client id.", max_length=100)
    client_secret = _text(
        "`client_credentials`: the app's client secret (stored encrypted, never answered).",
        max_length=500,
        load_only=True,
    )
    access_token = _text(
        "`static_token`: the shop's Admin API token (stored encrypted, never answered).",
        max_length=500,
        load_only=True,
    )
    webhook_secret = _text(
        "`static_token`: the custom app's client secret, which signs its webhooks (never answered).",
        max_length=500,
        load_only=True,
    )
    api_base_url = _text(
        "`client_credentials`, `static_token`: only for a local Shopify simulator "
        "(SHOPIFY_ALLOW_CUSTOM_API_BASE=true); default `https://<shop>`.",
        max_length=500,
    )


class InstallLinkSchema(Schema):
    install_url = fields.String(
        metadata={
            "description": "The connector's install address for the shop: open it in a browser signed in to the "
            "console; it sends the browser on to Shopify's authorize page."
        }
    )


class ConnectedShopSchema(Schema):
    id = fields.Integer()
    domain = fields.String()
    brand_id = fields.Integer(allow_none=True)
    connection_kind = fields.String(validate=validate.OneOf(ShopConnection.ALL))
    status = fields.String(validate=validate.OneOf(ShopStatus.ALL))
    granted_scopes = fields.List(fields.String(), metadata={"description": "As the shop granted them."})
    access_token_expires_at = UtcDateTime(allow_none=True, metadata={"description": "Null: it does not expire."})
    api_base_url = fields.String()
