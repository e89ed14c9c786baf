"""console list indexes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 04:35:00.000000

Two indexes for the Fulfillments list at a million redemptions (measured in docs/performance.md):

* ``ix_redemptions_unfulfilled``, ``(brand_id, claimed_at, id) WHERE status IN ('pending',
  'error')``, on every backend (SQLite has partial indexes too): a brand's Unfulfilled tab,
  newest first and at any cursor depth, is a backward walk of a small index (about 1.5 MB at
  a million rows) instead of a bitmap over both statuses and a sort (10-50 ms -> 0.4 ms at
  row 2,260 of brand 1). Its capped tab count reads it too.
* ``ix_redemptions_code_trgm``, on ``upper(code)`` (``queries.CODE_SEARCH``), on PostgreSQL with pg_trgm (created by 0004, or skipped there with a
  warning and skipped here the same way): a trigram GIN index on ``code`` for a search that can
  be part of a code (``queries.CODE_PART_SHAPE``: a partial code, or a term that matches
  nothing): 0.25-0.9 s -> under 1 ms. Terms that cannot be part of a code (a space, an O, ...)
  no longer test the code at all, so this index does not slow the common name or offer searches
  down (the objection when it was tried with a UNION-shaped query). About 50 MB and 10-20 s to
  build at a million rows.
"""

from __future__ import annotations

import warnings

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_UNFULFILLED = "status IN ('pending', 'error')"


def _has_pg_trgm() -> bool:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).scalar():
        return True
    if bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).scalar():
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        return True
    warnings.warn(
        "pg_trgm is not available on this PostgreSQL server: searching part of a redemption code works "
        "without ix_redemptions_code_trgm, only slower (install the contrib package and run this migration again)",
        stacklevel=2,
    )
    return False


def upgrade() -> None:
    op.create_index(
        "ix_redemptions_unfulfilled",
        "redemptions",
        ["brand_id", "claimed_at", "id"],
        unique=False,
        postgresql_where=sa.text(_UNFULFILLED),
        sqlite_where=sa.text(_UNFULFILLED),
    )
    if op.get_bind().dialect.name != "postgresql" or not _has_pg_trgm():
        return
    op.create_index(
        "ix_redemptions_code_trgm",
        "redemptions",
        [sa.literal_column("upper(code)").label("code_search")],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"code_search": "gin_trgm_ops"},
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_redemptions_code_trgm")
    op.drop_index("ix_redemptions_unfulfilled", table_name="redemptions")
