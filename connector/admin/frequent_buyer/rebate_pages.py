"""The Distributor Portal's landing choice and its Rebates side (seeds 001, 002).

After sign-in the Distributor Portal link opens the landing page, "Free Goods or Rebates Dashboard": the
existing Free Goods Fulfillment dashboard, or the Rebates Dashboard here. The Rebates Dashboard lists
dollars-off rebates and Distributor Rebate Credit Batches in sections; the distributor batches rebates,
marks a batch credited, declines rebates with a reason, unbatches and releases them. Retailers read their
Distributor Rebate Credit Batches (linked from their credit status). Scope and permission are the core's
(``rebates``): a distributor sees and moves its own rebates only; a POST from a role that may not act gets
the 403 page and changes nothing. Each move is one POST → one core call → a redirect with a flash.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from connector.admin.blueprint import bp
from connector.admin.frequent_buyer.common import (
    PAGE_SIZE,
    allowed,
    back_to,
    form_ids,
    here,
    ids_text,
    nothing_changed,
    parse_query,
    plural,
    refusal,
)
from connector.admin.frequent_buyer.distributor_pages import SECTION_FILTERS, _filter, _reader, filter_options
from connector.admin.session_auth import current_actor
from connector.core.errors import ConflictError, IllegalTransitionError, ValidationError
from connector.core.frequent_buyer import distribution
from connector.core.frequent_buyer import rebates as core
from connector.core.frequent_buyer.rebates import RebateSection
from connector.core.model import Role
from connector.request_context import current_runtime

#: The tabs' short names (``section=`` in the query string) → core sections.
SECTIONS: dict[str, RebateSection] = {
    "unbatched": RebateSection.UNBATCHED_REBATES,
    "unfulfilled": RebateSection.UNFULFILLED_BATCHES,
    "fulfilled": RebateSection.FULFILLED_BATCHES,
    "declined": RebateSection.DECLINED_REBATES,
}
SHORT = {sec: short for short, sec in SECTIONS.items()}
ACTIONS = ("batch", "decline", "unbatch", "release")

#: What to do when the core refuses a move because something is not where the page showed it.
FIXES = {
    "batch": "Only Unbatched Rebates can be batched: reload the page to see where they are now.",
    "decline": "Only Unbatched Rebates or rebates in an Unfulfilled batch can be declined: reload the page.",
    "unbatch": "Only rebates in an Unfulfilled batch can be unbatched: reload the page.",
    "release": "Only Declined Rebates can be released back to Unbatched Rebates.",
    "credit": "Only an Unfulfilled batch with rebates in it can be marked credited: reload the page.",
}


def _refused(exc: ConflictError | ValidationError, action: str) -> str:
    return nothing_changed(refusal(exc, FIXES.get(action) if isinstance(exc, IllegalTransitionError) else None))


@bp.get("/distributor")
def fb_distributor_home() -> str:
    """The landing choice: Free Goods or Rebates Dashboard, each with what waits there."""
    actor = _reader()
    rt = current_runtime()
    free_goods = distribution.section(rt, actor, distribution.Section.UNBATCHED_FREE_GOODS, limit=1).count
    rebates = core.rebate_section(rt, actor, RebateSection.UNBATCHED_REBATES, limit=1).count
    return render_template("admin/fb/distributor_home.html", free_goods=free_goods, rebates=rebates)


@bp.get("/rebates")
def fb_rebates() -> tuple[str, int]:
    """The Rebates Dashboard: the sections as tabs, with counts and filters."""
    actor = _reader()
    rt = current_runtime()
    short = (request.args.get("section") or "unbatched").strip()
    short = {s.value: SHORT[s] for s in RebateSection}.get(short, short)
    form = parse_query(request.args, SECTION_FILTERS)
    errors = dict(form.errors)
    if short not in SECTIONS:
        errors["section"] = "choose one of the tabs"
        short = "unbatched"
    counts: dict[RebateSection, int] = {}
    page = None
    if not errors:
        filt = _filter(form)
        counts = core.rebate_section_counts(rt, actor, filt)
        page = core.rebate_section(rt, actor, SECTIONS[short], filt, limit=PAGE_SIZE, cursor=form.cursor or None)
    html = render_template(
        "admin/fb/rebates.html",
        short=short,
        sections=[(SHORT[s], core.REBATE_SECTION_TITLES[s]) for s in RebateSection],
        counts={SHORT[s]: n for s, n in counts.items()},
        page=page,
        form=form,
        errors=errors,
        can_move=allowed(distribution.check_acts, actor),
        show_distributor=actor.role != Role.DISTRIBUTOR,
        here=here(),
        options=filter_options(actor),
    )
    return html, 400 if errors else 200


@bp.post("/rebates/actions")
def fb_rebate_action() -> Response:
    """Batch, decline, unbatch or release the ticked rebates."""
    actor = current_actor()
    distribution.check_acts(actor)  # a role that never moves anything gets the 403 page, not a flash
    rt = current_runtime()
    action = request.form.get("action", "")
    default = url_for("admin.fb_rebates")
    if action not in ACTIONS:
        flash("Choose what to do with the ticked rebates. Nothing was changed.", "error")
        return redirect(back_to(default))
    reason = (request.form.get("reason") or "").strip()
    try:
        ids = form_ids("ids")
        if action == "batch":
            view = core.create_rebate_batch(rt, actor, ids, request.form.get("description", ""))
            flash(
                f'Rebate batch {view.id} "{view.description}" created for {view.retailer_name} with '
                f"{plural(len(ids), 'rebate')} ({ids_text(ids)}, ${view.amount:,.2f}): it is in Unfulfilled Batches.",
                "success",
            )
            return redirect(back_to(default))
        if action == "decline":
            moved = core.decline_rebates(rt, actor, ids, reason)
        elif action == "unbatch":
            moved = core.unbatch_rebates(rt, actor, ids)
        else:
            moved = core.release_rebates(rt, actor, ids)
    except (ConflictError, ValidationError) as exc:
        flash(_refused(exc, action), "error")
        return redirect(back_to(default))
    what = f"{plural(len(moved.rebate_ids), 'rebate')} ({ids_text(moved.rebate_ids)})"
    left = f" (taken out of batch {ids_text(moved.batch_ids)})" if moved.batch_ids else ""
    if action == "decline":
        flash(f'Declined {what}{left} with the reason "{reason}": they are in Declined Rebates.', "success")
    else:
        flash(f"{action.capitalize()}d {what}{left}: they are back in Unbatched Rebates.", "success")
    return redirect(back_to(default))


@bp.post("/rebate-batches/<id:batch_id>/credit")
def fb_rebate_batch_credit(batch_id: int) -> Response:
    """Mark an Unfulfilled rebate batch credited: the distributor has credited the retailer the dollars."""
    actor = current_actor()
    distribution.check_acts(actor)
    try:
        view = core.mark_rebate_batch_credited(current_runtime(), actor, batch_id, request.form.get("note"))
    except (ConflictError, ValidationError) as exc:
        flash(_refused(exc, "credit"), "error")
    else:
        flash(
            f'Rebate batch {view.id} "{view.description}" marked credited: {plural(view.rebates, "rebate")} '
            f"(${view.amount:,.2f}) credited to {view.retailer_name}. It is in Fulfilled Batches.",
            "success",
        )
    return redirect(back_to(url_for("admin.fb_rebates", section="unfulfilled")))


@bp.get("/rebate-batches/<id:batch_id>")
def fb_rebate_batch(batch_id: int) -> str:
    """A Distributor Rebate Credit Batch: its rebates, total and history (distributor, retailer, admins)."""
    actor = current_actor()
    detail = core.get_rebate_batch(current_runtime(), actor, batch_id)
    can_move = allowed(distribution.check_acts, actor) and detail.batch.status == "unfulfilled"
    return render_template(
        "admin/fb/rebate_batch.html", detail=detail, batch=detail.batch, can_move=can_move, here=here()
    )


@bp.get("/rebate-credit-batches")
def fb_rebate_credit_batches() -> str:
    """Distributor Rebate Credit Batches (seed 002): the dollars-off rebates reported and credited, newest first."""
    actor = current_actor()
    batches = core.retailer_rebate_batches(current_runtime(), actor)
    return render_template("admin/fb/rebate_credit_batches.html", batches=batches)
