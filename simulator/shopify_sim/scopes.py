"""Access scopes: which ones a token carries, what a scope allows, ``currentAppInstallation``.

A token's scopes come from its grant (see :mod:`shopify_sim.oauth`); the static
``access_token`` setting carries every known scope. ``missing_scopes`` (a setting) takes
scopes away from every token, so older tests that use it keep working. As on Shopify, a
``write_`` scope also allows the matching ``read_`` access.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from shopify_sim.store import gid

#: Resources whose ``read_``/``write_`` scopes the simulated app can be granted.
RESOURCES = (
    "products",
    "customers",
    "orders",
    "fulfillments",
    "inventory",
    "locations",
    "merchant_managed_fulfillment_orders",
    "assigned_fulfillment_orders",
    "third_party_fulfillment_orders",
    "draft_orders",
    "shipping",
)

#: Every scope the simulator knows: what the static token and client-credentials tokens carry.
KNOWN_SCOPES: frozenset[str] = frozenset(f"{verb}_{resource}" for resource in RESOURCES for verb in ("read", "write"))

#: ``AppInstallation`` id answered by ``currentAppInstallation`` (one app on one shop).
INSTALLATION_ID = 1


def allows(granted: frozenset[str] | None, missing: frozenset[str], scope: str) -> bool:
    """Whether a token with ``granted`` scopes (``None``: unrestricted) may use ``scope``."""
    if scope in missing:
        return False
    if granted is None or scope in granted:
        return True
    return scope.startswith("read_") and f"write_{scope.removeprefix('read_')}" in granted


def effective(granted: frozenset[str] | None, missing: frozenset[str]) -> list[str]:
    """The handles ``accessScopes`` lists: the token's scopes less ``missing_scopes``, sorted."""
    return sorted((KNOWN_SCOPES if granted is None else granted) - missing)


def describe(handle: str) -> str:
    """``AccessScope.description`` in Shopify's style (``read_orders`` → "Read orders")."""
    action, _, resource = handle.partition("_")
    verb = {"read": "Read", "write": "Modify"}.get(action, action.capitalize())
    return f"{verb} {resource.replace('_', ' ')}"


def resolve_current_app_installation(_: Any, info: GraphQLResolveInfo) -> dict[str, Any]:
    """``currentAppInstallation``: the installation of the app whose token made the request."""
    ctx = info.context
    handles = effective(ctx.granted_scopes, ctx.config.missing_scopes)
    return {
        "id": gid("AppInstallation", INSTALLATION_ID),
        "accessScopes": [{"handle": h, "description": describe(h)} for h in handles],
    }
