"""The server-rendered admin & support console at ``/admin``.

Thin like the JSON API: each view reads a form or query string, calls the same
core use case the API calls (so every action lands on the event log with the
signed-in user's name), and renders a template or redirects with a flash.
Every page works without JavaScript.

Later features add pages by registering routes on ``bp`` and a nav entry with
``add_nav``; the login requirement and the CSRF check apply to every route of
the blueprint by default (``session_auth.public`` opts a route out of the login).
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


from connector.admin import (  # noqa: E402, F401  (routes register on import)
    bulk,
    error_pages,
    export,
    fulfilments,
    layout,
    members,
    session_auth,
)

add_nav("Fulfillments", "admin.fulfilments", REDEMPTION_ROLES)
# The frequent-buyer pages, then the Shops page, each with its nav entries (in this order in the header).
from connector.admin import frequent_buyer, shops  # noqa: E402, F401
