"""Alembic environment: the URL comes from the connector's settings, not alembic.ini."""

from __future__ import annotations

from alembic import context

from connector.core.database import make_engine
from connector.core.tables import Base

config = context.config
url: str = config.get_main_option("sqlalchemy.url") or ""
if not url:
    from connector.config import Settings

    url = Settings.from_env().database_url


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        # Batch mode lets later migrations alter tables on SQLite, which cannot ALTER most things.
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
