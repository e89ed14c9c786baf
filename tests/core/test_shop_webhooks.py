"""The host's webhook sync: one shop at a time, its own row only, the Shopify simulator over real HTTP.

``core.shop_webhooks`` runs ``connector_sync_webhooks`` for a shop and keeps the outcome on that shop's
row (``webhooks_synced_at``, ``webhook_health``); ``connector shops sync-webhooks`` runs it from the
command line and says when nothing changed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from sqlalchemy import select, update

from connector.core import catalog, shop_webhooks
from connector.core.database import transaction
from connector.core.errors import NotFoundError, ValidationError
from connector.core.runtime import Runtime
from connector.core.tables import Brand, Shop, ShopStatus
from shopify_sim import SimServer
from tests.conftest import seed_world

PUBLIC_URL = "https://rewards.example.com"
URI = f"{PUBLIC_URL}/webhooks/shopify"
TOKEN = "shpat_test_token"  # seed_world's shop token
OTHER_DOMAIN = "other-brand.myshopify.com"
OTHER_TOKEN = "shpat_other_token"


@pytest.fixture
def sim() -> Iterator[SimServer]:
    with SimServer(access_token=TOKEN, shop_domain="acme-pets.myshopify.com") as server:
        yield server


@pytest.fixture
def other_sim() -> Iterator[SimServer]:
    with SimServer(access_token=OTHER_TOKEN, shop_domain=OTHER_DOMAIN) as server:
        yield server


def add_other_shop(rt: Runtime, other_sim: SimServer, brand_id: int) -> int:
    with transaction(rt.sessions) as s:
        brand = s.get(Brand, brand_id)
        shop = catalog.add_shop(
            s,
            brand,
            domain=OTHER_DOMAIN,
            access_token=OTHER_TOKEN,
            webhook_secret="whsec_other_secret_0123456789",
            api_base_url=other_sim.base_url,
            allow_custom_api_base=True,
        )
        s.flush()
        return shop.id


def row(rt: Runtime, shop_id: int) -> Shop:
    with rt.sessions() as s:
        shop = s.scalars(select(Shop).where(Shop.id == shop_id)).one()
        s.expunge(shop)
        return shop


def subscriptions(server: SimServer) -> dict[int, tuple[str, str, str | None]]:
    with server.state.store.lock:
        return {s.id: (s.topic, s.uri, s.filter) for s in server.state.store.webhook_subscriptions.values()}


@pytest.mark.hook("connector_sync_webhooks")
def test_sync_keeps_the_outcome_on_the_shops_row_and_a_second_run_changes_nothing(make_runtime, sim: SimServer):
    rt = make_runtime()
    world = seed_world(rt, api_base_url=sim.base_url)

    first = shop_webhooks.sync_shop_webhooks(rt, world.shop.id, public_url=PUBLIC_URL + "/")
    assert first.report is not None and first.changed and first.report.created == 6
    stored = row(rt, world.shop.id)
    assert stored.webhooks_synced_at is not None
    health = json.loads(stored.webhook_health or "{}")
    assert health["healthy"] and health["uri"] == URI and health["created"] == 6
    assert health["topics"]["orders/fulfilled"]["status"] == "created"
    assert "tags:loyalty-reward" in health["topics"]["orders/fulfilled"]["filter"]
    assert {uri for _, uri, _ in subscriptions(sim).values()} == {URI}

    second = shop_webhooks.sync_shop_webhooks(rt, world.shop.id, public_url=PUBLIC_URL)
    assert second.report is not None and not second.changed and second.report.unchanged == 6
    health = json.loads(row(rt, world.shop.id).webhook_health or "{}")
    assert (health["created"], health["unchanged"]) == (0, 6)
    assert {t["status"] for t in health["topics"].values()} == {"ok"}


def test_syncing_one_shop_never_reaches_another_shop_or_its_row(make_runtime, sim: SimServer, other_sim: SimServer):
    rt = make_runtime()
    world = seed_world(rt, api_base_url=sim.base_url)
    other_id = add_other_shop(rt, other_sim, world.other_brand.id)
    shop_webhooks.sync_shop_webhooks(rt, other_id, public_url=PUBLIC_URL)
    before = (subscriptions(other_sim), len(other_sim.state.logged_requests()), row(rt, other_id).webhook_health)

    shop_webhooks.sync_shop_webhooks(rt, world.shop.id, public_url="https://elsewhere.example.com")
    # A brand admin of the first brand asking for the other brand's shop finds nothing.
    with pytest.raises(NotFoundError):
        shop_webhooks.sync_shop_webhooks(rt, other_id, public_url=PUBLIC_URL, brand_id=world.brand.id)

    after = (subscriptions(other_sim), len(other_sim.state.logged_requests()), row(rt, other_id).webhook_health)
    assert after == before
    assert len(subscriptions(sim)) == 6


def test_a_shop_that_is_not_connected_gets_no_call(make_runtime, sim: SimServer):
    rt = make_runtime()
    world = seed_world(rt, api_base_url=sim.base_url)
    with transaction(rt.sessions) as s:
        s.execute(
            update(Shop)
            .where(Shop.id == world.shop.id)
            .values(status=ShopStatus.DISCONNECTED, status_reason="app uninstalled", webhook_health='{"kept": 1}')
        )
    result = shop_webhooks.sync_shop_webhooks(rt, world.shop.id, public_url=PUBLIC_URL)
    assert result.report is None and "disconnected" in (result.skipped or "").lower()
    assert sim.state.logged_requests() == []
    assert row(rt, world.shop.id).webhook_health == '{"kept": 1}'


def test_a_shop_that_cannot_be_reached_keeps_the_error_as_its_health(make_runtime, sim: SimServer):
    rt = make_runtime()
    world = seed_world(rt, api_base_url=sim.base_url)
    sim.control("faults", {"rates": {"503": 1.0}})
    result = shop_webhooks.sync_shop_webhooks(rt, world.shop.id, public_url=PUBLIC_URL)
    assert result.report is None and result.error
    stored = row(rt, world.shop.id)
    assert stored.webhooks_synced_at is None
    health = json.loads(stored.webhook_health or "{}")
    assert not health["healthy"] and health["error"] == result.error
    assert "HTTP 503" in result.error and "Sync again" in result.error


@pytest.mark.parametrize(
    "public_url", [None, "", "rewards.example.com", "ftp://rewards.example.com", f"{PUBLIC_URL}?x=1"]
)
def test_a_missing_or_bad_public_url_is_refused_with_the_variable_named(public_url):
    with pytest.raises(ValidationError) as caught:
        shop_webhooks.webhook_uri(public_url, "shopify")
    assert "CONNECTOR_PUBLIC_URL" in caught.value.message and "CONNECTOR_PUBLIC_URL" in caught.value.fields


# -- the command ----------------------------------------------------------------------------------------


def run_cli(rt: Runtime, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    environment.update(
        CONNECTOR_DATABASE_URL=rt.settings.database_url,
        CONNECTOR_ENCRYPTION_KEYS=",".join(rt.settings.encryption_keys),
        CONNECTOR_JOBS_MODE="sync",
        **rt.settings.plugin_env,
        **env,
    )
    return subprocess.run(
        [sys.executable, "-m", "connector", "shops", "sync-webhooks", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_command_syncs_and_a_second_run_says_nothing_changed(make_runtime, sim: SimServer):
    rt = make_runtime()
    world = seed_world(rt, api_base_url=sim.base_url)
    domain = world.shop.domain

    first = run_cli(rt, "--shop", domain, CONNECTOR_PUBLIC_URL=PUBLIC_URL)
    assert first.returncode == 0, first.stderr
    assert f"{domain}: 6 created, 0 updated, 0 deleted, 0 unchanged" in first.stdout

    mutations_before = sim.control("stats")["mutations_executed"]
    second = run_cli(rt, "--all", CONNECTOR_PUBLIC_URL=PUBLIC_URL)
    assert second.returncode == 0, second.stderr
    assert f"{domain}: already in sync, nothing changed (6 subscriptions checked)" in second.stdout
    assert sim.control("stats")["mutations_executed"] == mutations_before
    assert TOKEN not in first.stdout + first.stderr + second.stdout + second.stderr


def test_the_command_refuses_without_a_public_url_or_a_known_shop(make_runtime, sim: SimServer):
    rt = make_runtime()
    world = seed_world(rt, api_base_url=sim.base_url)
    missing = run_cli(rt, "--shop", world.shop.domain)
    assert missing.returncode != 0 and "CONNECTOR_PUBLIC_URL" in missing.stderr
    unknown = run_cli(rt, "--shop", "nobody.myshopify.com", CONNECTOR_PUBLIC_URL=PUBLIC_URL)
    assert unknown.returncode != 0 and "no shop nobody.myshopify.com" in unknown.stderr
    neither = run_cli(rt, CONNECTOR_PUBLIC_URL=PUBLIC_URL)
    assert neither.returncode != 0 and "--shop DOMAIN or --all" in neither.stderr
    assert sim.state.logged_requests() == []
