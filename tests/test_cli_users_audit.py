"""Changes made from the shell (``connector users``, ``connector tokens``) are on the Audit log too."""

from __future__ import annotations

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from connector.core.user_admin_tables import AuditEntry
from tests.test_cli import _cli_settings, _run


def test_users_and_tokens_made_from_the_shell_are_audited_without_secrets(tmp_path):
    assert _run(tmp_path, "db", "upgrade").returncode == 0
    token = _run(tmp_path, "tokens", "create", "--name", "ops", "--role", "support")
    assert token.returncode == 0
    assert _run(tmp_path, "tokens", "revoke", "--name", "ops").returncode == 0
    added = subprocess_input(tmp_path, "users", "add", "--email", "ann@example.com", "--role", "platform_admin")
    assert added.returncode == 0, added.stderr
    assert _run(tmp_path, "users", "disable", "--email", "ann@example.com").returncode == 0
    assert _run(tmp_path, "users", "disable", "--email", "ann@example.com").returncode == 0  # twice: one row
    engine = create_engine(_cli_settings(tmp_path).database_url)
    with Session(engine) as s:
        rows = list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    engine.dispose()
    assert [r.action for r in rows] == ["token.created", "token.revoked", "user.created", "user.disabled"]
    assert all(r.actor.startswith("cli:") for r in rows)
    secret = token.stdout.strip()
    assert all(secret not in repr((r.before, r.after)) for r in rows)


def subprocess_input(tmp_path, *args: str):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    env["CONNECTOR_DATA_DIR"] = str(tmp_path / "instance")
    return subprocess.run(
        [sys.executable, "-m", "connector", *args],
        env=env,
        input="a long passphrase 1\na long passphrase 1\n",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
