"""Shopify's cursor connections: ``first``/``after`` pages of ``edges``/``nodes`` with ``pageInfo``."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from graphql import GraphQLError

#: Largest page Shopify serves; larger ``first`` values are clamped.
MAX_PAGE = 250


def _encode_cursor(record_id: int, offset: int) -> str:
    raw = json.dumps({"last_id": record_id, "offset": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return int(data["last_id"]), int(data["offset"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise GraphQLError("Invalid cursor for current pagination sort.", extensions={"code": "BAD_REQUEST"}) from exc


def connection(
    items: list[Any], first: int | None, after: str | None, view: Callable[[Any], dict[str, Any]]
) -> dict[str, Any]:
    """Relay connection over ``items`` (already filtered and sorted; each has ``.id``)."""
    if first is None:
        raise GraphQLError("you must provide one of first or last", extensions={"code": "BAD_REQUEST"})
    if first < 0:
        raise GraphQLError("first must be greater than or equal to 0", extensions={"code": "BAD_REQUEST"})
    first = min(first, MAX_PAGE)
    start = 0
    if after:
        last_id, offset = _decode_cursor(after)
        position = next((i for i, item in enumerate(items) if item.id == last_id), None)
        start = position + 1 if position is not None else offset + 1
    page = items[start : start + first]
    cursors = [_encode_cursor(item.id, start + i) for i, item in enumerate(page)]
    nodes = [view(item) for item in page]
    return {
        "nodes": nodes,
        "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, nodes, strict=True)],
        "pageInfo": {
            "hasNextPage": start + first < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }
