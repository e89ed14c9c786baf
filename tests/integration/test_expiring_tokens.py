"""Expiring offline tokens under load: real rq workers (forking), real PostgreSQL/Redis, the simulator's OAuth.

The shop is connected through the simulator's authorize page and code exchange, with access tokens that
live 3 seconds, so they expire many times while two workers fulfil 200 redemptions.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import func, select

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.hooktypes import GRANT_AUTHORIZATION_CODE, TokenGrantRequest
from connector.core.model import Role
from connector.core.redemptions import create_redemption
from connector.core.shop_tokens import request_grant, store_grant
from connector.core.tables import Redemption, RedemptionEventRow, Shop, ShopConnection
from connector.dispatch import RqDispatcher
from tests.conftest import seed_world
from tests.integration.conftest import worker_env

pytestmark = [pytest.mark.redis, pytest.mark.slow]
SUPPORT = Actor("support", Role.SUPPORT)
CLIENT_ID = "connector-app"
CLIENT_SECRET = "shpss_app_secret_0123456789abcdef"
DOMAIN = "acme-pets.myshopify.com"
APP_ENV = {"SHOPIFY_CLIENT_ID": CLIENT_ID, "SHOPIFY_CLIENT_SECRET": CLIENT_SECRET}


@pytest.fixture
def oauth_sim():
    from shopify_sim import SimServer

    server = SimServer(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        webhook_secret=CLIENT_SECRET,
        shop_domain=DOMAIN,
        access_token="shpat_static_not_used",
        access_token_lifetime_seconds=3,
    )
    server.start()
    server.control("products", {"title": "Ambassador T-Shirt", "variants": [{"sku": "TSHIRT-M", "inventory": 1000}]})
    yield server
    server.stop()


def install(rt, sim, shop_id: int) -> None:
    """Connect the shop the way a merchant's install does: authorize page, then the code exchange."""
    answer = requests.get(
        f"{sim.base_url}/admin/oauth/authorize",
        params={
            "client_id": CLIENT_ID,
            "scope": "read_products,write_customers,write_orders",
            "redirect_uri": "https://connector.example/shopify/callback",
            "state": uuid.uuid4().hex,
        },
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    grant = request_grant(
        rt,
        TokenGrantRequest(
            shop_domain=DOMAIN,
            api_base_url=sim.base_url,
            grant=GRANT_AUTHORIZATION_CODE,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            code=code,
        ),
        "shopify",
    )
    with transaction(rt.sessions) as s:
        shop = s.get(Shop, shop_id)
        shop.connection_kind = ShopConnection.INSTALL
        shop.webhook_secret = CLIENT_SECRET
        store_grant(shop, grant, rt.now())


def _start_worker(rt, n: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "connector", "worker", "--burst", "--sweep-every", "0", "--name", f"tokens-{n}"],
        env=worker_env(rt),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_tokens_expiring_every_few_seconds_during_200_fulfilments_on_two_workers(make_runtime, redis_url, oauth_sim):
    queue = f"tokens-{uuid.uuid4().hex[:8]}"
    rt = make_runtime(redis_url=redis_url, jobs_mode="rq", queue_name=queue, plugin_env=APP_ENV)
    rt.dispatcher = RqDispatcher(redis_url, queue)
    world = seed_world(rt, api_base_url=oauth_sim.base_url, points=1_000_000)
    install(rt, oauth_sim, world.shop.id)
    for _ in range(200):
        create_redemption(rt, SUPPORT, member_id=world.member.id, reward_id=world.reward.id)

    started = time.monotonic()
    workers = [_start_worker(rt, n) for n in range(2)]
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    elapsed = time.monotonic() - started
    assert [w.returncode for w in workers] == [0, 0], outputs

    with rt.sessions() as s:
        statuses = dict(s.execute(select(Redemption.status, func.count()).group_by(Redemption.status)).all())
        failed_attempts = s.scalar(
            select(func.count()).select_from(RedemptionEventRow).where(RedemptionEventRow.kind == "attempt_failed")
        )
        codes = list(s.scalars(select(Redemption.code)))
        shop = s.get(Shop, world.shop.id)
        stored = (shop.access_token, shop.refresh_token, shop.status)
    assert statuses == {"fulfilled": 200}
    assert failed_attempts == 0

    orders = oauth_sim.control("orders")["orders"]
    tags = [order["source_identifier"] for order in orders]
    assert len(orders) == 200 and sorted(tags) == sorted(f"redemption-{code}" for code in codes)

    grants = oauth_sim.control("oauth/grants")["grants"]
    refreshes = [g for g in grants if g.get("grant") == "refresh_token"]
    assert all(g["status"] == 200 for g in refreshes), refreshes
    # One refresh per expiry: each refresh token was spent once, each by the refresh right after its issue.
    spent = [g["refreshed_from"] for g in refreshes]
    assert len(spent) == len(set(spent))
    chain = ["rt-1"] + [g["refresh_token_id"] for g in refreshes[:-1]]
    assert spent == chain
    # The run outlived several 3-second tokens, so it exercised renewal, not luck. (A token that expires
    # while no job needs it is renewed once, at its next use: fewer refreshes than expiries, never more.)
    assert elapsed > 6 and len(refreshes) >= 2, (len(refreshes), elapsed)
    assert len(refreshes) <= elapsed / 2.4 + 1  # at most one per token life (3 s less the 0.6 s margin)
    assert stored[2] == "connected"

    # Secrets never reach the workers' logs.
    text = "\n".join(outputs)
    for secret in (CLIENT_SECRET, stored[0], stored[1]):
        assert secret not in text
    print(f"\n200 fulfilments on 2 workers in {elapsed:.1f}s with {len(refreshes)} refreshes (3 s tokens)")


def test_a_lost_refresh_answer_is_recovered_with_the_old_refresh_token(make_runtime, oauth_sim):
    rt = make_runtime(plugin_env=APP_ENV)  # jobs inline
    world = seed_world(rt, api_base_url=oauth_sim.base_url, points=10_000)
    install(rt, oauth_sim, world.shop.id)
    oauth_sim.control("oauth/expire", {})  # the stored token is dead: the next call must refresh
    # Shopify renews the tokens, then the answer is lost on the way back.
    oauth_sim.control("faults", {"queue": [{"kind": "after_effect_500", "operation": "oauth:refresh_token"}]})

    rid = create_redemption(rt, SUPPORT, member_id=world.member.id, reward_id=world.reward.id).redemption.id

    with rt.sessions() as s:
        redemption = s.get(Redemption, rid)
        shop = s.get(Shop, world.shop.id)
        assert (redemption.status, redemption.error_code) == ("fulfilled", None)
        assert shop.status == "connected"
    refreshes = [g for g in oauth_sim.control("oauth/grants")["grants"] if g.get("grant") == "refresh_token"]
    # The lost one and its retry both spent rt-1: Shopify keeps it until its replacement is used.
    assert [g["refreshed_from"] for g in refreshes] == ["rt-1", "rt-1"]
    assert len(oauth_sim.control("orders")["orders"]) == 1
