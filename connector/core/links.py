"""Links into other systems' admin screens, shared by the JSON API and the console."""

from __future__ import annotations

_DIGITS = "0123456789"


def shop_admin_url(domain: str | None, order_id: str | None) -> str | None:
    """``https://<shop>/admin/orders/<numeric id>`` for a GID like ``gid://shopify/Order/123``."""
    if not domain or not order_id:
        return None
    # The trailing digits, without a pattern: ``search(r"(\d+)$")`` retried at every digit of a long run
    # (quadratic in the id's length).
    number = order_id[len(order_id.rstrip(_DIGITS)) :]
    return f"https://{domain}/admin/orders/{number}" if number else None
