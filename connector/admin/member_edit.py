"""Edit a member (``/admin/members/<id>/edit``): the page an error's fix points at.

Support and admins correct the details; viewers see the same form read-only. A refused save is
drawn again with what was typed (status 422), each field at fault marked with the plugin's own
words, and nothing stored. "Save and retry" also retries the redemptions the change cures
(``core.member_edit``); a plain save leaves them for the user to retry.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from connector.admin.blueprint import bp
from connector.admin.display import can_act
from connector.admin.session_auth import current_actor, safe_next
from connector.core import member_edit
from connector.core.errors import ConflictError, ValidationError
from connector.core.tables import Redemption
from connector.request_context import current_runtime

#: Input ``type`` per field (the rest are text).
INPUT_TYPES = {"email": "email", "phone": "tel", "date_of_birth": "date"}


@bp.get("/members/<id:member_id>/edit")
def member_edit_page(member_id: int) -> str:
    return _render(member_id, values=None, errors={}, status=200)[0]


@bp.post("/members/<id:member_id>/edit")
def member_edit_save(member_id: int) -> Response | tuple[str, int]:
    actor = current_actor()
    actor.check_sees_redemptions()
    actor.check_can_act()
    raw = {name: request.form.get(name, "") for name in member_edit.EDITABLE}
    retry = request.form.get("action") == "save_retry"
    rt = current_runtime()
    try:
        result = member_edit.update_member(rt, actor, member_id, raw, retry=retry)
    except ValidationError as exc:
        flash(exc.message[:1].upper() + exc.message[1:], "error")
        return _render(member_id, values=raw, errors=exc.fields, status=422)
    except ConflictError as exc:
        flash(exc.message[:1].upper() + exc.message[1:] + ".", "error")
        return redirect(url_for("admin.member", member_id=member_id))
    flash(_summary(result), "success")
    for warning in result.warnings:
        flash(f"Saved, but {warning.channel} rewards cannot be fulfilled yet: {warning.problem.message}", "error")
    return redirect(safe_next(request.form.get("next")) or url_for("admin.member", member_id=member_id))


def _summary(result: member_edit.MemberUpdate) -> str:
    if not result.changed:
        text = "Nothing was changed."
    else:
        text = "Saved: " + ", ".join(member_edit.EDITABLE[name] for name in result.changed) + "."
    if result.retried:
        with current_runtime().sessions() as s:
            codes = list(
                s.scalars(select(Redemption.code).where(Redemption.id.in_(result.retried)).order_by(Redemption.id))
            )
        text += f" Retried {len(codes)}: {', '.join(codes)}."
    return text


def _render(member_id: int, *, values: dict[str, str] | None, errors: dict[str, str], status: int) -> tuple[str, int]:
    actor = current_actor()
    rt = current_runtime()
    with rt.sessions() as s:
        m = member_edit.load_member(s, actor, member_id)
        shown = values or {
            name: ("" if getattr(m, name) is None else str(getattr(m, name))) for name in member_edit.EDITABLE
        }
        problems = member_edit.check_member(rt, m, member_edit.channels_to_check(s, m))
        open_problems = [(channel, p) for channel, found in problems.items() for p in found]
        html = render_template(
            "admin/member_edit.html",
            m=m,
            values=shown,
            errors=errors,
            labels=member_edit.EDITABLE,
            max_length=member_edit.MAX_LENGTH,
            input_types=INPUT_TYPES,
            blocked=member_edit.blocked_redemptions(s, m.id),
            open_problems=open_problems,
            at_fault=set(errors) or {name for _, p in open_problems for name in p.fields},
            editable=can_act(actor) and m.redacted_at is None,
            next_url=safe_next(request.values.get("next")) or "",
        )
    return html, status
