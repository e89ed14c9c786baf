"""The migrations build exactly the schema the models describe, on the test database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from connector.core.database import make_engine
from connector.core.tables import Base
from connector.migrations import current_heads


def test_migrations_match_models(database_url):
    engine = make_engine(database_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn)
        assert ctx.get_current_heads() == tuple(current_heads(database_url))
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ; add a migration: {diff}"


_INSERT_DELIVERY = (
    "INSERT INTO webhook_deliveries (provider, shop_domain, topic, webhook_id, event_id, body, body_sha256, "
    "status, received_at) VALUES ('shopify', :shop, 'customers/redact', :wid, :wid, '{}', :sha, 'processed', "
    "'2026-12-01 00:00:00')"
)


def test_migration_0008_keeps_the_first_of_replayed_bodies_and_then_refuses_them(tmp_path):
    """Bodies replayed under fresh ids before 0008 (possible while the key had a NULL part) keep one row."""
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from connector.migrations import upgrade

    url = f"sqlite:///{tmp_path / 'replays.sqlite3'}"
    upgrade(url, "0007")
    engine = make_engine(url)
    with engine.begin() as conn:
        for n, sha in enumerate(["a" * 64, "a" * 64, "b" * 64, "a" * 64]):
            conn.execute(text(_INSERT_DELIVERY), {"shop": "a.myshopify.com", "wid": f"w{n}", "sha": sha})
    upgrade(url)
    with engine.begin() as conn:
        kept = conn.execute(text("SELECT webhook_id FROM webhook_deliveries ORDER BY id")).scalars().all()
        assert kept == ["w0", "w2"]
        # The same body from another shop is that shop's own delivery.
        conn.execute(text(_INSERT_DELIVERY), {"shop": "b.myshopify.com", "wid": "w9", "sha": "a" * 64})
    with pytest.raises(IntegrityError, match="uq_webhooks_body|UNIQUE"), engine.begin() as conn:
        conn.execute(text(_INSERT_DELIVERY), {"shop": "a.myshopify.com", "wid": "w10", "sha": "a" * 64})
    engine.dispose()
