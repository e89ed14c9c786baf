"""platform integration: rewards by the platform's ids, outbound webhook endpoints, outbox and delivery log

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 11:45:00.000000

* ``rewards.external_ref``: the loyalty platform's own id for a reward, unique per brand (members have
  had theirs since 0001).
* ``outbound_endpoints``: a brand's webhook receivers, with their signing secret encrypted at rest.
* ``outbound_events`` (the outbox, written with the redemption transition it reports),
  ``outbound_deliveries`` (one per event and endpoint) and ``outbound_attempts`` (the delivery log).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.core.credentials
import connector.core.tables

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_UTC = connector.core.tables.UTCDateTime
_SECRET = connector.core.credentials.EncryptedText
_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("rewards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_ref", sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint("uq_rewards_brand_ref", ["brand_id", "external_ref"])
    op.create_table(
        "outbound_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("signing_secret", _SECRET(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.Column("removed_at", _UTC(), nullable=True),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbound_endpoints_brand_id", "outbound_endpoints", ["brand_id"], unique=False)
    op.create_table(
        "outbound_events",
        sa.Column("id", _BIGINT, nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("redemption_id", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"]),
        sa.ForeignKeyConstraint(["redemption_id"], ["redemptions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbound_events_brand_id", "outbound_events", ["brand_id"], unique=False)
    op.create_index("ix_outbound_events_redemption_id", "outbound_events", ["redemption_id"], unique=False)
    op.create_table(
        "outbound_deliveries",
        sa.Column("id", _BIGINT, nullable=False),
        sa.Column("event_id", _BIGINT, nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("redemption_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("attempt_budget_from", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _UTC(), nullable=True),
        sa.Column("lease_holder", sa.String(length=40), nullable=True),
        sa.Column("claim_expires_at", _UTC(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.Column("delivered_at", _UTC(), nullable=True),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"]),
        sa.ForeignKeyConstraint(["endpoint_id"], ["outbound_endpoints.id"]),
        sa.ForeignKeyConstraint(["event_id"], ["outbound_events.id"]),
        sa.ForeignKeyConstraint(["redemption_id"], ["redemptions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "endpoint_id", name="uq_outbound_deliveries_event_endpoint"),
    )
    op.create_index("ix_outbound_deliveries_brand_id", "outbound_deliveries", ["brand_id"], unique=False)
    op.create_index(
        "ix_outbound_deliveries_queue",
        "outbound_deliveries",
        ["endpoint_id", "redemption_id", "event_id"],
        unique=False,
    )
    op.create_index(
        "ix_outbound_deliveries_pending",
        "outbound_deliveries",
        ["id"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "outbound_attempts",
        sa.Column("id", _BIGINT, nullable=False),
        sa.Column("delivery_id", _BIGINT, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("at", _UTC(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["delivery_id"], ["outbound_deliveries.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbound_attempts_delivery_id", "outbound_attempts", ["delivery_id"], unique=False)


def downgrade() -> None:
    op.drop_table("outbound_attempts")
    op.drop_table("outbound_deliveries")
    op.drop_table("outbound_events")
    op.drop_table("outbound_endpoints")
    with op.batch_alter_table("rewards", schema=None) as batch_op:
        batch_op.drop_constraint("uq_rewards_brand_ref", type_="unique")
        batch_op.drop_column("external_ref")
