"""Shops in every kind and status, with distinctive credentials that no page or API answer may contain.

Built on the web ``world``: Acme Pets keeps its static-token shop and gets an install shop; Other Brand
gets a client-credentials shop that needs reconnecting; one shop installed the app before any brand
claimed it. Every credential column holds a value no other text in the product contains.

``Stores`` gives each of those shops its own Shopify simulator (its own subscriptions, token endpoint and
request log), so the page's and the API's actions run the real sync, grant and assignment over HTTP and a
test can tell which store was reached.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import request
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import update

from connector.core.database import transaction
from connector.core.runtime import Runtime
from connector.core.tables import Shop, ShopConnection, ShopStatus
from shopify_sim import SimServer
from tests.conftest import World

#: ``CONNECTOR_PUBLIC_URL`` of these tests: a sync subscribes each shop to ``WEBHOOK_URI``.
PUBLIC_URL = "https://connector.example"
WEBHOOK_URI = f"{PUBLIC_URL}/webhooks/shopify"
OTHER_CLIENT_ID = "other-client-id-0001"

#: The clock the pages and answers are read at (rt.now is pinned to it).
NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)

SECRETS = {
    "acme static access": "shpat_SECRET_acme_static_91a7",
    "acme static webhook": "whsec_SECRET_acme_static_hook_4410",
    "acme static previous webhook": "whsec_SECRET_acme_previous_hook_0042",
    "acme install access": "shpat_SECRET_acme_install_5c2e",
    "acme install refresh": "shprt_SECRET_acme_install_refresh_77d0",
    "acme install webhook": "whsec_SECRET_app_client_secret_e913",
    "other cc access": "shpat_SECRET_other_cc_3b8f",
    "other cc client secret": "ccsec_SECRET_other_client_secret_a5a5",
    "other cc webhook": "whsec_SECRET_other_cc_hook_6d21",
    "orphan access": "shpat_SECRET_orphan_0f0f",
    "orphan refresh": "shprt_SECRET_orphan_refresh_1e1e",
    "orphan webhook": "whsec_SECRET_orphan_hook_2c2c",
}


@dataclass(frozen=True)
class Shops:
    acme_static: int
    acme_install: int
    other_cc: int
    orphan: int


def seed_shops(rt: Runtime, world: World) -> Shops:
    rt.now = lambda: NOW
    with transaction(rt.sessions) as s:
        static = s.get(Shop, world.shop.id)
        assert static is not None
        static.access_token = SECRETS["acme static access"]
        static.webhook_secret = SECRETS["acme static webhook"]
        static.previous_webhook_secret = SECRETS["acme static previous webhook"]
        static.previous_secret_expires_at = NOW + timedelta(minutes=30)
        static.granted_scopes = "read_products,write_customers,write_orders"
        install = Shop(
            brand_id=world.brand.id,
            domain="acme-install.myshopify.com",
            api_base_url="https://acme-install.myshopify.com",
            access_token=SECRETS["acme install access"],
            webhook_secret=SECRETS["acme install webhook"],
            connection_kind=ShopConnection.INSTALL,
            status=ShopStatus.CONNECTED,
            access_token_expires_at=NOW + timedelta(minutes=42),
            refresh_token=SECRETS["acme install refresh"],
            refresh_token_expires_at=NOW + timedelta(days=90),
            token_refreshed_at=NOW - timedelta(minutes=18),
            granted_scopes="read_products,write_orders",
            last_success_at=NOW - timedelta(minutes=3),
            rate_limit=json.dumps(
                {"available": 1800, "maximum": 2000, "restore_rate": 100, "at": "2026-12-06T08:57:00Z"}
            ),
            webhooks_synced_at=NOW - timedelta(hours=2),
            webhook_health=json.dumps({"ok": True, "created": 2, "deleted": 0, "topics": ["orders/fulfilled"]}),
            installed_at=NOW - timedelta(days=3),
        )
        other_cc = Shop(
            brand_id=world.other_brand.id,
            domain="other-cc.myshopify.com",
            api_base_url="https://other-cc.myshopify.com",
            access_token=SECRETS["other cc access"],
            webhook_secret=SECRETS["other cc webhook"],
            connection_kind=ShopConnection.CLIENT_CREDENTIALS,
            client_id=OTHER_CLIENT_ID,
            client_secret=SECRETS["other cc client secret"],
            status=ShopStatus.NEEDS_RECONNECT,
            status_reason="Shopify refused the client credentials (invalid_client)",
            status_changed_at=NOW - timedelta(hours=1),
            access_token_expires_at=NOW - timedelta(hours=1),
            granted_scopes="read_products,write_customers,write_orders",
        )
        orphan = Shop(
            brand_id=None,
            domain="orphan-store.myshopify.com",
            api_base_url="https://orphan-store.myshopify.com",
            access_token=SECRETS["orphan access"],
            webhook_secret=SECRETS["orphan webhook"],
            connection_kind=ShopConnection.INSTALL,
            status=ShopStatus.AWAITING_BRAND,
            refresh_token=SECRETS["orphan refresh"],
            access_token_expires_at=NOW + timedelta(minutes=50),
            granted_scopes="read_products,write_customers,write_orders",
            installed_at=NOW - timedelta(minutes=5),
        )
        s.add_all([install, other_cc, orphan])
        s.flush()
        return Shops(static.id, install.id, other_cc.id, orphan.id)


def shop_state(rt: Runtime, shop_id: int) -> dict[str, Any]:
    """Every column of the shop row, to show an action changed nothing."""
    with rt.sessions() as s:
        shop = s.get(Shop, shop_id)
        assert shop is not None
        return {attr.key: getattr(shop, attr.key) for attr in sa_inspect(Shop).column_attrs}


def leaked(text: str) -> list[str]:
    """The names of the credentials ``text`` contains (there must be none)."""
    return [name for name, value in SECRETS.items() if value in text]


@dataclass
class Store:
    """One shop's simulated Shopify store, and every request it received (control calls aside)."""

    sim: SimServer
    received: list[str] = field(default_factory=list)

    def subscriptions(self) -> set[tuple[str, str]]:
        """(topic, uri) of every webhook subscription the store holds."""
        with self.sim.state.store.lock:
            return {(s.topic, s.uri) for s in self.sim.state.store.webhook_subscriptions.values()}


@dataclass
class Stores:
    """The four shops' stores by shop id (``serve``), each shop's ``api_base_url`` pointing at its own."""

    by_name: dict[str, Store]
    by_shop: dict[int, Store] = field(default_factory=dict)

    def __getitem__(self, shop_id: int) -> Store:
        return self.by_shop[shop_id]

    def serve(self, rt: Runtime, shops: Shops) -> None:
        with transaction(rt.sessions) as s:
            for name, shop_id in vars(shops).items():
                store = self.by_shop[shop_id] = self.by_name[name]
                s.execute(update(Shop).where(Shop.id == shop_id).values(api_base_url=store.sim.base_url))


#: What each store accepts: the shop's own access token; the client-credentials app's id and secret.
_STORES = {
    "acme_static": {"access_token": SECRETS["acme static access"], "shop_domain": "acme-pets.myshopify.com"},
    "acme_install": {"access_token": SECRETS["acme install access"], "shop_domain": "acme-install.myshopify.com"},
    "other_cc": {
        "access_token": SECRETS["other cc access"],
        "shop_domain": "other-cc.myshopify.com",
        "client_id": OTHER_CLIENT_ID,
        "client_secret": SECRETS["other cc client secret"],
    },
    "orphan": {"access_token": SECRETS["orphan access"], "shop_domain": "orphan-store.myshopify.com"},
}


@contextmanager
def running_stores() -> Iterator[Stores]:
    """Start one simulator per seeded shop; each records the path of every request a client sent it."""
    with ExitStack() as stack:
        stores = {}
        for name, config in _STORES.items():
            store = Store(SimServer(**config))

            def remember(received: list[str] = store.received) -> None:
                if not request.path.startswith("/_sim/"):
                    received.append(request.path)

            store.sim.app.before_request(remember)
            stack.enter_context(store.sim)
            stores[name] = store
        yield Stores(stores)
