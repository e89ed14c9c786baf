"""webhook dedupe per shop, and by body

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 06:10:00

Only the body of a delivery is signed. The old resource key (provider, topic, resource_id,
resource_updated_at, body_sha256) held nothing for bodies without ``updated_at`` (the privacy
topics, among others): a NULL in a unique key never conflicts, so the same signed body resent
under fresh ``X-Shopify-Webhook-Id``/``Event-Id`` headers was stored, and applied, every time.
It is replaced by (provider, shop_domain, topic, body_sha256): never NULL, and since the body
holds the resource and its ``updated_at``, it covers everything the old key did.

Every key now includes the shop: a delivery of one shop can no longer be taken for a duplicate
of another shop's, so no shop can pre-empt another's deliveries with ids or bodies it guessed.

Rows that already repeat a body for one shop and topic are replays of a row stored earlier;
all but the first (lowest id) are deleted before the key is created, or creating it would fail.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_DROP_REPLAYS = """
DELETE FROM webhook_deliveries
WHERE id NOT IN (
    SELECT first_id FROM (
        SELECT MIN(id) AS first_id FROM webhook_deliveries
        GROUP BY provider, shop_domain, topic, body_sha256
    ) AS firsts
)
"""


def upgrade() -> None:
    op.execute(_DROP_REPLAYS)
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_constraint("uq_webhooks_resource", type_="unique")
        batch_op.drop_constraint("uq_webhooks_event", type_="unique")
        batch_op.drop_constraint("uq_webhooks_delivery", type_="unique")
        batch_op.create_unique_constraint("uq_webhooks_body", ["provider", "shop_domain", "topic", "body_sha256"])
        batch_op.create_unique_constraint("uq_webhooks_event", ["provider", "shop_domain", "event_id", "topic"])
        batch_op.create_unique_constraint("uq_webhooks_delivery", ["provider", "shop_domain", "webhook_id"])


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_constraint("uq_webhooks_delivery", type_="unique")
        batch_op.drop_constraint("uq_webhooks_event", type_="unique")
        batch_op.drop_constraint("uq_webhooks_body", type_="unique")
        batch_op.create_unique_constraint("uq_webhooks_delivery", ["provider", "webhook_id"])
        batch_op.create_unique_constraint("uq_webhooks_event", ["provider", "event_id", "topic"])
        batch_op.create_unique_constraint(
            "uq_webhooks_resource", ["provider", "topic", "resource_id", "resource_updated_at", "body_sha256"]
        )
