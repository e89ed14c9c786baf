"""The loyalty platform's routes: members and rewards by its own ids, redemptions by those ids.

``PUT /members/by-ref/<ref>`` and ``PUT /rewards/by-ref/<ref>`` are idempotent upserts (PUT, because the
platform names the resource): 201 the first time, then 200 with ``result`` ``updated`` or ``unchanged``.
"""

from __future__ import annotations

from typing import Any

from flask import url_for

from connector.api.auth import current_actor
from connector.api.blueprint import bp
from connector.api.openapi import operation
from connector.api.payload import load_body, load_query
from connector.api.platform_schemas import (
    BrandQuerySchema,
    MemberUpsertSchema,
    PlatformMemberSchema,
    PlatformRewardSchema,
    RedemptionByRefSchema,
    RewardUpsertSchema,
)
from connector.api.redemptions import IDEMPOTENT_CREATE, created_answer, idempotency_key
from connector.core import platform_refs
from connector.core.platform_refs import CREATED
from connector.core.redemptions import points_balance
from connector.core.tables import Member, Reward
from connector.request_context import current_runtime

_UPSERT_HEADERS = {201: {"Location": "The record's by-ref URL."}}


def _member(m: Member, balance: int, result: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        name: getattr(m, name) for name in ("id", "brand_id", "external_ref", *platform_refs.MEMBER_FIELDS)
    }
    out["points_balance"] = balance
    if result is not None:
        out["result"] = result
    return PlatformMemberSchema().dump(out)


def _reward(r: Reward, result: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        name: getattr(r, name) for name in ("id", "brand_id", "external_ref", *platform_refs.REWARD_FIELDS)
    }
    if result is not None:
        out["result"] = result
    return PlatformRewardSchema().dump(out)


def _answer(body: dict[str, Any], result: str, endpoint: str, ref: str, brand_id: int | None) -> Any:
    if result == CREATED:
        location = url_for(endpoint, ref=ref, brand_id=brand_id)  # a None brand_id is left out
        return body, 201, {"Location": location}
    return body, 200


@bp.put("/members/by-ref/<ref:ref>")
@operation(
    summary="Create or update a member by the platform's own id (idempotent)",
    description=(
        "The member of the token's brand whose `external_ref` is `ref`: created the first time (201), updated "
        "afterwards (200). Fields left out are kept; an optional field sent as null is cleared; the same request "
        "twice changes nothing the second time (`result: unchanged`)."
    ),
    tag="platform",
    body=MemberUpsertSchema,
    query=BrandQuerySchema,
    responses={
        201: ("Created", PlatformMemberSchema),
        200: ("Updated, or already as sent (`result`)", PlatformMemberSchema),
    },
    response_headers=_UPSERT_HEADERS,
    errors=(403, 404),
)
def upsert_member(ref: str) -> Any:
    rt, actor = current_runtime(), current_actor()
    brand_id = load_query(BrandQuerySchema()).get("brand_id")
    data = load_body(MemberUpsertSchema())
    done = platform_refs.upsert_member(rt, actor, ref, data, brand_id=brand_id)
    with rt.sessions() as s:
        member = s.get_one(Member, done.id)
        body = _member(member, points_balance(s, member.id), done.result)
    return _answer(body, done.result, "api.get_member_by_ref", ref, brand_id)


@bp.get("/members/by-ref/<ref:ref>")
@operation(
    summary="A member by the platform's own id",
    tag="platform",
    query=BrandQuerySchema,
    responses={200: ("The member", PlatformMemberSchema)},
    errors=(403, 404),
)
def get_member_by_ref(ref: str) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    brand_id = load_query(BrandQuerySchema()).get("brand_id")
    actor.check_can_configure()
    with rt.sessions() as s:
        member = platform_refs.find_member(s, actor, ref, brand_id)
        return _member(member, points_balance(s, member.id))


@bp.put("/rewards/by-ref/<ref:ref>")
@operation(
    summary="Create or update a reward by the platform's own id (idempotent)",
    description=(
        "The reward of the token's brand whose `external_ref` is `ref`: created the first time (201; `name`, "
        "`sku` and `points_cost` required), updated afterwards (200). Fields left out are kept; the same "
        "request twice changes nothing the second time (`result: unchanged`)."
    ),
    tag="platform",
    body=RewardUpsertSchema,
    query=BrandQuerySchema,
    responses={
        201: ("Created", PlatformRewardSchema),
        200: ("Updated, or already as sent (`result`)", PlatformRewardSchema),
    },
    response_headers=_UPSERT_HEADERS,
    errors=(403, 404),
)
def upsert_reward(ref: str) -> Any:
    rt, actor = current_runtime(), current_actor()
    brand_id = load_query(BrandQuerySchema()).get("brand_id")
    data = load_body(RewardUpsertSchema())
    done = platform_refs.upsert_reward(rt, actor, ref, data, brand_id=brand_id)
    with rt.sessions() as s:
        body = _reward(s.get_one(Reward, done.id), done.result)
    return _answer(body, done.result, "api.get_reward_by_ref", ref, brand_id)


@bp.get("/rewards/by-ref/<ref:ref>")
@operation(
    summary="A reward by the platform's own id",
    tag="platform",
    query=BrandQuerySchema,
    responses={200: ("The reward", PlatformRewardSchema)},
    errors=(403, 404),
)
def get_reward_by_ref(ref: str) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    brand_id = load_query(BrandQuerySchema()).get("brand_id")
    actor.check_can_configure()
    with rt.sessions() as s:
        return _reward(platform_refs.find_reward(s, actor, ref, brand_id))


@bp.post("/redemptions/by-ref")
@operation(
    summary="Redeem a reward for a member, both named by the platform's own ids",
    description=(
        "As `POST /redemptions`, with `member_ref` and `reward_ref` instead of ids. An unknown ref answers 422 "
        "naming each one (`error.fields.member_ref`, `error.fields.reward_ref`) and how to create it. Send an "
        "`Idempotency-Key` to make retries safe (the same key space as `POST /redemptions`)."
    ),
    tag="platform",
    body=RedemptionByRefSchema,
    **IDEMPOTENT_CREATE,
    errors=(403, 404, 409),
)
def create_redemption_by_ref() -> Any:
    rt, actor = current_runtime(), current_actor()
    data = load_body(RedemptionByRefSchema())
    key = idempotency_key()
    created = platform_refs.redeem_by_refs(
        rt,
        actor,
        member_ref=data["member_ref"],
        reward_ref=data["reward_ref"],
        brand_id=data["brand_id"],
        idempotency_key=key,
    )
    return created_answer(rt, actor, created)
