"""The session-signing key: no app serves without a real one, and the old development default opens nothing."""

from __future__ import annotations

import dataclasses
import os
import secrets
import subprocess
import sys

import pytest
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from connector.app import create_app
from connector.config import InsecureSecretKey, Settings, check_secret_key
from connector.core.database import transaction
from connector.core.model import Role
from connector.core.users import create_user

OLD_DEFAULT = "dev-only-change-me"
HOW_TO = "export CONNECTOR_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')"


def _forge(payload: dict[str, object], key: str) -> str:
    """A session cookie as Flask would sign it with ``key``."""
    iface = SecureCookieSessionInterface()
    serializer = URLSafeTimedSerializer(
        key,
        salt=iface.salt,
        serializer=iface.serializer,
        signer_kwargs={"key_derivation": iface.key_derivation, "digest_method": iface.digest_method},
    )
    return serializer.dumps(payload)


def test_a_cookie_forged_with_the_old_default_key_does_not_sign_in(rt, world):
    with transaction(rt.sessions) as s:
        admin = create_user(
            s, email="root@platform.example", name="Root", password="a-long-passphrase", role=Role.PLATFORM_ADMIN
        )
        uid, version = admin.id, admin.session_version
    client = create_app(settings=rt.settings, runtime=rt).test_client()
    cookie = _forge({"uid": uid, "sv": version, "csrf": "x" * 43}, OLD_DEFAULT)
    client.set_cookie("session", cookie, domain="localhost")
    response = client.get("/admin/fulfilments")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login")
    # Nor does it pass the CSRF check of a state-changing form.
    refused = client.post("/admin/logout", data={"csrf_token": "x" * 43})
    assert refused.status_code == 400


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("", "is not set"),
        (OLD_DEFAULT, "published"),
        ("short-but-random-Zq81", "too short"),
        ("a" * 64, "too few different characters"),
    ],
)
def test_create_app_refuses_without_a_real_key_and_says_how_to_set_one(rt, key, why):
    with pytest.raises(InsecureSecretKey) as refused:
        create_app(settings=dataclasses.replace(rt.settings, secret_key=key), runtime=rt)
    assert why in str(refused.value) and HOW_TO in str(refused.value)


def test_the_environment_default_is_no_key_at_all():
    assert Settings.from_env({}).secret_key == ""
    with pytest.raises(InsecureSecretKey, match="CONNECTOR_SECRET_KEY is not set"):
        check_secret_key(Settings.from_env({}).secret_key)
    check_secret_key(Settings.from_env({"CONNECTOR_SECRET_KEY": secrets.token_hex(32)}).secret_key)


def _cli(tmp_path, *args: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    env["CONNECTOR_DATA_DIR"] = str(tmp_path / "instance")
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "connector", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )


def test_connector_serve_refuses_without_a_key_but_one_shot_commands_work(tmp_path):
    served = _cli(tmp_path, "serve", "--port", "0")
    assert served.returncode != 0
    assert "CONNECTOR_SECRET_KEY is not set" in served.stderr and HOW_TO in served.stderr
    weak = _cli(tmp_path, "serve", "--port", "0", CONNECTOR_SECRET_KEY=OLD_DEFAULT)
    assert weak.returncode != 0 and "published" in weak.stderr
    # Commands that sign no session need no key.
    assert _cli(tmp_path, "db", "upgrade").returncode == 0
    added = _cli(tmp_path, "tokens", "create", "--name", "ops", "--role", "support")
    assert added.returncode == 0 and added.stdout.startswith("cn_")


def test_gunicorn_factory_refuses_without_a_key(tmp_path):
    code = "from connector.app import create_app; create_app()"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    env["CONNECTOR_DATA_DIR"] = str(tmp_path / "instance")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False
    )
    assert out.returncode != 0 and "CONNECTOR_SECRET_KEY is not set" in out.stderr and HOW_TO in out.stderr
