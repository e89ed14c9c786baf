"""Brand Fulfillment: the brand (manufacturer) side of free goods in the console.

Direct- and retailer-fulfilled free goods by section (Owed, Credited, Declined/Held) and the batches
distributors grouped for MFG credit, from the same core read model as ``GET /api/v1/brand/fulfilment``
and ``connector distribution brand`` (``connector.core.frequent_buyer.brand_fulfilment``). Brand admins
mark owed free goods credited; the core decides who may (the button is drawn exactly for them).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from connector.admin.blueprint import bp
from connector.admin.frequent_buyer.common import allowed, form_ids, ids_text, nothing_changed, plural, refusal
from connector.admin.session_auth import current_actor
from connector.core.errors import ConflictError, ValidationError
from connector.core.frequent_buyer import brand_fulfilment as core
from connector.core.frequent_buyer.brand_fulfilment import list_brands
from connector.request_context import current_runtime


def _int_arg(name: str) -> int | None:
    raw = (request.args.get(name) or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


@bp.get("/brand-fulfilment")
def fb_brand_fulfilment() -> tuple[str, int]:
    actor = current_actor()
    core.check_reads_brand_fulfilment(actor)
    errors: dict[str, str] = {}
    view = None
    try:
        view = core.brand_fulfilment(
            current_runtime(),
            actor,
            brand_id=_int_arg("brand_id"),
            section=request.args.get("section") or core.BrandSection.OWED.value,
            fulfilment_type=request.args.get("fulfilment_type") or None,
        )
    except ValidationError as exc:
        errors = {str(k): str(v) for k, v in exc.fields.items()}
    html = render_template(
        "admin/fb/brand_fulfilment.html",
        view=view,
        errors=errors,
        sections=[(s.value, t) for s, t in core.SECTION_TITLES.items()],
        args={k: v for k, v in request.args.items() if k in {"brand_id", "fulfilment_type"} and v},
        can_credit=allowed(core.check_credits_direct, actor),
        # staff pick a brand; a brand user sees its own only
        brands=[] if actor.brand_id is not None else [(b.id, b.name) for b in list_brands(current_runtime(), actor)],
    )
    return html, 400 if errors else 200


@bp.post("/brand-fulfilment/credit")
def fb_brand_credit() -> Response:
    """Mark the ticked owed free goods credited: the manufacturer reimbursed the store."""
    actor = current_actor()
    core.check_credits_direct(actor)
    back = url_for("admin.fb_brand_fulfilment")
    try:
        ids = core.mark_direct_credited(current_runtime(), actor, form_ids("ids"), request.form.get("note"))
    except (ConflictError, ValidationError) as exc:
        flash(nothing_changed(refusal(exc, "Reload the page to see the free goods as they are now.")), "error")
        return redirect(back)
    flash(f"{plural(len(ids), 'free good')} ({ids_text(ids)}) marked credited: they are in Credited.", "success")
    return redirect(back)
