"""``/api/v1/retailer``: Distributor Free Goods Credit Status, reconciling batches, credit memos (seed 002).

A retailer's token sees its own credits and batches only (another retailer's batch
answers 404 like a missing one); platform admins may reconcile on a retailer's behalf;
support and viewers read. The credit memo upload is ``multipart/form-data`` with the
CSV in the ``file`` part (format: ``connector.core.frequent_buyer.credit_memo`` and
docs/distributor-fulfilment.md); it may be up to 1 MiB (its operation's ``max_bytes``).
"""

from __future__ import annotations

from typing import Any

from flask import Response, request, url_for

from connector.api.auth import current_actor
from connector.api.blueprint import bp
from connector.api.distribution_schemas import (
    CreditBatchListSchema,
    CreditMemoComparisonSchema,
    CreditMemoListSchema,
    CreditMemoUploadFormSchema,
    CreditReconcileSchema,
    CreditStatusQuerySchema,
    CreditStatusSchema,
    DistributionBatchDetailSchema,
    DistributionBatchSchema,
    batch_detail_out,
    batch_out,
    credit_status_out,
    memo_out,
)
from connector.api.memo_check_schemas import MemoCheckSchema, memo_check_out
from connector.api.openapi import operation
from connector.api.payload import load_body, load_form, load_query
from connector.core.errors import ValidationError
from connector.core.frequent_buyer import credit_memo, credit_status
from connector.core.frequent_buyer.distribution import get_batch
from connector.request_context import current_runtime, error_response

_TAG = "retailer credits"


@bp.get("/retailer/credit-status")
@operation(
    summary="Distributor Free Goods Credit Status: a retailer's free goods as uncredited, credited, reconciled "
    "and declined, with approximate costs and totals per distributor and brand",
    description=(
        "Approximate cost = unit cost × quantity, the unit cost from processing time or else the retailer's price "
        "list; null (blank) when neither is known. Retailer tokens see their own (`retailer_id` may be left out)."
    ),
    tag=_TAG,
    query=CreditStatusQuerySchema,
    responses={200: ("The credit status", CreditStatusSchema)},
    errors=(403, 404),
)
def get_credit_status() -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    args = load_query(CreditStatusQuerySchema())
    report = credit_status.credit_status(rt, actor, **args)
    return CreditStatusSchema().dump(credit_status_out(report))


@bp.get("/retailer/batches")
@operation(
    summary="Credited batches not yet reconciled, oldest first: what the retailer's credit memos should cover",
    tag=_TAG,
    responses={200: ("The batches", CreditBatchListSchema)},
)
def list_reconcilable_batches() -> dict[str, Any]:
    batches = credit_status.reconcilable_batches(current_runtime(), current_actor())
    return CreditBatchListSchema().dump({"batches": [batch_out(b) for b in batches]})


@bp.get("/retailer/batches/<id:batch_id>")
@operation(
    summary="One of the retailer's batches with its free goods and timeline",
    tag=_TAG,
    responses={200: ("The batch", DistributionBatchDetailSchema)},
    errors=(404,),
)
def get_retailer_batch(batch_id: int) -> dict[str, Any]:
    return DistributionBatchDetailSchema().dump(
        batch_detail_out(get_batch(current_runtime(), current_actor(), batch_id))
    )


@bp.post("/retailer/batches/<id:batch_id>/reconcile")
@operation(
    summary="Reconcile a credited batch: the retailer received the credits and is happy with them",
    description=(
        "Only a fulfilled or grouped batch can be reconciled (409 with the current status otherwise), and only "
        "while it holds free goods: one the distributor emptied (every credit unbatched or declined) answers 409. "
        "Reconciling twice answers 409 and records nothing. When the batch's credit memo DOES NOT MATCH (see "
        "`GET .../memo-check`), the call answers 409 `credit_memo_mismatch` naming each difference in "
        "`error.details.mismatches`, unless the body says `confirm: true`."
    ),
    tag=_TAG,
    body=CreditReconcileSchema,
    responses={200: ("The batch, reconciled", DistributionBatchSchema)},
    errors=(403, 404, 409),
)
def reconcile(batch_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(CreditReconcileSchema())
    view = credit_status.reconcile_batch(rt, actor, batch_id, data["note"], confirm=data["confirm"])
    return DistributionBatchSchema().dump(batch_out(view))


@bp.get("/retailer/batches/<id:batch_id>/memo-check")
@operation(
    summary="Does the batch's credit memo match it? MATCHES, DOES NOT MATCH, NOT RECORDED or CANNOT COMPARE",
    description=(
        "Compares the credit memo amount the distributor recorded when marking the batch fulfilled with the "
        "batch's value at the store's price list, and the latest credit memo file imported for it line by line."
    ),
    tag=_TAG,
    responses={200: ("The comparison", MemoCheckSchema)},
    errors=(403, 404),
)
def get_memo_check(batch_id: int) -> dict[str, Any]:
    return MemoCheckSchema().dump(
        memo_check_out(credit_status.memo_check(current_runtime(), current_actor(), batch_id))
    )


def _load_form() -> dict[str, Any]:
    return load_form(CreditMemoUploadFormSchema())


def _rejected(exc: credit_memo.CreditMemoRejected) -> Response:
    """422 with ``error.fields`` ("row 3, column Qty": what was wrong) and every problem in ``error.details``."""
    problems = [{"row": p.row, "column": p.column, "value": p.value, "expected": p.expected} for p in exc.problems]
    return error_response(422, exc.code, exc.message, fields=dict(exc.fields), details={"problems": problems})


@bp.post("/retailer/batches/<id:batch_id>/credit-memos")
@operation(
    summary="Upload the distributor's credit memo (CSV) and compare it with the credited batch",
    description=(
        "`multipart/form-data` with the CSV in the part `file` and optionally `reconcile_if_matched=true`. "
        "Columns: SKU and Qty (required), Description and Amount (optional); header on row 1 (see "
        "docs/distributor-fulfilment.md). A malformed memo answers 422 with each problem as "
        '`fields["row N, column C"]` (and all of them in `details.problems`) and stores nothing. The same file '
        "for the same batch imports once: the second upload answers 200 with the first comparison and "
        "`duplicate: true`. The memo may be up to 1 MiB."
    ),
    tag=_TAG,
    form=CreditMemoUploadFormSchema,
    files={"file": "The distributor's credit memo as CSV (UTF-8)."},
    max_bytes=credit_memo.MAX_MEMO_UPLOAD_BYTES,
    responses={
        201: ("Imported; the comparison", CreditMemoComparisonSchema),
        200: ("Already imported (same file); the stored comparison", CreditMemoComparisonSchema),
    },
    response_headers={201: {"Location": "The stored comparison's URL."}},
    errors=(403, 404, 409),
)
def upload_credit_memo(batch_id: int) -> Response | tuple[dict[str, Any], int, dict[str, str]]:
    rt, actor = current_runtime(), current_actor()
    credit_status.check_reconciles(actor)  # before the body is read
    if request.mimetype != "multipart/form-data":
        raise ValidationError(
            "send the credit memo as multipart/form-data",
            fields={"file": "attach the CSV as the multipart/form-data part named 'file'"},
        )
    form = _load_form()
    unknown = sorted(set(request.files) - {"file"})
    if unknown:
        raise ValidationError(
            f"unknown file parts: {', '.join(unknown)}",
            fields={name: "not a part of this upload (file, reconcile_if_matched)" for name in unknown},
        )
    upload = request.files.get("file")
    if upload is None:
        raise ValidationError(
            "no credit memo attached", fields={"file": "attach the CSV as the multipart/form-data part named 'file'"}
        )
    try:
        result = credit_memo.import_credit_memo(
            rt,
            actor,
            batch_id,
            upload.stream,
            upload.filename or "credit-memo.csv",
            reconcile_if_matched=form["reconcile_if_matched"],
        )
    except credit_memo.CreditMemoRejected as exc:
        return _rejected(exc)
    body = CreditMemoComparisonSchema().dump(memo_out(result))
    if result.duplicate:
        return body, 200, {}
    return body, 201, {"Location": url_for("api.get_credit_memo", memo_id=result.memo_id)}


@bp.get("/retailer/batches/<id:batch_id>/credit-memos")
@operation(
    summary="Every credit memo imported for a batch, with its comparison",
    tag=_TAG,
    responses={200: ("The memos, oldest first", CreditMemoListSchema)},
    errors=(403, 404),
)
def list_credit_memos(batch_id: int) -> dict[str, Any]:
    memos = credit_memo.list_credit_memos(current_runtime(), current_actor(), batch_id)
    return CreditMemoListSchema().dump({"memos": [memo_out(m) for m in memos]})


@bp.get("/retailer/credit-memos/<id:memo_id>")
@operation(
    summary="One imported credit memo and its comparison with the batch",
    tag=_TAG,
    responses={200: ("The comparison", CreditMemoComparisonSchema)},
    errors=(403, 404),
)
def get_credit_memo(memo_id: int) -> dict[str, Any]:
    return CreditMemoComparisonSchema().dump(
        memo_out(credit_memo.get_credit_memo(current_runtime(), current_actor(), memo_id))
    )
