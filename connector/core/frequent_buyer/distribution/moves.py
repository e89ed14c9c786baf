"""Locking and moving: row locks in id order, lifecycle checks that name each offending id, and the
conditional UPDATEs that make a lost race unable to move a row twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.errors import ConflictError, IllegalTransitionError, NotFoundError, ValidationError
from connector.core.frequent_buyer.distribution.input_checks import _ids_text
from connector.core.frequent_buyer.distribution.permissions import batch_scope, free_good_scope
from connector.core.frequent_buyer.distribution.read_models import BatchView, FreeGoodView
from connector.core.frequent_buyer.lifecycle import BATCH_TRANSITIONS, CREDIT_TRANSITIONS, credit_sources
from connector.core.frequent_buyer.model import BatchEvent, BatchStatus, CreditEvent, CreditStatus
from connector.core.frequent_buyer.tables import Batch, FreeGood
from connector.core.orm_base import Base

CE, CS, BE, BS = CreditEvent, CreditStatus, BatchEvent, BatchStatus


_Row = TypeVar("_Row", bound=Base)


def lock_rows(
    s: Session, model: type[_Row], ids: Sequence[int], scope: Sequence[ColumnElement[bool]], one: str, many: str
) -> dict[int, _Row]:
    """Rows of ``model`` within ``scope``, row-locked in id order (so concurrent moves queue instead of
    deadlocking); any id not found (missing or outside the actor's scope) refuses the call, naming it.

    Shared by the free-good and rebate moves, so both lock and refuse the same way.
    """
    ident: Any = model.id  # type: ignore[attr-defined]
    rows = s.scalars(
        select(model)
        .where(ident.in_(ids), *scope)
        .order_by(ident)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    found = {r.id: r for r in rows}  # type: ignore[attr-defined]
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFoundError(f"{one if len(missing) == 1 else many} {_ids_text(missing)} not found", ids=missing)
    return found


def update_in_states(
    s: Session,
    model: type[Base],
    ids: Sequence[int],
    sources: Sequence[str],
    what: str,
    event: str,
    *,
    where: Sequence[ColumnElement[bool]] = (),
    **values: Any,
) -> None:
    """The conditional UPDATE: only rows of ``model`` still in one of ``sources`` (and matching ``where``) move;
    all of them must, or the transaction is refused (a lost race can never half-apply)."""
    ident: Any = model.id  # type: ignore[attr-defined]
    status: Any = model.status  # type: ignore[attr-defined]
    moved = (
        s.execute(
            update(model)
            .where(ident.in_(ids), status.in_(sources), *where)
            .values(**values)
            .returning(ident)
            .execution_options(synchronize_session=False)
        )
        .scalars()
        .all()
    )
    if len(moved) != len(ids):  # unreachable while the row locks hold
        lost = sorted(set(ids) - set(moved))
        raise ConflictError(
            f"{what} {_ids_text(lost)} changed while this {event} was applied; nothing was changed, reload and retry"
        )


def lock_free_goods(s: Session, actor: Actor, ids: Sequence[int]) -> dict[int, FreeGood]:
    """The free goods, row-locked in id order (so concurrent moves queue instead of deadlocking)."""
    return lock_rows(s, FreeGood, ids, free_good_scope(actor), "free good", "free goods")


def lock_batches(s: Session, actor: Actor, ids: Sequence[int]) -> dict[int, Batch]:
    return lock_rows(s, Batch, ids, batch_scope(actor), "batch", "batches")


def _describe_status(g: Any) -> str:
    return f"{g.id} is {g.status}" + (f" (in batch {g.batch_id})" if g.batch_id is not None else "")


def closed_batch_reason(batch: Batch | BatchView) -> str | None:
    """Why the credited free goods of a fulfilled batch can no longer be unbatched or declined, else None.

    Once the retailer reconciled the batch it has confirmed the credit, and once the batch is grouped for MFG
    credit the distributor has claimed it from the manufacturer: either way taking a credit back here would
    contradict what the other party was told.
    """
    reasons: list[str] = []
    tails: list[str] = []
    if batch.reconciled_at is not None:
        reasons.append(f"was reconciled by the retailer on {batch.reconciled_at:%Y-%m-%d}")
        tails.append("a credit the retailer has confirmed")
    if batch.status == BS.GROUPED or batch.credit_group_id is not None:
        reasons.append(f"is grouped for MFG credit (credit group {batch.credit_group_id})")
        tails.append("a credit claimed from the manufacturer")
    if not reasons:
        return None
    return f"batch {batch.id} {' and '.join(reasons)}; {' or '.join(tails)} cannot be taken back here"


def credits_can_be_taken_back(batch: BatchView) -> bool:
    """Whether the batch's credited free goods may still be unbatched or declined (for drawing the buttons)."""
    return batch.status == BS.FULFILLED and closed_batch_reason(batch) is None


def free_good_can_be_taken_back(g: FreeGoodView) -> bool:
    """Whether a credited free good may still be unbatched or declined: its batch is fulfilled, not reconciled.

    (A credited free good's batch is never grouped: grouping moves its free goods to ``grouped``.)
    """
    return g.status == CS.CREDITED and g.batch_status == BS.FULFILLED and g.reconciled_at is None


def _leavable_batch() -> ColumnElement[bool]:
    """For the conditional UPDATE: the free good is in no batch, or in one it may still leave.

    A batched free good leaves an unfulfilled batch; a credited one a fulfilled batch that is neither grouped
    nor reconciled. The row locks already guarantee it; this keeps a lost race from ever moving a credit the
    retailer has just confirmed.
    """
    return or_(
        FreeGood.batch_id.is_(None),
        exists().where(
            Batch.id == FreeGood.batch_id,
            or_(
                and_(FreeGood.status == CS.BATCHED, Batch.status == BS.UNFULFILLED),
                and_(
                    FreeGood.status == CS.CREDITED,
                    Batch.status == BS.FULFILLED,
                    Batch.credit_group_id.is_(None),
                    Batch.reconciled_at.is_(None),
                ),
            ),
        ),
    )


def _check_moves(
    goods: dict[int, Any],
    event: CreditEvent,
    table: dict[tuple[CreditStatus, CreditEvent], CreditStatus] = CREDIT_TRANSITIONS,
    many: str = "free goods",
) -> dict[int, CreditStatus]:
    """Each row's target under ``event`` in ``table``; refuses the whole call naming every row that cannot move.

    Free goods and rebates (``REBATE_TRANSITIONS``) share it, so both refuse with the same clear message.
    """
    targets: dict[int, CreditStatus] = {}
    offending: list[Any] = []
    for g in goods.values():
        target = table.get((CreditStatus(g.status), event))
        if target is None:
            offending.append(g)
        else:
            targets[g.id] = target
    if offending:
        allowed = ", ".join(s.value for s in credit_sources(event, table))
        shown = "; ".join(_describe_status(g) for g in offending[:25])
        more = f"; and {len(offending) - 25} more" if len(offending) > 25 else ""
        raise IllegalTransitionError(
            f"cannot {event.value} {many} that are not {allowed}: {shown}{more}. Nothing was changed.",
            event=event.value,
            current={str(g.id): g.status for g in offending},
        )
    return targets


def _update_free_goods(
    s: Session,
    ids: Sequence[int],
    event: CreditEvent,
    to_status: CreditStatus,
    at: datetime,
    *,
    where: Sequence[ColumnElement[bool]] = (),
    **values: Any,
) -> None:
    """Move free goods still in a source state of ``event`` (and matching ``where``); all of them must."""
    update_in_states(
        s,
        FreeGood,
        ids,
        credit_sources(event),
        "free goods",
        event.value,
        where=where,
        status=to_status,
        updated_at=at,
        **values,
    )


def _batch_sources(event: BatchEvent) -> tuple[BatchStatus, ...]:
    return tuple(s for (s, e) in BATCH_TRANSITIONS if e == event)


def _update_batches(s: Session, ids: Sequence[int], event: BatchEvent, to_status: BatchStatus, **values: Any) -> None:
    update_in_states(s, Batch, ids, _batch_sources(event), "batches", event.value, status=to_status, **values)


def _check_batchable(goods: dict[int, FreeGood], *, retailer_id: int | None, distributor_id: int | None) -> None:
    """A batch is one distributor's, for one retailer: the retailer reconciles it against one credit memo."""
    no_distributor = [g.id for g in goods.values() if g.distributor_id is None]
    if no_distributor:
        raise ValidationError(
            "only distributor-fulfilled free goods can be batched",
            fields={
                "free_good_ids": f"free goods {_ids_text(no_distributor)} are fulfilled directly or by the retailer; "
                "they have no distributor"
            },
        )
    by_retailer: dict[int, list[int]] = {}
    for g in goods.values():
        by_retailer.setdefault(g.retailer_id, []).append(g.id)
    if len(by_retailer) > 1:
        parts = "; ".join(f"retailer {r}: {_ids_text(ids)}" for r, ids in sorted(by_retailer.items()))
        raise ValidationError(
            "a batch is for one retailer (the retailer reconciles it against one credit memo)",
            fields={
                "free_good_ids": f"these free goods belong to {len(by_retailer)} retailers ({parts}); batch "
                "each retailer's free goods separately"
            },
        )
    (only_retailer,) = by_retailer
    if retailer_id is not None and only_retailer != retailer_id:
        raise ValidationError(
            "the free goods belong to another retailer",
            fields={"retailer_id": f"the free goods belong to retailer {only_retailer}, not {retailer_id}"},
        )
    distributors = {g.distributor_id for g in goods.values()}
    if len(distributors) > 1:
        raise ValidationError(
            "a batch belongs to one distributor",
            fields={
                "free_good_ids": "these free goods belong to distributors "
                + _ids_text(sorted(d for d in distributors if d is not None))
            },
        )
    if distributor_id is not None and distributors != {distributor_id}:
        raise ValidationError(
            "the free goods belong to another distributor",
            fields={"free_good_ids": f"the batch belongs to distributor {distributor_id}"},
        )
