"""``POST /api/v1/shops``: the three ways to connect a shop, each brand only its own, never a secret answered."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.tables import Shop, ShopConnection, ShopInstallState, ShopStatus
from shopify_sim import SimServer
from tests import install_flow
from tests.conftest import World
from tests.install_flow import CLIENT_ID, CLIENT_SECRET, NEW_SHOP, PUBLIC_URL, app_env, shop_rows, token_grants
from tests.web.conftest import Tokens
from tests.web.support import bearer, make_token

oauth_sim_server = install_flow.oauth_sim_server
oauth_sim = install_flow.oauth_sim
STATIC_TOKEN, STATIC_SECRET = "shpat_static_0123456789", "static-app-secret-0123456789"


@pytest.fixture
def rt(make_runtime, shop, oauth_sim: SimServer) -> Runtime:
    return make_runtime(plugins=[shop], plugin_env=app_env(oauth_sim), public_url=PUBLIC_URL)


@pytest.fixture
def platform(rt: Runtime, world: World) -> str:
    return make_token(rt, Role.PLATFORM_ADMIN, name="platform")


def _post(client: FlaskClient, token: str, body: dict[str, object]):
    return client.post("/api/v1/shops", json=body, headers=bearer(token))


def _cc(oauth_sim: SimServer, **extra: object) -> dict[str, object]:
    return {
        "shop": NEW_SHOP,
        "connection_kind": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "api_base_url": oauth_sim.base_url,
        **extra,
    }


def _shop(rt: Runtime, domain: str = NEW_SHOP) -> Shop | None:
    with rt.sessions() as s:
        return s.scalars(select(Shop).where(Shop.domain == domain)).first()


def test_install_answers_the_link_to_open_in_a_signed_in_browser(
    rt: Runtime, client: FlaskClient, tokens: Tokens, world: World
):
    answer = _post(client, tokens.admin, {"shop": "New-Shop.myshopify.com", "connection_kind": "install"})
    assert answer.status_code == 200, answer.json
    url = urlsplit(answer.json["install_url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{PUBLIC_URL}/shopify/install"
    assert dict(parse_qsl(url.query)) == {"shop": NEW_SHOP, "brand": str(world.brand.id)}
    with rt.sessions() as s:
        assert s.scalars(select(ShopInstallState)).first() is None  # the browser's visit makes the state
    assert _shop(rt) is None


def test_client_credentials_connect_the_shop_and_answer_no_secret(
    rt: Runtime, client: FlaskClient, tokens: Tokens, world: World, oauth_sim: SimServer, caplog
):
    caplog.set_level(logging.DEBUG, logger="connector")
    answer = _post(client, tokens.admin, _cc(oauth_sim))
    assert answer.status_code == 201, answer.json
    stored = _shop(rt)
    assert answer.json == {
        "id": stored.id,
        "domain": NEW_SHOP,
        "brand_id": world.brand.id,
        "connection_kind": "client_credentials",
        "status": "connected",
        "granted_scopes": stored.granted_scopes.split(","),
        "access_token_expires_at": answer.json["access_token_expires_at"],
        "api_base_url": oauth_sim.base_url,
    }
    assert answer.json["access_token_expires_at"].endswith("Z")
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("connector"))
    for secret in (CLIENT_SECRET, stored.access_token):
        assert secret not in answer.text and secret not in logged


def test_a_static_token_is_stored_as_today_with_its_kind(
    rt: Runtime, client: FlaskClient, platform: str, world: World, oauth_sim: SimServer
):
    body = {
        "shop": NEW_SHOP,
        "connection_kind": "static_token",
        "brand_id": world.other_brand.id,
        "access_token": STATIC_TOKEN,
        "webhook_secret": STATIC_SECRET,
        "api_base_url": oauth_sim.base_url,
    }
    answer = _post(client, platform, body)
    assert answer.status_code == 201, answer.json
    assert (answer.json["connection_kind"], answer.json["status"], answer.json["brand_id"]) == (
        "static_token",
        "connected",
        world.other_brand.id,
    )
    assert STATIC_TOKEN not in answer.text and STATIC_SECRET not in answer.text
    stored = _shop(rt)
    assert (stored.access_token, stored.webhook_secret, stored.connection_kind) == (
        STATIC_TOKEN,
        STATIC_SECRET,
        ShopConnection.STATIC_TOKEN,
    )
    assert token_grants(oauth_sim) == []


def test_each_kind_names_the_fields_it_needs(rt: Runtime, client: FlaskClient, tokens: Tokens, platform: str):
    answer = _post(client, tokens.admin, {"shop": NEW_SHOP, "connection_kind": "client_credentials"})
    assert answer.status_code == 422 and set(answer.json["error"]["fields"]) == {"client_id", "client_secret"}
    answer = _post(client, tokens.admin, {"shop": NEW_SHOP, "connection_kind": "static_token", "access_token": "x"})
    assert answer.status_code == 422 and set(answer.json["error"]["fields"]) == {"webhook_secret"}
    answer = _post(client, platform, {"shop": NEW_SHOP, "connection_kind": "static_token"})
    assert answer.status_code == 422 and "brand_id" in answer.json["error"]["fields"]
    answer = _post(client, tokens.admin, {"shop": "acme.example.com", "connection_kind": "install"})
    assert answer.status_code == 422 and "myshopify.com" in answer.json["error"]["fields"]["shop"]
    answer = _post(client, tokens.admin, {"shop": NEW_SHOP, "connection_kind": "oauth"})
    assert answer.status_code == 422 and "install, client_credentials, static_token" in answer.text
    assert _shop(rt) is None


def test_refused_client_credentials_store_nothing(rt: Runtime, client: FlaskClient, tokens: Tokens, oauth_sim):
    before = shop_rows(rt)
    answer = _post(client, tokens.admin, _cc(oauth_sim, client_secret="wrong-secret-0123456789"))
    assert answer.status_code == 422
    assert "invalid_client" in answer.json["error"]["fields"]["client_secret"]
    assert "wrong-secret-0123456789" not in answer.text
    assert shop_rows(rt) == before


def test_roles_that_cannot_configure_are_refused(rt: Runtime, client: FlaskClient, tokens: Tokens, oauth_sim):
    for token in (tokens.support, tokens.viewer):
        assert _post(client, token, _cc(oauth_sim)).status_code == 403
    assert _shop(rt) is None and token_grants(oauth_sim) == []


def test_a_brand_admin_never_connects_for_another_brand_nor_takes_its_shop(
    rt: Runtime, client: FlaskClient, tokens: Tokens, world: World, oauth_sim: SimServer
):
    before = shop_rows(rt)
    # brand B's admin naming brand A: reported as missing, like any other brand's resource
    answer = _post(client, tokens.other_admin, _cc(oauth_sim, brand_id=world.brand.id))
    assert answer.status_code == 404
    install = {"shop": NEW_SHOP, "connection_kind": "install", "brand_id": world.brand.id}
    assert _post(client, tokens.other_admin, install).status_code == 404
    # brand A's shop, by every kind
    taken = "acme-pets.myshopify.com"
    for body in (
        {"shop": taken, "connection_kind": "install"},
        _cc(oauth_sim, shop=taken),
        {"shop": taken, "connection_kind": "static_token", "access_token": "shpat_x", "webhook_secret": STATIC_SECRET},
    ):
        answer = _post(client, tokens.other_admin, body)
        assert answer.status_code == 409, (body["connection_kind"], answer.json)
        assert (
            "another brand" in answer.json["error"]["message"] or "already connected" in answer.json["error"]["message"]
        )
    assert shop_rows(rt) == before and token_grants(oauth_sim) == []
    shop = _shop(rt, taken)
    assert (shop.brand_id, shop.status) == (world.brand.id, ShopStatus.CONNECTED)


def test_the_openapi_document_describes_the_operation(client: FlaskClient):
    document = json.loads(client.get("/api/v1/openapi.json").data)
    post = document["paths"]["/api/v1/shops"]["post"]
    assert {"200", "201", "403", "404", "409", "422", "502", "503"} <= set(post["responses"])
    body = document["components"]["schemas"]["ShopConnect"]
    assert body["properties"]["connection_kind"]["enum"] == ["install", "client_credentials", "static_token"]
    answered = document["components"]["schemas"]["ConnectedShop"]["properties"]
    assert not {"client_secret", "access_token", "webhook_secret", "refresh_token"} & set(answered)
