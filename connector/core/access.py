"""Who may see and do what: one place, used by the API and the admin UI alike."""

from __future__ import annotations

from dataclasses import dataclass

from connector.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from connector.core.model import Role

_ACTION_ROLES = {Role.PLATFORM_ADMIN, Role.BRAND_ADMIN, Role.SUPPORT}
_CONFIG_ROLES = {Role.PLATFORM_ADMIN, Role.BRAND_ADMIN}
#: Roles that work on frequent-buyer credits, not on brand reward redemptions.
PARTY_ROLES = {Role.DISTRIBUTOR, Role.RETAILER, Role.CASHIER}
#: Roles scoped to one retailer: its own users, and its cashiers (who reach Checkout only).
RETAILER_SCOPED_ROLES = {Role.RETAILER, Role.CASHIER}


@dataclass(frozen=True)
class Actor:
    """The caller of a use case: a name for the event log, a role, and a scope.

    ``brand_id`` is None for roles that span brands (platform admin, support, a global viewer).
    ``distributor_id`` / ``retailer_id`` scope the frequent-buyer party roles.
    """

    name: str
    role: Role
    brand_id: int | None = None
    distributor_id: int | None = None
    retailer_id: int | None = None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(name=name, role=Role.PLATFORM_ADMIN)

    @property
    def is_cashier(self) -> bool:
        """A retailer's counter login: reaches Checkout and nothing else (not reports, uploads or settings)."""
        return self.role == Role.CASHIER

    @property
    def is_party(self) -> bool:
        """A distributor or retailer user: sees only its own frequent-buyer data."""
        return self.role in PARTY_ROLES

    def sees_brand(self, brand_id: int) -> bool:
        if self.is_party:
            return False
        return self.brand_id is None or self.brand_id == brand_id

    def check_brand(self, brand_id: int, what: str = "redemption") -> None:
        # A resource of another brand is reported as missing, so its existence does not leak.
        if not self.sees_brand(brand_id):
            raise NotFoundError(f"{what} not found")

    def check_sees_redemptions(self) -> None:
        """Reward redemptions are brand data; distributor and retailer users have none."""
        if self.is_party:
            raise PermissionDeniedError(
                f"role {self.role.value} works on frequent-buyer credits, not on reward redemptions"
            )

    def check_can_act(self) -> None:
        if self.role not in _ACTION_ROLES:
            raise PermissionDeniedError(f"role {self.role.value} is read-only; ask a support user or an admin")

    def check_can_configure(self) -> None:
        if self.role not in _CONFIG_ROLES:
            raise PermissionDeniedError(f"role {self.role.value} cannot change configuration")


def check_scope(role: Role, *, brand_id: int | None, distributor_id: int | None, retailer_id: int | None) -> None:
    """The scope a user or token of ``role`` must carry, checked once where either is created."""
    problems: dict[str, str] = {}
    if role == Role.BRAND_ADMIN and brand_id is None:
        problems["brand"] = "a brand admin manages one brand: give its slug"
    if role == Role.DISTRIBUTOR and distributor_id is None:
        problems["distributor"] = "a distributor user belongs to one distributor: give its id"
    if role in RETAILER_SCOPED_ROLES and retailer_id is None:
        problems["retailer"] = f"a {role.value} user belongs to one retailer: give its id"
    if role in PARTY_ROLES and brand_id is not None:
        problems["brand"] = f"a {role.value} user is not scoped to a brand; leave the brand out"
    if role not in PARTY_ROLES and (distributor_id is not None or retailer_id is not None):
        problems["role"] = "only distributor and retailer users take a distributor or retailer scope"
    if problems:
        raise ValidationError("this role needs a different scope", fields=problems)
