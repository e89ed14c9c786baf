"""Shared fixtures: a real database per test (PostgreSQL or SQLite), a runtime, seeded data.

``CONNECTOR_TEST_DATABASE`` picks the backend: ``postgres`` (the default when the
server answers, and required under CI) or ``sqlite``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pluggy
import pytest
from sqlalchemy import create_engine, select, text

from connector.config import Settings
from connector.core import catalog
from connector.core.credentials import generate_key
from connector.core.database import make_engine, make_session_factory, transaction
from connector.core.runtime import Runtime
from connector.core.tables import Base, Brand, Member, RedemptionEventRow, Reward, Shop
from connector.dispatch import SyncDispatcher
from connector.encryption import load_keyring
from connector.mail import OutboxMailer
from connector.migrations import upgrade
from connector.outbound_http import HttpWebhookSender
from connector.plugin_manager import make_plugin_manager

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_ADMIN_URL = os.environ.get("CONNECTOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CONNECTOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
#: Credentials at rest are encrypted with a key made for this test run (kept in the environment, so a second
#: import of this module as ``tests.conftest`` finds the same one). It is the environment's key too, so the
#: commands and workers that tests start read the rows the tests wrote, and a developer's own key never
#: touches a test database.
TEST_ENCRYPTION_KEY = os.environ.setdefault("CONNECTOR_TEST_ENCRYPTION_KEY", generate_key())
os.environ["CONNECTOR_ENCRYPTION_KEYS"] = TEST_ENCRYPTION_KEY


def _postgres_up() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL)
        with engine.connect() as c:
            c.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


def backend() -> str:
    chosen = os.environ.get("CONNECTOR_TEST_DATABASE")
    if chosen:
        return chosen
    return "postgres" if (IN_CI or _postgres_up()) else "sqlite"


def pytest_report_header(config: pytest.Config) -> str:
    return f"connector test database: {backend()}"


@pytest.fixture(autouse=True)
def _hook_marker_holds(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A test marked ``@pytest.mark.hook("connector_x")`` must call that hook through a plugin manager.

    ``tests/test_hook_contract.py`` requires every hook spec to have such a test; this keeps the marker true:
    every hook call (any thread of this process) is noted, and a marked test that made none fails.
    """
    wanted = {marker.args[0] for marker in request.node.iter_markers("hook")}
    if not wanted:
        yield
        return
    called: set[str] = set()
    original = pluggy.HookCaller.__call__

    def noting(self: pluggy.HookCaller, *args: object, **kwargs: object) -> object:
        called.add(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pluggy.HookCaller, "__call__", noting)
    yield
    missing = wanted - called
    assert not missing, f"marked @pytest.mark.hook but never called through a plugin manager: {sorted(missing)}"


@pytest.fixture(scope="session")
def _database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Create one migrated database per test session (migrations run for real, once)."""
    if backend() == "sqlite":
        path = tmp_path_factory.mktemp("db") / "template.sqlite3"
        upgrade(f"sqlite:///{path}")
        yield f"sqlite:///{path}"
        return
    if not _postgres_up():
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}; start it or set CONNECTOR_TEST_DATABASE=sqlite")
    name = f"connector_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    with admin.connect() as c:
        c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture
def database_url(_database_template: str, tmp_path: Path) -> str:
    """An empty, migrated database for one test."""
    if _database_template.startswith("sqlite"):
        path = tmp_path / "connector.sqlite3"
        shutil.copy(_database_template.removeprefix("sqlite:///"), path)
        return f"sqlite:///{path}"
    engine = make_engine(_database_template)
    # DELETE beats TRUNCATE on tables this small (TRUNCATE costs ~0.2 s a test in catalog locks).
    with engine.begin() as c:
        for table in reversed(Base.metadata.sorted_tables):
            c.execute(table.delete())
    engine.dispose()
    return _database_template


#: The tests (and ``connector demo``) talk to the bundled Shopify simulator on 127.0.0.1, an API base URL other
#: than the shop's own https://{shop}.myshopify.com: allowed here explicitly, as an installation must.
TEST_ENV = {"SHOPIFY_ALLOW_CUSTOM_API_BASE": "true"}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings.from_env(
        TEST_ENV,
        database_url=database_url,
        outbox_dir=tmp_path / "outbox",
        secret_key=secrets.token_hex(32),
        # Explicitly cheap password hashes: these tests are about behaviour, not the KDF's cost (which
        # tests/core/test_password_hashing.py checks at the production figure).
        password_scrypt_n=2**4,
        jobs_mode="sync",
        retry_base_seconds=1.0,
        claim_lease_seconds=60.0,
        encryption_keys=(TEST_ENCRYPTION_KEY,),
    )


@pytest.fixture
def make_runtime(settings: Settings) -> Iterator[Callable[..., Runtime]]:
    engines = []

    def build(plugins: list[object] | None = None, load_entrypoints: bool = True, **overrides: object) -> Runtime:
        if "plugin_env" in overrides:  # added to the test settings' plugin variables, not replacing them
            overrides["plugin_env"] = {**settings.plugin_env, **overrides["plugin_env"]}  # type: ignore[dict-item]
        s = Settings(**{**settings.__dict__, **overrides}) if overrides else settings
        engine = make_engine(s.database_url, keyring=load_keyring(s))
        engines.append(engine)
        rt = Runtime(
            settings=s,
            sessions=make_session_factory(engine),
            plugins=make_plugin_manager(load_entrypoints=load_entrypoints, extra=plugins or ()),
            mailer=OutboxMailer(s.outbox_dir, s.mail_from),
            webhook_sender=HttpWebhookSender(allow_local=s.outbound_allow_local),
        )
        rt.dispatcher = SyncDispatcher(rt)
        return rt

    yield build
    for engine in engines:
        engine.dispose()


@dataclass
class World:
    brand: Brand
    other_brand: Brand
    shop: Shop
    reward: Reward
    member: Member
    other_member: Member


def seed_world(rt: Runtime, *, api_base_url: str = "http://127.0.0.1:9", points: int = 1000) -> World:
    with transaction(rt.sessions) as s:
        brand = catalog.create_brand(s, "Acme Pets")
        other = catalog.create_brand(s, "Other Brand")
        shop = catalog.add_shop(
            s,
            brand,
            domain="acme-pets.myshopify.com",
            access_token="shpat_test_token",
            webhook_secret="whsec_test_secret_0123456789",
            api_base_url=api_base_url,
            allow_custom_api_base=rt.settings.allow_custom_shop_api_base,
        )
        reward = catalog.add_reward(
            s,
            brand,
            name="Ambassador T-Shirt",
            sku="TSHIRT-M",
            points_cost=500,
            shop=shop,
            instructions="Ships in 5-7 days.",
        )
        member = catalog.add_member(
            s,
            brand,
            first_name="Ada",
            last_name="Lovelace",
            email="ada@example.com",
            phone="+16135550142",
            date_of_birth=date(1990, 12, 10),
            address1="150 Elgin St",
            city="Ottawa",
            province_code="ON",
            country_code="CA",
            zip="K2P 1L4",
        )
        catalog.award_points(s, member, points, "welcome bonus")
        other_member = catalog.add_member(s, other, first_name="Bob", last_name="Other", email="bob@example.com")
        catalog.award_points(s, other_member, points, "welcome bonus")
    return World(brand, other, shop, reward, member, other_member)


def event_kinds(rt: Runtime, redemption_id: int) -> list[str]:
    """A redemption's history as its event kinds, oldest first: what a test compares with the story it expects."""
    with rt.sessions() as s:
        return list(
            s.scalars(
                select(RedemptionEventRow.kind)
                .where(RedemptionEventRow.redemption_id == redemption_id)
                .order_by(RedemptionEventRow.id)
            )
        )
