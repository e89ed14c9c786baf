"""The Distributor Portal (seed 001): five sections as tabs, the moves between them, batch pages, reports.

Distributor users see and move their own distributor's free goods and batches;
platform admins everything (recorded by name); support, viewers and brand admins
read within their scope (brand admins: their brand's free goods). Retailer users
have their credit status instead and are refused here. Scope and permission are
the core's (``check_reads_distribution``, ``check_acts``, ``free_good_scope``):
the pages only decide which buttons to draw, and a POST from a role that may not
act is still refused by the core (403 page, nothing changed).

Every move is one POST → one core call → a redirect back (post/redirect/get)
with a flash naming what moved where, or the core's refusal (which names each
free good that could not move and says nothing changed) with what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from connector.admin.blueprint import bp
from connector.admin.frequent_buyer.common import (
    DAY,
    INT,
    PAGE_SIZE,
    TEXT,
    QueryForm,
    allowed,
    back_to,
    csv_download,
    form_ids,
    form_int,
    here,
    ids_text,
    nothing_changed,
    parse_query,
    plural,
    refusal,
)
from connector.admin.session_auth import current_actor
from connector.core.access import Actor
from connector.core.errors import (
    ConflictError,
    IllegalTransitionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from connector.core.frequent_buyer import credit_memo
from connector.core.frequent_buyer import distribution as core
from connector.core.frequent_buyer import distribution_reports as reports
from connector.core.frequent_buyer.distribution import Section
from connector.core.frequent_buyer.programs import list_distributors, list_programs, list_retailers
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.request_context import current_runtime

#: The tabs' short names (the DOM contract's ``data-section`` and the ``section=`` query value) → core sections.
SECTIONS: dict[str, Section] = {
    "unbatched": Section.UNBATCHED_FREE_GOODS,
    "unfulfilled": Section.UNFULFILLED_BATCHES,
    "fulfilled": Section.FULFILLED_BATCHES,
    "grouped": Section.BATCHES_GROUPED_FOR_MFG_CREDIT,
    "declined_held": Section.DECLINED_HELD_CREDITS,
}
SHORT: dict[Section, str] = {sec: short for short, sec in SECTIONS.items()}
DEFAULT_SECTION = "unbatched"

#: The section filters (the core's ``DistributionFilter``), as the query string names them.
SECTION_FILTERS = {
    "distributor_id": INT,
    "retailer_id": INT,
    "brand_id": INT,
    "program_id": INT,
    "date_from": DAY,
    "date_to": DAY,
}
#: Every report filter (``ReportParams``); each report shows and accepts only those it takes.
REPORT_FILTERS = {
    **SECTION_FILTERS,
    "customer": TEXT,
    "item": TEXT,
    "batch_id": INT,
    "status": TEXT,
}

#: What to do when the core refuses a move because something is not where the page showed it.
FIXES: dict[str, str] = {
    "batch": "Only Unbatched free goods can be batched: reload the page to see where they are now.",
    "add": "Only Unbatched free goods can join a batch, and only an Unfulfilled batch takes more: reload the page.",
    "unbatch": "Only free goods in an Unfulfilled batch, or in a Fulfilled batch the retailer has not reconciled "
    "and that is not grouped for MFG credit, can be unbatched.",
    "decline": "Only Unbatched free goods, or free goods in an Unfulfilled batch or in a Fulfilled batch the retailer "
    "has not reconciled and that is not grouped for MFG credit, can be declined.",
    "hold": "Only free goods not yet credited (Unbatched, or in an Unfulfilled batch) can be held.",
    "release": "Only Declined or Held free goods can be released back to Unbatched.",
    "fulfil": "Only an Unfulfilled batch with free goods in it can be marked fulfilled: reload the page.",
    "group": "Only Fulfilled batches that still hold free goods (and are not yet grouped) can be grouped for MFG "
    "credit: reload the page.",
}
ACTIONS = ("batch", "add", "unbatch", "decline", "hold", "release")


@dataclass(frozen=True)
class FilterOptions:
    """The filters' choices as (value, label) pairs, within the actor's scope."""

    retailers: list[tuple[int, str]]
    brands: list[tuple[int, str]]
    programs: list[tuple[int, str]]
    distributors: list[tuple[int, str]]


def filter_options(actor: Actor) -> FilterOptions:
    """Choices a person can recognise (a distributor sees its participating retailers only)."""
    rt = current_runtime()
    programs = list_programs(rt, actor)
    return FilterOptions(
        retailers=[(r.id, r.name) for r in list_retailers(rt, actor)],
        brands=sorted({(p.brand_id, p.brand_name) for p in programs}, key=lambda b: b[1].lower()),
        programs=[(p.id, p.name) for p in programs],
        distributors=[] if actor.role == Role.DISTRIBUTOR else [(d.id, d.name) for d in list_distributors(rt, actor)],
    )


def _filter(form: QueryForm) -> core.DistributionFilter:
    return core.DistributionFilter(**{name: form.get(name) for name in SECTION_FILTERS})


def _section_url(short: str, **args: str) -> str:
    # Typed as url_for's **values (Any): mypy checks a **dict[str, str] against url_for's own _external too.
    values: dict[str, Any] = {"section": short, **args}
    return url_for("admin.fb_distribution", **values)


def _reader() -> Actor:
    """The signed-in user, once the core agrees they may read the Distributor Portal (the 403 page otherwise)."""
    actor = current_actor()
    core.check_reads_distribution(actor)
    return actor


@bp.get("/distribution")
def fb_distribution() -> tuple[str, int]:
    """The Free Goods Fulfillment dashboard: the five sections as tabs, with counts and filters."""
    actor = _reader()
    rt = current_runtime()
    short = (request.args.get("section") or DEFAULT_SECTION).strip()
    short = {s.value: SHORT[s] for s in Section}.get(short, short)  # the core's own names work too
    form = parse_query(request.args, SECTION_FILTERS)
    errors = dict(form.errors)
    if short not in SECTIONS:
        errors["section"] = "choose one of the tabs"
        short = DEFAULT_SECTION
    counts: dict[Section, int] = {}
    page = None
    open_batches: list[core.BatchView] = []
    can_move = allowed(core.check_acts, actor)
    if not errors:
        filt = _filter(form)
        counts = core.section_counts(rt, actor, filt)
        page = core.section(rt, actor, SECTIONS[short], filt, limit=PAGE_SIZE, cursor=form.cursor or None)
        if can_move and short == "unbatched" and page.free_goods:
            open_batches = core.section(rt, actor, Section.UNFULFILLED_BATCHES, limit=500).batches
    html = render_template(
        "admin/fb/distribution.html",
        short=short,
        sections=[(s, SHORT[s], core.SECTION_TITLES[s]) for s in Section],
        counts={SHORT[s]: n for s, n in counts.items()},
        page=page,
        form=form,
        errors=errors,
        can_move=can_move,
        open_batches=open_batches,
        show_distributor=actor.role != Role.DISTRIBUTOR,
        here=here(),
        options=filter_options(actor),
        can_take_back=core.credits_can_be_taken_back,
    )
    return html, 400 if errors else 200


def _refused(exc: ConflictError | ValidationError, action: str) -> str:
    """The core's refusal with what to do; every refusal says that nothing changed (the core guarantees it)."""
    return nothing_changed(refusal(exc, FIXES.get(action) if isinstance(exc, IllegalTransitionError) else None))


def _moved_message(action: str, result: core.Moved, reason: str) -> str:
    ids = ids_text(result.free_good_ids)
    what = plural(len(result.free_good_ids), "free good")
    left = f" (taken out of batch {ids_text(result.batch_ids)})" if result.batch_ids else ""
    if action == "unbatch":
        return f"Unbatched {what} ({ids}){left}: they are back in Unbatched Free Goods."
    if action == "release":
        return f"Released {what} ({ids}) back to Unbatched Free Goods."
    verb = "Declined" if action == "decline" else "Held"
    return f'{verb} {what} ({ids}){left} with the reason "{reason}": they are in Declined/Held Credits.'


@bp.post("/distribution/actions")
def fb_distribution_action() -> Response:
    """Batch, add to a batch, unbatch, decline, hold or release the ticked free goods."""
    actor = current_actor()
    core.check_acts(actor)  # a role that never moves anything gets the 403 page, not a flash
    rt = current_runtime()
    action = request.form.get("action", "")
    default = _section_url(DEFAULT_SECTION)
    if action not in ACTIONS:
        flash("Choose what to do with the ticked free goods. Nothing was changed.", "error")
        return redirect(back_to(default))
    reason = (request.form.get("reason") or "").strip()
    try:
        ids = form_ids("ids")
        if action == "batch":
            view = core.create_batch(rt, actor, ids, request.form.get("description", ""))
            flash(
                f'Batch {view.id} "{view.description}" created for {view.retailer_name} with '
                f"{plural(len(ids), 'free good')} ({ids_text(ids)}): it is in Unfulfilled Batches.",
                "success",
            )
            return redirect(back_to(default))
        if action == "add":
            batch_id = form_int("batch_id")
            if batch_id is None:
                raise ValidationError(
                    "which batch?", fields={"batch_id": "choose the unfulfilled batch to add them to"}
                )
            view = core.add_to_batch(rt, actor, batch_id, ids)
            flash(
                f'Added {plural(len(ids), "free good")} ({ids_text(ids)}) to batch {view.id} "{view.description}": '
                f"it now holds {plural(view.free_goods, 'free good')}.",
                "success",
            )
            return redirect(back_to(default))
        if action == "unbatch":
            result = core.unbatch(rt, actor, ids, request.form.get("note"))
        elif action == "release":
            result = core.release(rt, actor, ids, request.form.get("note"))
        elif action == "decline":
            result = core.decline(rt, actor, ids, reason)
        else:
            result = core.hold(rt, actor, ids, reason)
    except (ConflictError, ValidationError) as exc:
        flash(_refused(exc, action), "error")
        return redirect(back_to(default))
    flash(_moved_message(action, result, reason), "success")
    return redirect(back_to(default))


def _batch_move(action: str, section: str, move: Callable[[Runtime, Actor], str]) -> Response:
    """A move of whole batches: ``move`` makes it and says what moved where, or the core refuses it (nothing
    changed, with what to do). Either way a flash, and back to the page the form was on (else ``section``)."""
    actor = current_actor()
    core.check_acts(actor)
    try:
        message = move(current_runtime(), actor)
    except (ConflictError, ValidationError) as exc:
        flash(_refused(exc, action), "error")
    else:
        flash(message, "success")
    return redirect(back_to(_section_url(section)))


@bp.post("/distribution/batches/<id:batch_id>/fulfil")
def fb_batch_fulfil(batch_id: int) -> Response:
    """Mark an Unfulfilled batch Fulfilled/Credited: the distributor has issued the retailer its credit."""

    def fulfil(rt: Runtime, actor: Actor) -> str:
        view = core.mark_batch_fulfilled(
            rt,
            actor,
            batch_id,
            request.form.get("note"),
            credit_memo_number=request.form.get("credit_memo_number"),
            credit_memo_amount=request.form.get("credit_memo_amount"),
        )
        memo = (
            f" with credit memo {view.credit_memo_number} for ${view.credit_memo_amount:,.2f}"
            if view.credit_memo_number and view.credit_memo_amount is not None
            else ""
        )
        return (
            f'Batch {view.id} "{view.description}" marked fulfilled/credited{memo}: '
            f"{plural(view.free_goods, 'free good')} (quantity {view.quantity}) credited to {view.retailer_name}. "
            "It is in Fulfilled Batches; the retailer can now reconcile it."
        )

    return _batch_move("fulfil", "unfulfilled", fulfil)


@bp.post("/distribution/credit-groups")
def fb_group() -> Response:
    """Group the ticked Fulfilled batches to claim from the manufacturer."""

    def group(rt: Runtime, actor: Actor) -> str:
        made = core.group_for_mfg_credit(rt, actor, form_ids("batch_ids"), request.form.get("description", ""))
        return (
            f"Grouped {plural(len(made.batch_ids), 'batch', 'batches')} ({ids_text(made.batch_ids)}) for MFG credit "
            f'as credit group {made.id} "{made.description}" ({plural(made.free_goods, "free good")}): they are in '
            "Batches Grouped for MFG Credit."
        )

    return _batch_move("group", "fulfilled", group)


def _memos(actor: Actor, batch_id: int) -> list[credit_memo.MemoComparison] | None:
    """The batch's credit memos, or None for readers who do not see memos (brand users)."""
    try:
        return credit_memo.list_credit_memos(current_runtime(), actor, batch_id)
    except PermissionDeniedError:
        return None


def _detail_page(template: str, actor: Actor, detail: object, **context: object) -> str:
    """A batch's or a free good's own page: its detail, with the move buttons drawn only for those who may act."""
    return render_template(template, detail=detail, can_move=allowed(core.check_acts, actor), here=here(), **context)


def _batch_page_moves(batch: core.BatchView) -> tuple[str | None, str | None]:
    """Which free-good moves the batch page offers, as ``(moves, locked)``: ``"open"`` (unbatch, decline, hold)
    for an Unfulfilled batch, ``"take_back"`` (unbatch, decline) for a Fulfilled one neither reconciled nor
    grouped, else None with ``locked`` saying why (the core's words), so the buttons match what the core allows."""
    if batch.status == "unfulfilled":
        return "open", None
    if core.credits_can_be_taken_back(batch):
        return "take_back", None
    return None, core.closed_batch_reason(batch)


@bp.get("/distribution/batches/<id:batch_id>")
def fb_batch(batch_id: int) -> str:
    """A Batch Report: its free goods, totals, credit memos and every event, with the moves it allows."""
    actor = _reader()
    detail = core.get_batch(current_runtime(), actor, batch_id)
    moves, locked = _batch_page_moves(detail.batch)
    return _detail_page(
        "admin/fb/batch.html",
        actor,
        detail,
        batch=detail.batch,
        memos=_memos(actor, batch_id),
        moves=moves,
        locked=locked,
    )


@bp.get("/distribution/free-goods/<id:free_good_id>")
def fb_free_good(free_good_id: int) -> str:
    """One free good: where it is, its redemption, and every move it made."""
    actor = _reader()
    detail = core.get_free_good(current_runtime(), actor, free_good_id)
    return _detail_page(
        "admin/fb/free_good.html",
        actor,
        detail,
        g_=detail.free_good,
        take_back=core.free_good_can_be_taken_back(detail.free_good),
    )


# -- reports -------------------------------------------------------------------------------------------------


def _spec(name: str) -> reports.ReportSpec:
    try:
        return reports.REPORTS[reports.ReportName(name)]
    except ValueError:
        raise NotFoundError(f"there is no report {name!r}") from None


def _report_form(spec: reports.ReportSpec) -> tuple[QueryForm, reports.ReportParams]:
    form = parse_query(request.args, {k: v for k, v in REPORT_FILTERS.items() if k in spec.filters})
    params = reports.ReportParams(**{k: v for k, v in form.values.items() if k in spec.filters})
    return form, params


@bp.get("/distribution/reports")
def fb_reports() -> str:
    """The Reports menu."""
    _reader()
    return render_template("admin/fb/reports.html", specs=list(reports.REPORTS.values()))


@bp.get("/distribution/reports/<name>.csv")
def fb_report_csv(name: str) -> Response:
    """The whole report with the page's filters, as CSV (streamed in batches; formula-like cells defused)."""
    actor = _reader()
    spec = _spec(name)
    form, params = _report_form(spec)
    if form.errors:
        summary = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in form.errors.items())
        raise ValidationError(f"the filters are not valid: {summary}", fields=form.errors)
    rt = current_runtime()
    lines = reports.report_csv(rt, actor, spec.name, params)  # checks the filters before the first byte
    return csv_download(lines, reports.report_filename(spec.name, rt.now()))


@bp.get("/distribution/reports/<name>")
def fb_report(name: str) -> tuple[str, int]:
    """One report: its filters, a page of rows, and a Download CSV link with the same filters."""
    actor = _reader()
    spec = _spec(name)
    form, params = _report_form(spec)
    errors = dict(form.errors)
    page = None
    if not errors:
        try:
            page = reports.run_report(
                current_runtime(), actor, spec.name, params, limit=PAGE_SIZE, cursor=form.cursor or None
            )
        except ValidationError as exc:
            errors = {str(k): str(v) for k, v in exc.fields.items()} or {"filters": exc.message}
    html = render_template(
        "admin/fb/report.html",
        spec=spec,
        page=page,
        form=form,
        errors=errors,
        show_distributor=actor.role != Role.DISTRIBUTOR,
        statuses=[s.value for s in spec.statuses],
        options=filter_options(actor),
    )
    return html, 400 if errors else 200
