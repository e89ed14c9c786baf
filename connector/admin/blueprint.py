"""The console's blueprint and its header registry: a leaf every console page module imports.

Kept apart from ``connector/admin/__init__.py`` (which imports every page so its routes register)
so that a page module never imports the package that imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import Blueprint

from connector.core.access import Actor
from connector.core.errors import PermissionDeniedError
from connector.core.model import Role

#: A permission check: returns for an actor allowed in, raises ``PermissionDeniedError`` (saying why) otherwise.
Permission = Callable[[Actor], None]

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
    """One link in the header, and who may open the page behind it: one check decides both.

    The header shows the link exactly when ``check`` passes, and the console's guard runs the same
    ``check`` before the page's view (``layout.guard``), so a link is never hidden from a user
    who can open its page, nor shown to one who would be refused.
    """

    label: str
    endpoint: str
    check: Permission

    def allows(self, actor: Actor) -> bool:
        try:
            check_cashier_reach(actor, self.endpoint)
            self.check(actor)
        except PermissionDeniedError:
            return False
        return True


#: The console endpoints a cashier opens besides the public ones (sign-in, sign-out, static files): Checkout's
#: pages, and the home page that sends them there.
CASHIER_ENDPOINT_PREFIX = "admin.fb_checkout"
_CASHIER_ALSO = frozenset({"admin.home"})


def check_cashier_reach(actor: Actor, endpoint: str | None) -> None:
    """A cashier login opens Checkout and nothing else: no reports, uploads, programs, users or settings.

    One check for every console page (``layout.guard``) and header link, so a page added later is closed
    to cashiers unless it is Checkout's, whatever its own check would let a retailer-scoped role see.
    """
    if not actor.is_cashier:
        return
    if endpoint is not None and (endpoint.startswith(CASHIER_ENDPOINT_PREFIX) or endpoint in _CASHIER_ALSO):
        return
    raise PermissionDeniedError("a cashier login opens Checkout only; the store's retailer user can open this page")


#: The header's links, in order. A registry rather than a hard-coded template so that a feature
#: (the distributor and retailer pages, say) adds its page without touching base.html.
NAV: list[NavEntry] = []

#: The roles that work on brand reward redemptions (everything but the frequent-buyer parties).
REDEMPTION_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.BRAND_ADMIN, Role.SUPPORT, Role.VIEWER})


def any_role(actor: Actor) -> None:
    """Every signed-in role may open the page; what it lists is scoped to the actor by the core's queries."""


def roles_check(roles: Iterable[Role]) -> Permission:
    """A check that lets in exactly ``roles`` (for a page whose core use case has no check of its own)."""
    allowed = frozenset(roles)

    def check(actor: Actor) -> None:
        if actor.role not in allowed:
            raise PermissionDeniedError(f"role {actor.role.value} cannot open this page")

    return check


def add_nav(label: str, endpoint: str, allowed: Iterable[Role] | Permission) -> None:
    """Add a header link to ``endpoint``: for the page's permission check, or for a set of roles.

    Pass the check the page's core use case makes, so that the link and the page agree. Registering
    the same endpoint twice is a no-op.
    """
    if any(entry.endpoint == endpoint for entry in NAV):
        return
    check = allowed if callable(allowed) else roles_check(allowed)
    NAV.append(NavEntry(label=label, endpoint=endpoint, check=check))


def nav_for(who: Actor | Role) -> list[NavEntry]:
    """The header links ``who`` may follow (a bare role is taken as an unscoped user of that role)."""
    actor = who if isinstance(who, Actor) else Actor(name=who.value, role=who)
    return [entry for entry in NAV if entry.allows(actor)]


def nav_entry(endpoint: str | None) -> NavEntry | None:
    """The header link whose page ``endpoint`` is, if any."""
    return next((entry for entry in NAV if entry.endpoint == endpoint), None)
