"""The ``WebhookSender`` that POSTs outbound webhooks over HTTP(S), after checking where the host points.

Each send resolves the host and refuses it if any address is not public (``core.outbound_urls``), so an
endpoint whose name is later pointed at the private network reaches nothing. Redirects are not followed
(a 3xx is a failed attempt), proxies from the environment are not used, and the answer is read only up
to a short excerpt for the delivery log.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

import requests

import connector
from connector.core.outbound_urls import address_problem
from connector.core.ports import PostResult

TIMEOUT_SECONDS = 10.0
_EXCERPT_BYTES = 200


def resolve(host: str, port: int) -> list[str]:
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


class HttpWebhookSender:
    def __init__(self, *, allow_local: bool, timeout: float = TIMEOUT_SECONDS) -> None:
        self.allow_local = allow_local
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy or netrc from the environment: the request goes where it says

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> PostResult:
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            addresses = resolve(host, parts.port or (443 if parts.scheme == "https" else 80))
        except (OSError, UnicodeError) as exc:
            return PostResult(status_code=None, error=f"the host {host!r} does not resolve ({type(exc).__name__})")
        problem = address_problem(addresses, allow_local=self.allow_local)
        if problem:
            return PostResult(status_code=None, error=f"refused: {problem}")
        sent = {**headers, "User-Agent": f"connector-webhooks/{connector.__version__}"}
        try:
            with self.session.post(
                url, data=body, headers=sent, timeout=self.timeout, allow_redirects=False, stream=True
            ) as response:
                code = response.status_code
                if 200 <= code < 300:
                    return PostResult(status_code=code)
                excerpt = next(response.iter_content(_EXCERPT_BYTES), b"").decode("utf-8", "replace")
                return PostResult(status_code=code, error=excerpt or None, retry_after=_retry_after(response))
        except requests.Timeout:
            return PostResult(status_code=None, error=f"no answer within {self.timeout:.0f} s")
        except requests.ConnectionError:
            return PostResult(status_code=None, error=f"could not connect to {host}")
        except requests.RequestException as exc:
            return PostResult(status_code=None, error=f"request failed ({type(exc).__name__})")


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    return float(value) if value.isdigit() else None
