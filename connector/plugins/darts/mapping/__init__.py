"""Declarative column mappings: the darts plugin's POS report parser."""

from connector.plugins.darts.mapping.parser import *  # noqa: F403
