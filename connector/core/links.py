"""Links into other systems' admin screens, shared by the JSON API and the console."""

from __future__ import annotations

from urllib.parse import urlsplit

_DIGITS = "0123456789"


def shop_admin_url(domain: str | None, order_id: str | None) -> str | None:
    """``https://<shop>/admin/orders/<numeric id>`` for a GID like ``gid://shopify/Order/123``."""
    if not domain or not order_id:
        return None
    # The trailing digits, without a pattern: ``search(r"(\d+)$")`` retried at every digit of a long run
    # (quadratic in the id's length).
    number = order_id[len(order_id.rstrip(_DIGITS)) :]
    return f"https://{domain}/admin/orders/{number}" if number else None


def safe_link(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) link, else None: what may be stored or shown as a link.

    Tracking URLs come from shop webhooks, and a signed payload may still carry ``javascript:`` or
    ``data:`` (whatever the merchant or another app typed). The console renders tracking URLs as
    links, so webhooks store only these, and the console links only these.
    """
    if not url or not url.isprintable() or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None
