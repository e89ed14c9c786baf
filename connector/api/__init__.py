"""The JSON API at ``/api/v1``: bearer-token auth, marshmallow-validated input, one core use case per route.

One module per resource (``redemptions``, ``members``, and the frequent-buyer ``programs``,
``pos_reports``, ``distribution``, ``rebates``, ``retailer_credits``, and ``shops``); ``auth`` guards every
route; ``openapi`` describes them all from the same schemas.
"""

from connector.api.blueprint import bp

__all__ = ["bp"]

from connector.api import (  # noqa: F401  (routes register on import)
    auth,
    brand_fulfilment,
    catalogue,
    checkout,
    distribution,
    members,
    notices,
    openapi,
    outbound_webhooks,
    platform,
    pos_reports,
    programs,
    rebates,
    redemptions,
    retailer_credits,
    retailer_reports,
    self_service,
    shop_connections,
    shops,
    users,
)
