"""Self-service in the console (seeds 001 and 002).

* A retailer user enrolls its store in a program from the program's page (the Programs page links an
  **Enroll** button there), choosing among the distributors the core offers (associated with the program and
  serving every store); later it changes the distributor or the account number it has with that distributor,
  and sees every account number change.
* A distributor user chooses its associated programs and its service area on **Programs & Service Area**
  (staff pick the distributor). Changes that would strand an enrollment are refused by the core, naming them.

Each POST calls the same core use case as the JSON API (``connector/api/self_service.py``, ``programs.py``)
and the CLI; refusals come back as a flash with the core's reason and "Nothing was changed."
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from connector.admin.blueprint import bp
from connector.admin.frequent_buyer.common import arg_int, form_int
from connector.admin.session_auth import current_actor
from connector.core.access import Actor
from connector.core.errors import ConflictError, PermissionDeniedError, ValidationError
from connector.core.frequent_buyer import programs as core
from connector.core.frequent_buyer.model import FulfilmentType
from connector.core.model import Role
from connector.request_context import current_runtime


def _refused(exc: ConflictError | ValidationError) -> None:
    """The core's reason (which names the field and the fix) as one sentence, and that nothing changed."""
    message = exc.message[:1].upper() + exc.message[1:]
    flash(message.rstrip(".") + ". Nothing was changed.", "error")


def retailer_context(actor: Actor, program: core.ProgramView) -> dict[str, Any]:
    """What a retailer's program page needs to enroll or change its enrollment (empty for other roles)."""
    if actor.role != Role.RETAILER or actor.retailer_id is None:
        return {}
    rt = current_runtime()
    mine = core.list_enrollments(rt, actor, program_id=program.id, active_only=True)
    enrollment = mine[0] if mine else None
    return {
        "my_enrollment": enrollment,
        "needs_distributor": program.fulfilment_type == FulfilmentType.DISTRIBUTOR.value,
        "options": core.distributor_options(rt, actor, retailer_id=actor.retailer_id, program_id=program.id),
        "account_changes": (
            core.list_account_number_changes(rt, actor, enrollment_id=enrollment.id) if enrollment else []
        ),
    }


@bp.post("/programs/<id:program_id>/enroll")
def fb_enroll(program_id: int) -> Response:
    """A retailer enrolls its store in the program with the distributor it chose."""
    actor = current_actor()
    back = url_for("admin.fb_program", program_id=program_id)
    if actor.role != Role.RETAILER or actor.retailer_id is None:
        raise PermissionDeniedError(f"role {actor.role.value} cannot enroll from the console; a retailer user can")
    try:
        e = core.enroll(
            current_runtime(),
            actor,
            retailer_id=actor.retailer_id,
            program_id=program_id,
            distributor_id=form_int("distributor_id"),
            account_number=request.form.get("account_number"),
        )
    except (ConflictError, ValidationError) as exc:
        _refused(exc)
        return redirect(back)
    who = f" with {e.distributor_name}" if e.distributor_name else ""
    flash(f"Enrolled in {e.program_name}{who}.", "success")
    return redirect(back)


@bp.post("/enrollments/<id:enrollment_id>/distributor")
def fb_change_distributor(enrollment_id: int) -> Response:
    """The retailer moves an enrollment to another distributor (account number: given, or the one it has)."""
    rt, actor = current_runtime(), current_actor()
    e = core.get_enrollment(rt, actor, enrollment_id)  # another retailer's enrollment: not found
    back = url_for("admin.fb_program", program_id=e.program_id)
    try:
        changed = core.change_distributor(
            rt, actor, enrollment_id, form_int("distributor_id"), request.form.get("account_number") or None
        )
    except (ConflictError, ValidationError) as exc:
        _refused(exc)
        return redirect(back)
    flash(f"{changed.program_name} is now credited by {changed.distributor_name}.", "success")
    return redirect(back)


@bp.post("/enrollments/<id:enrollment_id>/account-number")
def fb_account_number(enrollment_id: int) -> Response:
    """The retailer changes the account number it has with the enrollment's distributor."""
    rt, actor = current_runtime(), current_actor()
    e = core.get_enrollment(rt, actor, enrollment_id)
    back = url_for("admin.fb_program", program_id=e.program_id)
    try:
        changed = core.set_account_number(rt, actor, enrollment_id, request.form.get("account_number"))
    except (ConflictError, ValidationError) as exc:
        _refused(exc)
        return redirect(back)
    if changed.account_number == e.account_number:
        flash("The account number was already that; nothing was changed.", "success")
    else:
        shown = changed.account_number or "none"
        flash(f"Account number with {changed.distributor_name} is now {shown}.", "success")
    return redirect(back)


def _setup_distributor(actor: Actor) -> int | None:
    """The distributor the setup page is about: a distributor user's own; staff choose one."""
    if actor.role == Role.DISTRIBUTOR:
        return actor.distributor_id
    if not core.is_staff(actor):
        raise PermissionDeniedError(
            f"role {actor.role.value} cannot change a distributor's programs or service area; the distributor can"
        )
    return form_int("distributor_id") if request.method == "POST" else arg_int("distributor_id")


@bp.get("/distribution/setup")
def fb_distributor_setup() -> str:
    """Programs & Service Area: the distributor's associated programs and the area it serves."""
    rt, actor = current_runtime(), current_actor()
    distributor_id = _setup_distributor(actor)
    distributor = core.get_distributor(rt, actor, distributor_id) if distributor_id else None
    programs = [p for p in core.list_programs(rt, actor) if p.fulfilment_type == FulfilmentType.DISTRIBUTOR.value]
    return render_template(
        "admin/fb/distributor_setup.html",
        distributor=distributor,
        programs=programs,
        choose=core.is_staff(actor),
        distributors=core.list_distributors(rt, actor) if core.is_staff(actor) else [],
    )


def _setup_back(distributor_id: int | None) -> str:
    if current_actor().role == Role.DISTRIBUTOR:
        return url_for("admin.fb_distributor_setup")
    return url_for("admin.fb_distributor_setup", distributor_id=distributor_id)


@bp.post("/distribution/setup/programs")
def fb_distributor_programs() -> Response:
    rt, actor = current_runtime(), current_actor()
    distributor_id = _setup_distributor(actor)
    if distributor_id is None:
        flash("Choose the distributor first. Nothing was changed.", "error")
        return redirect(url_for("admin.fb_distributor_setup"))
    wanted = [int(v) for v in request.form.getlist("program_ids") if v.isdigit() and 0 < int(v) < 2**31]
    try:
        d = core.set_associated_programs(rt, actor, distributor_id, wanted)
    except (ConflictError, ValidationError) as exc:
        _refused(exc)
        return redirect(_setup_back(distributor_id))
    flash(f"{d.name} is now a distributor option for {len(d.program_ids)} program(s).", "success")
    return redirect(_setup_back(distributor_id))


@bp.post("/distribution/setup/service-area")
def fb_distributor_service_area() -> Response:
    rt, actor = current_runtime(), current_actor()
    distributor_id = _setup_distributor(actor)
    if distributor_id is None:
        flash("Choose the distributor first. Nothing was changed.", "error")
        return redirect(url_for("admin.fb_distributor_setup"))

    def split(name: str) -> list[str]:
        return [v.strip() for v in (request.form.get(name) or "").replace(";", ",").split(",") if v.strip()]

    try:
        d = core.set_service_area(
            rt, actor, distributor_id, service_states=split("service_states"), service_zip_prefixes=split("zips")
        )
    except (ConflictError, ValidationError) as exc:
        _refused(exc)
        return redirect(_setup_back(distributor_id))
    area = ", ".join([*d.service_states, *(f"{z}*" for z in d.service_zip_prefixes)])
    flash(f"{d.name} now serves {area}.", "success")
    return redirect(_setup_back(distributor_id))


@bp.app_context_processor
def _setup_link() -> dict[str, bool]:
    """Whether the Distributor Portal shows the Programs & Service Area link (distributor users and staff)."""
    from connector.admin.session_auth import load_user

    user = load_user()
    role = user.actor.role if user is not None else None
    return {"can_setup_distributor": role == Role.DISTRIBUTOR or role in core.STAFF_ROLES}
