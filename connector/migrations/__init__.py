"""Alembic migrations, shipped inside the package so ``connector db upgrade`` works from a wheel."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config

if TYPE_CHECKING:
    from connector.core.credentials import Keyring

HERE = Path(__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head", *, keyring: Keyring | None = None) -> None:
    """Migrate to ``revision``. ``keyring`` encrypts stored credentials (0010); without one, a migration
    that needs it loads it from the environment as the app does (``connector.encryption.load_keyring``)."""
    cfg = alembic_config(database_url)
    if keyring is not None:
        cfg.attributes["connector_keyring"] = keyring
    command.upgrade(cfg, revision)


def current_heads(database_url: str) -> list[str]:
    from alembic.script import ScriptDirectory

    return list(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())
