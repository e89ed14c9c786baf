"""shop connections: how a shop's token is obtained, its status, and one-time install states

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 08:45:00.000000

* ``shops`` learns how its Admin API token is obtained (``connection_kind``: install, client
  credentials or a legacy static token), whether the connector may call it (``status`` and the
  reason shown while it may not), the expiring token's lifecycle (expiry, encrypted refresh token,
  last refresh), a client-credentials app's id and encrypted secret, the granted scopes, and what the
  Shops page shows (last successful call, rate-limit bucket, webhook subscription health).
  Every existing shop is a ``static_token`` shop, ``connected``: nothing changes for it.
* ``shops.brand_id`` becomes nullable: an install started from Shopify's side for a shop no brand
  claims waits as ``awaiting_brand`` until a platform admin assigns one.
* ``shop_install_states``: the one-time ``state`` of each install (its SHA-256 only).
On SQLite the nullability change copies ``shops``, so foreign keys pointing at it are checked at
commit (``PRAGMA defer_foreign_keys``), as in 0010.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.core.credentials
import connector.core.tables

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_UTC = connector.core.tables.UTCDateTime
_SECRET = connector.core.credentials.EncryptedText


def _shop_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("connection_kind", sa.String(length=20), server_default="static_token", nullable=False),
        sa.Column("status", sa.String(length=20), server_default="connected", nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("status_changed_at", _UTC(), nullable=True),
        sa.Column("access_token_expires_at", _UTC(), nullable=True),
        sa.Column("refresh_token", _SECRET(), nullable=True),
        sa.Column("refresh_token_expires_at", _UTC(), nullable=True),
        sa.Column("token_refreshed_at", _UTC(), nullable=True),
        sa.Column("client_id", sa.String(length=100), nullable=True),
        sa.Column("client_secret", _SECRET(), nullable=True),
        sa.Column("granted_scopes", sa.Text(), server_default="", nullable=False),
        sa.Column("last_success_at", _UTC(), nullable=True),
        sa.Column("rate_limit", sa.Text(), nullable=True),
        sa.Column("webhooks_synced_at", _UTC(), nullable=True),
        sa.Column("webhook_health", sa.Text(), nullable=True),
        sa.Column("installed_at", _UTC(), nullable=True),
        sa.Column("uninstalled_at", _UTC(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "shop_install_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state_digest", sa.String(length=64), nullable=False),
        sa.Column("shop_domain", sa.String(length=255), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.Column("expires_at", _UTC(), nullable=False),
        sa.Column("used_at", _UTC(), nullable=True),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("state_digest"),
    )
    with op.batch_alter_table("shop_install_states", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shop_install_states_expires_at"), ["expires_at"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA defer_foreign_keys = ON")
    with op.batch_alter_table("shops", schema=None) as batch_op:
        for column in _shop_columns():
            batch_op.add_column(column)
        batch_op.alter_column("brand_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # A shop that never got a brand cannot exist before this revision: it goes, with its install state.
    op.execute("DELETE FROM shops WHERE brand_id IS NULL")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA defer_foreign_keys = ON")
    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.alter_column("brand_id", existing_type=sa.Integer(), nullable=False)
        for column in reversed(_shop_columns()):
            batch_op.drop_column(column.name)
    with op.batch_alter_table("shop_install_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shop_install_states_expires_at"))
    op.drop_table("shop_install_states")
