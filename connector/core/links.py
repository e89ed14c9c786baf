"""Links into other systems' admin screens, shared by the JSON API and the console."""

from __future__ import annotations

import re

_TRAILING_ID = re.compile(r"(\d+)$")


def shop_admin_url(domain: str | None, order_id: str | None) -> str | None:
    """``https://<shop>/admin/orders/<numeric id>`` for a GID like ``gid://shopify/Order/123``."""
    if not domain or not order_id:
        return None
    match = _TRAILING_ID.search(order_id)
    return f"https://{domain}/admin/orders/{match.group(1)}" if match else None
