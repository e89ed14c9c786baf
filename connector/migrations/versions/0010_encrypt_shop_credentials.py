"""encrypt shop credentials at rest

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 06:10:00.000000

Shops' access tokens and webhook secrets (current and previous) become Fernet tokens
(``core.credentials.EncryptedText``):

* the three columns become TEXT, since a token is about 4/3 of the secret plus 76 characters;
* every value stored in plain text is encrypted with the newest key. The keys come from
  ``CONNECTOR_ENCRYPTION_KEYS`` (or, for SQLite only, ``<CONNECTOR_DATA_DIR>/encryption.key``, made
  if missing), exactly as the running app finds them, or from the caller
  (``connector.migrations.upgrade(url, keyring=...)``). They are asked for only when there is a value
  to encrypt, so an empty database needs none.
* Idempotent: a value that is already a Fernet token is checked (a key must open it, else the upgrade
  stops with the fix) and left as it is. Empty values ("" = no token, after shop/redact) stay empty.

Downgrade decrypts them back to plain text (same keys needed) and restores VARCHAR(500).
On SQLite the type change copies the table, so foreign keys pointing at ``shops`` are checked at
commit (``PRAGMA defer_foreign_keys``) instead of failing when the old table is dropped.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from connector.core.credentials import Keyring, looks_encrypted

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COLUMNS = ("access_token", "webhook_secret", "previous_webhook_secret")
NULLABLE = {"access_token": False, "webhook_secret": False, "previous_webhook_secret": True}


def _keyring() -> Keyring:
    config = op.get_context().config
    given = config.attributes.get("connector_keyring") if config is not None else None
    if given is not None:
        return given
    from connector.config import Settings
    from connector.encryption import load_keyring

    url = config.get_main_option("sqlalchemy.url") if config is not None else None
    return load_keyring(Settings.from_env(database_url=url) if url else Settings.from_env())


def _rewrite(change: Callable[[Keyring, str], str | None]) -> None:
    """Apply ``change`` to every non-empty credential; ``None`` from it leaves the value as it is."""
    bind = op.get_bind()
    shops = sa.table("shops", sa.column("id", sa.Integer), *(sa.column(c, sa.Text) for c in COLUMNS))
    keyring: Keyring | None = None
    for row in bind.execute(sa.select(shops)).mappings().all():
        values: dict[str, str] = {}
        for name in COLUMNS:
            value = row[name]
            if not value:
                continue
            keyring = keyring or _keyring()
            changed = change(keyring, value)
            if changed is not None:
                values[name] = changed
        if values:
            bind.execute(sa.update(shops).where(shops.c.id == row["id"]).values(values))


def _encrypt(keyring: Keyring, value: str) -> str | None:
    if looks_encrypted(value):
        keyring.decrypt(value)  # encrypted by an earlier run: a key must open it, or stop with the fix
        return None
    return keyring.encrypt(value)


def _decrypt(keyring: Keyring, value: str) -> str | None:
    return keyring.decrypt(value) if looks_encrypted(value) else None


def _retype(to: sa.types.TypeEngine, existing: sa.types.TypeEngine) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA defer_foreign_keys = ON")
    with op.batch_alter_table("shops") as batch:
        for name in COLUMNS:
            batch.alter_column(name, type_=to, existing_type=existing, existing_nullable=NULLABLE[name])


def upgrade() -> None:
    _retype(sa.Text(), sa.String(length=500))
    _rewrite(_encrypt)


def downgrade() -> None:
    _rewrite(_decrypt)
    _retype(sa.String(length=500), sa.Text())
