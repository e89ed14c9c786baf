"""DARTS plugin hooks: the POS report formats it reads.

Program rules, customer mapping and distributor batching live in the core; this plugin only
turns report files into cards (``connector_pos_formats``, parsed by ``mapping``), so the core never sees bytes.
"""

from __future__ import annotations

from connector import __version__, hookimpl
from connector.core.frequent_buyer.pos_types import PosFormat
from connector.core.hooktypes import HookContext, PluginInfo
from connector.plugins.darts.formats import mappings


@hookimpl
def connector_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="darts",
        version=__version__,
        description=(
            'Frequent-buyer free goods from POS redemption reports: the DARTS "Buy X Get Y Free Redemption '
            'Export" (darts-bxgy) and any JSON column mapping in CONNECTOR_POS_MAPPINGS_DIR.'
        ),
    )


@hookimpl
def connector_pos_formats(ctx: HookContext) -> list[PosFormat]:
    """A ``MappingError`` for a broken operator mapping propagates: a silently missing format is worse."""
    return [m.as_pos_format() for m in mappings(ctx.config)]
