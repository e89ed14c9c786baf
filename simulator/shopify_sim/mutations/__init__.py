"""State-changing operations shared by the GraphQL resolvers and the control API.

Every function here expects the caller to hold ``store.lock`` for the whole call, so a
validation and the write it guards happen atomically (two racing ``orderCreate`` calls
cannot both pass the stock check). Validation always completes before the first write:
a call that answers ``userErrors`` changes nothing.

Error messages and ``field`` paths copy live Shopify answers where one was recorded
(shopify-api.md §1); the rest are marked "approximation" and keep Shopify's style.

One module per resource: :mod:`.customers`, :mod:`.orders`, :mod:`.products`, :mod:`.fulfillments`;
what they share is in :mod:`.common`.
"""

from shopify_sim.mutations.common import ControlError, camelize, clean_tags
from shopify_sim.mutations.customers import apply_customer_input
from shopify_sim.mutations.fulfillments import (
    FULFILLMENT_STATUSES,
    SHIPMENT_STATUSES,
    display_status,
    fulfil_order,
    update_fulfillment,
)
from shopify_sim.mutations.orders import cancel_order, create_order
from shopify_sim.mutations.products import INVENTORY_POLICIES, PRODUCT_STATUSES, create_product, update_variants

__all__ = [
    "FULFILLMENT_STATUSES",
    "INVENTORY_POLICIES",
    "PRODUCT_STATUSES",
    "SHIPMENT_STATUSES",
    "ControlError",
    "apply_customer_input",
    "camelize",
    "cancel_order",
    "clean_tags",
    "create_order",
    "create_product",
    "display_status",
    "fulfil_order",
    "update_fulfillment",
    "update_variants",
]
