"""Members, rewards and redemptions by the loyalty platform's own ids (``external_ref``, unique per brand).

The platform keeps its ids; it should never have to learn ours. An upsert creates the record the first
time and afterwards changes only what differs, so sending the same request twice changes nothing the
second time (and says so: ``unchanged``). Fields left out are kept; an optional field sent as null is
cleared. Every lookup is by exact ref within one brand: a ref of another brand names nothing here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import NotFoundError, ValidationError
from connector.core.model import FulfilmentChannel, LedgerKind
from connector.core.outbound_endpoints import brand_for
from connector.core.redemptions import Created, create_redemption, points_balance
from connector.core.runtime import Runtime
from connector.core.tables import LedgerEntry, Member, Reward, Shop

REF_MAX = 100
#: What a platform id may look like: letters, digits and ``. _ : @ + -`` (a UUID, ``cus_123``, an email).
REF_PATTERN = r"^[A-Za-z0-9._:@+-]{1,100}$"
_REF = re.compile(REF_PATTERN)

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"

MEMBER_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "date_of_birth",
    "address1",
    "address2",
    "city",
    "province_code",
    "country_code",
    "zip",
)
_MEMBER_REQUIRED = ("first_name", "last_name")
REWARD_FIELDS = ("name", "sku", "points_cost", "channel", "shop_id", "instructions", "active")
_REWARD_REQUIRED = ("name", "sku", "points_cost")


@dataclass(frozen=True)
class Upserted:
    id: int
    brand_id: int
    result: str  # created, updated or unchanged


def ref_problem(ref: str) -> str | None:
    if not _REF.fullmatch(ref):
        return f"1 to {REF_MAX} characters: letters, digits and . _ : @ + - (the platform's own id for it)"
    return None


def _check_ref(ref: str, name: str) -> None:
    problem = ref_problem(ref)
    if problem:
        raise ValidationError(f"invalid {name}: {problem}", fields={name: problem})


def _apply(row: Member | Reward, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _missing_for_create(values: dict[str, Any], required: tuple[str, ...], what: str) -> None:
    missing = {name: f"required to create the {what}" for name in required if values.get(name) in (None, "")}
    if missing:
        raise ValidationError(f"a new {what} needs {', '.join(missing)}", fields=missing)


def upsert_member(
    rt: Runtime, actor: Actor, ref: str, values: dict[str, Any], *, brand_id: int | None = None, _raced: bool = False
) -> Upserted:
    """Create or update the brand's member with this ``external_ref``.

    ``points_balance``, when given, is the balance the platform holds: one ``adjusted`` ledger entry
    moves the connector's balance to it (none when it already is).
    """
    actor.check_can_configure()
    _check_ref(ref, "external_ref")
    values = dict(values)
    target_balance = values.pop("points_balance", None)
    unknown = set(values) - set(MEMBER_FIELDS)
    assert not unknown, f"not member fields: {unknown}"
    if isinstance(values.get("date_of_birth"), str):
        values["date_of_birth"] = date.fromisoformat(values["date_of_birth"])
    for name in ("province_code", "country_code"):
        if isinstance(values.get(name), str):
            values[name] = values[name].upper()
    try:
        with transaction(rt.sessions) as s:
            brand = brand_for(s, actor, brand_id)
            member = s.scalars(
                select(Member).where(Member.brand_id == brand, Member.external_ref == ref).with_for_update()
            ).one_or_none()
            if member is None:
                _missing_for_create(values, _MEMBER_REQUIRED, "member")
                member = Member(brand_id=brand, external_ref=ref, **values)
                s.add(member)
                s.flush()
                result = CREATED
            else:
                if member.redacted_at is not None:
                    raise ValidationError(
                        "this member's personal data was erased at the shop's request; it cannot be filled in again",
                        fields={"external_ref": "a redacted member"},
                    )
                result = UPDATED if _apply(member, values) else UNCHANGED
            if target_balance is not None:
                delta = int(target_balance) - points_balance(s, member.id)
                if delta:
                    s.add(
                        LedgerEntry(
                            member_id=member.id,
                            delta=delta,
                            kind=LedgerKind.ADJUSTED,
                            note="balance set by the loyalty platform",
                            actor=actor.name,
                            created_at=rt.now(),
                        )
                    )
                    result = UPDATED if result == UNCHANGED else result
            return Upserted(id=member.id, brand_id=brand, result=result)
    except IntegrityError:
        # Two first requests for one ref raced: the loser's insert is refused; the winner's row now exists.
        if _raced:
            raise
        return upsert_member(rt, actor, ref, {**values, **_balance(target_balance)}, brand_id=brand_id, _raced=True)


def _balance(target: Any) -> dict[str, Any]:
    return {} if target is None else {"points_balance": target}


def _shop_of_brand(s: Session, shop_id: int | None, brand: int) -> None:
    if shop_id is None:
        return
    shop = s.get(Shop, shop_id)
    if shop is None or shop.brand_id != brand:
        raise ValidationError("shop not found", fields={"shop_id": f"no shop {shop_id} in this brand"})


def upsert_reward(
    rt: Runtime, actor: Actor, ref: str, values: dict[str, Any], *, brand_id: int | None = None, _raced: bool = False
) -> Upserted:
    """Create or update the brand's reward with this ``external_ref``."""
    actor.check_can_configure()
    _check_ref(ref, "external_ref")
    values = dict(values)
    unknown = set(values) - set(REWARD_FIELDS)
    assert not unknown, f"not reward fields: {unknown}"
    if isinstance(values.get("sku"), str):
        values["sku"] = values["sku"].strip()
        if not values["sku"]:
            raise ValidationError("missing SKU", fields={"sku": "the shop variant's SKU"})
    channel = values.get("channel")
    if channel is not None:
        known = sorted({c for info in rt.plugins.hook.connector_plugin_info() for c in info.channels})
        if channel not in known:
            raise ValidationError(
                f"no installed plugin fulfils channel {channel!r}",
                fields={"channel": f"one of: {', '.join(known)}"},
            )
    try:
        with transaction(rt.sessions) as s:
            brand = brand_for(s, actor, brand_id)
            _shop_of_brand(s, values.get("shop_id"), brand)
            reward = s.scalars(
                select(Reward).where(Reward.brand_id == brand, Reward.external_ref == ref).with_for_update()
            ).one_or_none()
            if reward is None:
                _missing_for_create(values, _REWARD_REQUIRED, "reward")
                reward = Reward(
                    brand_id=brand,
                    external_ref=ref,
                    **{"channel": FulfilmentChannel.SHOPIFY, "instructions": "", "active": True, **values},
                )
                s.add(reward)
                s.flush()
                return Upserted(id=reward.id, brand_id=brand, result=CREATED)
            return Upserted(id=reward.id, brand_id=brand, result=UPDATED if _apply(reward, values) else UNCHANGED)
    except IntegrityError:
        if _raced:  # not the race on the ref (that one is over after one retry): a real error
            raise
        return upsert_reward(rt, actor, ref, values, brand_id=brand_id, _raced=True)


def find_member(s: Session, actor: Actor, ref: str, brand_id: int | None = None) -> Member:
    """The brand's member with this ref, or "not found" (the same for another brand's)."""
    _check_ref(ref, "external_ref")
    brand = brand_for(s, actor, brand_id)
    member = s.scalars(select(Member).where(Member.brand_id == brand, Member.external_ref == ref)).one_or_none()
    if member is None:
        raise NotFoundError(f"no member with external_ref {ref!r} in this brand")
    return member


def find_reward(s: Session, actor: Actor, ref: str, brand_id: int | None = None) -> Reward:
    _check_ref(ref, "external_ref")
    brand = brand_for(s, actor, brand_id)
    reward = s.scalars(select(Reward).where(Reward.brand_id == brand, Reward.external_ref == ref)).one_or_none()
    if reward is None:
        raise NotFoundError(f"no reward with external_ref {ref!r} in this brand")
    return reward


def redeem_by_refs(
    rt: Runtime,
    actor: Actor,
    *,
    member_ref: str,
    reward_ref: str,
    brand_id: int | None = None,
    idempotency_key: str | None = None,
) -> Created:
    """``create_redemption`` for the member and reward the platform names by its own ids.

    Both refs are checked before anything is written, and every bad one is named in one answer.
    """
    actor.check_can_act()
    problems: dict[str, str] = {}
    for name, ref in (("member_ref", member_ref), ("reward_ref", reward_ref)):
        problem = ref_problem(ref)
        if problem:
            problems[name] = problem
    if problems:
        raise ValidationError("invalid refs: " + "; ".join(f"{k}: {v}" for k, v in problems.items()), fields=problems)
    with rt.sessions() as s:
        brand = brand_for(s, actor, brand_id)
        member_id = s.scalar(select(Member.id).where(Member.brand_id == brand, Member.external_ref == member_ref))
        reward = s.execute(
            select(Reward.id, Reward.active).where(Reward.brand_id == brand, Reward.external_ref == reward_ref)
        ).first()
    if member_id is None:
        problems["member_ref"] = (
            f"no member with external_ref {member_ref!r} in this brand; create it with PUT /api/v1/members/by-ref/"
            f"{member_ref}"
        )
    if reward is None:
        problems["reward_ref"] = (
            f"no reward with external_ref {reward_ref!r} in this brand; create it with PUT /api/v1/rewards/by-ref/"
            f"{reward_ref}"
        )
    if problems:
        raise ValidationError("unknown refs: " + "; ".join(f"{k}: {v}" for k, v in problems.items()), fields=problems)
    assert member_id is not None and reward is not None
    if not reward.active:
        raise ValidationError(
            "reward is not active", fields={"reward_ref": f"reward {reward_ref!r} is switched off (active: false)"}
        )
    return create_redemption(rt, actor, member_id=member_id, reward_id=reward.id, idempotency_key=idempotency_key)
