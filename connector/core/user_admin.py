"""The Users page's and the users API's use cases: who may manage whom, and the changes themselves.

Who manages whom (the console and the API call these same functions):

* platform admins manage every user and grant every role and scope;
* brand admins manage the users of their own brand only (``User.brand_id == actor.brand_id``; any
  other user is "not found", so other brands' user ids do not leak) and grant only brand-scoped
  roles no higher than their own: brand admin, support and viewer, always pinned to their brand;
* distributor and retailer users are managed by platform admins only: a distributor or a retailer
  works with several brands' programs, so no one brand owns its accounts (docs/admin-console.md);
* every other role is refused.

No one changes their own role or disables themselves here (no admin locks themselves out by a
slip); another admin does it. Every change writes its ``audit`` row in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from connector.core import audit, console_sessions
from connector.core.access import Actor, check_scope
from connector.core.database import transaction
from connector.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from connector.core.frequent_buyer.tables import Distributor, Retailer
from connector.core.id_paging import id_page
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.tables import ApiToken, Brand, User
from connector.core.user_admin_tables import UserLink
from connector.core.users import NO_PASSWORD, disable_user

#: The roles that manage users and API tokens.
MANAGER_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.BRAND_ADMIN})
#: What a brand admin may grant: brand-scoped roles no higher than their own.
BRAND_GRANTABLE = (Role.BRAND_ADMIN, Role.SUPPORT, Role.VIEWER)


@dataclass(frozen=True)
class Scope:
    """The role and scope a user or token is given (checked by ``checked_grant``)."""

    role: Role
    brand_id: int | None = None
    distributor_id: int | None = None
    retailer_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "role": self.role.value,
            "brand_id": self.brand_id,
            "distributor_id": self.distributor_id,
            "retailer_id": self.retailer_id,
        }


@dataclass(frozen=True)
class UserView:
    id: int
    email: str
    name: str
    role: Role
    brand_id: int | None
    brand_name: str | None
    distributor_id: int | None
    retailer_id: int | None
    status: str
    created_at: datetime
    last_login_at: datetime | None
    disabled_at: datetime | None


@dataclass(frozen=True)
class UserPage:
    items: Sequence[UserView]
    next_cursor: str | None


def check_manages_users(actor: Actor) -> None:
    if actor.role not in MANAGER_ROLES or (actor.role == Role.BRAND_ADMIN and actor.brand_id is None):
        raise PermissionDeniedError(
            f"role {actor.role.value} cannot manage users or API tokens; ask a brand admin or a platform admin"
        )


def grantable_roles(actor: Actor) -> tuple[Role, ...]:
    """The roles ``actor`` may give a user or a token, in the order forms list them."""
    if actor.role == Role.PLATFORM_ADMIN:
        return tuple(Role)
    if actor.role == Role.BRAND_ADMIN and actor.brand_id is not None:
        return BRAND_GRANTABLE
    return ()


def checked_grant(s: Session, actor: Actor, scope: Scope) -> Scope:
    """``scope`` as it will be stored, or the reason ``actor`` may not grant it.

    A brand admin's grants are pinned to their own brand: a brand left out means theirs, another
    brand is "not found". Brands, distributors and retailers named must exist.
    """
    check_manages_users(actor)
    if scope.role not in grantable_roles(actor):
        raise PermissionDeniedError(
            f"a {actor.role.value} cannot grant the role {scope.role.value}; "
            f"you may grant {', '.join(r.value for r in grantable_roles(actor))}, or ask a platform admin"
        )
    if actor.role != Role.PLATFORM_ADMIN:
        assert actor.brand_id is not None  # check_manages_users
        if scope.brand_id is not None:
            actor.check_brand(scope.brand_id, "brand")
        if scope.distributor_id is not None or scope.retailer_id is not None:
            raise ValidationError(
                "brand admins grant brand roles only",
                fields={"role": "distributor and retailer accounts are made by a platform admin"},
            )
        scope = Scope(scope.role, brand_id=actor.brand_id)
    check_scope(scope.role, brand_id=scope.brand_id, distributor_id=scope.distributor_id, retailer_id=scope.retailer_id)
    if scope.role == Role.PLATFORM_ADMIN and scope.brand_id is not None:
        raise ValidationError(
            "a platform admin spans every brand", fields={"brand": "leave the brand out for a platform admin"}
        )
    if scope.brand_id is not None and s.get(Brand, scope.brand_id) is None:
        raise ValidationError("no such brand", fields={"brand_id": f"brand {scope.brand_id} does not exist"})
    if scope.distributor_id is not None and s.get(Distributor, scope.distributor_id) is None:
        raise ValidationError(
            "no such distributor", fields={"distributor_id": f"distributor {scope.distributor_id} does not exist"}
        )
    if scope.retailer_id is not None and s.get(Retailer, scope.retailer_id) is None:
        raise ValidationError(
            "no such retailer", fields={"retailer_id": f"retailer {scope.retailer_id} does not exist"}
        )
    return scope


def _scoped(actor: Actor) -> Select[User, str | None]:
    q = select(User, Brand.name).outerjoin(Brand, Brand.id == User.brand_id)
    if actor.role != Role.PLATFORM_ADMIN:
        # Exact match on the actor's brand (NULL never matches): party and platform users stay out of sight.
        q = q.where(User.brand_id == actor.brand_id)
    return q


class ScopeFields(TypedDict):
    role: Role
    brand_id: int | None
    brand_name: str | None
    distributor_id: int | None
    retailer_id: int | None


def scope_fields(holder: User | ApiToken, brand_name: str | None) -> ScopeFields:
    """Whom a user or a token acts for, as ``UserView`` and ``TokenView`` both show it."""
    return ScopeFields(
        role=Role(holder.role),
        brand_id=holder.brand_id,
        brand_name=brand_name,
        distributor_id=holder.distributor_id,
        retailer_id=holder.retailer_id,
    )


def status_of(user: User) -> str:
    if user.disabled_at is not None:
        return "disabled"
    return "invited" if user.password_hash == NO_PASSWORD else "active"


def view_of(user: User, brand_name: str | None) -> UserView:
    return UserView(
        id=user.id,
        email=user.email,
        name=user.name,
        **scope_fields(user, brand_name),
        status=status_of(user),
        created_at=user.created_at,
        last_login_at=user.last_login_at,
        disabled_at=user.disabled_at,
    )


def list_users(rt: Runtime, actor: Actor, *, limit: int = 50, cursor: str | None = None) -> UserPage:
    check_manages_users(actor)
    items, next_cursor = id_page(
        rt, _scoped(actor), User.id, lambda row: view_of(row[0], row[1]), limit=limit, cursor=cursor
    )
    return UserPage(items=items, next_cursor=next_cursor)


def load(s: Session, actor: Actor, user_id: int, *, lock: bool = False) -> tuple[User, str | None]:
    """The user ``user_id`` if ``actor`` manages them, else ``NotFoundError`` (never "forbidden")."""
    check_manages_users(actor)
    q = _scoped(actor).where(User.id == user_id)
    if lock:
        q = q.with_for_update(of=User)
    row = s.execute(q).first()
    if row is None:
        raise NotFoundError(f"user {user_id} not found")
    return row[0], row[1]


def get_user(rt: Runtime, actor: Actor, user_id: int) -> UserView:
    with rt.sessions() as s:
        return view_of(*load(s, actor, user_id))


def brand_choices(rt: Runtime, actor: Actor) -> list[tuple[int, str]]:
    """The brands ``actor`` may put a user or token in: every brand for a platform admin, else their own."""
    with rt.sessions() as s:
        q = select(Brand).order_by(Brand.name, Brand.id)
        if actor.role != Role.PLATFORM_ADMIN:
            q = q.where(Brand.id == actor.brand_id)
        return [(b.id, b.name) for b in s.scalars(q)]


def is_self(actor: Actor, user: User) -> bool:
    return actor.name == f"user:{user.email}"


def _check_not_self(actor: Actor, user: User, what: str) -> None:
    if is_self(actor, user):
        raise PermissionDeniedError(f"you cannot {what} your own account; ask another admin")


def _check_target_manageable(actor: Actor, user: User) -> None:
    """A brand admin never changes a user whose role they could not grant (none exist in their brand today)."""
    if Role(user.role) not in grantable_roles(actor):
        raise PermissionDeniedError(f"a {actor.role.value} cannot change a {user.role} user; ask a platform admin")


def audit_user(
    s: Session,
    actor: Actor,
    user: User,
    action: str,
    now: datetime,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    old_brand_id: int | None = None,
) -> None:
    """The audit row of a change to ``user``, filed under their brand (or the one they just left)."""
    audit.record(
        s,
        actor,
        action,
        target_kind="user",
        target_id=user.id,
        target_label=user.email,
        brand_id=user.brand_id if user.brand_id is not None else old_brand_id,
        at=now,
        before=before,
        after=after,
    )


def void_links(s: Session, user_id: int) -> None:
    """Every pending one-time link of the user stops working (a newer link, or the user was disabled)."""
    s.execute(
        update(UserLink)
        .where(UserLink.user_id == user_id, UserLink.used_at.is_(None))
        .values(voided=True)
        .execution_options(synchronize_session=False)
    )


def change_scope(rt: Runtime, actor: Actor, user_id: int, scope: Scope) -> UserView:
    """A new role and scope; effective at the user's next request (sessions reload the user every request).

    Asking for what the user already has changes nothing and writes no audit row.
    """
    now = rt.now()
    with transaction(rt.sessions) as s:
        user, _ = load(s, actor, user_id, lock=True)
        _check_not_self(actor, user, "change the role of")
        _check_target_manageable(actor, user)
        wanted = checked_grant(s, actor, scope)
        before = Scope(Role(user.role), user.brand_id, user.distributor_id, user.retailer_id)
        if wanted != before:
            user.role = wanted.role.value
            user.brand_id, user.distributor_id, user.retailer_id = (
                wanted.brand_id,
                wanted.distributor_id,
                wanted.retailer_id,
            )
            audit_user(
                s,
                actor,
                user,
                "user.role_changed",
                now,
                before=before.as_dict(),
                after=wanted.as_dict(),
                old_brand_id=before.brand_id,
            )
        s.flush()
        return view_of(user, s.get(Brand, user.brand_id).name if user.brand_id else None)  # type: ignore[union-attr]


def set_disabled(rt: Runtime, actor: Actor, user_id: int, *, disabled: bool) -> UserView:
    """Disable (sign-in stops, every open session and pending link ends at once) or enable again.

    Disabling a disabled user (or enabling an enabled one) changes nothing and writes no audit row.
    """
    now = rt.now()
    with transaction(rt.sessions) as s:
        user, brand_name = load(s, actor, user_id, lock=True)
        _check_not_self(actor, user, "disable or enable")
        _check_target_manageable(actor, user)
        before = status_of(user)
        if disabled and user.disabled_at is None:
            disable_user(s, user, now)
            void_links(s, user.id)
        elif not disabled and user.disabled_at is not None:
            user.disabled_at = None
            console_sessions.end_all_sessions(s, user.id)
        else:
            return view_of(user, brand_name)
        audit_user(
            s,
            actor,
            user,
            "user.disabled" if disabled else "user.enabled",
            now,
            before={"status": before},
            after={"status": status_of(user)},
        )
        return view_of(user, brand_name)
