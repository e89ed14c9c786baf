"""Use cases on one redemption: claim a reward, retry it, resend its confirmation."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from connector.core.access import Actor
from connector.core.confirmations import (  # noqa: F401  (send_initial_confirmation re-exported)
    _confirmation,
    deliver_message,
    send_initial_confirmation,
)
from connector.core.database import transaction
from connector.core.errors import ConflictError, NotFoundError, ValidationError
from connector.core.lifecycle import transition
from connector.core.model import LedgerKind, RedemptionEvent, RedemptionStatus
from connector.core.reward_rules import check_claimable
from connector.core.runtime import Runtime
from connector.core.scheduling import schedule_fulfilment
from connector.core.tables import LedgerEntry, Member, OutboundMessage, Redemption, Reward
from connector.core.timeline import record_event

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes are read out on the phone


def new_code() -> str:
    return "R-" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))


def fingerprint(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def points_balance(session: Session, member_id: int) -> int:
    return int(
        session.scalar(select(func.coalesce(func.sum(LedgerEntry.delta), 0)).where(LedgerEntry.member_id == member_id))
        or 0
    )


@dataclass(frozen=True)
class Created:
    redemption: Redemption
    replayed: bool


def create_redemption(
    rt: Runtime,
    actor: Actor,
    *,
    member_id: int,
    reward_id: int,
    idempotency_key: str | None = None,
) -> Created:
    """Spend the member's points on a reward and queue its fulfilment.

    With an ``idempotency_key`` the same request returns the same redemption,
    and the same key with a different request is refused.
    """
    actor.check_can_act()
    now = rt.now()
    fp = fingerprint({"member_id": member_id, "reward_id": reward_id})
    try:
        with transaction(rt.sessions) as s:
            member = s.scalars(select(Member).where(Member.id == member_id).with_for_update()).one_or_none()
            if member is None or not actor.sees_brand(member.brand_id):
                raise ValidationError("member not found", fields={"member_id": f"no member with id {member_id}"})
            if idempotency_key:
                existing = s.scalars(
                    select(Redemption).where(
                        Redemption.brand_id == member.brand_id, Redemption.idempotency_key == idempotency_key
                    )
                ).one_or_none()
                if existing is not None:
                    return _replay(existing, fp)
            reward = s.get(Reward, reward_id)
            if reward is None or reward.brand_id != member.brand_id:
                raise ValidationError(
                    "reward not found", fields={"reward_id": f"no reward {reward_id} in the member's brand"}
                )
            if reward.total_quantity is not None:
                # The last unit goes to one claim: the others wait here, then count it.
                s.refresh(reward, with_for_update=True)
            check_claimable(s, reward, member.id, now.date())
            balance = points_balance(s, member.id)
            if balance < reward.points_cost:
                raise ValidationError(
                    f"not enough points: the member has {balance}, the reward costs {reward.points_cost}",
                    fields={"member_id": "insufficient points"},
                )
            r = Redemption(
                brand_id=member.brand_id,
                code=new_code(),
                member_id=member.id,
                reward_id=reward.id,
                shop_id=reward.shop_id,
                channel=reward.channel,
                points_cost=reward.points_cost,
                status=RedemptionStatus.PENDING,
                idempotency_key=idempotency_key,
                request_fingerprint=fp,
                claimed_at=now,
                updated_at=now,
            )
            s.add(r)
            s.flush()
            s.add(
                LedgerEntry(
                    member_id=member.id,
                    delta=-reward.points_cost,
                    kind=LedgerKind.SPENT,
                    redemption_id=r.id,
                    note=f"redeemed {reward.name} ({r.code})",
                    actor=actor.name,
                    created_at=now,
                )
            )
            record_event(
                s,
                r,
                actor=actor.name,
                kind="claimed",
                at=now,
                to_status=RedemptionStatus.PENDING,
                message=f"{reward.points_cost} points spent on {reward.name}",
            )
    except IntegrityError:
        # Two requests with one idempotency key raced; the loser replays the winner.
        if not idempotency_key:
            raise
        with rt.sessions() as s:
            existing = s.scalars(select(Redemption).where(Redemption.idempotency_key == idempotency_key)).first()
            if existing is None:
                raise
            return _replay(existing, fp)
    schedule_fulfilment(rt, r.id, 0)
    return Created(redemption=r, replayed=False)


def _replay(existing: Redemption, fp: str) -> Created:
    if existing.request_fingerprint != fp:
        raise ConflictError(
            "this Idempotency-Key was already used with a different request; use a new key for a new redemption"
        )
    return Created(redemption=existing, replayed=True)


def load_for_actor(
    s: Session, redemption_id: int, actor: Actor, *, lock: bool = False, details: bool = False
) -> Redemption:
    """The redemption, if it exists and the actor's brand scope covers it (else "not found", no leak).

    ``details`` loads what a detail view shows (member, reward, shop, timeline) in the same round trips.
    """
    q = select(Redemption).where(Redemption.id == redemption_id)
    if details:
        q = q.options(
            joinedload(Redemption.member),
            joinedload(Redemption.reward),
            joinedload(Redemption.shop),
            selectinload(Redemption.events),
        )
    r = s.scalars(q.with_for_update() if lock else q).one_or_none()
    if r is None or not actor.sees_brand(r.brand_id):
        # The same words whether it does not exist or is another brand's, so existence does not leak.
        raise NotFoundError("redemption not found")
    return r


def reopen_for_retry(s: Session, r: Redemption, *, actor: str, now: datetime, why: str) -> int:
    """error → pending with a fresh retry budget and an event row; returns the attempt count to key the job on."""
    previous = r.status
    r.status = transition(r.status, RedemptionEvent.RETRY)
    last_error = r.error_code
    r.error_code = r.error_message = r.error_fix = r.error_field = None
    r.next_attempt_at = None
    r.attempt_budget_from = r.attempts
    r.updated_at = now
    record_event(
        s,
        r,
        actor=actor,
        kind="retried",
        at=now,
        from_status=previous,
        to_status=r.status,
        message=f"retry after {last_error}" + (f": {why}" if why else ""),
    )
    return r.attempts


def retry_redemption(rt: Runtime, redemption_id: int, actor: Actor, *, note: str = "") -> Redemption:
    """Put a redemption in error back to pending (after its cause was fixed) and queue an attempt."""
    actor.check_can_act()
    with transaction(rt.sessions) as s:
        r = load_for_actor(s, redemption_id, actor, lock=True)
        attempts = reopen_for_retry(s, r, actor=actor.name, now=rt.now(), why=note)
    schedule_fulfilment(rt, redemption_id, attempts)
    return r


def resend_confirmation(rt: Runtime, redemption_id: int, actor: Actor) -> OutboundMessage:
    """Send the confirmation email again; every send is logged, and a failed send says why.

    Refused for a redemption in error: its email would promise an order that is blocked.
    """
    actor.check_can_act()
    now = rt.now()
    with transaction(rt.sessions) as s:
        # Locked until the message is queued: a reversal then waits for it, or wins and this is refused,
        # so no confirmation is queued for a redemption that is already reversed.
        r = load_for_actor(s, redemption_id, actor, lock=True)
        if r.status == RedemptionStatus.REVERSED:
            raise ConflictError("this redemption was reversed; there is nothing to confirm")
        if r.status == RedemptionStatus.ERROR:
            # The email would say the order is being prepared while nothing is: support fixes and retries
            # first, and a successful attempt sends the confirmation itself.
            raise ConflictError(
                f"not sent: this redemption is in error ({r.error_message or r.error_code or 'see its timeline'}), "
                "so a confirmation would tell the member their order is being prepared while it is blocked",
                fix="Fix the error and retry; the member gets the confirmation once the order is placed.",
            )
        if not r.member.email:
            raise ValidationError(
                "the member has no email address", fields={"email": "add the member's email address, then resend"}
            )
        msg = _confirmation(r, actor.name, now)
        s.add(msg)
        s.flush()
        record_event(s, r, actor=actor.name, kind="confirmation_queued", at=now, message="confirmation email queued")
    return deliver_message(rt, msg.id)
