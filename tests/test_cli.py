"""The `connector` command as a new user runs it: fresh SQLite file, no Redis."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import pytest


def _run(tmp_path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    env["CONNECTOR_DATA_DIR"] = str(tmp_path / "instance")
    return subprocess.run(
        [sys.executable, "-m", "connector", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp_path,
        check=False,
    )


def test_cli_db_shops_tokens(tmp_path):
    assert _run(tmp_path, "db", "upgrade").returncode == 0
    assert (tmp_path / "instance" / "connector.sqlite3").exists()
    added = _run(
        tmp_path,
        "shops",
        "add",
        "--brand",
        "Acme",
        "--domain",
        "acme.myshopify.com",
        "--access-token",
        "shpat_x",
        "--webhook-secret",
        "0123456789abcdef0123",
    )
    assert added.returncode == 0 and "connected acme.myshopify.com to brand acme" in added.stdout
    again = _run(
        tmp_path,
        "shops",
        "add",
        "--brand",
        "Acme",
        "--domain",
        "acme.myshopify.com",
        "--access-token",
        "shpat_x",
        "--webhook-secret",
        "0123456789abcdef0123",
    )
    assert again.returncode != 0 and "already connected" in again.stderr
    bad = _run(
        tmp_path,
        "shops",
        "add",
        "--brand",
        "Acme",
        "--domain",
        "acme.com",
        "--access-token",
        "t",
        "--webhook-secret",
        "0123456789abcdef0123",
    )
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


@pytest.mark.slow
def test_cli_demo_shows_every_status(tmp_path):
    out = _run(tmp_path, "demo", "--port", "0", "--sim-port", "0")
    assert out.returncode == 0, out.stderr[-2000:]
    line = next(line for line in out.stdout.splitlines() if line.startswith("redemptions by status"))
    counts = ast.literal_eval(line.split(":", 1)[1].strip())
    assert counts == {"error": 5, "fulfilled": 2, "pending": 1, "reversed": 1}
    assert "API token (platform admin, shown once): cn_" in out.stdout


def test_cli_rotate_secret_keeps_old_secret_for_an_hour(tmp_path):
    from connector.bootstrap import build_runtime
    from connector.config import Settings
    from connector.core.webhook_intake import shop_secrets

    assert _run(tmp_path, "db", "upgrade").returncode == 0
    _run(
        tmp_path,
        "shops",
        "add",
        "--brand",
        "Acme",
        "--domain",
        "acme.myshopify.com",
        "--access-token",
        "t",
        "--webhook-secret",
        "old-secret-0123456789",
    )
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
    db = tmp_path / "instance" / "connector.sqlite3"
    rt = build_runtime(Settings.from_env({}, database_url=f"sqlite:///{db}"), start_jobs=False)
    assert list(shop_secrets(rt, "acme.myshopify.com")) == ["new-secret-0123456789", "old-secret-0123456789"]
    from datetime import timedelta

    later = rt.now() + timedelta(hours=1, minutes=1)
    rt.now = lambda: later
    assert list(shop_secrets(rt, "acme.myshopify.com")) == ["new-secret-0123456789"]
