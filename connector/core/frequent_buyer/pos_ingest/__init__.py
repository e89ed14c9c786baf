"""Importing a POS redemption report (the use case that stores its rows)."""

from connector.core.frequent_buyer.pos_ingest.importer import *  # noqa: F403
