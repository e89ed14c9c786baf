"""What ``/api/v1/shops`` accepts and answers. No field can carry a credential: tokens and secrets are
reported only as ``*_set`` booleans (``core.shop_overview`` never reads them out)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from connector.api.schemas import UtcDateTime, body_id, page_limit
from connector.core.shop_admin import MAX_REASON
from connector.core.shop_overview import (
    CONNECTION_LABELS,
    STATUS_LABELS,
    WEBHOOKS_NEVER_SYNCED,
    WEBHOOKS_OK,
    WEBHOOKS_PROBLEMS,
    ShopOverview,
)


def _choices(values: Any) -> validate.OneOf:
    names = [str(v) for v in values]
    return validate.OneOf(names, error=f"must be one of: {', '.join(names)}")


# -- requests ----------------------------------------------------------------------------------------------


class ShopListQuerySchema(Schema):
    limit = page_limit()
    cursor = fields.String(
        validate=validate.Regexp(r"^[0-9]{1,19}$", error="pass back next_cursor unchanged"),
        metadata={"description": "``next_cursor`` of the previous page, unchanged."},
    )


class ShopDisconnectSchema(Schema):
    reason = fields.String(
        load_default="",
        validate=validate.Length(max=MAX_REASON),
        metadata={"description": "Why; shown with the shop's status and on the redemptions it holds."},
    )


class ShopAssignBrandSchema(Schema):
    brand_id = body_id(required=True, metadata={"description": "The brand the shop belongs to."})


# -- responses ---------------------------------------------------------------------------------------------


class ShopScopesSchema(Schema):
    granted = fields.List(fields.String(), metadata={"description": "What the shop granted, as Shopify lists it."})
    required = fields.List(
        fields.String(),
        allow_none=True,
        metadata={"description": "What the connector needs (from the shop's plugin); null when no plugin says."},
    )
    missing = fields.List(fields.String(), metadata={"description": "Required scopes the grant does not cover."})
    recorded = fields.Boolean(
        metadata={"description": "False when the grant was never recorded (an old static token): scopes unknown."}
    )


class ShopTokenSchema(Schema):
    set = fields.Boolean(metadata={"description": "Whether a token is stored (its value is never shown)."})
    expires_at = UtcDateTime(allow_none=True, metadata={"description": "Null: the token does not expire."})
    refreshed_at = UtcDateTime(allow_none=True)


class ShopRefreshTokenSchema(Schema):
    set = fields.Boolean(metadata={"description": "Whether a refresh token is stored (its value is never shown)."})
    expires_at = UtcDateTime(allow_none=True)


class ShopClientSchema(Schema):
    client_id = fields.String(allow_none=True, metadata={"description": "Client credentials shops only."})
    client_secret_set = fields.Boolean(metadata={"description": "Whether a client secret is stored (never shown)."})


class ShopWebhooksSchema(Schema):
    state = fields.String(validate=_choices([WEBHOOKS_NEVER_SYNCED, WEBHOOKS_OK, WEBHOOKS_PROBLEMS]))
    synced_at = UtcDateTime(allow_none=True)
    summary = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        allow_none=True,
        metadata={"description": "The last subscription sync's summary, as the sync recorded it."},
    )


class ShopRateLimitSchema(Schema):
    available = fields.Float()
    maximum = fields.Float()
    restore_rate = fields.Float(metadata={"description": "Points the bucket regains per second."})
    at = UtcDateTime(allow_none=True, metadata={"description": "When a call last reported it."})


class ShopSchema(Schema):
    id = fields.Integer()
    domain = fields.String()
    provider = fields.String()
    brand_id = fields.Integer(allow_none=True, metadata={"description": "Null while the shop awaits a brand."})
    brand_name = fields.String(allow_none=True)
    connection_kind = fields.String(validate=_choices(CONNECTION_LABELS))
    connection_label = fields.String(metadata={"description": "Install, Client credentials or Static token."})
    status = fields.String(validate=_choices(STATUS_LABELS))
    status_label = fields.String()
    status_reason = fields.String(allow_none=True, metadata={"description": "Why it is not connected."})
    status_changed_at = UtcDateTime(allow_none=True)
    scopes = fields.Nested(ShopScopesSchema)
    access_token = fields.Nested(ShopTokenSchema)
    refresh_token = fields.Nested(ShopRefreshTokenSchema)
    client = fields.Nested(ShopClientSchema)
    webhooks = fields.Nested(ShopWebhooksSchema)
    last_success_at = UtcDateTime(
        allow_none=True, metadata={"description": "The last successful call to the shop (recorded every 30 s at most)."}
    )
    rate_limit = fields.Nested(
        ShopRateLimitSchema, allow_none=True, metadata={"description": "The rate-limit bucket last seen."}
    )
    install_url = fields.String(
        allow_none=True,
        metadata={"description": "Open in a signed-in console browser to connect or reconnect the shop (install)."},
    )
    installed_at = UtcDateTime(allow_none=True)
    uninstalled_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()


class ShopPageSchema(Schema):
    items = fields.List(fields.Nested(ShopSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "Pass as ``cursor``; null on the last page."})


def shop_body(shop: ShopOverview, install_url: str | None) -> dict[str, Any]:
    """The overview as ``ShopSchema`` dumps it."""
    return {
        "id": shop.id,
        "domain": shop.domain,
        "provider": shop.provider,
        "brand_id": shop.brand_id,
        "brand_name": shop.brand_name,
        "connection_kind": shop.connection_kind,
        "connection_label": shop.connection_label,
        "status": shop.status,
        "status_label": shop.status_label,
        "status_reason": shop.status_reason,
        "status_changed_at": shop.status_changed_at,
        "scopes": {
            "granted": list(shop.scopes.granted),
            "required": None if shop.scopes.required is None else list(shop.scopes.required),
            "missing": list(shop.scopes.missing),
            "recorded": shop.scopes.recorded,
        },
        "access_token": {
            "set": shop.access_token_set,
            "expires_at": shop.access_token_expires_at,
            "refreshed_at": shop.token_refreshed_at,
        },
        "refresh_token": {"set": shop.refresh_token_set, "expires_at": shop.refresh_token_expires_at},
        "client": {"client_id": shop.client_id, "client_secret_set": shop.client_secret_set},
        "webhooks": {
            "state": shop.webhooks.state,
            "synced_at": shop.webhooks.synced_at,
            "summary": shop.webhooks.summary,
        },
        "last_success_at": shop.last_success_at,
        "rate_limit": None
        if shop.rate_limit is None
        else {
            "available": shop.rate_limit.available,
            "maximum": shop.rate_limit.maximum,
            "restore_rate": shop.rate_limit.restore_rate,
            "at": shop.rate_limit.at,
        },
        "install_url": install_url,
        "installed_at": shop.installed_at,
        "uninstalled_at": shop.uninstalled_at,
        "created_at": shop.created_at,
    }
