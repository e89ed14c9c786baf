"""The ``WebhookSender`` that POSTs outbound webhooks over HTTP(S), to the very address it checked.

Each send resolves the host once and refuses it if any address is not public (``core.outbound_urls``).
The connection then goes to one of those checked addresses, never to a second lookup: a name that answers
a public address to the check and a private one a millisecond later (DNS rebinding) still reaches only
the address that was checked. The ``Host`` header, TLS's server name and the certificate check all use
the URL's host name, so to the receiver nothing differs from an ordinary request.

Redirects are not followed (a 3xx is a failed attempt), no proxy from the environment is used, and the
answer is read only up to a short excerpt for the delivery log.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit, urlunsplit

import certifi
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)

import connector
from connector.core.outbound_urls import address_problem
from connector.core.ports import PostResult

TIMEOUT_SECONDS = 10.0
_EXCERPT_BYTES = 200

#: Host name and port to the addresses it resolves to.
Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


class HttpWebhookSender:
    def __init__(
        self,
        *,
        allow_local: bool,
        timeout: float = TIMEOUT_SECONDS,
        resolver: Resolver = resolve,
        ca_certs: str | None = None,
    ) -> None:
        self.allow_local = allow_local
        self.timeout = timeout
        self.resolver = resolver
        #: The certificate authorities a receiver's certificate must chain to (certifi's, as requests uses).
        self.ca_certs = ca_certs or certifi.where()

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> PostResult:
        parts = urlsplit(url)
        host = parts.hostname or ""
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        try:
            addresses = self.resolver(host, port)
        except (OSError, UnicodeError) as exc:
            return PostResult(status_code=None, error=f"the host {host!r} does not resolve ({type(exc).__name__})")
        if not addresses:
            return PostResult(status_code=None, error=f"the host {host!r} does not resolve")
        problem = address_problem(addresses, allow_local=self.allow_local)
        if problem:
            return PostResult(status_code=None, error=f"refused: {problem}")
        sent = {
            **headers,
            "Host": host if parts.port is None else f"{host}:{port}",
            "User-Agent": f"connector-webhooks/{connector.__version__}",
            "Content-Length": str(len(body)),
        }
        target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        for address in addresses:  # every one was checked; the next is tried only if this one refuses to connect
            result = self._post_to(address, port, host, https, target, body, sent)
            if result is not None:
                return result
        return PostResult(status_code=None, error=f"could not connect to {host}")

    def _post_to(
        self, address: str, port: int, host: str, https: bool, target: str, body: bytes, headers: Mapping[str, str]
    ) -> PostResult | None:
        """One attempt at one checked address; None when it could not be reached (nothing was sent)."""
        timeout = urllib3.Timeout(connect=self.timeout, read=self.timeout)
        pool: urllib3.HTTPConnectionPool
        if https:
            pool = urllib3.HTTPSConnectionPool(
                address,
                port,
                timeout=timeout,
                retries=False,
                cert_reqs="CERT_REQUIRED",
                ca_certs=self.ca_certs,
                server_hostname=host,
                assert_hostname=host,
            )
        else:
            pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
        try:
            return self._send(pool, host, target, body, headers)
        finally:
            pool.close()

    def _send(
        self, pool: urllib3.HTTPConnectionPool, host: str, target: str, body: bytes, headers: Mapping[str, str]
    ) -> PostResult | None:
        try:
            response = pool.urlopen(
                "POST",
                target,
                body=body,
                headers=dict(headers),
                redirect=False,
                retries=False,
                assert_same_host=False,
                preload_content=False,
            )
        except (NewConnectionError, ConnectTimeoutError):
            return None
        except ReadTimeoutError:
            return PostResult(status_code=None, error=f"no answer within {self.timeout:.0f} s")
        except SSLError:
            return PostResult(status_code=None, error=f"TLS failed: no valid certificate for {host}")
        except HTTPError as exc:
            return PostResult(status_code=None, error=f"request failed ({type(exc).__name__})")
        code = response.status
        try:
            if 200 <= code < 300:
                return PostResult(status_code=code)
            excerpt = response.read(_EXCERPT_BYTES).decode("utf-8", "replace")
            return PostResult(status_code=code, error=excerpt or None, retry_after=_retry_after(response))
        except HTTPError:
            return PostResult(status_code=code, error=None)
        finally:
            response.release_conn()


def _retry_after(response: urllib3.BaseHTTPResponse) -> float | None:
    value = (response.headers.get("Retry-After") or "").strip()
    return float(value) if value.isdigit() else None
