"""Uninstall sends a signed ``app/uninstalled`` and kills every token; a reinstall works again."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from shopify_sim import SimServer

from .conftest import Receiver
from .oauth_flow import CLIENT_ID, CLIENT_SECRET, install, refresh, status_with, token_request

SECRET = "uninstall-test-secret"


def _client_credentials(sim: SimServer) -> int:
    params = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    return token_request(sim, params).status_code


def test_uninstall_sends_app_uninstalled_and_revokes_every_token(sim: SimServer, receiver: Receiver) -> None:
    domain = "tea-shop.myshopify.com"
    sim.control("config", {"webhook_target_url": receiver.url, "webhook_secret": SECRET, "shop_domain": domain})
    tokens = install(sim)
    assert status_with(sim, tokens["access_token"]) == 200

    answer = sim.control("app/uninstall", {})
    assert answer["revoked"] == 3  # access + refresh + the static token
    assert answer["installation"]["installed"] is False
    assert [d["status"] for d in answer["webhooks"]] == [200]

    (delivery,) = receiver.wait_for(1)
    assert delivery.headers["X-Shopify-Topic"] == "app/uninstalled"
    assert delivery.headers["X-Shopify-Shop-Domain"] == "tea-shop.myshopify.com"
    expected = base64.b64encode(hmac.new(SECRET.encode(), delivery.body, hashlib.sha256).digest()).decode()
    assert hmac.compare_digest(delivery.headers["X-Shopify-Hmac-Sha256"], expected)
    shop = json.loads(delivery.body)
    assert shop["id"] == 548380009
    assert shop["myshopify_domain"] == "tea-shop.myshopify.com"
    assert shop["domain"] == "tea-shop.myshopify.com"
    assert shop["name"] == "Tea Shop"
    assert shop["email"]

    assert status_with(sim, tokens["access_token"]) == 401
    assert status_with(sim, sim.access_token) == 401
    assert refresh(sim, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert _client_credentials(sim) == 400  # the app is not installed any more


def test_reinstall_after_uninstall_gives_working_tokens_and_old_ones_stay_dead(sim: SimServer) -> None:
    before = install(sim)
    sim.control("app/uninstall", {})
    after = install(sim)
    assert sim.control("app")["installed"] is True
    assert status_with(sim, after["access_token"]) == 200
    assert refresh(sim, after["refresh_token"]).status_code == 200
    assert status_with(sim, before["access_token"]) == 401
    assert refresh(sim, before["refresh_token"]).status_code == 400
    assert sim.control("stats")["token_grants"]["authorization_code"] == 2


def test_install_without_oauth_brings_back_the_static_token_and_client_credentials(sim: SimServer) -> None:
    sim.control("app/uninstall", {})
    assert _client_credentials(sim) == 400
    sim.control("app/install", {})
    assert status_with(sim, sim.access_token) == 200
    assert _client_credentials(sim) == 200


def test_uninstall_webhook_can_go_to_a_given_url(sim: SimServer, receiver: Receiver) -> None:
    answer = sim.control("app/uninstall", {"url": receiver.url})
    assert [d["topic"] for d in answer["webhooks"]] == ["app/uninstalled"]
    assert receiver.topics() == ["app/uninstalled"]


def test_reset_reinstalls_and_forgets_tokens(sim: SimServer) -> None:
    tokens = install(sim)
    sim.control("app/uninstall", {})
    sim.control("reset", {})
    assert sim.control("app")["installed"] is True
    assert status_with(sim, sim.access_token) == 200
    assert status_with(sim, tokens["access_token"]) == 401
    assert sim.control("oauth/tokens")["count"] == 0
    assert set(sim.control("stats")["token_grants"].values()) == {0}
