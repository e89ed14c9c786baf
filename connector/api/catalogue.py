"""``PATCH /api/v1/members/<id>`` and ``/api/v1/rewards``: the console's member and Rewards edits, for scripts.

The same core use cases as the console (``core.member_edit``, ``core.reward_catalogue``): the same
checks (the plugins' own rules, the live SKU check), the same roles, the same timeline entries.
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy import select

from connector.api.auth import current_actor
from connector.api.blueprint import bp
from connector.api.catalogue_schemas import (
    MemberEditResultSchema,
    MemberEditSchema,
    RewardCreateSchema,
    RewardListSchema,
    RewardSaveResultSchema,
    RewardSchema,
    RewardUpdateSchema,
)
from connector.api.openapi import operation
from connector.api.payload import load_body
from connector.core import member_edit
from connector.core import reward_catalogue as catalogue
from connector.core.errors import ValidationError
from connector.core.reward_rules import held
from connector.core.runtime import Runtime
from connector.core.tables import Member, Redemption, Reward
from connector.request_context import current_runtime

_EDIT_ERRORS = (403, 404, 409, 422)


@bp.patch("/members/<id:member_id>")
@operation(
    summary="Correct a member's details, checked by the fulfilment plugins' own rules",
    description=(
        "Every value is checked as the plugin of each channel the brand uses would check it at fulfilment "
        "(Shopify: address, phone, date of birth). A malformed value answers 422 naming the field, with the "
        "plugin's own message, and nothing is stored. An empty field a plugin needs is stored and reported in "
        "`warnings`. With `retry: true`, the member's redemptions in error that the change cures are retried. "
        "The change is recorded on the timeline of each of the member's redemptions, naming the fields."
    ),
    tag="members",
    body=MemberEditSchema,
    responses={200: ("Saved", MemberEditResultSchema)},
    errors=_EDIT_ERRORS,
)
def patch_member(member_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(MemberEditSchema())
    retry = data.pop("retry")
    result = member_edit.update_member(rt, actor, member_id, data, retry=retry)
    with rt.sessions() as s:
        m = s.get(Member, member_id)
        return MemberEditResultSchema().dump(
            {
                "member": m,
                "changed": list(result.changed),
                "warnings": [
                    {
                        "channel": w.channel,
                        "code": w.problem.code,
                        "message": w.problem.message,
                        "fix": w.problem.fix,
                        "fields_": list(w.problem.fields),
                    }
                    for w in result.warnings
                ],
                "retried": _retried(rt, result.retried),
                "still_blocked": [{"id": rid, "reason": why} for rid, why in sorted(result.still_blocked.items())],
            }
        )


@bp.get("/rewards")
@operation(
    summary="The rewards catalogue of the token's brand (every brand for cross-brand roles)",
    tag="rewards",
    responses={200: ("The rewards, active first", RewardListSchema)},
    errors=(403,),
)
def list_rewards() -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    with rt.sessions() as s:
        rows = catalogue.list_rewards(s, actor)
        return RewardListSchema().dump({"items": [_reward(row.reward, row.claimed) for row in rows]})


@bp.post("/rewards")
@operation(
    summary="Add a reward (brand and platform admins); its SKU is checked live in its shop",
    description=(
        "A SKU the shop cannot order (no such variant, product not active, out of stock) answers 422 with the "
        "shop plugin's message. A shop that cannot be asked does not block the save: `sku_check.status` is "
        "`unchecked` with why."
    ),
    tag="rewards",
    body=RewardCreateSchema,
    responses={201: ("Created", RewardSaveResultSchema)},
    response_headers={201: {"Location": "The new reward's URL."}},
    errors=(403, 404, 422),
)
def create_reward() -> tuple[dict[str, Any], int, dict[str, str]]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(RewardCreateSchema())
    brand_id = data.pop("brand_id", None) or actor.brand_id
    if brand_id is None:
        raise ValidationError("invalid request body: brand_id is required", fields={"brand_id": "the reward's brand"})
    result = catalogue.create_reward(rt, actor, brand_id, data)
    location = url_for("api.get_reward", reward_id=result.reward_id)
    return _save_result(rt, result), 201, {"Location": location}


@bp.get("/rewards/<id:reward_id>")
@operation(summary="One reward", tag="rewards", responses={200: ("The reward", RewardSchema)}, errors=(403, 404))
def get_reward(reward_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    with rt.sessions() as s:
        reward = catalogue.load_reward(s, actor, reward_id)
        return RewardSchema().dump(_reward(reward, held(s, reward.id)))


@bp.patch("/rewards/<id:reward_id>")
@operation(
    summary="Change a reward (support and admins; `active` admins only), with an optional retry of what it cures",
    description=(
        "A changed SKU or shop is checked live in the shop; one it cannot order answers 422 and nothing is "
        "stored. With `retry: true`, the reward's `product_not_found` redemptions are retried once the shop "
        "confirmed the SKU, and `reward_instructions_missing` ones once it has instructions."
    ),
    tag="rewards",
    body=RewardUpdateSchema,
    responses={200: ("Saved", RewardSaveResultSchema)},
    errors=_EDIT_ERRORS,
)
def patch_reward(reward_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(RewardUpdateSchema())
    retry = data.pop("retry")
    active = data.pop("active", None)
    if active is not None:
        actor.check_can_configure()  # before anything is stored: a refused switch changes nothing
    result = catalogue.update_reward(rt, actor, reward_id, data, retry=retry)
    if active is not None:
        catalogue.set_active(rt, actor, reward_id, active)
    return _save_result(rt, result)


def _reward(reward: Reward, claimed: int) -> dict[str, Any]:
    return {**{name: getattr(reward, name) for name in RewardSchema().fields if name != "claimed"}, "claimed": claimed}


def _retried(rt: Runtime, ids: tuple[int, ...]) -> list[dict[str, Any]]:
    if not ids:
        return []
    with rt.sessions() as s:
        rows = s.execute(select(Redemption.id, Redemption.code, Redemption.status).where(Redemption.id.in_(ids)))
        return [{"id": i, "code": c, "status": st} for i, c, st in sorted(rows)]


def _save_result(rt: Runtime, result: catalogue.RewardSave) -> dict[str, Any]:
    sku = None
    if result.sku is not None:
        sku = {"status": "confirmed" if result.sku.ok else "unchecked", "detail": result.sku.unchecked}
    with rt.sessions() as s:
        reward = s.get(Reward, result.reward_id)
        assert reward is not None
        return RewardSaveResultSchema().dump(
            {
                "reward": _reward(reward, held(s, reward.id)),
                "changed": list(result.changed),
                "sku_check": sku,
                "retried": _retried(rt, result.retried),
                "still_blocked": [{"id": rid, "reason": why} for rid, why in sorted(result.still_blocked.items())],
            }
        )
