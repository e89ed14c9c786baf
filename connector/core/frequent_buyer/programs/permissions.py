"""Who may do what with programs, retailers, distributors and enrollments: staff, brand admins
within their brand, retailers for themselves; and the audit row every such change leaves.
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.errors import NotFoundError, PermissionDeniedError
from connector.core.frequent_buyer.tables import Enrollment, Program, Retailer
from connector.core.model import Role

STAFF_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.SUPPORT})


def is_staff(actor: Actor) -> bool:
    return actor.role in STAFF_ROLES


def check_staff(actor: Actor, doing: str) -> None:
    if not is_staff(actor):
        raise PermissionDeniedError(f"role {actor.role.value} cannot {doing}; ask support")


def check_retailer_write(actor: Actor, retailer_id: int, doing: str) -> None:
    """Staff act for any retailer; a retailer user only for its own; nobody else changes a retailer's data."""
    if is_staff(actor):
        return
    if actor.role == Role.RETAILER:
        if actor.retailer_id != retailer_id:
            raise NotFoundError(f"retailer {retailer_id} not found")
        return
    raise PermissionDeniedError(f"role {actor.role.value} cannot {doing}; a retailer user or support can")


def retailer_visible(s: Session, actor: Actor, retailer_id: int) -> bool:
    """Staff and unscoped viewers see every retailer; parties and brands only those they deal with."""
    if is_staff(actor) or (actor.role == Role.VIEWER and actor.brand_id is None):
        return True
    if actor.role == Role.RETAILER:
        return actor.retailer_id == retailer_id
    if actor.role == Role.DISTRIBUTOR:
        return bool(
            s.scalar(
                select(
                    exists().where(
                        Enrollment.retailer_id == retailer_id, Enrollment.distributor_id == actor.distributor_id
                    )
                )
            )
        )
    if actor.brand_id is not None:
        return bool(
            s.scalar(
                select(
                    exists()
                    .where(Enrollment.retailer_id == retailer_id, Enrollment.program_id == Program.id)
                    .where(Program.brand_id == actor.brand_id)
                )
            )
        )
    return False


def check_retailer_read(s: Session, actor: Actor, retailer_id: int) -> Retailer:
    retailer = s.get(Retailer, retailer_id)
    if retailer is None or not retailer_visible(s, actor, retailer_id):
        raise NotFoundError(f"retailer {retailer_id} not found")
    return retailer


def _program_visible(actor: Actor, program: Program) -> bool:
    # Programs are the catalogue retailers enroll from and distributors associate with: parties see all.
    return actor.is_party or actor.sees_brand(program.brand_id)


def _load_program(s: Session, actor: Actor, program_id: int, *, lock: bool = False) -> Program:
    q = select(Program).where(Program.id == program_id)
    program = s.scalars(q.with_for_update() if lock else q).one_or_none()
    if program is None or not _program_visible(actor, program):
        raise NotFoundError(f"program {program_id} not found")
    return program


def _check_manages_program(actor: Actor, program: Program) -> None:
    if actor.role == Role.PLATFORM_ADMIN:
        return
    if actor.role == Role.BRAND_ADMIN and actor.brand_id == program.brand_id:
        return
    raise PermissionDeniedError(f"role {actor.role.value} cannot change program {program.name!r}; its brand admin can")
