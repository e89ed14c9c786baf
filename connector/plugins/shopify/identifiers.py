"""Shopify global ids and search-query terms.

Webhook payloads carry numeric REST ids, the GraphQL API wants ``gid://``
ids, and the host stores whatever a plugin returned: these helpers make every
id the plugin hands out or accepts a GID. Search terms are built here so that
a value with a search-syntax character (``:`` ``\\`` ``(`` ``)``, quotes,
spaces) is quoted and cannot change the meaning of the query.
"""

from __future__ import annotations

import re

_GID = re.compile(r"^gid://shopify/(?P<kind>[A-Za-z]+)/(?P<id>[^/?\s]+)")
_PLAIN_TERM = re.compile(r"^[A-Za-z0-9_.+@-]+$")


def gid(kind: str, value: object) -> str | None:
    """``gid://shopify/<kind>/<id>`` from a GID of that kind or a numeric id; None when neither."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    match = _GID.match(text)
    if match:
        return text if match.group("kind") == kind else None
    if text.isdigit() and text.isascii():
        return f"gid://shopify/{kind}/{int(text)}"
    return None


def numeric_id(value: str | None) -> str | None:
    """The trailing numeric id of a GID (for messages and REST-shaped payload comparisons)."""
    if not value:
        return None
    match = _GID.match(value)
    return match.group("id") if match else (value if value.isdigit() else None)


def term(field: str, value: str, *, always_quote: bool = False) -> str:
    """One ``field:value`` search term, quoting and escaping the value when it needs it."""
    if not always_quote and _PLAIN_TERM.match(value):
        return f"{field}:{value}"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{field}:"{escaped}"'


def redemption_key(code: str) -> str:
    """The tag and ``sourceIdentifier`` that tie a shop order to one redemption."""
    return f"redemption-{code}"
