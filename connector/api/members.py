"""``/api/v1/members``: a member, their points balance and their ledger."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from connector.api.auth import current_actor
from connector.api.blueprint import bp
from connector.api.openapi import operation
from connector.api.presenters import member_detail
from connector.api.schemas import MemberSchema
from connector.core.errors import NotFoundError
from connector.core.redemptions import points_balance
from connector.core.tables import LedgerEntry, Member
from connector.request_context import current_runtime


@bp.get("/members/<id:member_id>")
@operation(
    summary="A member with their points balance and every ledger entry (earned, spent, returned)",
    tag="members",
    responses={200: ("The member", MemberSchema)},
    errors=(404,),
)
def get_member(member_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    with rt.sessions() as s:
        member = s.get(Member, member_id)
        if member is None or not actor.sees_brand(member.brand_id):
            raise NotFoundError(f"member {member_id} not found")
        balance = points_balance(s, member.id)
        ledger = s.scalars(select(LedgerEntry).where(LedgerEntry.member_id == member.id).order_by(LedgerEntry.id)).all()
        return MemberSchema().dump(member_detail(member, balance, ledger))
