"""Read queries only the console needs (the API has no tab counts or reward picker).

Kept small and bounded: every query here is capped or keyed, so a page costs
the same at a million redemptions as at a hundred.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from connector.core.access import Actor
from connector.core.model import TAB_STATUSES
from connector.core.redemptions import load_for_actor
from connector.core.tables import Brand, LedgerEntry, OutboundMessage, Redemption, Reward

#: Tab counts stop here and read "1000+": counting a million rows on every page view would cost seconds.
COUNT_CAP = 1000


def tab_counts(s: Session, actor: Actor) -> dict[str, int]:
    """Redemptions per tab in the actor's scope (not the search), each counted up to ``COUNT_CAP + 1`` rows.

    One statement, a capped count per tab as a scalar subquery each: one round trip instead of three.
    """
    counts = []
    for tab, statuses in TAB_STATUSES.items():
        q = select(Redemption.id).where(Redemption.status.in_(statuses))
        if actor.brand_id is not None:
            q = q.where(Redemption.brand_id == actor.brand_id)
        counts.append(
            select(func.count()).select_from(q.limit(COUNT_CAP + 1).subquery()).scalar_subquery().label(tab.value)
        )
    row = s.execute(select(*counts)).one()
    return {tab.value: int(row._mapping[tab.value] or 0) for tab in TAB_STATUSES}


def visible_rewards(s: Session, actor: Actor) -> Sequence[Reward]:
    """Rewards for the filter's picker: the actor's brand's, or every brand's for cross-brand roles."""
    q = select(Reward).order_by(Reward.name, Reward.id)
    if actor.brand_id is not None:
        q = q.where(Reward.brand_id == actor.brand_id)
    return s.scalars(q).all()


def brand_names(s: Session, actor: Actor) -> dict[int, str]:
    """Brand names by id, for the brand column that cross-brand roles see (empty for one-brand roles)."""
    if actor.brand_id is not None:
        return {}
    return {b.id: b.name for b in s.scalars(select(Brand))}


def redemption_for_details(s: Session, actor: Actor, redemption_id: int) -> Redemption:
    """The redemption with its member, reward, shop and timeline, if the actor's scope covers it."""
    return load_for_actor(s, redemption_id, actor, details=True)


def confirmations(s: Session, redemption_id: int) -> Sequence[OutboundMessage]:
    return s.scalars(
        select(OutboundMessage).where(OutboundMessage.redemption_id == redemption_id).order_by(OutboundMessage.id)
    ).all()


#: A member page lists at most this many ledger entries and redemptions (newest first) and says so.
MEMBER_PAGE_ROWS = 200


def ledger_of(s: Session, member_id: int, limit: int = MEMBER_PAGE_ROWS) -> tuple[Sequence[LedgerEntry], int]:
    """The member's newest ledger entries and how many there are in all."""
    total = int(s.scalar(select(func.count()).where(LedgerEntry.member_id == member_id)) or 0)
    rows = s.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.member_id == member_id)
        .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
        .limit(limit)
    ).all()
    return rows, total


def redemptions_of(s: Session, member_id: int, limit: int = MEMBER_PAGE_ROWS) -> Sequence[Redemption]:
    return s.scalars(
        select(Redemption)
        .where(Redemption.member_id == member_id)
        .options(joinedload(Redemption.reward))
        .order_by(Redemption.claimed_at.desc(), Redemption.id.desc())
        .limit(limit)
    ).all()
