"""Web fixtures: a real database, the FakeShopPlugin, a seeded world, the app and tokens per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from connector.app import create_app
from connector.core.model import Role
from connector.core.runtime import Runtime
from tests.conftest import World, seed_world
from tests.fakes import FakeShopPlugin
from tests.web.receiver import Receiver, running_receiver
from tests.web.shop_rows import Shops, Stores, running_stores, seed_shops
from tests.web.support import make_token


@pytest.fixture
def shop() -> FakeShopPlugin:
    return FakeShopPlugin()


@pytest.fixture
def rt(request: pytest.FixtureRequest, make_runtime, shop) -> Runtime:
    """The runtime; a test module may set ``RUNTIME_OPTIONS`` (settings) rather than override this fixture."""
    return make_runtime(plugins=[shop], **getattr(request.module, "RUNTIME_OPTIONS", {}))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real webhook receiver on 127.0.0.1; its tests set ``RUNTIME_OPTIONS = SEND_TO_RECEIVER``."""
    with running_receiver() as r:
        yield r


@pytest.fixture
def stores() -> Iterator[Stores]:
    """A Shopify simulator per shop of ``shops``, so a test sees which store an action reached."""
    with running_stores() as started:
        yield started


@pytest.fixture
def shops(rt, world, stores) -> Shops:
    """The shops of tests/web/shop_rows.py, each served by its own simulator; a module using them sets
    ``CONNECTOR_PUBLIC_URL`` to ``shop_rows.PUBLIC_URL`` in its ``rt`` (a sync subscribes to it)."""
    seeded = seed_shops(rt, world)
    stores.serve(rt, seeded)
    return seeded


@pytest.fixture
def world(rt) -> World:
    return seed_world(rt, points=5000)


@pytest.fixture
def app(rt, world) -> Flask:
    return create_app(settings=rt.settings, runtime=rt)


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@dataclass(frozen=True)
class Tokens:
    support: str
    admin: str
    viewer: str
    other_admin: str


@pytest.fixture
def tokens(rt, world) -> Tokens:
    return Tokens(
        support=make_token(rt, Role.SUPPORT, name="support-desk"),
        admin=make_token(rt, Role.BRAND_ADMIN, world.brand, name="acme-admin"),
        viewer=make_token(rt, Role.VIEWER, world.brand, name="acme-viewer"),
        other_admin=make_token(rt, Role.BRAND_ADMIN, world.other_brand, name="other-admin"),
    )
