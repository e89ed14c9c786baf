"""Finds plugins through entry points and calls them.

Built-in plugins are found exactly like third-party ones (the
``connector.plugins`` entry-point group), so the core has no list of them.
A plugin that fails to import stops start-up: fulfilment code must fail loudly.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Any

import pluggy

from connector import hookspecs
from connector.core.errors import PluginLoadError
from connector.core.hooktypes import PluginInfo

ENTRY_POINT_GROUP = "connector.plugins"


def make_plugin_manager(
    load_entrypoints: bool = True,
    blocked: Iterable[str] = (),
    extra: Iterable[object] = (),
) -> pluggy.PluginManager:
    """Build a manager with every installed plugin, except those ``blocked``."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in blocked:
        pm.set_blocked(name)
    if load_entrypoints:
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if pm.is_blocked(ep.name) or pm.get_plugin(ep.name) is not None:
                continue
            try:
                plugin = ep.load()
                pm.register(plugin, name=ep.name)
            except Exception as exc:  # noqa: BLE001 - any failure must stop start-up, with its cause
                raise PluginLoadError(
                    f"plugin {ep.name!r} (entry point {ep.value!r} in group {ENTRY_POINT_GROUP!r}) failed to "
                    f"load: {type(exc).__name__}: {exc}. Fix or uninstall the plugin package, or block it with "
                    f"CONNECTOR_DISABLED_PLUGINS={ep.name}.",
                    plugin=ep.name,
                ) from exc
    for plugin in extra:
        pm.register(plugin)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginLoadError(f"a plugin implements a hook that does not exist: {exc}") from exc
    return pm


def plugin_infos(pm: pluggy.PluginManager) -> list[PluginInfo]:
    return sorted(pm.hook.connector_plugin_info(), key=lambda info: info.name)


def describe_plugins(pm: pluggy.PluginManager) -> list[dict[str, Any]]:
    """Name, version and implemented hooks of every plugin, for ``connector plugins``."""
    by_name = {info.name: info for info in plugin_infos(pm)}
    rows = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda pair: str(pair[0])):
        if plugin is None:  # blocked: registered as a name only
            continue
        hooks = sorted(caller.name for caller in (pm.get_hookcallers(plugin) or []))
        info = by_name.get(str(name))
        rows.append(
            {
                "name": name,
                "version": info.version if info else None,
                "channels": list(info.channels) if info else [],
                "webhook_providers": list(info.webhook_providers) if info else [],
                "hooks": hooks,
            }
        )
    return rows
