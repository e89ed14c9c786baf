"""Importing a credit memo for a batch (stored once per file, optionally reconciling a matching batch),
and reading the stored comparisons.
"""

from __future__ import annotations

from typing import IO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import IllegalTransitionError, NotFoundError, PermissionDeniedError
from connector.core.frequent_buyer.credit_memo.comparison import MemoComparison, _comparison, _expected_by_sku, compare
from connector.core.frequent_buyer.credit_memo.parsing import parse_credit_memo
from connector.core.frequent_buyer.credit_status import check_reconciles, reconcile_locked
from connector.core.frequent_buyer.distribution import CONTROL_CHARS, batch_scope, load_batch_view, lock_batches
from connector.core.frequent_buyer.memo_check import check_memo
from connector.core.frequent_buyer.model import BatchStatus, MemoLineOutcome
from connector.core.frequent_buyer.tables import Batch, CreditMemo, CreditMemoLine
from connector.core.runtime import Runtime

MO = MemoLineOutcome


def _lines_of(s: Session, memo_id: int) -> list[CreditMemoLine]:
    return list(s.scalars(select(CreditMemoLine).where(CreditMemoLine.memo_id == memo_id).order_by(CreditMemoLine.id)))


def _existing(s: Session, batch_id: int, sha256: str) -> CreditMemo | None:
    return s.scalars(select(CreditMemo).where(CreditMemo.batch_id == batch_id, CreditMemo.sha256 == sha256)).first()


_CREDITED = (BatchStatus.FULFILLED, BatchStatus.GROUPED)


def import_credit_memo(
    rt: Runtime,
    actor: Actor,
    batch_id: int,
    stream: IO[bytes],
    filename: str,
    *,
    reconcile_if_matched: bool = False,
) -> MemoComparison:
    """Parse the memo, compare it with the credited batch, store both, and answer the comparison.

    A malformed memo raises ``CreditMemoRejected`` before anything is opened for writing. Only a credited
    (fulfilled or grouped) batch can be compared. The same bytes for the same batch import once.
    """
    check_reconciles(actor)
    filename = CONTROL_CHARS.sub("", filename or "").strip()[:300] or "credit-memo.csv"
    parsed = parse_credit_memo(stream, filename)
    # Find the batch (scope, state) before anything is written, so a refusal stores nothing.
    try:
        with transaction(rt.sessions) as s:
            batch = lock_batches(s, actor, [batch_id])[batch_id]
            existing = _existing(s, batch_id, parsed.sha256)
            if existing is not None:
                return _comparison(existing, _lines_of(s, existing.id), batch, duplicate=True)
            if batch.status not in _CREDITED:
                raise IllegalTransitionError(
                    f"batch {batch_id} is {batch.status}: a credit memo is compared with a credited batch; wait "
                    "until the distributor marks the batch fulfilled",
                    current=batch.status,
                    event="import_credit_memo",
                )
            views = compare(parsed, _expected_by_sku(s, batch_id), batch_id)
            matches = all(v.outcome == MO.MATCHED for v in views)
            now = rt.now()
            memo = CreditMemo(
                retailer_id=batch.retailer_id,
                batch_id=batch_id,
                filename=filename,
                sha256=parsed.sha256,
                imported_by=actor.name,
                imported_at=now,
                matches=matches,
            )
            s.add(memo)
            s.flush()
            rows = [
                CreditMemoLine(
                    memo_id=memo.id,
                    row=v.row,
                    sku=v.sku,
                    quantity=v.quantity,
                    amount=v.amount,
                    expected_quantity=v.expected_quantity,
                    expected_amount=v.expected_amount,
                    outcome=v.outcome,
                    detail=v.detail,
                )
                for v in views
            ]
            s.add_all(rows)
            s.flush()
            if (
                matches
                and reconcile_if_matched
                and batch.reconciled_at is None
                # the amount the distributor recorded must agree too; otherwise the retailer confirms by hand
                and not check_memo(s, load_batch_view(s, actor, batch_id)).needs_confirmation
            ):
                reconcile_locked(s, actor, batch, now, f"credit memo {filename} (memo {memo.id}) matched the batch")
                return _comparison(memo, rows, batch, reconciled=True, reconciled_at=now)
            return _comparison(memo, rows, batch)
    except IntegrityError:
        # Two uploads of the same file raced past the check above; the unique (batch, sha256) kept one.
        with rt.sessions() as s:
            existing = _existing(s, batch_id, parsed.sha256)
            batch_row = s.get(Batch, batch_id)
            if existing is None or batch_row is None:
                raise
            return _comparison(existing, _lines_of(s, existing.id), batch_row, duplicate=True)


def _check_reads_memos(actor: Actor) -> None:
    if actor.brand_id is not None and not actor.is_party:
        raise PermissionDeniedError(
            "credit memos are between a distributor and a retailer; brand users do not see them"
        )


def get_credit_memo(rt: Runtime, actor: Actor, memo_id: int) -> MemoComparison:
    """A stored comparison: the retailer's own, the distributor's own batches', or any for admins and support."""
    _check_reads_memos(actor)
    with rt.sessions() as s:
        row = s.execute(
            select(CreditMemo, Batch)
            .join(Batch, Batch.id == CreditMemo.batch_id)
            .where(CreditMemo.id == memo_id, *batch_scope(actor))
        ).one_or_none()
        if row is None:
            raise NotFoundError(f"credit memo {memo_id} not found")
        memo, batch = row
        return _comparison(memo, _lines_of(s, memo.id), batch)


def list_credit_memos(rt: Runtime, actor: Actor, batch_id: int) -> list[MemoComparison]:
    """Every memo imported for a batch, oldest first."""
    _check_reads_memos(actor)
    with rt.sessions() as s:
        batch = s.scalars(select(Batch).where(Batch.id == batch_id, *batch_scope(actor))).one_or_none()
        if batch is None:
            raise NotFoundError(f"batch {batch_id} not found")
        memos = s.scalars(select(CreditMemo).where(CreditMemo.batch_id == batch_id).order_by(CreditMemo.id)).all()
        return [_comparison(m, _lines_of(s, m.id), batch) for m in memos]
