"""The `connector` command as a new user runs it: fresh SQLite file, no Redis."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _run(tmp_path, *args: str, timeout: float = 120, without: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """Run ``connector ARGS`` in a fresh process; ``without`` names top-level packages it cannot import."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    env["CONNECTOR_DATA_DIR"] = str(tmp_path / "instance")
    # A None entry in sys.modules makes the import fail as it does when the distribution is not installed.
    blocked = "".join(f"sys.modules[{name!r}] = None; " for name in without)
    command = ["-c", f"import sys; {blocked}from connector.cli import main; main()"] if without else ["-m", "connector"]
    return subprocess.run(
        [sys.executable, *command, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp_path,
        check=False,
    )


def _cli_settings(tmp_path):
    """The settings the commands above ran with: their database, and the key file made beside it."""
    from connector.config import Settings

    return Settings.from_env({"CONNECTOR_DATA_DIR": str(tmp_path / "instance")})


def _shops_add(tmp_path, domain: str = "acme.myshopify.com", secret: str = "0123456789abcdef0123"):
    return _run(
        tmp_path,
        "shops",
        "add",
        "--brand",
        "Acme",
        "--domain",
        domain,
        "--access-token",
        "shpat_x",
        "--webhook-secret",
        secret,
    )


def _with_shop(tmp_path, secret: str = "0123456789abcdef0123") -> None:
    """A migrated database with brand acme and its shop acme.myshopify.com."""
    assert _run(tmp_path, "db", "upgrade").returncode == 0
    added = _shops_add(tmp_path, secret=secret)
    assert added.returncode == 0, added.stderr


def test_cli_db_shops_tokens(tmp_path):
    assert _run(tmp_path, "db", "upgrade").returncode == 0
    assert (tmp_path / "instance" / "connector.sqlite3").exists()
    added = _shops_add(tmp_path)
    assert added.returncode == 0 and "connected acme.myshopify.com to brand acme" in added.stdout
    again = _shops_add(tmp_path)
    assert again.returncode != 0 and "already connected" in again.stderr
    bad = _shops_add(tmp_path, domain="acme.com")
    assert bad.returncode != 0 and "your-shop.myshopify.com" in bad.stderr
    listed = _run(tmp_path, "shops", "list")
    assert "acme.myshopify.com\tacme" in listed.stdout
    token = _run(tmp_path, "tokens", "create", "--name", "ops", "--role", "support")
    assert token.returncode == 0 and token.stdout.startswith("cn_")
    assert _run(tmp_path, "tokens", "revoke", "--name", "ops").returncode == 0
    assert _run(tmp_path, "tokens", "revoke", "--name", "ops").returncode != 0


def test_cli_plugins_lists_builtins_as_json(tmp_path):
    out = _run(tmp_path, "plugins")
    names = {row["name"] for row in json.loads(out.stdout)}
    assert {"shopify", "darts"} <= names


def test_cli_worker_without_redis_explains(tmp_path):
    out = _run(tmp_path, "worker")
    assert out.returncode != 0 and "CONNECTOR_REDIS_URL" in out.stderr


@pytest.mark.parametrize("command", ["demo", "shopify-sim"])
def test_cli_without_the_simulator_says_how_to_install_it(tmp_path, command):
    """Production installs leave the simulator out: the commands that need it say so and change nothing."""
    out = _run(tmp_path, command, "--port", "0", without=("shopify_sim",))
    assert out.returncode == 1
    assert f"connector {command} needs the local Shopify simulator, which is not installed" in out.stderr
    assert "pip install -e simulator" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "instance").exists()


def test_cli_simulator_without_graphql_core_says_how_to_reinstall_it(tmp_path):
    out = _run(tmp_path, "shopify-sim", "--port", "0", without=("graphql",))
    assert out.returncode == 1
    assert "connector shopify-sim needs the local Shopify simulator, which cannot load" in out.stderr
    assert "graphql" in out.stderr and "pip install -e simulator" in out.stderr and "Traceback" not in out.stderr


def _readme_demo_users() -> list[tuple[str, str, str]]:
    """The rows of README's demo users table (after its ``demo-users`` marker), as (email, role, scope)."""
    lines = (Path(__file__).parent.parent / "README.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("<!-- demo-users"))
    rows: list[tuple[str, str, str]] = []
    for line in lines[start + 3 :]:
        if not line.startswith("|"):
            break
        email, role, scope = (cell.strip() for cell in line.strip("|").split("|"))
        rows.append((email.strip("`"), role, scope))
    return rows


def test_readme_lists_the_demo_users_the_demo_defines():
    """The quick check (the slow demo run below compares the printed lines too)."""
    from connector.demo import DEMO_ACCOUNTS, DEMO_USERS

    assert _readme_demo_users() == list(DEMO_ACCOUNTS)
    assert {email for email, _, _ in DEMO_USERS} <= {email for email, _, _ in DEMO_ACCOUNTS}


@pytest.mark.slow
def test_cli_demo_shows_every_status(tmp_path):
    out = _run(tmp_path, "demo", "--port", "0", "--sim-port", "0")
    assert out.returncode == 0, out.stderr[-2000:]
    line = next(line for line in out.stdout.splitlines() if line.startswith("redemptions by status"))
    counts = ast.literal_eval(line.split(":", 1)[1].strip())
    assert counts == {"error": 5, "fulfilled": 2, "pending": 1, "reversed": 1}
    assert "API token (platform admin, shown once): cn_" in out.stdout
    # The printed password signs in each demo console account.
    password = out.stdout.split("password (shown once): ", 1)[1].split()[0]
    from connector.bootstrap import build_runtime
    from connector.core.users import sign_in

    rt = build_runtime(_cli_settings(tmp_path), start_jobs=False)
    assert sign_in(rt.sessions, "admin@demo.local", password, rt.now()).role == "platform_admin"
    assert sign_in(rt.sessions, "viewer@demo.local", password, rt.now()).brand_id is not None
    assert sign_in(rt.sessions, "retailer@demo.local", password, rt.now()).retailer_id is not None
    # The demo users it prints are exactly README's table, and each signs in with the role printed.
    printed = [
        tuple(part.strip() for part in line.split("demo user:", 1)[1].split("|"))
        for line in out.stdout.splitlines()
        if line.strip().startswith("demo user:")
    ]
    assert printed == _readme_demo_users()
    assert {role for _, role, _ in printed} >= {"platform admin", "brand admin", "support", "retailer", "distributor"}
    for email, role, scope in printed:
        user = sign_in(rt.sessions, email, password, rt.now())
        assert user.role.replace("_", " ") == role.removesuffix(" (read-only)"), (email, user.role)
        assert (user.brand_id is None) == (scope != "Demo Brand"), email
    # The frequent-buyer half: the shipped DARTS sample imported, some cards processed, each denial explained.
    line = next(line for line in out.stdout.splitlines() if line.startswith("POS-reported free goods by status"))
    reported = ast.literal_eval(line.split(":", 1)[1].strip())
    assert reported == {"denied": 5, "processed": 3}


@pytest.mark.slow
def test_cli_demo_serve_starts_on_a_fresh_machine_with_no_environment(tmp_path):
    """The README's first command: no CONNECTOR_SECRET_KEY set, yet the demo serves (with a key of its own)."""
    import urllib.request

    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    env["CONNECTOR_DATA_DIR"] = str(tmp_path / "instance")
    proc = subprocess.Popen(
        [sys.executable, "-m", "connector", "demo", "--serve", "--port", "0", "--sim-port", "0"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = None
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.startswith("connector demo on "):
                url = line.split()[3]
                break
        assert url, "the demo never said it was serving"
        with urllib.request.urlopen(f"{url}/admin/login", timeout=10) as answer:
            assert answer.status == 200 and "login-form" in answer.read().decode()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_cli_rotate_secret_keeps_old_secret_for_an_hour(tmp_path):
    from connector.bootstrap import build_runtime
    from connector.core.webhook_intake import shop_secrets

    _with_shop(tmp_path, "old-secret-0123456789")
    assert (
        _run(
            tmp_path,
            "shops",
            "rotate-secret",
            "--domain",
            "acme.myshopify.com",
            "--webhook-secret",
            "new-secret-0123456789",
        ).returncode
        == 0
    )
    missing = _run(tmp_path, "shops", "rotate-secret", "--domain", "nope.myshopify.com", "--webhook-secret", "x")
    assert missing.returncode != 0 and "no shop nope.myshopify.com" in missing.stderr
    rt = build_runtime(_cli_settings(tmp_path), start_jobs=False)
    assert list(shop_secrets(rt, "acme.myshopify.com")) == ["new-secret-0123456789", "old-secret-0123456789"]
    from datetime import timedelta

    later = rt.now() + timedelta(hours=1, minutes=1)
    rt.now = lambda: later
    assert list(shop_secrets(rt, "acme.myshopify.com")) == ["new-secret-0123456789"]


def test_cli_zero_config_stores_shop_credentials_encrypted_with_a_private_key_file(tmp_path):
    """No CONNECTOR_ENCRYPTION_KEYS, SQLite: a 0600 key file is made once, rows hold only ciphertext."""
    import sqlite3
    import stat

    assert _run(tmp_path, "db", "upgrade").returncode == 0
    added = _run(
        tmp_path,
        *("shops", "add", "--brand", "Acme", "--domain", "acme.myshopify.com"),
        *("--access-token", "shpat_zero_config_token", "--webhook-secret", "old-secret-0123456789"),
    )
    assert added.returncode == 0, added.stderr
    key_file = tmp_path / "instance" / "encryption.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "CONNECTOR_ENCRYPTION_KEYS is not set" in added.stderr and str(key_file) in added.stderr
    rotated = _run(
        tmp_path,
        *("shops", "rotate-secret", "--domain", "acme.myshopify.com", "--webhook-secret", "new-secret-0123456789"),
    )
    assert rotated.returncode == 0, rotated.stderr
    assert "CONNECTOR_ENCRYPTION_KEYS is not set" not in rotated.stderr, "warned once, when the key was made"
    listed = _run(tmp_path, "shops", "list")
    rotation = _run(tmp_path, "secrets", "rotate")
    assert rotation.returncode == 0 and "re-encrypted 3 stored credential(s)" in rotation.stdout
    secrets = ("shpat_zero_config_token", "old-secret-0123456789", "new-secret-0123456789")
    for out in (added, rotated, listed, rotation):
        assert not any(secret in out.stdout + out.stderr for secret in secrets)
    with sqlite3.connect(tmp_path / "instance" / "connector.sqlite3") as db:
        row = db.execute("SELECT access_token, webhook_secret, previous_webhook_secret FROM shops").fetchone()
    assert all(value.startswith("gAAAAA") for value in row)
    assert not any(secret in value for value in row for secret in secrets)
    # The key file is all it takes to read them back.
    from connector.bootstrap import build_runtime
    from connector.core.webhook_intake import shop_secrets

    rt = build_runtime(_cli_settings(tmp_path), start_jobs=False)
    assert list(shop_secrets(rt, "acme.myshopify.com")) == ["new-secret-0123456789", "old-secret-0123456789"]


MEMBERS_CSV = (
    (
        "external_ref,first_name,last_name,email,phone,date_of_birth,address1,city,province_code,country_code,zip,points\n"
    )
    + """amb-1,Ada,Lovelace,ada@example.com,+16135550142,1990-12-10,150 Elgin St,Ottawa,on,ca,K2P 1L4,1200
amb-2,Grace,Hopper,grace@example.com,,1985-12-09,1 Liberty Plaza,New York,NY,US,10006,
"""
)


def test_cli_catalogue_from_an_empty_database(tmp_path):
    """Shop, reward and members from the command line alone: what a new user needs before the API."""
    _with_shop(tmp_path)
    added = _run(
        tmp_path,
        "rewards",
        "add",
        "--brand",
        "acme",
        "--name",
        "Tee",
        "--sku",
        "TEE-M",
        "--points",
        "500",
        "--shop",
        "acme.myshopify.com",
    )
    assert added.returncode == 0 and "reward 1: Tee (TEE-M, 500 points, shopify)" in added.stdout
    nope = _run(
        tmp_path,
        "rewards",
        "add",
        "--brand",
        "acme",
        "--name",
        "X",
        "--sku",
        "X",
        "--points",
        "5",
        "--channel",
        "carrier-pigeon",
    )
    assert nope.returncode != 0 and "no installed plugin fulfils channel 'carrier-pigeon'" in nope.stderr
    assert "Tee\tTEE-M\t500\tshopify\tactive" in _run(tmp_path, "rewards", "list", "--brand", "acme").stdout
    csv_path = tmp_path / "members.csv"
    csv_path.write_text(MEMBERS_CSV)
    imported = _run(tmp_path, "members", "import", str(csv_path), "--brand", "acme")
    assert imported.returncode == 0 and "2 members created, 0 updated, 1200 points awarded" in imported.stdout
    again = _run(tmp_path, "members", "import", str(csv_path), "--brand", "acme")
    assert "0 members created, 2 updated" in again.stdout
    awarded = _run(tmp_path, "points", "award", "--member", "2", "--points", "300", "--note", "event bonus")
    assert awarded.returncode == 0 and "member 2 now has 300 points" in awarded.stdout


def test_cli_members_import_bad_rows_import_nothing_and_say_where(tmp_path):
    _with_shop(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "external_ref,first_name,last_name,email,date_of_birth,country_code,points\n"
        "amb-1,Ada,Lovelace,ada@example.com,1990-12-10,CA,100\n"
        "amb-2,Grace,,grace@example.com,12/09/1985,Canada,lots\n"
        "amb-1,Alan,Turing,alan-at-example.com,,,\n"
    )
    out = _run(tmp_path, "members", "import", str(bad), "--brand", "acme")
    assert out.returncode != 0
    for expected in (
        "5 problem(s); nothing was imported",
        "row 3, column 'last_name': empty",
        "row 3, column 'date_of_birth': '12/09/1985' is not a date; use YYYY-MM-DD",
        "row 3, column 'country_code': 'Canada' is not a two-letter ISO code",
        "row 3, column 'points': 'lots' is not a whole number",
        "row 4, column 'email': 'alan-at-example.com' is not an email address",
    ):
        assert expected in out.stderr, out.stderr
    header = tmp_path / "header.csv"
    header.write_text("ref,first_name,last_name,email\n")
    out = _run(tmp_path, "members", "import", str(header), "--brand", "acme")
    assert "missing column(s) external_ref; unknown column(s) ref" in out.stderr
    good = tmp_path / "good.csv"
    good.write_text(
        "external_ref,first_name,last_name,email\namb-1,Ada,Lovelace,ada@example.com\namb-9,Linus,Pauling,l@example.com\n"
    )
    # amb-1's valid row in the bad file was not imported either: both are new now.
    assert "2 members created" in _run(tmp_path, "members", "import", str(good), "--brand", "acme").stdout


def _run_env(tmp_path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("CONNECTOR_", "SHOPIFY_"))}
    full.update(env, CONNECTOR_DATA_DIR=str(tmp_path / "instance"))
    return subprocess.run(
        [sys.executable, "-m", "connector", *args], env=full, capture_output=True, text=True, timeout=120, cwd=tmp_path
    )


def test_cli_shops_add_refuses_a_custom_api_base_url_unless_allowed_and_credentials_always(tmp_path):
    """The access token is sent to the API base URL: only the shop's own https address, unless configured."""
    assert _run(tmp_path, "db", "upgrade").returncode == 0
    add = ("shops", "add", "--brand", "Acme", "--access-token", "shpat_x", "--webhook-secret", "0123456789abcdef0123")
    refused = _run_env(tmp_path, {}, *add, "--domain", "acme.myshopify.com", "--api-base-url", "http://127.0.0.1:9")
    assert refused.returncode != 0
    assert "api_base_url" in refused.stderr and "SHOPIFY_ALLOW_CUSTOM_API_BASE=true" in refused.stderr
    foreign = _run_env(tmp_path, {}, *add, "--domain", "acme.myshopify.com", "--api-base-url", "https://evil.example")
    assert foreign.returncode != 0 and "https://acme.myshopify.com" in foreign.stderr
    allowed = {"SHOPIFY_ALLOW_CUSTOM_API_BASE": "true"}
    userinfo = _run_env(
        tmp_path, allowed, *add, "--domain", "acme.myshopify.com", "--api-base-url", "http://sim:pw0rd@127.0.0.1:9"
    )
    assert userinfo.returncode != 0 and "credentials" in userinfo.stderr and "pw0rd" not in userinfo.stderr
    assert "no shops connected" in _run_env(tmp_path, {}, "shops", "list").stdout  # nothing stored by a refusal
    own = _run_env(tmp_path, {}, *add, "--domain", "acme.myshopify.com", "--api-base-url", "https://acme.myshopify.com")
    assert own.returncode == 0, own.stderr
    sim = _run_env(tmp_path, allowed, *add, "--domain", "sim.myshopify.com", "--api-base-url", "http://127.0.0.1:9")
    assert sim.returncode == 0, sim.stderr
    typo = _run_env(tmp_path, {"SHOPIFY_ALLOW_CUSTOM_API_BASE": "sure"}, "shops", "list")
    assert typo.returncode != 0 and "SHOPIFY_ALLOW_CUSTOM_API_BASE must be true or false" in typo.stderr
    assert "Traceback" not in typo.stderr


def test_cli_shops_list_never_prints_credentials(tmp_path):
    from sqlalchemy import create_engine, update

    from connector.core.tables import Shop

    _with_shop(tmp_path, "whsec-0123456789abcdef")
    # A row stored before URLs with credentials were refused.
    engine = create_engine(f"sqlite:///{tmp_path / 'instance' / 'connector.sqlite3'}")
    with engine.begin() as c:
        c.execute(update(Shop).values(api_base_url="http://sim:pw0rd@127.0.0.1:9"))
    engine.dispose()
    listed = _run(tmp_path, "shops", "list")
    assert listed.returncode == 0, listed.stderr
    assert "acme.myshopify.com\tacme\thttp://***@127.0.0.1:9\tactive" in listed.stdout
    for secret in ("shpat_x", "whsec-0123456789abcdef", "pw0rd", "sim:"):
        assert secret not in listed.stdout + listed.stderr
