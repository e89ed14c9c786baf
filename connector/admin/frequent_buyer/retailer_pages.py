"""The retailer's side (seed 002): Distributor Free Goods Credit Status, reconciling, credit memos.

A retailer user sees its own free goods as uncredited, credited, reconciled and
declined, with quantities and approximate costs (blank where no cost is known,
and totals that say how many lines they leave out), reconciles credited batches,
and uploads its distributor's credit memo to compare it line by line with the
batch. Platform admins do the same on a retailer's behalf (they pick the retailer);
support reads. Who may reconcile is the core's rule (``check_reconciles``): the
pages hide the buttons from everyone else and the core refuses their POSTs.

Another retailer's batch is "not found" (404), exactly like a missing one.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from connector.admin.blueprint import bp
from connector.admin.frequent_buyer.common import (
    DAY,
    INT,
    allowed,
    back_to,
    here,
    nothing_changed,
    parse_query,
    plural,
    refusal,
)
from connector.admin.session_auth import current_actor, load_user
from connector.core.errors import ConflictError, IllegalTransitionError, PermissionDeniedError, ValidationError
from connector.core.frequent_buyer import credit_memo, credit_status
from connector.core.frequent_buyer.distribution import BatchView, get_batch
from connector.core.frequent_buyer.filenames import clean_filename
from connector.core.frequent_buyer.memo_check import MemoMismatchError
from connector.core.frequent_buyer.model import MemoLineOutcome, RetailerCreditView
from connector.core.frequent_buyer.programs import list_distributors, list_programs, list_retailers
from connector.core.model import Role
from connector.request_context import current_runtime

MEMO_ENDPOINT = "admin.fb_memo_upload"

VIEWS: tuple[tuple[str, str], ...] = (
    (RetailerCreditView.UNCREDITED.value, "Uncredited"),
    (RetailerCreditView.CREDITED.value, "Credited"),
    (RetailerCreditView.RECONCILED.value, "Reconciled"),
    (RetailerCreditView.DECLINED.value, "Declined"),
)
OUTCOMES: dict[str, str] = {
    MemoLineOutcome.MATCHED.value: "Matched",
    MemoLineOutcome.QUANTITY_DIFFERS.value: "Quantity differs",
    MemoLineOutcome.AMOUNT_DIFFERS.value: "Amount differs",
    MemoLineOutcome.NOT_IN_BATCH.value: "Not in batch",
    MemoLineOutcome.MISSING_FROM_MEMO.value: "Missing from memo",
}
FILTERS = {"retailer_id": INT, "distributor_id": INT, "brand_id": INT, "date_from": DAY, "date_to": DAY}


@bp.before_app_request
def raise_memo_upload_limit() -> None:
    """A credit memo may be up to 1 MiB, which with its framing is over the console's 1 MiB body limit.

    Raised only for users who may import memos, before the guard reads the form for its CSRF token.
    """
    if request.endpoint != MEMO_ENDPOINT:
        return
    user = load_user()
    if user is not None and allowed(credit_status.check_reconciles, user.actor):
        request.max_content_length = credit_memo.MAX_MEMO_UPLOAD_BYTES  # as the API allows


@bp.get("/credit-status")
def fb_credit_status() -> tuple[str, int]:
    """Distributor Free Goods Credit Status: every distributor-fulfilled free good, in four views, with totals."""
    actor = current_actor()
    rt = current_runtime()
    form = parse_query(request.args, FILTERS)
    errors = dict(form.errors)
    is_retailer = actor.role == Role.RETAILER
    retailer_id = actor.retailer_id if is_retailer else form.get("retailer_id")
    report = None
    batches: list[BatchView] = []
    if retailer_id is not None and not errors:
        try:
            report = credit_status.credit_status(
                rt,
                actor,
                retailer_id=retailer_id,
                distributor_id=form.get("distributor_id"),
                brand_id=form.get("brand_id"),
                date_from=form.get("date_from"),
                date_to=form.get("date_to"),
            )
        except ValidationError as exc:
            errors = {str(k): str(v) for k, v in exc.fields.items()} or {"filters": exc.message}
        else:
            batches = credit_status.reconcilable_batches(rt, actor, retailer_id=retailer_id)
    programs = list_programs(rt, actor)
    html = render_template(
        "admin/fb/credit_status.html",
        report=report,
        form=form,
        errors=errors,
        views=VIEWS,
        batches=batches,
        retailer_id=retailer_id,
        pick_retailer=not is_retailer,
        retailers=[] if is_retailer else [(r.id, r.name) for r in list_retailers(rt, actor)],
        distributors=[(d.id, d.name) for d in list_distributors(rt, actor)],
        brands=sorted({(p.brand_id, p.brand_name) for p in programs}, key=lambda b: b[1].lower()),
        can_reconcile=allowed(credit_status.check_reconciles, actor),
        here=here(),
    )
    return html, 400 if errors else 200


def _batch_page(batch_id: int, **extra: object) -> str:
    actor = current_actor()
    rt = current_runtime()
    detail = get_batch(rt, actor, batch_id)  # another retailer's batch: not found
    try:
        memos = credit_memo.list_credit_memos(rt, actor, batch_id)
    except PermissionDeniedError:  # brand users read batches but not the memos between distributor and retailer
        memos = []
    wanted = (request.args.get("memo") or "").strip()
    chosen = next((m for m in memos if str(m.memo_id) == wanted), memos[-1] if memos else None)
    try:
        check = credit_status.memo_check(rt, actor, batch_id)
    except PermissionDeniedError:
        check = None
    return render_template(
        "admin/fb/credit_batch.html",
        detail=detail,
        check=check,
        batch=detail.batch,
        memos=memos,
        memo=chosen,
        outcomes=OUTCOMES,
        can_reconcile=allowed(credit_status.check_reconciles, actor),
        credited=detail.batch.status in {"fulfilled", "grouped"},
        here=here(),
        **extra,
    )


@bp.get("/credit-status/batches/<id:batch_id>")
def fb_credit_batch(batch_id: int) -> str:
    """A credited batch as the retailer checks it: its free goods and the credit memo comparisons."""
    return _batch_page(batch_id)


@bp.post("/credit-status/batches/<id:batch_id>/reconcile")
def fb_reconcile(batch_id: int) -> Response | tuple[str, int]:
    """The retailer received the batch's credits and is happy with them."""
    actor = current_actor()
    credit_status.check_reconciles(actor)
    default = url_for("admin.fb_credit_batch", batch_id=batch_id)
    confirm = request.form.get("confirm") in {"on", "true", "1", "yes"}
    try:
        view = credit_status.reconcile_batch(
            current_runtime(), actor, batch_id, request.form.get("note"), confirm=confirm
        )
    except MemoMismatchError as exc:
        # The confirm step: the batch page again, saying what differs, with a "Reconcile anyway" form.
        return _batch_page(batch_id, mismatch=exc.details.get("mismatches", []), note=request.form.get("note")), 409
    except (ConflictError, ValidationError) as exc:
        flash(nothing_changed(refusal(exc, "Reload the page to see the batch as it is now.")), "error")
        return redirect(back_to(default))
    flash(
        f'Batch {view.id} "{view.description}" from {view.distributor_name} reconciled: '
        f"{plural(view.free_goods, 'free good')} now show as Reconciled.",
        "success",
    )
    return redirect(back_to(default))


def _memo_message(result: credit_memo.MemoComparison) -> tuple[str, str]:
    counts = ", ".join(f"{n} {OUTCOMES[o].lower()}" for o, n in result.outcomes.items() if n)
    head = f"Credit memo {result.filename} compared with batch {result.batch_id}: {counts or 'no lines'}."
    if result.duplicate:
        return f"{result.filename} was imported for this batch before (the same file); showing that comparison.", (
            "error"
        )
    if result.reconciled:
        return head + " It matches the batch, which is now reconciled.", "success"
    if result.matches:
        return head + " It matches the batch: reconcile it when you are satisfied.", "success"
    return head + " It does not match: check the lines marked below with your distributor.", "error"


@bp.post("/credit-status/batches/<id:batch_id>/credit-memos")
def fb_memo_upload(batch_id: int) -> Response | tuple[str, int]:
    """Compare the distributor's credit memo (CSV) with a credited batch, line by line, and store the result."""
    actor = current_actor()
    credit_status.check_reconciles(actor)
    rt = current_runtime()
    default = url_for("admin.fb_credit_batch", batch_id=batch_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("Choose the credit memo file (CSV) to upload. Nothing was stored.", "error")
        return redirect(back_to(default))
    filename = clean_filename(upload.filename, default="credit-memo.csv")
    try:
        result = credit_memo.import_credit_memo(
            rt,
            actor,
            batch_id,
            upload.stream,
            filename,
            reconcile_if_matched=request.form.get("reconcile_if_matched") in {"on", "true", "1", "yes"},
        )
    except credit_memo.CreditMemoRejected as exc:
        return _batch_page(batch_id, rejected=exc, memo_filename=filename), 422
    except IllegalTransitionError as exc:
        flash(refusal(exc, "Nothing was stored."), "error")
        return redirect(back_to(default))
    except (ConflictError, ValidationError) as exc:
        flash(refusal(exc, "Nothing was stored."), "error")
        return redirect(back_to(default))
    message, kind = _memo_message(result)
    flash(message, kind)
    return redirect(url_for("admin.fb_credit_batch", batch_id=batch_id, memo=result.memo_id))
