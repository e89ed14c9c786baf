"""The POS report formats the installed plugins read (the ``connector_pos_formats`` hook)."""

from __future__ import annotations

from connector.core.errors import ValidationError
from connector.core.frequent_buyer.pos_types import PosFormat
from connector.core.runtime import Runtime


def pos_formats(rt: Runtime) -> dict[str, PosFormat]:
    """Every POS report format the installed plugins read, by name."""
    found: dict[str, PosFormat] = {}
    for formats in rt.plugins.hook.connector_pos_formats():
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
