"""The per-shop key/value cache plugins reach through ``ShopInfo.cache`` (``core.shop_cache``).

Shared by every process (it is a table, not memory), zero-config on SQLite, and confined to one
shop: a shop's cache and a shop's webhook never read or drop another shop's entries.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connector.core import catalog
from connector.core.database import make_engine, make_session_factory, transaction
from connector.core.hooktypes import ForgetCached
from connector.core.shop_cache import DatabaseShopCache
from connector.core.shop_cache_tables import ShopCacheEntry
from connector.core.shop_tokens import shop_for_plugin
from connector.core.tables import Shop
from connector.core.webhook_effects import ShopScope, apply_effect
from connector.encryption import load_keyring
from connector.migrations import upgrade
from tests.conftest import seed_world

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _other_shop(rt, brand) -> int:
    with transaction(rt.sessions) as s:
        shop = catalog.add_shop(
            s,
            s.merge(brand),
            domain="other-brand.myshopify.com",
            access_token="shpat_other",
            webhook_secret="whsec_other_secret_0123456789",
        )
        s.flush()
        return shop.id


def test_a_value_put_by_one_process_is_read_by_another_on_sqlite_with_no_setup(tmp_path: Path, settings):
    url = f"sqlite:///{tmp_path / 'zero-config.sqlite3'}"
    upgrade(url)  # migration 0012 creates the table on SQLite too
    keyring = load_keyring(settings)
    engines = [make_engine(url, keyring=keyring), make_engine(url, keyring=keyring)]  # two processes' pools
    try:
        first, second = (make_session_factory(e) for e in engines)
        with transaction(first) as s:
            brand = catalog.create_brand(s, "Zero Config")
            shop = catalog.add_shop(s, brand, domain="zero.myshopify.com", access_token="t", webhook_secret="w" * 20)
            s.flush()
            shop_id = shop.id
        writer = DatabaseShopCache(first, shop_id, lambda: T0)
        reader = DatabaseShopCache(second, shop_id, lambda: T0)
        assert reader.get("variant-by-sku:A") is None
        writer.put("variant-by-sku:A", '{"id": 1}', tag="product:1")
        assert reader.get("variant-by-sku:A") == '{"id": 1}'
        reader.put("variant-by-sku:A", '{"id": 2}', tag="product:2")  # replaced, not duplicated
        assert writer.get("variant-by-sku:A") == '{"id": 2}'
        with second() as s:
            assert s.scalar(select(func.count()).select_from(ShopCacheEntry)) == 1
    finally:
        for engine in engines:
            engine.dispose()


def test_entries_expire_and_are_forgotten_by_key_or_tag(make_runtime):
    rt = make_runtime()
    w = seed_world(rt)
    now = [T0]
    cache = DatabaseShopCache(rt.sessions, w.shop.id, lambda: now[0])
    cache.put("a", "1", tag="product:1", ttl_seconds=60)
    cache.put("b", "2", tag="product:1")
    cache.put("c", "3", tag="product:2")
    now[0] = T0 + timedelta(seconds=61)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, "2", "3")  # expired reads as absent
    cache.put("a", "again", ttl_seconds=60)  # an expired key is simply written over
    assert cache.get("a") == "again"
    assert cache.forget(tags=["product:1"]) == 1 and cache.get("b") is None
    assert cache.forget(keys=["c", "missing"]) == 1 and cache.get("c") is None
    assert cache.forget() == 0
    with pytest.raises(ValueError, match="1 to 255 characters"):
        cache.put("k" * 256, "v")


def test_one_shops_cache_and_webhooks_never_touch_another_shops_entries(make_runtime):
    rt = make_runtime()
    w = seed_world(rt)
    other_id = _other_shop(rt, w.other_brand)
    with rt.sessions() as s:
        mine = shop_for_plugin(rt, s.get(Shop, w.shop.id))
        theirs = shop_for_plugin(rt, s.get(Shop, other_id))
    assert mine is not None and mine.cache is not None and theirs is not None and theirs.cache is not None
    mine.cache.put("variant-by-sku:TSHIRT-M", "mine", tag="product:gid://shopify/Product/1")
    theirs.cache.put("variant-by-sku:TSHIRT-M", "theirs", tag="product:gid://shopify/Product/1")
    assert (mine.cache.get("variant-by-sku:TSHIRT-M"), theirs.cache.get("variant-by-sku:TSHIRT-M")) == (
        "mine",
        "theirs",
    )

    assert theirs.cache.forget(keys=["variant-by-sku:TSHIRT-M"]) == 1
    assert mine.cache.get("variant-by-sku:TSHIRT-M") == "mine"

    theirs.cache.put("variant-by-sku:TSHIRT-M", "theirs", tag="product:gid://shopify/Product/1")
    effect = ForgetCached(keys=("variant-by-sku:TSHIRT-M",), tags=("product:gid://shopify/Product/1",))
    scope = ShopScope(shop_id=other_id, brand_id=w.other_brand.id, domain="other-brand.myshopify.com")
    with transaction(rt.sessions) as s:
        apply_effect(rt, s, effect, scope, "test", T0)
    assert theirs.cache.get("variant-by-sku:TSHIRT-M") is None
    assert mine.cache.get("variant-by-sku:TSHIRT-M") == "mine"  # the same key and tag, another shop: kept
