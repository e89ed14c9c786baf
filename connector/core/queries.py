"""Read models: the Fulfillments list with search, filters and keyset pagination.

Keyset (``claimed_at``, ``id``) rather than OFFSET so that page 10,000 costs
what page 1 costs; the cursor is opaque to clients.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, contains_eager

from connector.core.access import Actor
from connector.core.errors import ValidationError
from connector.core.model import TAB_STATUSES, RedemptionStatus, Tab
from connector.core.tables import Member, Redemption, Reward


@dataclass(frozen=True)
class RedemptionFilter:
    tab: Tab | None = None
    status: RedemptionStatus | None = None
    search: str | None = None
    reward_id: int | None = None
    brand_id: int | None = None
    claimed_from: datetime | None = None
    claimed_to: datetime | None = None


@dataclass(frozen=True)
class Page:
    items: Sequence[Redemption]
    next_cursor: str | None


def encode_cursor(r: Redemption) -> str:
    return base64.urlsafe_b64encode(f"{r.claimed_at.isoformat()}|{r.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        stamp, ident = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(stamp), int(ident)
    except Exception as exc:  # noqa: BLE001 - any malformed cursor is the client's error
        raise ValidationError("invalid cursor", fields={"cursor": "pass back next_cursor unchanged"}) from exc


def filtered(actor: Actor, f: RedemptionFilter) -> Select[tuple[Redemption]]:
    actor.check_sees_redemptions()
    q = (
        select(Redemption)
        .join(Member, Member.id == Redemption.member_id)
        .join(Reward, Reward.id == Redemption.reward_id)
        .options(contains_eager(Redemption.member), contains_eager(Redemption.reward))
    )
    if actor.brand_id is not None:
        q = q.where(Redemption.brand_id == actor.brand_id)
    if f.brand_id is not None:
        q = q.where(Redemption.brand_id == f.brand_id)
    if f.tab is not None:
        q = q.where(Redemption.status.in_(TAB_STATUSES[f.tab]))
    if f.status is not None:
        q = q.where(Redemption.status == f.status)
    if f.reward_id is not None:
        q = q.where(Redemption.reward_id == f.reward_id)
    if f.claimed_from is not None:
        q = q.where(Redemption.claimed_at >= f.claimed_from)
    if f.claimed_to is not None:
        q = q.where(Redemption.claimed_at < f.claimed_to)
    if f.search:
        term = f.search.strip()
        like = f"%{term.lower()}%"
        q = q.where(
            or_(
                Redemption.code == term.upper(),
                func.lower(Member.email) == term.lower(),
                func.lower(Member.first_name + " " + Member.last_name).like(like),
                func.lower(Reward.name).like(like),
            )
        )
    return q


def list_redemptions(
    s: Session, actor: Actor, f: RedemptionFilter, *, limit: int = 50, cursor: str | None = None
) -> Page:
    if not 1 <= limit <= 500:
        raise ValidationError("invalid limit", fields={"limit": "between 1 and 500"})
    q = filtered(actor, f)
    if cursor:
        at, ident = decode_cursor(cursor)
        q = q.where(or_(Redemption.claimed_at < at, and_(Redemption.claimed_at == at, Redemption.id < ident)))
    rows = s.scalars(q.order_by(Redemption.claimed_at.desc(), Redemption.id.desc()).limit(limit + 1)).unique().all()
    items = rows[:limit]
    return Page(items=items, next_cursor=encode_cursor(items[-1]) if len(rows) > limit else None)
