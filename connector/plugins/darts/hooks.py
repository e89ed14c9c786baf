"""DARTS plugin hooks.

Registered now so the plugin set users see is stable; POS report parsing,
program rules and distributor batching arrive with the frequent-buyer work.
"""

from __future__ import annotations

from connector import hookimpl
from connector.core.hooktypes import PluginInfo


@hookimpl
def connector_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="darts",
        version="0.1.0",
        description="Frequent-buyer free goods from DARTS POS redemption reports (report ingestion pending).",
    )
