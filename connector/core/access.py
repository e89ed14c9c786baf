"""Who may see and do what: one place, used by the API and the admin UI alike."""

from __future__ import annotations

from dataclasses import dataclass

from connector.core.errors import NotFoundError, PermissionDeniedError
from connector.core.model import Role

_ACTION_ROLES = {Role.PLATFORM_ADMIN, Role.BRAND_ADMIN, Role.SUPPORT}
_CONFIG_ROLES = {Role.PLATFORM_ADMIN, Role.BRAND_ADMIN}


@dataclass(frozen=True)
class Actor:
    """The caller of a use case: a name for the event log, a role, and a brand scope.

    ``brand_id`` is None for roles that span brands (platform admin, support).
    """

    name: str
    role: Role
    brand_id: int | None = None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(name=name, role=Role.PLATFORM_ADMIN)

    def sees_brand(self, brand_id: int) -> bool:
        return self.brand_id is None or self.brand_id == brand_id

    def check_brand(self, brand_id: int, what: str = "redemption") -> None:
        # A resource of another brand is reported as missing, so its existence does not leak.
        if not self.sees_brand(brand_id):
            raise NotFoundError(f"{what} not found")

    def check_can_act(self) -> None:
        if self.role not in _ACTION_ROLES:
            raise PermissionDeniedError(f"role {self.role.value} is read-only; ask a support user or an admin")

    def check_can_configure(self) -> None:
        if self.role not in _CONFIG_ROLES:
            raise PermissionDeniedError(f"role {self.role.value} cannot change configuration")
