"""The POS report formats the installed plugins read (the ``connector_pos_formats`` hook)."""

from __future__ import annotations

from dataclasses import replace

from connector.core.errors import ValidationError
from connector.core.frequent_buyer.pos_types import PosFormat
from connector.core.hooktypes import HookContext
from connector.core.runtime import Runtime

#: The ``ctx.config`` key carrying the operator's folder of JSON mappings (named like its variable).
POS_MAPPINGS_DIR = "CONNECTOR_POS_MAPPINGS_DIR"


def formats_context(rt: Runtime) -> HookContext:
    """The context the format hook gets: the host's POS settings, which every format plugin shares."""
    directory = rt.settings.pos_mappings_dir
    return replace(rt.hook_context("pos_formats"), config={POS_MAPPINGS_DIR: directory} if directory else {})


def pos_formats(rt: Runtime) -> dict[str, PosFormat]:
    """Every POS report format the installed plugins read, by name."""
    found: dict[str, PosFormat] = {}
    for formats in rt.plugins.hook.connector_pos_formats(ctx=formats_context(rt)):
        for f in formats or ():
            found.setdefault(f.name, f)
    return dict(sorted(found.items()))


def find_pos_format(rt: Runtime, name: str) -> PosFormat:
    """The parser for ``name``, or a ``ValidationError`` on ``format`` listing the installed ones."""
    formats = pos_formats(rt)
    if name in formats:
        return formats[name]
    available = ", ".join(formats) or "none (enable the darts plugin)"
    raise ValidationError(
        f"unknown POS report format {name!r}", fields={"format": f"unknown format {name!r}; available: {available}"}
    )
