"""``catalog.add_shop``: the access token's destination is checked when the shop is connected.

The token goes to ``api_base_url``: only the shop's own ``https://{shop}.myshopify.com`` unless the
installation allows a custom address (the simulator), never one with credentials in it. A refusal names
the field and stores nothing.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from connector.core import catalog
from connector.core.database import transaction
from connector.core.errors import ValidationError
from connector.core.tables import Shop

DOMAIN = "acme.myshopify.com"


def _add(rt, api_base_url: str | None, allow: bool) -> Shop:
    with transaction(rt.sessions) as s:
        brand = catalog.create_brand(s, "Acme")
        return catalog.add_shop(
            s,
            brand,
            domain=DOMAIN,
            access_token="shpat_x",
            webhook_secret="whsec_0123456789abcdef",
            api_base_url=api_base_url,
            allow_custom_api_base=allow,
        )


def _shops(rt) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Shop)) or 0)


@pytest.mark.parametrize(
    ("url", "allow", "says"),
    [
        ("http://127.0.0.1:9", False, "SHOPIFY_ALLOW_CUSTOM_API_BASE=true"),
        ("http://acme.myshopify.com", False, "https://acme.myshopify.com"),
        ("https://evil.example", False, "https://acme.myshopify.com"),
        ("https://acme.myshopify.com/admin", False, "https://acme.myshopify.com"),
        ("http://sim:pw0rd@127.0.0.1:9", True, "credentials"),
        ("https://user@acme.myshopify.com", True, "credentials"),
        ("ftp://127.0.0.1:9", True, "http:// or https://"),
        ("http://127.0.0.1:9?x=1", True, "query"),
    ],
)
def test_add_shop_refuses_where_the_token_must_not_go(make_runtime, url: str, allow: bool, says: str):
    rt = make_runtime()
    with pytest.raises(ValidationError) as caught:
        _add(rt, url, allow)
    problem = caught.value.fields["api_base_url"]
    assert says in problem and "pw0rd" not in problem
    assert _shops(rt) == 0


@pytest.mark.parametrize(
    ("url", "allow", "stored"),
    [
        (None, False, "https://acme.myshopify.com"),
        ("https://acme.myshopify.com/", False, "https://acme.myshopify.com"),
        ("http://127.0.0.1:9", True, "http://127.0.0.1:9"),
    ],
)
def test_add_shop_accepts_the_shops_own_address_and_an_allowed_simulator(
    make_runtime, url: str | None, allow: bool, stored: str
):
    rt = make_runtime()
    _add(rt, url, allow)
    with rt.sessions() as s:
        assert s.scalars(select(Shop.api_base_url)).one() == stored


def test_the_test_settings_allow_the_simulator_explicitly(settings):
    """The suite's shops live in the simulator on 127.0.0.1: the test settings say so, as an installation must."""
    assert settings.allow_custom_shop_api_base is True
    assert settings.plugin_config("shopify")["SHOPIFY_ALLOW_CUSTOM_API_BASE"] == "true"
