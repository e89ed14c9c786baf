"""A small GraphQL client for one shop's Admin API, built on ``requests``.

Why not the ``ShopifyAPI`` package: it posts through urllib with no timeout,
no retry and no throttle handling, and ``responses`` cannot mock it. This
client adds exactly what the connector needs:

* it waits for the rate-limit bucket instead of overdrawing it (see
  ``throttle.py``) and retries THROTTLED answers within a bounded budget;
* it turns every failure into a ``ProviderError`` with a catalogue code, says
  whether retrying can help, and marks mutation failures whose effect is
  unknown as ``in_doubt`` so the host looks the order up before repeating it;
* it never puts request variables (member PII) into messages or logs;
* it sends the access token only to the shop's own ``https://{shop}.myshopify.com`` (a simulator's
  address only when ``SHOPIFY_ALLOW_CUSTOM_API_BASE`` allows it, never one with credentials in it),
  and never follows a redirect: ``requests`` would resend the POST, token and member data included,
  to wherever the ``Location`` points.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from connector import __version__
from connector.core.errors import ProviderError, RateLimitDeferral
from connector.core.hooktypes import (
    ALLOW_CUSTOM_API_BASE,
    RateLimitStatus,
    ShopInfo,
    api_base_url_problem,
    redact_url,
)
from connector.plugins.shopify.documents import Document
from connector.plugins.shopify.graphql_answers import (
    MIN_WAIT,
    describe_errors,
    has_code,
    json_or_none,
    may_have_been_sent,
    retry_after,
    throttle_wait,
)
from connector.plugins.shopify.throttle import (
    SHARED_THROTTLE,
    Throttle,
    ThrottleStatus,
    requested_cost,
)

_AUTH_FIX = "Reconnect the shop (a new access token with write_orders and write_customers), then retry."
_FROZEN_FIX = "Ask the merchant to reactivate the shop in Shopify, then retry."
_INVALID_FIX = "Report this with the redemption code: the connector sent a request Shopify does not accept."
_REDIRECT_FIX = (
    "Check the shop's domain and API base URL (connector shops list): the Admin API answers at "
    "https://<shop>.myshopify.com and never redirects; the connector does not follow redirects, so the access "
    "token was not sent to the new address."
)


def mutation_payload(data: Mapping[str, Any], mutation: str, *, unknown: str = "") -> Mapping[str, Any]:
    """``data[mutation]``, the payload a mutation answers with.

    An answer without one says nothing of what Shopify did, so it is retried as in doubt (``unknown``
    completes the message, e.g. "; the order may or may not exist").
    """
    payload = data.get(mutation)
    if not isinstance(payload, Mapping):
        raise ProviderError(
            "shop_unavailable",
            f"Shopify answered {mutation} without a payload{unknown}.",
            retryable=True,
            in_doubt=True,
        )
    return payload


class ShopifyGraphQLClient:
    """Sends documents to ``POST {api_base_url}/admin/api/{api_version}/graphql.json``."""

    def __init__(
        self,
        shop: ShopInfo,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        max_throttle_wait: float = 30.0,
        throttle: Throttle = SHARED_THROTTLE,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        session: requests.Session | None = None,
        logger: logging.Logger | None = None,
        allow_custom_api_base: bool = False,
        defer_reads: bool = False,
    ) -> None:
        problem = api_base_url_problem(shop.domain, shop.api_base_url, allow_custom=allow_custom_api_base)
        if problem:
            # Before any request: the token must not reach an address the shop does not own.
            raise ProviderError(
                "plugin_config_invalid",
                f"The API base URL of {shop.domain} is refused: {problem}.",
                fix=f"Reconnect the shop without --api-base-url (it defaults to https://{shop.domain}); set "
                f"{ALLOW_CUSTOM_API_BASE}=true only for a local Shopify simulator.",
                retryable=False,
                field="api_base_url",
            )
        self.shop = shop
        self.endpoint = f"{shop.api_base_url.rstrip('/')}/admin/api/{shop.api_version}/graphql.json"
        self._timeout = (connect_timeout, read_timeout)
        self._max_throttle_wait = max_throttle_wait
        self._throttle = throttle
        self._defer_reads = defer_reads
        self._sleep = sleep
        self._clock = clock
        self._own_session = session is None
        self._session = session or requests.Session()
        self._logger = logger or logging.getLogger("connector.plugins.shopify")
        # The bucket is per app and shop; the domain names the shop.
        self._bucket_key = shop.domain.lower()

    def __enter__(self) -> ShopifyGraphQLClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own_session:
            self._session.close()

    # -- the one public call -------------------------------------------------------------------

    def execute(self, document: Document, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run one operation and return its ``data``; raise ``ProviderError`` on any failure.

        ``userErrors`` are part of ``data`` and left to the caller, who knows
        which member or reward field each one points at.
        """
        start = self._clock()
        waited = 0.0
        payload: dict[str, Any] = {
            "query": document.text,
            "variables": dict(variables or {}),
            "operationName": document.name,
        }
        renewed = False
        while True:
            reservation, waited = self._acquire(document, start, waited)
            token = self.shop.current_token()
            try:
                response = self._session.post(
                    self.endpoint,
                    json=payload,
                    headers=self._headers(token),
                    timeout=self._timeout,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                self._throttle.settle(reservation, document.name, None, self._now(start, waited))
                raise self._network_error(exc, document) from exc
            except BaseException:
                # Never leak the reservation, or the shop's estimate stays short of points forever.
                self._throttle.settle(reservation, document.name, None, self._now(start, waited))
                raise

            body = json_or_none(response)
            extensions = body.get("extensions") if isinstance(body, dict) else None
            self._throttle.settle(reservation, document.name, extensions, self._now(start, waited))
            self._log_response(document, response, extensions)
            self._report_bucket(extensions)

            if response.status_code == 429:
                self._count("throttled")
                hint = retry_after(response.headers.get("Retry-After"))
                waited = self._wait_after_throttle(document, hint, start, waited)
                continue
            if response.status_code == 401 and self.shop.tokens is not None and not renewed:
                # An expired or rotated token: the host renews it once (or finds another process's
                # renewal) and the request is sent again. A 401 cannot have run the operation, so when the
                # host refuses to renew (the shop was disconnected meanwhile) nothing was created either.
                try:
                    self.shop.tokens.rejected(token)
                except ProviderError as refused:
                    refused.nothing_created = not refused.in_doubt
                    raise
                renewed = True
                continue
            self._raise_for_status(document, response)
            if not isinstance(body, dict):
                raise self._unavailable(document, f"Shopify answered {document.name} with a body that is not JSON.")
            errors = body.get("errors")
            if errors:
                if has_code(errors, "THROTTLED"):
                    self._count("throttled")
                    waited = self._wait_after_throttle(document, throttle_wait(extensions), start, waited)
                    continue
                raise self._graphql_error(document, errors)
            data = body.get("data")
            if not isinstance(data, dict):
                raise self._unavailable(document, f"Shopify answered {document.name} without data.")
            return data

    # -- waiting ----------------------------------------------------------------------------------

    def _now(self, start: float, waited: float) -> float:
        # An injected sleep may not move an injected clock; count the time we slept either way.
        return max(self._clock(), start + waited)

    def _acquire(self, document: Document, start: float, waited: float) -> tuple[Any, float]:
        """Reserve the operation's estimated cost, sleeping until the bucket holds it.

        Returns the reservation and the total time waited so far in this call. With ``defer_reads`` a read
        the bucket cannot afford raises ``RateLimitDeferral`` instead: the host runs the job later rather
        than hold its worker. A mutation still waits: it may follow the checkpoint, and deferring it would
        send the next attempt looking for an order that was never created.
        """
        while True:
            reservation, wait = self._throttle.try_reserve(self._bucket_key, document.name, self._now(start, waited))
            if reservation is not None:
                return reservation, waited
            wait = max(wait, MIN_WAIT)
            if self._defer_reads and not document.is_mutation:
                raise RateLimitDeferral(
                    f"the rate-limit bucket of {self.shop.domain} affords {document.name} in {wait:.2f}s",
                    retry_after=wait,
                )
            self._count("waited")
            self._check_budget(document, wait, waited)
            self._logger.info(
                "shopify %s: waiting %.2fs for the rate-limit bucket of %s",
                document.name,
                wait,
                self.shop.domain,
            )
            self._sleep(wait)
            waited += wait

    def _count(self, what: str) -> None:
        """Tell the host's buckets (if they count) that a request waited or was throttled: benches report it."""
        count = getattr(self._throttle, "count", None)
        if count is not None:
            count(self._bucket_key, what)

    def _wait_after_throttle(self, document: Document, wait: float, start: float, waited: float) -> float:
        wait = max(wait, MIN_WAIT)
        self._check_budget(document, wait, waited)
        self._logger.info("shopify %s: throttled by %s, retrying in %.2fs", document.name, self.shop.domain, wait)
        self._sleep(wait)
        return waited + wait

    def _check_budget(self, document: Document, wait: float, waited: float) -> None:
        if waited + wait > self._max_throttle_wait:
            raise ProviderError(
                "throttled",
                f"Shopify's rate limit for {self.shop.domain} needs {wait:.1f}s more before {document.name} "
                f"can run (already waited {waited:.1f}s of {self._max_throttle_wait:.0f}s).",
                retryable=True,
                retry_after=round(wait, 3),
            )

    # -- failures -----------------------------------------------------------------------------------

    def _raise_for_status(self, document: Document, response: requests.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        domain = self.shop.domain
        if 300 <= status < 400:
            location = redact_url(response.headers.get("Location") or "(no Location)")[:300]
            raise ProviderError(
                "shop_request_invalid",
                f"Shopify answered {document.name} for {domain} with a redirect (HTTP {status}) to {location}; "
                "redirects are not followed and the request was not sent there.",
                fix=_REDIRECT_FIX,
                retryable=False,
            )
        if status == 401:
            raise ProviderError(
                "shop_auth_failed",
                f"Shopify rejected the access token of {domain} (HTTP 401): it was revoked or the app was uninstalled.",
                fix=_AUTH_FIX,
                retryable=False,
                nothing_created=True,  # refused before it ran
            )
        if status == 403:
            raise ProviderError(
                "shop_auth_failed",
                f"Shopify refused {document.name} for {domain} (HTTP 403): the access token lacks a required scope.",
                fix=_AUTH_FIX,
                retryable=False,
            )
        if status == 402:
            raise ProviderError(
                "shop_unavailable",
                f"{domain} is frozen (HTTP 402 Payment Required): Shopify accepts no API calls until the "
                "merchant pays.",
                fix=_FROZEN_FIX,
                retryable=False,
            )
        if status == 423:
            raise ProviderError("shop_unavailable", f"{domain} is locked (HTTP 423).", fix=_FROZEN_FIX, retryable=False)
        if status >= 500:
            raise self._unavailable(
                document,
                f"Shopify answered {document.name} for {domain} with HTTP {status}.",
                retry_after=retry_after(response.headers.get("Retry-After"), default=None),
            )
        if status == 404:
            message = (
                f"Shopify answered HTTP 404 for {self.endpoint}: the shop domain or API version "
                f"{self.shop.api_version} is wrong, or the shop no longer exists."
            )
            raise ProviderError("shop_request_invalid", message, fix=_AUTH_FIX, retryable=False)
        raise ProviderError(
            "shop_request_invalid",
            f"Shopify refused {document.name} for {domain} with HTTP {status}.",
            fix=_INVALID_FIX,
            retryable=False,
        )

    def _graphql_error(self, document: Document, errors: Any) -> ProviderError:
        if has_code(errors, "ACCESS_DENIED"):
            return ProviderError(
                "shop_auth_failed",
                f"The access token of {self.shop.domain} may not run {document.name}: {describe_errors(errors)}",
                fix=_AUTH_FIX,
                retryable=False,
            )
        if has_code(errors, "INTERNAL_SERVER_ERROR"):
            return self._unavailable(document, f"Shopify failed internally running {document.name}.")
        if has_code(errors, "SHOP_INACTIVE"):
            return ProviderError(
                "shop_unavailable",
                f"{self.shop.domain} is inactive: {describe_errors(errors)}",
                fix=_FROZEN_FIX,
                retryable=False,
            )
        return ProviderError(
            "shop_request_invalid",
            f"Shopify rejected {document.name}: {describe_errors(errors)}",
            fix=_INVALID_FIX,
            retryable=False,
        )

    def _unavailable(self, document: Document, message: str, retry_after: float | None = None) -> ProviderError:
        return ProviderError(
            "shop_unavailable",
            message,
            retryable=True,
            retry_after=retry_after,
            in_doubt=document.is_mutation,
        )

    def _network_error(self, exc: requests.RequestException, document: Document) -> ProviderError:
        sent = may_have_been_sent(exc)
        if isinstance(exc, requests.Timeout):
            what = "timed out waiting for the answer" if sent else "timed out connecting"
        elif isinstance(exc, requests.ConnectionError):
            what = "lost the connection" if sent else "could not connect"
        else:
            what = f"failed ({type(exc).__name__})"
        return ProviderError(
            "network_error",
            f"{document.name} to {self.shop.domain} {what}.",
            retryable=True,
            in_doubt=sent and document.is_mutation,
        )

    # -- plumbing -------------------------------------------------------------------------------------

    def _headers(self, token: str) -> dict[str, str]:
        return {
            "X-Shopify-Access-Token": token,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"connector-shopify/{__version__}",
        }

    def _report_bucket(self, extensions: Mapping[str, Any] | None) -> None:
        """Hand the bucket this answer reported to the host (the Shops page shows the last one)."""
        status = ThrottleStatus.from_extensions(extensions)
        if status is not None:
            self.shop.report_rate_limit(
                RateLimitStatus(
                    available=status.currently_available,
                    maximum=status.maximum_available,
                    restore_rate=status.restore_rate,
                )
            )

    def _log_response(
        self, document: Document, response: requests.Response, extensions: Mapping[str, Any] | None
    ) -> None:
        status = ThrottleStatus.from_extensions(extensions)
        self._logger.debug(
            "shopify %s %s: HTTP %s cost=%s available=%s",
            self.shop.domain,
            document.name,
            response.status_code,
            requested_cost(extensions),
            None if status is None else status.currently_available,
        )
        deprecated = response.headers.get("X-Shopify-API-Deprecated-Reason")
        if deprecated:
            self._logger.warning("shopify %s uses deprecated API: %s", document.name, deprecated)
