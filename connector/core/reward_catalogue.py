"""The Rewards catalogue without a shell: list, create, edit, switch off, and retry what a fix unblocks.

A SKU is checked live in the reward's shop on save (``connector_check_sku``: the plugin asks the
shop the same question the fulfilment asks). A shop that says "no such SKU", "not active" or "out of
stock" refuses the save with its own words. A shop that cannot be asked right now (down, throttled,
disconnected) does not block editing a reward: the save goes through with a warning that the SKU was
not checked, and nothing is retried on its strength.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import ConflictError, NotFoundError, ProviderError, ValidationError
from connector.core.hooktypes import CheckProblem, PluginInfo
from connector.core.member_edit import has_control_characters
from connector.core.model import RedemptionStatus
from connector.core.redemptions import retry_redemption
from connector.core.runtime import Runtime
from connector.core.shop_tokens import blocked_call, shop_for_plugin
from connector.core.tables import Brand, Redemption, Reward, Shop

#: The fields the catalogue edits, with the label messages use.
FIELDS: dict[str, str] = {
    "name": "name",
    "sku": "SKU",
    "points_cost": "points",
    "channel": "fulfilled by",
    "shop_id": "shop",
    "instructions": "instructions",
    "available_from": "available from",
    "available_until": "available until",
    "per_member_limit": "limit per member",
    "total_quantity": "total quantity",
}
#: Error codes a change to the reward can cure, and the fields that cure each.
REWARD_ERROR_CODES: dict[str, frozenset[str]] = {
    "product_not_found": frozenset({"sku", "shop_id"}),
    "reward_instructions_missing": frozenset({"instructions"}),
}
INT32_MAX = 2**31 - 1
_TEXT_MAX = {"name": 200, "sku": 100, "instructions": 5000}


@dataclass(frozen=True)
class SkuVerdict:
    """What the live check said: ``ok`` (the shop can order it), a refusal, or why it was not asked."""

    ok: bool
    problem: CheckProblem | None = None
    #: Why the shop was not asked, or could not answer (the save still goes through).
    unchecked: str | None = None


@dataclass(frozen=True)
class RewardSave:
    reward_id: int
    changed: tuple[str, ...]
    sku: SkuVerdict | None
    retried: tuple[int, ...] = ()
    still_blocked: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RewardRow:
    reward: Reward
    brand_name: str
    shop_domain: str | None
    claimed: int
    blocked: int


def channels(rt: Runtime) -> list[str]:
    """Every channel an installed plugin fulfils (what "fulfilled by" may be)."""
    infos: list[PluginInfo] = rt.plugins.hook.connector_plugin_info()
    return sorted({channel for info in infos for channel in info.channels})


def list_rewards(s: Session, actor: Actor, *, include_inactive: bool = True) -> list[RewardRow]:
    """The rewards the actor's brand scope covers, with how many are claimed and how many are blocked."""
    actor.check_sees_redemptions()
    claimed = (
        select(Redemption.reward_id, func.count().label("n"))
        .where(Redemption.status != RedemptionStatus.REVERSED)
        .group_by(Redemption.reward_id)
        .subquery()
    )
    blocked = (
        select(Redemption.reward_id, func.count().label("n"))
        .where(Redemption.status == RedemptionStatus.ERROR, Redemption.error_code.in_(list(REWARD_ERROR_CODES)))
        .group_by(Redemption.reward_id)
        .subquery()
    )
    q = (
        select(Reward, Brand.name, Shop.domain, claimed.c.n, blocked.c.n)
        .join(Brand, Brand.id == Reward.brand_id)
        .outerjoin(Shop, Shop.id == Reward.shop_id)
        .outerjoin(claimed, claimed.c.reward_id == Reward.id)
        .outerjoin(blocked, blocked.c.reward_id == Reward.id)
        .order_by(Reward.active.desc(), Brand.name, Reward.name, Reward.id)
    )
    if actor.brand_id is not None:
        q = q.where(Reward.brand_id == actor.brand_id)
    if not include_inactive:
        q = q.where(Reward.active.is_(True))
    return [
        RewardRow(reward=r, brand_name=b, shop_domain=d, claimed=int(c or 0), blocked=int(k or 0))
        for r, b, d, c, k in s.execute(q).all()
    ]


def load_reward(s: Session, actor: Actor, reward_id: int, *, lock: bool = False) -> Reward:
    actor.check_sees_redemptions()
    q = select(Reward).where(Reward.id == reward_id)
    reward = s.scalars(q.with_for_update() if lock else q).one_or_none()
    if reward is None or not actor.sees_brand(reward.brand_id):
        raise NotFoundError("reward not found")
    return reward


def blocked_by_reward(s: Session, reward_id: int) -> list[Redemption]:
    """The reward's redemptions in error for a reason a change to the reward can cure."""
    return list(
        s.scalars(
            select(Redemption)
            .where(
                Redemption.reward_id == reward_id,
                Redemption.status == RedemptionStatus.ERROR,
                Redemption.error_code.in_(list(REWARD_ERROR_CODES)),
            )
            .order_by(Redemption.id)
        )
    )


def clean_fields(raw: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """The given fields, typed and trimmed, or one ``ValidationError`` naming every bad one."""
    unknown = sorted(set(raw) - set(FIELDS))
    problems: dict[str, str] = {name: "not a reward field" for name in unknown}
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if name in unknown:
            continue
        try:
            out[name] = _clean(name, value)
        except ValueError as exc:
            problems[name] = str(exc)
    if creating:
        for name in ("name", "sku", "points_cost", "channel"):
            if out.get(name) in (None, "") and name not in problems:
                problems[name] = f"{FIELDS[name]} is required"
    if problems:
        raise ValidationError("the reward was not saved: " + "; ".join(problems.values()), fields=problems)
    return out


def _clean(name: str, value: Any) -> Any:
    if name in ("points_cost", "per_member_limit", "total_quantity", "shop_id"):
        return _whole(name, value)
    if name in ("available_from", "available_until"):
        if value is None or isinstance(value, date):
            return value
        text = str(value).strip()
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{FIELDS[name]} is not a date: write it as YYYY-MM-DD") from None
    text = "" if value is None else str(value).strip()
    if has_control_characters(text, allowed="\t\n\r" if name == "instructions" else ""):
        raise ValueError(f"{FIELDS[name]} contains invisible control characters: remove them")
    if name in ("name", "sku", "channel") and not text:
        raise ValueError(f"{FIELDS[name]} must not be empty")
    limit = _TEXT_MAX.get(name, 40)
    if len(text) > limit:
        raise ValueError(f"{FIELDS[name]} is longer than {limit} characters")
    if name == "sku" and any(ch.isspace() for ch in text):
        raise ValueError("SKU contains spaces: copy the variant's SKU exactly as Shopify shows it")
    return text


def _whole(name: str, value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if name == "points_cost":
            raise ValueError("points is required: a positive whole number")
        return None
    if isinstance(value, bool):
        raise ValueError(f"{FIELDS[name]} is not a whole number")
    if isinstance(value, int):
        number = value
    else:
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ValueError(f"{FIELDS[name]} is not a whole number") from None
    if not 1 <= number <= INT32_MAX:
        raise ValueError(f"{FIELDS[name]} must be a whole number from 1 to {INT32_MAX:,}")
    return number


def _check_consistent(s: Session, reward: Reward, rt: Runtime) -> None:
    problems: dict[str, str] = {}
    if reward.available_from and reward.available_until and reward.available_from > reward.available_until:
        problems["available_until"] = "available until is before available from"
    if reward.channel not in channels(rt):
        problems["channel"] = f"no installed plugin fulfils {reward.channel!r}: choose one of {', '.join(channels(rt))}"
    if reward.shop_id is not None:
        with s.no_autoflush:  # the change is not flushed before it is checked: an unknown shop id would break the FK
            shop = s.get(Shop, reward.shop_id)
        if shop is None or shop.brand_id != reward.brand_id:
            problems["shop_id"] = "no such shop in the reward's brand"
        elif shop.provider != reward.channel:
            problems["shop_id"] = (
                f"{shop.domain} is a {shop.provider} shop; the reward is fulfilled by {reward.channel}"
            )
    if problems:
        raise ValidationError("the reward was not saved: " + "; ".join(problems.values()), fields=problems)


def check_sku(rt: Runtime, shop: Shop | None, sku: str, channel: str) -> SkuVerdict:
    """Ask the reward's shop whether it can order ``sku`` now (the same lookup the fulfilment makes)."""
    if shop is None:
        return SkuVerdict(ok=False, unchecked="no shop is chosen, so the SKU was not checked")
    why_not = blocked_call(shop, channel)
    if why_not is not None:
        return SkuVerdict(ok=False, unchecked=f"{shop.domain} cannot be called now ({why_not.message})")
    try:
        found: list[CheckProblem] | None = rt.plugins.hook.connector_check_sku(
            shop=shop_for_plugin(rt, shop), sku=sku, provider=shop.provider, ctx=rt.hook_context(shop.provider)
        )
    except ProviderError as exc:
        return SkuVerdict(ok=False, unchecked=f"{shop.domain} could not be asked ({exc.message}); try again later")
    if found is None:
        return SkuVerdict(ok=False, unchecked=f"no installed plugin checks SKUs in {shop.provider} shops")
    if found:
        return SkuVerdict(ok=False, problem=found[0])
    return SkuVerdict(ok=True)


def _sku_refusal(problem: CheckProblem) -> ValidationError:
    return ValidationError(
        f"the reward was not saved: {problem.message} {problem.fix}".strip(), fields={"sku": problem.message}
    )


def create_reward(rt: Runtime, actor: Actor, brand_id: int, raw: Mapping[str, Any]) -> RewardSave:
    """A new reward in ``brand_id``; brand admins and platform admins only (it changes what points buy)."""
    actor.check_can_configure()
    actor.check_brand(brand_id, "brand")
    values = clean_fields(raw, creating=True)
    with transaction(rt.sessions) as s:
        if s.get(Brand, brand_id) is None:
            raise NotFoundError("brand not found")
        reward = Reward(brand_id=brand_id, active=True, instructions="")
        for name, value in values.items():
            setattr(reward, name, value)
        _check_consistent(s, reward, rt)
        shop = s.get(Shop, reward.shop_id) if reward.shop_id else None
    verdict = check_sku(rt, shop, reward.sku, reward.channel) if shop is not None else None
    if verdict is not None and verdict.problem is not None:
        raise _sku_refusal(verdict.problem)
    with transaction(rt.sessions) as s:
        s.add(reward)
        s.flush()
        reward_id = reward.id
    return RewardSave(reward_id, tuple(values), verdict)


def update_reward(
    rt: Runtime, actor: Actor, reward_id: int, raw: Mapping[str, Any], *, retry: bool = False
) -> RewardSave:
    """Change a reward (support and admins); with ``retry``, retry the redemptions the change cures.

    A SKU the shop refuses is not stored. ``product_not_found`` redemptions are retried only when the
    shop confirmed the SKU on this save; ``reward_instructions_missing`` ones when instructions are set.
    """
    actor.check_can_act()
    values = clean_fields(raw, creating=False)
    with rt.sessions() as s:
        current = load_reward(s, actor, reward_id)
        changed = tuple(name for name in FIELDS if name in values and getattr(current, name) != values[name])
        shop_id = values.get("shop_id", current.shop_id)
        sku = values.get("sku", current.sku)
        channel = values.get("channel", current.channel)
        shop = s.get(Shop, shop_id) if shop_id else None
        has_blocked = any(r.error_code == "product_not_found" for r in blocked_by_reward(s, reward_id))
    verdict: SkuVerdict | None = None
    if shop is not None and shop.brand_id == current.brand_id and ({"sku", "shop_id"} & set(changed) or has_blocked):
        verdict = check_sku(rt, shop, sku, channel)
        if verdict.problem is not None:
            raise _sku_refusal(verdict.problem)
    now = rt.now()
    with transaction(rt.sessions) as s:
        reward = load_reward(s, actor, reward_id, lock=True)
        for name in changed:
            setattr(reward, name, values[name])
        _check_consistent(s, reward, rt)
        if changed:
            reward.updated_at = now
        to_retry, still = _sort_blocked(blocked_by_reward(s, reward_id), reward, verdict)
        if retry:
            for r in s.scalars(select(Redemption).where(Redemption.id.in_(to_retry))):
                if r.external_order_id is None and r.shop_id != reward.shop_id:
                    r.shop_id = reward.shop_id  # no order exists yet: the next attempt orders from the new shop
    retried: list[int] = []
    if retry:
        note = "reward corrected" + (" (" + ", ".join(FIELDS[n] for n in changed) + ")" if changed else "")
        for redemption_id in to_retry:
            try:
                retry_redemption(rt, redemption_id, actor, note=note)
            except ConflictError as exc:
                still[redemption_id] = exc.message
            else:
                retried.append(redemption_id)
    else:
        still.update({rid: "not retried: use Save and retry" for rid in to_retry})
    return RewardSave(reward_id, changed, verdict, tuple(retried), still)


def _sort_blocked(
    blocked: list[Redemption], reward: Reward, verdict: SkuVerdict | None
) -> tuple[list[int], dict[int, str]]:
    to_retry: list[int] = []
    still: dict[int, str] = {}
    for r in blocked:
        if r.error_code == "product_not_found":
            if verdict is not None and verdict.ok:
                to_retry.append(r.id)
            else:
                still[r.id] = verdict.unchecked if verdict and verdict.unchecked else "the SKU was not confirmed"
        elif r.error_code == "reward_instructions_missing":
            if reward.instructions.strip():
                to_retry.append(r.id)
            else:
                still[r.id] = "the reward still has no instructions"
    return to_retry, still


def set_active(rt: Runtime, actor: Actor, reward_id: int, active: bool) -> str:
    """Switch a reward off (no new claims; existing redemptions go on) or back on; returns its name. Admins only."""
    actor.check_can_configure()
    with transaction(rt.sessions) as s:
        reward = load_reward(s, actor, reward_id, lock=True)
        if reward.active != active:
            reward.active = active
            reward.updated_at = rt.now()
        return reward.name
