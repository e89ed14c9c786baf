"""console search indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 02:24:57.401702

The console's search (``core.queries.search_condition``) looks a whole email up by
``lower(email)`` (a plain expression index, every backend) and matches parts of member
names and emails with ``LIKE '%term%'``, which PostgreSQL serves from trigram (pg_trgm)
GIN indexes. Generated with autogenerate, then made dialect-aware by hand:

* SQLite gets only the ``lower(email)`` index (it has no trigram indexes; the
  models declare the trigram ones ``ddl_if(dialect="postgresql")``).
* PostgreSQL creates the pg_trgm extension (a trusted extension: the database owner may
  create it) when the server has it, and skips the trigram indexes with a warning when it
  does not: search still works, a name fragment just reads the members table.
"""

from __future__ import annotations

import warnings

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TRIGRAM = (
    ("ix_members_email_trgm", "lower(email)", "email_search"),
    ("ix_members_name_trgm", "lower(first_name || ' ' || last_name)", "name_search"),
)


def _has_pg_trgm() -> bool:
    """Whether the extension is installed now, creating it first when the server offers it."""
    bind = op.get_bind()
    available = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).scalar()
    if not available:
        warnings.warn(
            "pg_trgm is not available on this PostgreSQL server: the console's name search works without its "
            "trigram indexes, only slower (install the server's contrib package and run this migration again)",
            stacklevel=2,
        )
        return False
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    return True


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.create_index("ix_members_email_lower", [sa.literal_column("lower(email)")], unique=False)
    if op.get_bind().dialect.name != "postgresql" or not _has_pg_trgm():
        return
    for name, expression, label in _TRIGRAM:
        op.create_index(
            name,
            "members",
            [sa.literal_column(expression).label(label)],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={label: "gin_trgm_ops"},
        )


def downgrade() -> None:
    # The extension stays: other schemas in the database may use it, and it costs nothing unused.
    if op.get_bind().dialect.name == "postgresql":
        for name, _, _ in reversed(_TRIGRAM):
            op.execute(f"DROP INDEX IF EXISTS {name}")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index("ix_members_email_lower")
