"""Find the product variant a reward's SKU names, and check it can be ordered.

Shopify's ``sku:`` search is tokenised, not exact: ``sku:TSHIRT-M`` may also
return ``TSHIRT-M-RED``. The plugin asks for two hits and keeps only a variant
whose SKU is exactly the reward's, so a near miss is reported as "does not
exist" instead of shipping the wrong product.

"Can be ordered" means the product is ACTIVE and, when Shopify tracks its
inventory and refuses to oversell (policy DENY), at least one unit is in
stock. ``availableForSale`` is not used: it also reflects sales-channel
publication, which a free reward does not need.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connector.core.errors import ProviderError
from connector.plugins.shopify.documents import FIND_VARIANTS_BY_SKU
from connector.plugins.shopify.graphql_client import ShopifyGraphQLClient
from connector.plugins.shopify.identifiers import term
from connector.plugins.shopify.payload_shapes import json_object

_FIX = "Verify the SKU's availability in Shopify, or update the SKU in the Rewards section, then retry."


@dataclass(frozen=True)
class Variant:
    id: str
    sku: str
    title: str
    product_id: str | None
    product_title: str
    product_status: str
    tracked: bool
    inventory_policy: str
    inventory_quantity: int | None

    @property
    def in_stock(self) -> bool:
        if not self.tracked or self.inventory_policy != "DENY":
            return True
        return (self.inventory_quantity or 0) >= 1

    @classmethod
    def from_node(cls, node: Mapping[str, Any]) -> Variant:
        product = json_object(node, "product")
        item = json_object(node, "inventoryItem")
        quantity = node.get("inventoryQuantity")
        return cls(
            id=str(node["id"]),
            sku=str(node.get("sku") or ""),
            title=str(node.get("title") or ""),
            product_id=product.get("id"),
            product_title=str(product.get("title") or ""),
            product_status=str(product.get("status") or "UNKNOWN"),
            # An unknown tracking flag is treated as tracked: better a clear "out of stock" than an oversell.
            tracked=bool(item.get("tracked", True)),
            inventory_policy=str(node.get("inventoryPolicy") or "DENY"),
            inventory_quantity=quantity if isinstance(quantity, int) and not isinstance(quantity, bool) else None,
        )


def find_orderable_variant(client: ShopifyGraphQLClient, sku: str) -> Variant:
    """The ACTIVE, in-stock variant whose SKU is exactly ``sku``; else ``product_not_found`` saying why."""
    wanted = (sku or "").strip()
    domain = client.shop.domain
    if not wanted:
        raise ProviderError(
            "product_not_found",
            "The reward has no SKU, so there is no Shopify product to order.",
            fix="Set the reward's SKU in the Rewards section to the Shopify variant's SKU, then retry.",
            retryable=False,
            field="sku",
        )
    data = client.execute(FIND_VARIANTS_BY_SKU, {"query": term("sku", wanted, always_quote=True)})
    connection = data.get("productVariants") or {}
    nodes = connection.get("nodes") if isinstance(connection, Mapping) else None
    exact = [
        Variant.from_node(node)
        for node in nodes or []
        if isinstance(node, Mapping) and node.get("id") and node.get("sku") == wanted
    ]
    if not exact:
        raise ProviderError(
            "product_not_found",
            f"SKU '{wanted}' does not exist in {domain}.",
            fix=_FIX,
            retryable=False,
            field="sku",
        )
    # Duplicate SKUs happen; any one that can be ordered will do, an active one is the better report.
    for variant in exact:
        if variant.product_status == "ACTIVE" and variant.in_stock:
            return variant
    active = [v for v in exact if v.product_status == "ACTIVE"]
    if not active:
        variant = exact[0]
        raise ProviderError(
            "product_not_found",
            f"SKU '{wanted}' in {domain} belongs to product '{variant.product_title}', which is "
            f"{variant.product_status} (only ACTIVE products can be ordered).",
            fix="Set the product to Active in Shopify, or update the SKU in the Rewards section, then retry.",
            retryable=False,
            field="sku",
        )
    variant = active[0]
    raise ProviderError(
        "product_not_found",
        f"SKU '{wanted}' in {domain} is out of stock ({max(0, variant.inventory_quantity or 0)} available) and "
        "Shopify does not allow overselling it.",
        fix="Restock the variant in Shopify (or allow selling when out of stock), or update the SKU in the "
        "Rewards section, then retry.",
        retryable=False,
        field="sku",
    )
