"""Migration 0020 moves the retailer's account number onto its distributor enrollments, keeping the data, and
its downgrade puts one back on the retailer."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from connector.core.database import make_engine
from connector.migrations import alembic_config, upgrade

_NOW = "'2026-12-01 00:00:00'"


def test_migration_0020_keeps_each_retailers_account_number_on_its_distributor_enrollments(tmp_path):
    url = f"sqlite:///{tmp_path / 'accounts.sqlite3'}"
    upgrade(url, "0015")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO brands (id, name, slug, created_at) VALUES (1, 'Acme', 'acme', {_NOW})"))
        for pid, kind in ((1, "distributor"), (2, "direct")):
            conn.execute(
                text(
                    "INSERT INTO fb_programs (id, brand_id, name, code, buy_quantity, free_quantity, fulfilment_type, "
                    f"quality_check_required, created_at) VALUES ({pid}, 1, 'P{pid}', 'P{pid}', 10, 1, '{kind}', 0, "
                    f"{_NOW})"
                )
            )
        conn.execute(
            text(
                "INSERT INTO fb_distributors (id, name, slug, service_states, service_zip_prefixes, created_at) "
                f"VALUES (1, 'North', 'north', '[\"WA\"]', '[]', {_NOW})"
            )
        )
        conn.execute(
            text(
                "INSERT INTO fb_retailers (id, name, slug, account_number, created_at) VALUES "
                f"(1, 'Paws', 'paws', 'PC-100', {_NOW}), (2, 'Bark', 'bark', NULL, {_NOW})"
            )
        )
        conn.execute(
            text(
                "INSERT INTO fb_enrollments (id, retailer_id, program_id, distributor_id, enrolled_at) VALUES "
                f"(1, 1, 1, 1, {_NOW}), (2, 1, 2, NULL, {_NOW}), (3, 2, 1, 1, {_NOW})"
            )
        )
    upgrade(url)
    with engine.begin() as conn:
        numbers = conn.execute(text("SELECT id, account_number FROM fb_enrollments ORDER BY id")).all()
        assert [tuple(r) for r in numbers] == [(1, "PC-100"), (2, None), (3, None)]
        columns = [r[1] for r in conn.execute(text("PRAGMA table_info(fb_retailers)"))]
        assert "account_number" not in columns
        assert conn.execute(text("SELECT count(*) FROM fb_account_number_changes")).scalar() == 0
    command.downgrade(alembic_config(url), "0015")
    with engine.begin() as conn:
        back = conn.execute(text("SELECT id, account_number FROM fb_retailers ORDER BY id")).all()
        assert [tuple(r) for r in back] == [(1, "PC-100"), (2, None)]
    engine.dispose()
