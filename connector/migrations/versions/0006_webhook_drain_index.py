"""webhook drain index

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 04:45:00

The webhook drain job (``webhook_intake.process_received_webhooks``) and the sweeper ask for
deliveries still ``received``: a handful among every delivery ever stored. A partial index on
``id`` holds exactly those rows, so both read a few index entries instead of the table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_WHERE = sa.text("status = 'received'")


def upgrade() -> None:
    op.create_index(
        "ix_webhook_deliveries_received",
        "webhook_deliveries",
        ["id"],
        unique=False,
        postgresql_where=_WHERE,
        sqlite_where=_WHERE,
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_received", table_name="webhook_deliveries")
