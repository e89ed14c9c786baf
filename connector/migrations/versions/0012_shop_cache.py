"""shop cache: a small per-shop key/value table plugins reuse answers from (a SKU's variant)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 11:45:00.000000

``shop_cache_entries`` holds disposable answers a plugin learned from one shop (``core.shop_cache``):
unique per (shop, key), grouped by ``tag`` for invalidation, dropped with their shop.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.core.tables

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_UTC = connector.core.tables.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "shop_cache_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=True),
        sa.Column("expires_at", _UTC(), nullable=True),
        sa.Column("updated_at", _UTC(), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shop_id", "key", name="uq_shop_cache_key"),
    )
    op.create_index("ix_shop_cache_shop_tag", "shop_cache_entries", ["shop_id", "tag"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_shop_cache_shop_tag", table_name="shop_cache_entries")
    op.drop_table("shop_cache_entries")
