"""Which addresses outbound webhooks may be sent to, and how each request is signed.

A brand admin types the endpoint URL, so without rules the connector would POST wherever it is told:
to a cloud metadata service, an admin panel on the private network, or itself (server-side request
forgery). The rules (docs/security.md):

* https only; http only for loopback, and loopback only when ``CONNECTOR_OUTBOUND_WEBHOOKS_ALLOW_LOCAL``
  is on (development and tests);
* never an address that is not globally routable (private, loopback, link-local, shared, reserved,
  multicast): checked on the URL when the endpoint is saved (a literal address or ``localhost``) and
  on every address the host resolves to before each send, so a name that later points inward is
  refused too;
* no ``user:password@`` (it would be sent to the receiver), no fragment; redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

URL_MAX = 500
ALLOW_LOCAL_ENV = "CONNECTOR_OUTBOUND_WEBHOOKS_ALLOW_LOCAL"
_LOCAL_NAMES = {"localhost", "localhost.localdomain"}

#: Headers of every outbound webhook (docs/platform-integration.md).
HEADER_ID = "Connector-Webhook-Id"
HEADER_EVENT = "Connector-Webhook-Event"
HEADER_TIMESTAMP = "Connector-Webhook-Timestamp"
HEADER_SIGNATURE = "Connector-Webhook-Signature"
SIGNATURE_VERSION = "v1"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``v1=`` and the hex HMAC-SHA256, keyed with the endpoint's secret, of ``"<timestamp>.<body>"``.

    The timestamp is signed with the body so a captured request cannot be replayed later with a new one.
    """
    mac = hmac.new(secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_loopback_host(host: str) -> bool:
    ip = _ip(host)
    return host.lower().rstrip(".") in _LOCAL_NAMES if ip is None else ip.is_loopback


def address_problem(addresses: Iterable[str], *, allow_local: bool) -> str | None:
    """Why one of the addresses a host resolved to may not receive a webhook, or None."""
    for text in addresses:
        ip = _ip(text)
        if ip is None:
            return f"{text!r} is not an IP address"
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if ip.is_loopback and allow_local:
            continue
        if not ip.is_global or ip.is_multicast:
            return (
                f"the host resolves to {ip}, an address on a private or reserved network; webhooks go only to "
                "public addresses"
                + ("" if allow_local else f" (loopback only in development, with {ALLOW_LOCAL_ENV}=true)")
            )
    return None


def endpoint_url_problem(url: str, *, allow_local: bool) -> str | None:
    """Why ``url`` cannot be a webhook endpoint, or None. No DNS lookup here: each send checks the addresses."""
    if len(url) > URL_MAX:
        return f"at most {URL_MAX} characters; got {len(url)}"
    if any(c.isspace() for c in url) or not url.isascii() or not url.isprintable():
        return "must be an ASCII URL without spaces (IDN hosts in their xn-- form)"
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"}:
        return "must be an https:// URL, like https://loyalty.example.com/hooks/connector"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "must not contain user:password@ (authenticate the request by its signature)"
    if parts.fragment or url.endswith("#"):
        return "must not contain a #fragment"
    host = parts.hostname
    if not host:
        return "must name a host, like https://loyalty.example.com/hooks/connector"
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError:
        return "the port must be a number from 1 to 65535"
    if is_loopback_host(host):
        if not allow_local:
            return f"a loopback address receives nothing from a server; it is allowed only with {ALLOW_LOCAL_ENV}=true"
        return None
    if parts.scheme != "https":
        return "must use https:// (plain http only for loopback in development)"
    ip = _ip(host)
    if ip is not None:
        return address_problem([str(ip)], allow_local=allow_local)
    if "." not in host.rstrip("."):
        return f"{host!r} is not a public host name (a name with a dot, like loyalty.example.com)"
    return None
