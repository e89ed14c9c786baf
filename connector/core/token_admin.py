"""The API tokens page's and API's use cases: list, create (the secret shown once) and revoke tokens.

Same scope as users (``user_admin``): platform admins every token and every role; brand admins the
tokens of their own brand, with the roles they may grant users. The secret exists only in the
answer to the create call: the database keeps its SHA-256 (``catalog.hash_token``), so no page or
call can show it again, and neither the logs nor the audit rows ever hold it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from connector.core import audit, catalog
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import NotFoundError, ValidationError
from connector.core.id_paging import id_page
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.tables import ApiToken, Brand
from connector.core.user_admin import Scope, check_manages_users, checked_grant, scope_fields

MAX_NAME = 200


@dataclass(frozen=True)
class TokenView:
    id: int
    name: str
    role: Role
    brand_id: int | None
    brand_name: str | None
    distributor_id: int | None
    retailer_id: int | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class TokenPage:
    items: Sequence[TokenView]
    next_cursor: str | None


def _scoped(actor: Actor) -> Select[ApiToken, str | None]:
    q = select(ApiToken, Brand.name).outerjoin(Brand, Brand.id == ApiToken.brand_id)
    if actor.role != Role.PLATFORM_ADMIN:
        q = q.where(ApiToken.brand_id == actor.brand_id)
    return q


def _view(t: ApiToken, brand_name: str | None) -> TokenView:
    return TokenView(
        id=t.id,
        name=t.name,
        **scope_fields(t, brand_name),
        created_at=t.created_at,
        last_used_at=t.last_used_at,
        revoked_at=t.revoked_at,
    )


def _facts(t: ApiToken) -> dict[str, object]:
    return {
        "name": t.name,
        "role": str(t.role),
        "brand_id": t.brand_id,
        "distributor_id": t.distributor_id,
        "retailer_id": t.retailer_id,
    }


def list_tokens(rt: Runtime, actor: Actor, *, limit: int = 50, cursor: str | None = None) -> TokenPage:
    check_manages_users(actor)
    items, next_cursor = id_page(
        rt, _scoped(actor), ApiToken.id, lambda row: _view(row[0], row[1]), limit=limit, cursor=cursor
    )
    return TokenPage(items=items, next_cursor=next_cursor)


def _load(s: Session, actor: Actor, token_id: int) -> tuple[ApiToken, str | None]:
    check_manages_users(actor)
    row = s.execute(_scoped(actor).where(ApiToken.id == token_id).with_for_update(of=ApiToken)).first()
    if row is None:
        raise NotFoundError(f"token {token_id} not found")
    return row[0], row[1]


def create_token(rt: Runtime, actor: Actor, name: str, scope: Scope) -> tuple[TokenView, str]:
    """The new token and its secret: hand the secret to the caller now, it is not kept anywhere."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise ValidationError(
            "invalid token name", fields={"name": f"name the token's user (1 to {MAX_NAME} characters)"}
        )
    now = rt.now()
    with transaction(rt.sessions) as s:
        granted = checked_grant(s, actor, scope)
        brand = s.get(Brand, granted.brand_id) if granted.brand_id is not None else None
        row, plain = catalog.create_api_token(
            s, name, granted.role, brand, distributor_id=granted.distributor_id, retailer_id=granted.retailer_id
        )
        row.created_at = now
        audit.record(
            s,
            actor,
            "token.created",
            target_kind="token",
            target_id=row.id,
            target_label=name,
            brand_id=row.brand_id,
            at=now,
            after=_facts(row),
        )
        return _view(row, brand.name if brand else None), plain


def revoke_token(rt: Runtime, actor: Actor, token_id: int) -> TokenView:
    """The token stops working at once; revoking a revoked token changes nothing and writes no audit row."""
    now = rt.now()
    with transaction(rt.sessions) as s:
        row, brand_name = _load(s, actor, token_id)
        if row.revoked_at is None:
            row.revoked_at = now
            audit.record(
                s,
                actor,
                "token.revoked",
                target_kind="token",
                target_id=row.id,
                target_label=row.name,
                brand_id=row.brand_id,
                at=now,
                before={**_facts(row), "status": "active"},
                after={"status": "revoked"},
            )
        return _view(row, brand_name)
