"""outbound webhook endpoints: roll the signing secret with an overlap

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 14:45:00.000000

* ``outbound_endpoints.previous_signing_secret`` (encrypted like the current one) and
  ``previous_secret_until``: after a roll, deliveries are signed with both secrets until then.
* ``outbound_endpoints.secret_rolled_at``: when the secret was last rolled (shown on the Webhooks page).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.core.credentials
import connector.core.tables

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_UTC = connector.core.tables.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("outbound_endpoints") as batch:
        batch.add_column(
            sa.Column("previous_signing_secret", connector.core.credentials.EncryptedText(), nullable=True)
        )
        batch.add_column(sa.Column("previous_secret_until", _UTC(), nullable=True))
        batch.add_column(sa.Column("secret_rolled_at", _UTC(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): a table copy would trip the deliveries' foreign key to the endpoints.
    op.drop_column("outbound_endpoints", "secret_rolled_at")
    op.drop_column("outbound_endpoints", "previous_secret_until")
    op.drop_column("outbound_endpoints", "previous_signing_secret")
