"""Products and variants as the control API seeds and changes them (``/_sim/products``, ``/_sim/variants``)."""

from __future__ import annotations

import time
from typing import Any

from shopify_sim.mutations.common import ControlError, parse_decimal
from shopify_sim.store import Product, Store

PRODUCT_STATUSES = frozenset({"ACTIVE", "ARCHIVED", "DRAFT", "UNLISTED"})
INVENTORY_POLICIES = frozenset({"DENY", "CONTINUE"})


def _policy(value: Any) -> str:
    policy = str(value).upper()
    if policy not in INVENTORY_POLICIES:
        raise ControlError(f"policy must be one of {sorted(INVENTORY_POLICIES)}")
    return policy


def _status(value: Any) -> str:
    status = str(value).upper()
    if status not in PRODUCT_STATUSES:
        raise ControlError(f"status must be one of {sorted(PRODUCT_STATUSES)}")
    return status


def create_product(store: Store, spec: dict[str, Any]) -> Product:
    """``POST /_sim/products``: ``{title, status, variants: [{sku, title, price, inventory,
    tracked, policy}]}``; without ``variants`` the body itself describes the single variant."""
    variants_in = spec.get("variants")
    if variants_in is None:
        variants_in = [{k: spec[k] for k in ("sku", "price", "inventory", "tracked", "policy") if k in spec}]
        if "variant_title" in spec:
            variants_in[0]["title"] = spec["variant_title"]
    if not isinstance(variants_in, list) or not variants_in:
        raise ControlError("variants must be a non-empty list")
    variants: list[dict[str, Any]] = []
    for raw in variants_in:
        variant = dict(raw)
        if "price" in variant and parse_decimal(variant["price"]) is None:
            raise ControlError(f"invalid price {variant['price']!r}")
        try:
            variant["inventory"] = int(variant.get("inventory", 0))
        except (TypeError, ValueError) as exc:
            raise ControlError("inventory must be an integer") from exc
        variant["policy"] = _policy(variant.get("policy", "DENY"))
        variants.append(variant)
    title = spec.get("title") or (variants[0].get("sku") or "Simulated product")
    return store.add_product(str(title), _status(spec.get("status", "ACTIVE")), variants)


def update_variants(store: Store, sku: str, spec: dict[str, Any]) -> list[Product]:
    """``PATCH /_sim/variants/<sku>``: change every variant with that exact SKU.

    Keys: ``sku`` (rename), ``inventory`` (absolute), ``inventory_delta``, ``price``,
    ``tracked``, ``policy``, ``title`` (variant), ``status`` and ``product_title`` (product).
    """
    variants = store.variants_with_sku(sku)
    if not variants:
        raise ControlError(f"no variant with sku {sku!r}", status=404)
    allowed = {"sku", "inventory", "inventory_delta", "price", "tracked", "policy", "title", "status", "product_title"}
    unknown = set(spec) - allowed
    if unknown:
        raise ControlError(f"unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    now = time.time()
    products: list[Product] = []
    for variant in variants:
        if "sku" in spec:
            variant.sku = spec["sku"]
        if "inventory" in spec:
            variant.inventory_quantity = int(spec["inventory"])
        if "inventory_delta" in spec:
            variant.inventory_quantity += int(spec["inventory_delta"])
        if "price" in spec:
            price = parse_decimal(spec["price"])
            if price is None:
                raise ControlError(f"invalid price {spec['price']!r}")
            variant.price = price
        if "tracked" in spec:
            variant.tracked = bool(spec["tracked"])
        if "policy" in spec:
            variant.policy = _policy(spec["policy"])
        if "title" in spec:
            variant.title = str(spec["title"])
        variant.updated_at = now
        product = store.products[variant.product_id]
        if "status" in spec:
            product.status = _status(spec["status"])
        if "product_title" in spec:
            product.title = str(spec["product_title"])
        product.updated_at = now
        if product not in products:
            products.append(product)
    return products
