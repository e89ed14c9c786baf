"""frequent-buyer notices: the outbox of notice emails, and each user's opt-outs

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 14:40:00.000000

* ``fb_notices``: one row per user, kind and subject (unique), written before it is sent, so a re-run
  never emails twice; ``sent_at`` once the mailer accepted it.
* ``fb_notice_optouts``: the kinds of notice a user switched off.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.core.tables

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_UTC = connector.core.tables.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "fb_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("subject_key", sa.String(length=60), nullable=False),
        sa.Column("to_email", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.Column("sent_at", _UTC(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "kind", "subject_key", name="uq_fb_notice"),
    )
    op.create_index("ix_fb_notices_unsent", "fb_notices", ["sent_at", "id"], unique=False)
    op.create_table(
        "fb_notice_optouts",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("opted_out_at", _UTC(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("user_id", "kind"),
    )


def downgrade() -> None:
    op.drop_table("fb_notice_optouts")
    op.drop_index("ix_fb_notices_unsent", table_name="fb_notices")
    op.drop_table("fb_notices")
