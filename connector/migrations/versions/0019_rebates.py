"""rebates: dollars-off programs, the rebates they owe retailers and the Distributor Rebate Credit Batches

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 14:40:00.000000

* ``fb_programs.rebate_amount``: set for a dollars-off program (its redemptions owe a rebate, not a free good).
* ``fb_rebate_batches``: a distributor's batch of one retailer's rebates, marked credited.
* ``fb_rebates``: one per processed dollars-off redemption.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.core.tables

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_UTC = connector.core.tables.UTCDateTime
_MONEY = sa.Numeric(precision=12, scale=2)


def upgrade() -> None:
    with op.batch_alter_table("fb_programs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rebate_amount", _MONEY, nullable=True))
    op.create_table(
        "fb_rebate_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("distributor_id", sa.Integer(), nullable=False),
        sa.Column("retailer_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.Column("credited_at", _UTC(), nullable=True),
        sa.ForeignKeyConstraint(["distributor_id"], ["fb_distributors.id"]),
        sa.ForeignKeyConstraint(["retailer_id"], ["fb_retailers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("fb_rebate_batches", schema=None) as batch_op:
        batch_op.create_index("ix_fb_rebate_batches_distributor_status", ["distributor_id", "status"], unique=False)
        batch_op.create_index("ix_fb_rebate_batches_retailer", ["retailer_id"], unique=False)
    op.create_table(
        "fb_rebates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pos_redemption_id", sa.Integer(), nullable=False),
        sa.Column("retailer_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("distributor_id", sa.Integer(), nullable=True),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("amount", _MONEY, nullable=False),
        sa.Column("sku", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("redeemed_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.Column("updated_at", _UTC(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["fb_rebate_batches.id"]),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["fb_customers.id"]),
        sa.ForeignKeyConstraint(["distributor_id"], ["fb_distributors.id"]),
        sa.ForeignKeyConstraint(["location_id"], ["fb_retailer_locations.id"]),
        sa.ForeignKeyConstraint(["pos_redemption_id"], ["fb_pos_redemptions.id"]),
        sa.ForeignKeyConstraint(["program_id"], ["fb_programs.id"]),
        sa.ForeignKeyConstraint(["retailer_id"], ["fb_retailers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("pos_redemption_id"),
    )
    with op.batch_alter_table("fb_rebates", schema=None) as batch_op:
        batch_op.create_index("ix_fb_rebates_batch_id", ["batch_id"], unique=False)
        batch_op.create_index("ix_fb_rebates_distributor_status", ["distributor_id", "status"], unique=False)
        batch_op.create_index("ix_fb_rebates_retailer_status", ["retailer_id", "status"], unique=False)


def downgrade() -> None:
    op.drop_table("fb_rebates")
    op.drop_table("fb_rebate_batches")
    op.drop_column("fb_programs", "rebate_amount")  # plain DROP COLUMN: a table copy would trip foreign keys
