"""Frequent-buyer programs: the list, one program with its items, and its Product List as CSV.

Programs are set up through the API and CLI; the page edits a program's minimum purchase in
dollars ("Insufficient Purchase Amount") for the roles that configure programs, and a retailer enrolls
from a program's page (``self_service_pages``). Who sees which
program is the core's rule (``list_programs`` / ``get_program``): staff and
global viewers every program, brand admins and brand viewers their brand's,
retailers and distributors every program (a retailer must find a program to
enroll in it; seed 002: "export a Product List showing all items included").
A retailer also sees which programs it is enrolled in, and with which distributor.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from connector.admin.blueprint import bp
from connector.admin.frequent_buyer.common import INT, allowed, csv_download, nothing_changed, parse_query, refusal
from connector.admin.frequent_buyer.self_service_pages import retailer_context
from connector.admin.session_auth import current_actor
from connector.core.access import Actor
from connector.core.catalog import slugify
from connector.core.errors import ValidationError
from connector.core.frequent_buyer import programs as core
from connector.core.model import Role
from connector.request_context import current_runtime


@bp.get("/programs")
def fb_programs() -> tuple[str, int]:
    actor = current_actor()
    rt = current_runtime()
    form = parse_query(request.args, {"brand_id": INT})
    listed = core.list_programs(rt, actor, brand_id=form.get("brand_id")) if not form.errors else []
    all_programs = core.list_programs(rt, actor) if form.get("brand_id") else listed
    enrolled: dict[int, core.EnrollmentView] = {}
    if actor.role == Role.RETAILER:
        enrolled = {e.program_id: e for e in core.list_enrollments(rt, actor, active_only=True)}
    distributors = {d.id: d.name for d in core.list_distributors(rt, actor)}
    html = render_template(
        "admin/fb/programs.html",
        programs=listed,
        form=form,
        brands=sorted({(p.brand_id, p.brand_name) for p in all_programs}, key=lambda b: b[1].lower()),
        enrolled=enrolled,
        is_retailer=actor.role == Role.RETAILER,
        distributors=distributors,
    )
    return html, 400 if form.errors else 200


@bp.get("/programs/<id:program_id>")
def fb_program(program_id: int) -> str:
    actor = current_actor()
    rt = current_runtime()
    program = core.get_program(rt, actor, program_id)  # another brand's program: not found
    enrollments = core.list_enrollments(rt, actor, program_id=program_id, active_only=True)
    distributors = core.list_distributors(rt, actor, program_id=program_id)
    return render_template(
        "admin/fb/program.html",
        program=program,
        enrollments=enrollments,
        distributors=distributors,
        is_retailer=actor.role == Role.RETAILER,
        edits=allowed(Actor.check_can_configure, actor) and actor.sees_brand(program.brand_id),
        **retailer_context(actor, program),
    )


@bp.post("/programs/<id:program_id>/minimum-purchase")
def fb_program_minimum(program_id: int) -> Response:
    """Set or clear the program's minimum purchase; a bad amount is said back and nothing changes."""
    back = url_for("admin.fb_program", program_id=program_id)
    try:
        view = core.set_minimum_purchase(
            current_runtime(), current_actor(), program_id, request.form.get("minimum_purchase_amount")
        )
    except ValidationError as exc:
        flash(nothing_changed(refusal(exc)), "error")
        return redirect(back)
    amount = view.minimum_purchase_amount
    flash(
        f"Minimum purchase for {view.name} set to ${amount}."
        if amount is not None
        else f"{view.name} has no minimum purchase now.",
        "success",
    )
    return redirect(back)


@bp.get("/programs/<id:program_id>/products.csv")
def fb_program_csv(program_id: int) -> Response:
    """The Product List: SKU, UPC, Description, Size, Unit, Category (formula-like cells get a leading ')."""
    program, lines = core.export_product_list(current_runtime(), current_actor(), program_id)
    return csv_download(lines, f"{slugify(program.code or program.name)}-products.csv")
