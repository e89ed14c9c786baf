"""reward limits: availability dates, a per-member limit and a total quantity cap

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 11:50:00.000000

The Rewards page (issue 14) edits the catalogue without a shell; these are the rules it adds, all
nullable so every existing reward keeps behaving as before (no dates, no limits).
``create_redemption`` enforces them (``core/reward_rules.py``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.core.tables

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_UTC = connector.core.tables.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("rewards") as batch:
        batch.add_column(sa.Column("available_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("available_until", sa.Date(), nullable=True))
        batch.add_column(sa.Column("per_member_limit", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("total_quantity", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("updated_at", _UTC(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rewards") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("total_quantity")
        batch.drop_column("per_member_limit")
        batch.drop_column("available_until")
        batch.drop_column("available_from")
