"""The Admin API access scopes the connector needs, and how to compare them with what a shop granted.

Shopify lists a granted ``write_X`` without the ``read_X`` it implies, so "granted" is compared after
expanding every write scope to its read scope too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

#: What the plugin's calls and webhook topics need: products (variant lookup), customers (match or create
#: the CRM customer), orders (create, find, cancel reward orders; orders/* and fulfillments/* webhooks).
REQUIRED_SCOPES: tuple[str, ...] = ("read_products", "write_customers", "write_orders")
#: ``SHOPIFY_SCOPES``: the scopes asked for at install, comma-separated (default: ``REQUIRED_SCOPES``).
SCOPES_SETTING = "SHOPIFY_SCOPES"


def parse_scopes(text: str | Iterable[str] | None) -> tuple[str, ...]:
    """Scope handles from Shopify's comma-separated ``scope`` text (or a list), trimmed, in order, once each."""
    parts = text.split(",") if isinstance(text, str) else list(text or ())
    seen: dict[str, None] = {}
    for part in parts:
        handle = str(part).strip()
        if handle:
            seen.setdefault(handle, None)
    return tuple(seen)


def implied(scopes: Iterable[str]) -> set[str]:
    """Every scope ``scopes`` grants, ``read_X`` included for each ``write_X``."""
    result: set[str] = set()
    for scope in scopes:
        result.add(scope)
        for prefix in ("write_", "unauthenticated_write_"):
            if scope.startswith(prefix):
                result.add(scope.replace("write_", "read_", 1))
    return result


def missing_scopes(granted: Iterable[str], required: Iterable[str] = REQUIRED_SCOPES) -> tuple[str, ...]:
    """The required scopes ``granted`` does not cover, in the order required lists them."""
    have = implied(granted)
    return tuple(scope for scope in required if scope not in have)


def requested_scopes(config: Mapping[str, str]) -> tuple[str, ...]:
    """What the install page asks for: ``SHOPIFY_SCOPES`` when set, always including the required ones."""
    asked = parse_scopes(config.get(SCOPES_SETTING) or "")
    return asked + tuple(scope for scope in REQUIRED_SCOPES if scope not in implied(asked))
