"""`connector shops connect` and `connector shops assign-brand`, run as a user runs them (fresh SQLite, no Redis)."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import select

from connector.config import Settings
from connector.core.database import make_engine, make_session_factory, transaction
from connector.core.tables import Shop, ShopConnection, ShopStatus
from connector.encryption import load_keyring
from shopify_sim import SimServer
from tests import install_flow
from tests.install_flow import CLIENT_ID, CLIENT_SECRET, PUBLIC_URL

oauth_sim_server = install_flow.oauth_sim_server
oauth_sim = install_flow.oauth_sim
APP = {"SHOPIFY_CLIENT_ID": CLIENT_ID, "SHOPIFY_CLIENT_SECRET": CLIENT_SECRET, "CONNECTOR_PUBLIC_URL": PUBLIC_URL}


def _run(tmp_path, *args: str, env: dict[str, str] | None = None, stdin: str = "") -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CONNECTOR_", "SHOPIFY_"))}
    base["CONNECTOR_DATA_DIR"] = str(tmp_path / "instance")
    return subprocess.run(
        [sys.executable, "-m", "connector", *args],
        env={**base, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )


def _shops(tmp_path) -> list[Shop]:
    settings = Settings.from_env({"CONNECTOR_DATA_DIR": str(tmp_path / "instance")})
    engine = make_engine(settings.database_url, keyring=load_keyring(settings))
    try:
        with make_session_factory(engine)() as s:
            return list(s.scalars(select(Shop).order_by(Shop.id)))
    finally:
        engine.dispose()


def test_connect_prints_the_install_link_for_a_signed_in_browser(tmp_path):
    assert _run(tmp_path, "db", "upgrade").returncode == 0
    done = _run(tmp_path, "shops", "connect", "New-Shop.myshopify.com", "--brand", "Acme", env=APP)
    assert done.returncode == 0, done.stderr
    assert f"{PUBLIC_URL}/shopify/install?shop=new-shop.myshopify.com&brand=1" in done.stdout
    assert "signed in to the console" in done.stdout
    assert _shops(tmp_path) == []  # nothing is connected until the browser finishes the install

    missing = _run(tmp_path, "shops", "connect", "new-shop.myshopify.com", "--brand", "acme")
    assert missing.returncode != 0 and "SHOPIFY_CLIENT_ID is not set" in missing.stderr
    no_url = {**APP, "CONNECTOR_PUBLIC_URL": ""}
    missing = _run(tmp_path, "shops", "connect", "new-shop.myshopify.com", "--brand", "acme", env=no_url)
    assert missing.returncode != 0 and "CONNECTOR_PUBLIC_URL is not set" in missing.stderr
    bad = _run(tmp_path, "shops", "connect", "acme.example.com", "--brand", "acme", env=APP)
    assert bad.returncode != 0 and "your-shop.myshopify.com" in bad.stderr


def test_connect_by_client_credentials_reads_the_secret_from_stdin_only(tmp_path, oauth_sim: SimServer):
    assert _run(tmp_path, "db", "upgrade").returncode == 0
    env = {"SHOPIFY_ALLOW_CUSTOM_API_BASE": "true"}
    args = ("shops", "connect", "new-shop.myshopify.com", "--brand", "Acme", "--client-id", CLIENT_ID)
    on_argv = _run(tmp_path, *args, "--client-secret", CLIENT_SECRET, env=env)
    assert on_argv.returncode == 2 and "No such option" in on_argv.stderr
    no_stdin = _run(tmp_path, *args, env=env)
    assert no_stdin.returncode == 2 and "--client-secret-stdin" in no_stdin.stderr

    wrong = _run(
        tmp_path, *args, "--client-secret-stdin", "--api-base-url", oauth_sim.base_url, env=env, stdin="x" * 20 + "\n"
    )
    assert wrong.returncode == 1 and "refused the client credentials" in wrong.stderr
    assert _shops(tmp_path) == []

    done = _run(
        tmp_path, *args, "--client-secret-stdin", "--api-base-url", oauth_sim.base_url, env=env, stdin=CLIENT_SECRET
    )
    assert done.returncode == 0, done.stderr
    assert "by client credentials" in done.stdout
    assert CLIENT_SECRET not in done.stdout + done.stderr
    [shop] = _shops(tmp_path)
    assert (shop.connection_kind, shop.status, shop.client_secret) == (
        ShopConnection.CLIENT_CREDENTIALS,
        ShopStatus.CONNECTED,
        CLIENT_SECRET,
    )
    listed = _run(tmp_path, "shops", "list")
    assert "new-shop.myshopify.com\tacme" in listed.stdout and "client_credentials\tconnected" in listed.stdout
    assert CLIENT_SECRET not in listed.stdout and shop.access_token not in listed.stdout


def test_assign_brand_gives_an_awaiting_shop_its_brand_once(tmp_path):
    assert _run(tmp_path, "db", "upgrade").returncode == 0
    assert _run(tmp_path, "shops", "connect", "x.myshopify.com", "--brand", "Acme", env=APP).returncode == 0
    assert _run(tmp_path, "shops", "connect", "x.myshopify.com", "--brand", "Other", env=APP).returncode == 0
    settings = Settings.from_env({"CONNECTOR_DATA_DIR": str(tmp_path / "instance")})
    engine = make_engine(settings.database_url, keyring=load_keyring(settings))
    with transaction(make_session_factory(engine)) as s:  # what an install from Shopify's side leaves
        s.add(
            Shop(
                domain="orphan.myshopify.com",
                api_base_url="https://orphan.myshopify.com",
                access_token="shpat_orphan",
                webhook_secret=CLIENT_SECRET,
                connection_kind=ShopConnection.INSTALL,
                status=ShopStatus.AWAITING_BRAND,
            )
        )
    engine.dispose()
    assert "(awaiting a brand)" in _run(tmp_path, "shops", "list").stdout

    done = _run(tmp_path, "shops", "assign-brand", "orphan.myshopify.com", "--brand", "acme")
    assert done.returncode == 0, done.stderr
    assert "now belongs to brand acme (connected)" in done.stdout
    moved = _run(tmp_path, "shops", "assign-brand", "orphan.myshopify.com", "--brand", "other")
    assert moved.returncode == 1 and "never moved between brands" in moved.stderr
    unknown = _run(tmp_path, "shops", "assign-brand", "nope.myshopify.com", "--brand", "acme")
    assert unknown.returncode == 1 and "no shop nope.myshopify.com" in unknown.stderr
    [shop] = _shops(tmp_path)
    assert shop.brand_id == 1 and shop.status == ShopStatus.CONNECTED


def test_the_demo_connects_its_shop_through_the_install(tmp_path):
    out = _run(tmp_path, "demo", "--port", "0", "--sim-port", "0")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "demo-shop.myshopify.com: app installed (authorization code grant" in out.stdout
    demo = next(shop for shop in _shops(tmp_path) if shop.domain == "demo-shop.myshopify.com")
    assert (demo.connection_kind, demo.status) == (ShopConnection.INSTALL, ShopStatus.CONNECTED)
    assert demo.refresh_token and demo.access_token_expires_at is not None
    assert demo.granted_scopes == "read_products,write_customers,write_orders"
    assert demo.access_token not in out.stdout + out.stderr and demo.refresh_token not in out.stdout + out.stderr
