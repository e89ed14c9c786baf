"""in-store redemption: the purchases a cashier scans onto a pet owner's cards

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 14:40:00.000000

* ``fb_card_punches``: units of a program item a customer bought at the counter, counting on that
  program's card until a Checkout redemption uses them (``pos_redemption_id``); a retried scan is
  one punch (``uq_fb_card_punch_key``, per retailer).

The ``cashier`` role needs no schema change: ``users.role`` and ``api_tokens.role`` are strings.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.core.tables

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_UTC = connector.core.tables.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "fb_card_punches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("retailer_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("program_item_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("purchased_on", sa.Date(), nullable=False),
        sa.Column("pos_redemption_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.ForeignKeyConstraint(["retailer_id"], ["fb_retailers.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["fb_customers.id"]),
        sa.ForeignKeyConstraint(["program_id"], ["fb_programs.id"]),
        sa.ForeignKeyConstraint(["program_item_id"], ["fb_program_items.id"]),
        sa.ForeignKeyConstraint(["location_id"], ["fb_retailer_locations.id"]),
        sa.ForeignKeyConstraint(["pos_redemption_id"], ["fb_pos_redemptions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("retailer_id", "idempotency_key", name="uq_fb_card_punch_key"),
    )
    op.create_index(
        "ix_fb_card_punches_card", "fb_card_punches", ["customer_id", "program_id", "pos_redemption_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_fb_card_punches_card", table_name="fb_card_punches")
    op.drop_table("fb_card_punches")
