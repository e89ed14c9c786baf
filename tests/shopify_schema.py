"""Where the tests find Shopify's Admin GraphQL schema (2026-07).

The schema ships with the tests (``tests/data/shopify``) so the README's test
command passes in any checkout; ``CONNECTOR_SHOPIFY_SCHEMA`` points at another
copy, e.g. a newer version to try the documents against.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SCHEMA_ENV = "CONNECTOR_SHOPIFY_SCHEMA"
SHIPPED_SCHEMA = Path(__file__).resolve().parent / "data" / "shopify" / "admin-2026-07.graphql"


def admin_schema_path() -> Path:
    return Path(os.environ.get(SCHEMA_ENV) or SHIPPED_SCHEMA)


def admin_sdl() -> str:
    """The schema's SDL; a missing file fails the test (never skips): the document checks depend on it."""
    path = admin_schema_path()
    if not path.is_file():
        pytest.fail(
            f"Shopify Admin schema not found at {path}; restore {SHIPPED_SCHEMA} or set {SCHEMA_ENV}", pytrace=False
        )
    return path.read_text(encoding="utf-8")
