"""The server-rendered admin & support console at ``/admin``.

Thin like the JSON API: each view reads a form or query string, calls the same
core use case the API calls (so every action lands on the event log with the
signed-in user's name), and renders a template or redirects with a flash.
Every page works without JavaScript.

Later features add pages by registering routes on ``bp`` and a nav entry with
``add_nav``; the login requirement and the CSRF check apply to every route of
the blueprint by default (``session_auth.public`` opts a route out of the login).
A nav entry is registered with its page's permission check: the header shows the
link exactly to the users the page opens for (``blueprint.NavEntry``).
"""

from __future__ import annotations

from connector.admin.blueprint import NAV, REDEMPTION_ROLES, NavEntry, add_nav, bp, nav_for
from connector.core.access import Actor

__all__ = ["NAV", "REDEMPTION_ROLES", "NavEntry", "add_nav", "bp", "nav_for"]

from connector.admin import (  # noqa: F401  (routes register on import)
    account,
    bulk,
    error_pages,
    export,
    fulfilments,
    layout,
    members,
    session_auth,
)

add_nav("Fulfillments", "admin.fulfilments", Actor.check_sees_redemptions)
add_nav("Rewards", "admin.rewards", Actor.check_sees_redemptions)
# The frequent-buyer pages, then the Shops page, each with its nav entries (in this order in the header).
from connector.admin import frequent_buyer, member_edit, rewards, shops  # noqa: E402, F401

# isort: split
# Users, API tokens and the Audit log (issue 14), after Shops; ``tokens`` imports ``users``, so Users comes first.
from connector.admin import tokens  # noqa: E402, F401

# isort: split
# The Webhooks page (brand admins): the loyalty platform's endpoints and delivery log.
from connector.admin import outbound_webhooks as _webhooks_page  # noqa: E402, F401
