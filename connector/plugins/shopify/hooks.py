"""Shopify plugin hooks (placeholder until the plugin lands)."""

from __future__ import annotations

from connector import hookimpl
from connector.core.hooktypes import PluginInfo


@hookimpl
def connector_plugin_info() -> PluginInfo:
    return PluginInfo(name="shopify", version="0.1.0", channels=("shopify",), webhook_providers=("shopify",))
