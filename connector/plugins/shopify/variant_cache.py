"""A SKU's variant, remembered per shop so a steady stream of redemptions skips the 8-point lookup.

The answer lives in the host's per-shop cache (``ShopInfo.cache``, a database table shared by
every worker), under ``variant-by-sku:<SKU>`` (exact SKU, as the reward spells it) and tagged with
the variant's product, so one ``products/update`` forgets every SKU of that product, including
a SKU the update renamed away (``webhook_topics``). A product-not-found answer from
``orderCreate`` forgets the SKU too (``reward_order``). What is kept is the variant's identity
(id, SKU, product); stock is never trusted from the cache: ``orderCreate`` claims inventory
obeying the product's policy and says when there is none.

The residual risk: a SKU renamed away from its variant whose ``products/update`` is lost (or
applied between a lookup and the ``put`` that follows it) leaves the old variant cached, and one
order is placed for it. ``reward_order`` compares the order's line SKU with the reward's, forgets
the entry and logs the order to check; ``SHOPIFY_VARIANT_CACHE_SECONDS`` bounds it regardless.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from connector.core.hooktypes import ShopCache
from connector.plugins.shopify.graphql_client import ShopifyGraphQLClient
from connector.plugins.shopify.identifiers import gid
from connector.plugins.shopify.variants import Variant, find_orderable_variant

KEY_PREFIX = "variant-by-sku:"
#: The host's limit on keys and tags (``ShopCache``); a longer SKU is simply not cached.
MAX_CACHE_KEY = 255
TAG_PREFIX = "product:"


def sku_key(sku: str) -> str:
    return KEY_PREFIX + sku.strip()


def product_tag(product_id: object) -> str | None:
    """The tag of a product's entries, from its GID or numeric id (as webhook payloads carry it)."""
    product = gid("Product", product_id)
    return TAG_PREFIX + product if product else None


def orderable_variant(
    client: ShopifyGraphQLClient, sku: str, cache: ShopCache | None, ttl_seconds: float
) -> tuple[Variant, bool]:
    """The SKU's variant and whether it came from the cache (no call); else ``find_orderable_variant``'s answer.

    Only an orderable answer is remembered: a failure is reported afresh every time.
    """
    wanted = (sku or "").strip()
    use_cache = cache is not None and ttl_seconds > 0 and wanted and len(sku_key(wanted)) <= MAX_CACHE_KEY
    if use_cache and cache is not None:
        hit = _decode(cache.get(sku_key(wanted)), wanted)
        if hit is not None:
            return hit, True
    variant = find_orderable_variant(client, sku)
    if use_cache and cache is not None:
        remember(cache, variant, ttl_seconds)
    return variant, False


def remember(cache: ShopCache, variant: Variant, ttl_seconds: float) -> None:
    if len(sku_key(variant.sku)) > MAX_CACHE_KEY:
        return
    cache.put(
        sku_key(variant.sku),
        json.dumps(asdict(variant), sort_keys=True),
        tag=product_tag(variant.product_id),
        ttl_seconds=ttl_seconds,
    )


def forget(cache: ShopCache | None, sku: str) -> None:
    if cache is not None and (sku or "").strip() and len(sku_key(sku)) <= MAX_CACHE_KEY:
        cache.forget(keys=[sku_key(sku)])


def _decode(raw: str | None, sku: str) -> Variant | None:
    """The stored variant, or None when absent or unreadable (a malformed entry is a miss, not an error)."""
    if raw is None:
        return None
    try:
        fields = json.loads(raw)
        variant = Variant(**fields)
    except (ValueError, TypeError):
        return None
    return variant if variant.sku == sku and variant.id else None
