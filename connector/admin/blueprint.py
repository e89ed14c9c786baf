"""The console's blueprint and its header registry: a leaf every console page module imports.

Kept apart from ``connector/admin/__init__.py`` (which imports every page so its routes register)
so that a page module never imports the package that imports it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import Blueprint

from connector.core.model import Role

bp = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


@dataclass(frozen=True)
class NavEntry:
    """One link in the header: shown only to the roles listed."""

    label: str
    endpoint: str
    roles: frozenset[Role]


#: The header's links, in order. A registry rather than a hard-coded template so that a feature
#: (the distributor and retailer pages, say) adds its page without touching base.html.
NAV: list[NavEntry] = []

#: The roles that work on brand reward redemptions (everything but the frequent-buyer parties).
REDEMPTION_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.BRAND_ADMIN, Role.SUPPORT, Role.VIEWER})


def add_nav(label: str, endpoint: str, roles: Iterable[Role]) -> None:
    """Add a header link to ``endpoint`` for ``roles`` (registering the same endpoint twice is a no-op)."""
    if any(entry.endpoint == endpoint for entry in NAV):
        return
    NAV.append(NavEntry(label=label, endpoint=endpoint, roles=frozenset(roles)))


def nav_for(role: Role) -> list[NavEntry]:
    return [entry for entry in NAV if role in entry.roles]
