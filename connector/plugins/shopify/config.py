"""The plugin's settings, read from the host's ``HookContext.config`` mapping.

Every setting has a safe default so a shop works with no configuration at all;
a value that is present but malformed fails loudly (a typo in a timeout must
not silently turn into "wait forever" or "never wait").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from connector.core.errors import ProviderError
from connector.core.hooktypes import ALLOW_CUSTOM_API_BASE

#: ``CurrencyCode`` of the zero-priced line item (the shop's own currency).
CURRENCY = "SHOPIFY_CURRENCY"
#: Seconds after ``submitted_at`` during which a missing order is "not found yet" rather than "never made".
ORDER_LOOKUP_LAG = "SHOPIFY_ORDER_LOOKUP_LAG_SECONDS"
#: Read timeout of one Admin API request.
TIMEOUT = "SHOPIFY_TIMEOUT_SECONDS"
#: Connect timeout of one Admin API request.
CONNECT_TIMEOUT = "SHOPIFY_CONNECT_TIMEOUT_SECONDS"
#: Longest total wait for the rate limit inside one hook call before giving the job back as ``throttled``.
THROTTLE_MAX_WAIT = "SHOPIFY_THROTTLE_MAX_WAIT_SECONDS"
#: How long ``connector_cancel_order`` polls Shopify's asynchronous cancel job before answering.
CANCEL_POLL = "SHOPIFY_CANCEL_POLL_SECONDS"
#: "true" marks reward orders as test orders (development stores).
TEST_ORDERS = "SHOPIFY_TEST_ORDERS"
#: "false" subscribes to webhooks without the reward-order filters (every order and fulfilment event arrives).
WEBHOOK_FILTERS = "SHOPIFY_WEBHOOK_FILTERS"

#: How long a SKU's variant is reused without asking Shopify (0: ask every time); webhooks invalidate it sooner.
VARIANT_CACHE = "SHOPIFY_VARIANT_CACHE_SECONDS"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class ShopifyConfig:
    currency: str = "USD"
    #: After an attempt that may have created the order, how long to keep looking before creating one (search lags).
    order_lookup_lag_seconds: float = 300.0
    read_timeout_seconds: float = 10.0
    connect_timeout_seconds: float = 3.0
    throttle_max_wait_seconds: float = 30.0
    cancel_poll_seconds: float = 5.0
    test_orders: bool = False
    #: Webhook subscriptions carry ``filter``s so order and fulfilment events arrive for reward orders only.
    webhook_filters: bool = True
    #: ``SHOPIFY_ALLOW_CUSTOM_API_BASE``: a shop's API base URL may be other than its own
    #: ``https://{shop}.myshopify.com`` (the local simulator of the demo and the tests). Off by default.
    allow_custom_api_base: bool = False
    #: A day: ``products/update`` and a product-not-found answer invalidate sooner; this bounds a lost webhook.
    variant_cache_seconds: float = 86400.0

    @classmethod
    def from_mapping(cls, config: Mapping[str, str]) -> ShopifyConfig:
        default = cls()
        currency = (config.get(CURRENCY) or default.currency).strip().upper()
        if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
            raise _invalid(CURRENCY, currency, "a three-letter ISO 4217 currency code such as USD or CAD")
        return cls(
            currency=currency,
            order_lookup_lag_seconds=_seconds(config, ORDER_LOOKUP_LAG, default.order_lookup_lag_seconds),
            read_timeout_seconds=_seconds(config, TIMEOUT, default.read_timeout_seconds, positive=True),
            connect_timeout_seconds=_seconds(config, CONNECT_TIMEOUT, default.connect_timeout_seconds, positive=True),
            throttle_max_wait_seconds=_seconds(config, THROTTLE_MAX_WAIT, default.throttle_max_wait_seconds),
            cancel_poll_seconds=_seconds(config, CANCEL_POLL, default.cancel_poll_seconds),
            test_orders=_flag(config, TEST_ORDERS, default.test_orders),
            webhook_filters=_flag(config, WEBHOOK_FILTERS, default.webhook_filters),
            allow_custom_api_base=_flag(config, ALLOW_CUSTOM_API_BASE, default.allow_custom_api_base),
            variant_cache_seconds=_seconds(config, VARIANT_CACHE, default.variant_cache_seconds),
        )


def _seconds(config: Mapping[str, str], key: str, default: float, positive: bool = False) -> float:
    raw = config.get(key)
    if raw is None or str(raw).strip() == "":
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise _invalid(key, raw, "a number of seconds") from None
    if value != value or value < 0 or (positive and value == 0) or value == float("inf"):
        raise _invalid(key, raw, "a positive number of seconds" if positive else "zero or more seconds")
    return value


def _flag(config: Mapping[str, str], key: str, default: bool) -> bool:
    raw = config.get(key)
    if raw is None:
        return default
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _invalid(key, raw, "true or false")


def _invalid(key: str, raw: object, expected: str) -> ProviderError:
    return ProviderError(
        "plugin_config_invalid",
        f"Setting {key}={raw!r} is not valid: expected {expected}.",
        fix=f"Correct {key} in the connector's configuration, then retry.",
        retryable=False,
        field=key,
    )
