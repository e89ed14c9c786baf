"""A member's page: who they are, their points balance, every points move and their redemptions.

Support answers "where did my points go?" here: the ledger shows each
earned, spent and returned entry with its note and who made it, and each
redemption links to its timeline.
"""

from __future__ import annotations

from flask import render_template

from connector.admin import reads
from connector.admin.blueprint import bp
from connector.admin.session_auth import current_actor
from connector.core.errors import NotFoundError
from connector.core.redemptions import points_balance
from connector.core.tables import Member
from connector.request_context import current_runtime


@bp.get("/members/<id:member_id>")
def member(member_id: int) -> str:
    actor = current_actor()
    actor.check_sees_redemptions()
    with current_runtime().sessions() as s:
        m = s.get(Member, member_id)
        if m is None or not actor.sees_brand(m.brand_id):
            raise NotFoundError("member not found")
        ledger, ledger_total = reads.ledger_of(s, m.id)
        return render_template(
            "admin/member.html",
            m=m,
            balance=points_balance(s, m.id),
            ledger=ledger,
            ledger_total=ledger_total,
            redemptions=reads.redemptions_of(s, m.id),
            row_cap=reads.MEMBER_PAGE_ROWS,
            actor=actor,
        )
