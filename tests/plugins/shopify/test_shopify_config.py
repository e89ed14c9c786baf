"""Plugin settings: defaults work with no configuration; malformed values fail loudly."""

from __future__ import annotations

import pytest

from connector.core.errors import ProviderError
from connector.plugins.shopify.config import ShopifyConfig


def test_defaults():
    config = ShopifyConfig.from_mapping({})
    assert config.currency == "USD"
    assert config.order_lookup_lag_seconds == 300
    assert (config.connect_timeout_seconds, config.read_timeout_seconds) == (3.0, 10.0)
    assert config.throttle_max_wait_seconds == 30.0
    assert config.test_orders is False


def test_values_are_read():
    config = ShopifyConfig.from_mapping(
        {
            "SHOPIFY_CURRENCY": " cad ",
            "SHOPIFY_ORDER_LOOKUP_LAG_SECONDS": "120",
            "SHOPIFY_TIMEOUT_SECONDS": "15",
            "SHOPIFY_CONNECT_TIMEOUT_SECONDS": "2.5",
            "SHOPIFY_THROTTLE_MAX_WAIT_SECONDS": "0",
            "SHOPIFY_TEST_ORDERS": "true",
        }
    )
    assert config.currency == "CAD"
    assert config.order_lookup_lag_seconds == 120
    assert (config.connect_timeout_seconds, config.read_timeout_seconds) == (2.5, 15)
    assert config.throttle_max_wait_seconds == 0
    assert config.test_orders is True


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("SHOPIFY_TIMEOUT_SECONDS", "ten"),
        ("SHOPIFY_TIMEOUT_SECONDS", "0"),
        ("SHOPIFY_ORDER_LOOKUP_LAG_SECONDS", "-5"),
        ("SHOPIFY_ORDER_LOOKUP_LAG_SECONDS", "nan"),
        ("SHOPIFY_CURRENCY", "dollars"),
        ("SHOPIFY_TEST_ORDERS", "maybe"),
    ],
)
def test_malformed_values_name_the_setting(key, value):
    with pytest.raises(ProviderError) as caught:
        ShopifyConfig.from_mapping({key: value})
    assert caught.value.code == "plugin_config_invalid" and not caught.value.retryable
    assert key in caught.value.message and caught.value.field == key
