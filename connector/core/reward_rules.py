"""The limits a reward sets on claiming it: its dates, a per-member limit and a total quantity.

Checked inside ``create_redemption``'s transaction with the member's row locked (and the reward's,
when it has a total cap), so two claims racing for the last unit cannot both win. A reversed
redemption gives its unit back: it no longer counts against either limit.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.core.errors import ValidationError
from connector.core.model import RedemptionStatus
from connector.core.tables import Redemption, Reward


def held(s: Session, reward_id: int, member_id: int | None = None) -> int:
    """Redemptions of the reward that are not reversed (one member's, or everyone's)."""
    q = (
        select(func.count())
        .select_from(Redemption)
        .where(Redemption.reward_id == reward_id, Redemption.status != RedemptionStatus.REVERSED)
    )
    if member_id is not None:
        q = q.where(Redemption.member_id == member_id)
    return int(s.scalar(q) or 0)


def check_claimable(s: Session, reward: Reward, member_id: int, today: date) -> None:
    """Raise the ``ValidationError`` that says why the member cannot claim ``reward`` today, if they cannot."""
    if not reward.active:
        raise ValidationError("reward is not active", fields={"reward_id": f"reward {reward.name!r} is switched off"})
    if reward.available_from is not None and today < reward.available_from:
        raise ValidationError(
            f"reward {reward.name!r} is not available yet",
            fields={"reward_id": f"it can be claimed from {reward.available_from.isoformat()}"},
        )
    if reward.available_until is not None and today > reward.available_until:
        raise ValidationError(
            f"reward {reward.name!r} is no longer available",
            fields={"reward_id": f"it could be claimed until {reward.available_until.isoformat()}"},
        )
    if reward.per_member_limit is not None:
        mine = held(s, reward.id, member_id)
        if mine >= reward.per_member_limit:
            raise ValidationError(
                f"the member already has {mine} of reward {reward.name!r}, the most one member may claim",
                fields={"reward_id": f"limit {reward.per_member_limit} per member (reversed redemptions do not count)"},
            )
    if reward.total_quantity is not None:
        everyone = held(s, reward.id)
        if everyone >= reward.total_quantity:
            raise ValidationError(
                f"reward {reward.name!r} is sold out: all {reward.total_quantity} have been claimed",
                fields={"reward_id": "raise its total quantity on the Rewards page, or offer another reward"},
            )
