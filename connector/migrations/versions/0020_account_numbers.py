"""account numbers per enrollment, and their history

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 14:40:00.000000

A store has an account number with each distributor it buys from, not one for the whole retailer, so
``fb_retailers.account_number`` moves to ``fb_enrollments.account_number``. Existing data is kept: every
distributor-fulfilled enrollment takes its retailer's number (the only one known so far); direct and
retailer-fulfilled enrollments have no distributor and so no account number. ``fb_account_number_changes``
records each later change (old, new, who, when) for the distributor's "Account Number Changes" report.

Downgrade puts one number back on each retailer (the highest of its enrollments', as the old column held one).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.core.tables

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_UTC = connector.core.tables.UTCDateTime


def _drop_column(table: str, column: str) -> None:
    """A plain ``ALTER TABLE ... DROP COLUMN`` (SQLite 3.35+ has it): copying the table as batch mode does would
    trip the foreign keys that point at ``fb_retailers`` and ``fb_enrollments`` when the old copy is dropped."""
    op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")


def upgrade() -> None:
    with op.batch_alter_table("fb_enrollments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_number", sa.String(length=50), nullable=True))
    op.execute(
        "UPDATE fb_enrollments SET account_number = "
        "(SELECT r.account_number FROM fb_retailers r WHERE r.id = fb_enrollments.retailer_id) "
        "WHERE distributor_id IS NOT NULL"
    )
    _drop_column("fb_retailers", "account_number")
    op.create_table(
        "fb_account_number_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("retailer_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("distributor_id", sa.Integer(), nullable=True),
        sa.Column("old_account_number", sa.String(length=50), nullable=True),
        sa.Column("new_account_number", sa.String(length=50), nullable=True),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("changed_at", _UTC(), nullable=False),
        sa.ForeignKeyConstraint(["distributor_id"], ["fb_distributors.id"]),
        sa.ForeignKeyConstraint(["enrollment_id"], ["fb_enrollments.id"]),
        sa.ForeignKeyConstraint(["program_id"], ["fb_programs.id"]),
        sa.ForeignKeyConstraint(["retailer_id"], ["fb_retailers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("fb_account_number_changes", schema=None) as batch_op:
        batch_op.create_index("ix_fb_account_number_changes_distributor", ["distributor_id", "id"], unique=False)
        batch_op.create_index("ix_fb_account_number_changes_enrollment", ["enrollment_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fb_account_number_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_fb_account_number_changes_enrollment")
        batch_op.drop_index("ix_fb_account_number_changes_distributor")
    op.drop_table("fb_account_number_changes")
    with op.batch_alter_table("fb_retailers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_number", sa.String(length=50), nullable=True))
    op.execute(
        "UPDATE fb_retailers SET account_number = "
        "(SELECT MAX(e.account_number) FROM fb_enrollments e WHERE e.retailer_id = fb_retailers.id)"
    )
    _drop_column("fb_enrollments", "account_number")
