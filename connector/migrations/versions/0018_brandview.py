"""frequent buyer: a program's minimum purchase in dollars, a batch's credit memo number and amount

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 14:40:00.000000

* ``fb_programs.minimum_purchase_amount``: the "Insufficient Purchase Amount" rule (seed 003); null = none.
* ``fb_batches.credit_memo_number`` / ``credit_memo_amount``: what the distributor recorded when it marked
  the batch fulfilled/credited, which the retailer's reconcile compares.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fb_programs") as batch:
        batch.add_column(sa.Column("minimum_purchase_amount", sa.Numeric(12, 2), nullable=True))
    with op.batch_alter_table("fb_batches") as batch:
        batch.add_column(sa.Column("credit_memo_number", sa.String(length=50), nullable=True))
        batch.add_column(sa.Column("credit_memo_amount", sa.Numeric(12, 2), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): batch mode would copy the tables, and dropping the old copy trips the
    # foreign keys that point at them once they hold rows.
    op.drop_column("fb_batches", "credit_memo_amount")
    op.drop_column("fb_batches", "credit_memo_number")
    op.drop_column("fb_programs", "minimum_purchase_amount")
