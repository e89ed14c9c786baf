"""The audit trail of user and API-token changes: written with each change, read on the Audit log page.

A row is written in the same transaction as the change it records, so there is never a change
without its row nor a row without its change. Rows carry plain facts (role, scope, status, a
token's name); a password, a one-time link or a token's secret never reaches this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.errors import PermissionDeniedError
from connector.core.id_paging import parse_cursor
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.user_admin_tables import AuditEntry

#: The roles that read the audit log (the roles that manage users and tokens).
AUDIT_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.BRAND_ADMIN})
#: Keys that never belong in a row, whoever calls: a safety net under the callers' own care.
_SECRET_KEYS = frozenset({"password", "password_hash", "token", "secret", "token_hash", "token_digest", "link"})


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    target_kind: str
    target_id: int
    target_label: str
    brand_id: int | None
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None


@dataclass(frozen=True)
class AuditPage:
    items: Sequence[AuditRow]
    next_cursor: str | None


def _clean(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    leaked = _SECRET_KEYS & set(values)
    if leaked:
        raise ValueError(f"audit rows never hold secrets: drop {sorted(leaked)}")
    return dict(values)


def record(
    s: Session,
    actor: Actor,
    action: str,
    *,
    target_kind: str,
    target_id: int,
    target_label: str,
    brand_id: int | None,
    at: datetime,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        at=at,
        actor=actor.name,
        action=action,
        target_kind=target_kind,
        target_id=target_id,
        target_label=target_label,
        brand_id=brand_id,
        before=_clean(before),
        after=_clean(after),
    )
    s.add(entry)
    s.flush()
    return entry


def check_reads_audit(actor: Actor) -> None:
    if actor.role not in AUDIT_ROLES or (actor.role == Role.BRAND_ADMIN and actor.brand_id is None):
        raise PermissionDeniedError(
            f"role {actor.role.value} cannot read the audit log; ask a brand admin or a platform admin"
        )


def _scoped(actor: Actor) -> Select[AuditEntry]:
    q = select(AuditEntry)
    if actor.role != Role.PLATFORM_ADMIN:
        q = q.where(AuditEntry.brand_id == actor.brand_id)
    return q


def list_entries(
    rt: Runtime,
    actor: Actor,
    *,
    limit: int = 50,
    cursor: str | None = None,
    target_kind: str | None = None,
    target_id: int | None = None,
) -> AuditPage:
    """The actor's rows, newest first; ``target_kind``/``target_id`` narrow them to one user or token."""
    check_reads_audit(actor)
    before_id = parse_cursor(cursor)
    q = _scoped(actor).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if before_id is not None:
        q = q.where(AuditEntry.id < before_id)
    if target_kind is not None:
        q = q.where(AuditEntry.target_kind == target_kind)
    if target_id is not None:
        q = q.where(AuditEntry.target_id == target_id)
    with rt.sessions() as s:
        rows = list(s.scalars(q))
    items = [
        AuditRow(
            id=r.id,
            at=r.at,
            actor=r.actor,
            action=r.action,
            target_kind=r.target_kind,
            target_id=r.target_id,
            target_label=r.target_label,
            brand_id=r.brand_id,
            before=r.before,
            after=r.after,
        )
        for r in rows[:limit]
    ]
    return AuditPage(items=items, next_cursor=str(items[-1].id) if len(rows) > limit else None)
