"""Use cases on free goods: unbatch, decline, hold, release (each one transaction, all or nothing)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import ConflictError, IllegalTransitionError
from connector.core.frequent_buyer.distribution.input_checks import (
    REASON_MAX,
    _ids_text,
    clean_ids,
    optional_text,
    required_text,
)
from connector.core.frequent_buyer.distribution.moves import (
    _check_moves,
    _leavable_batch,
    _update_free_goods,
    closed_batch_reason,
    lock_batches,
    lock_free_goods,
)
from connector.core.frequent_buyer.distribution.permissions import check_acts, free_good_scope
from connector.core.frequent_buyer.distribution.read_models import Moved
from connector.core.frequent_buyer.events import record_event
from connector.core.frequent_buyer.lifecycle import credit_sources
from connector.core.frequent_buyer.model import BatchEvent, BatchStatus, CreditEvent, CreditStatus
from connector.core.frequent_buyer.tables import Batch, FreeGood
from connector.core.runtime import Runtime

CE, CS, BE, BS = CreditEvent, CreditStatus, BatchEvent, BatchStatus

BATCH_REMOVE = "remove"


class _BatchesChanged(Exception):
    """A free good joined or left a batch between reading its batch and locking it: take the locks again."""


def _check_batches_not_closed(goods: dict[int, FreeGood], batches: dict[int, Batch], event: CreditEvent) -> None:
    """Refuse taking back credits of a batch the retailer reconciled or the distributor grouped, saying why."""
    closed = {b.id: why for b in batches.values() if (why := closed_batch_reason(b)) is not None}
    if not closed:
        return
    offending = [g for g in goods.values() if g.batch_id in closed]
    shown = "; ".join(closed[b] for b in sorted(closed))
    raise IllegalTransitionError(
        f"cannot {event.value} {'free good' if len(offending) == 1 else 'free goods'} "
        f"{_ids_text(g.id for g in offending)}: {shown}. Nothing was changed.",
        event=event.value,
        current={str(g.id): g.status for g in offending},
        batches={
            str(b.id): ("reconciled" if b.reconciled_at is not None else b.status)
            for b in batches.values()
            if b.id in closed
        },
    )


#: The batch status a free good of each status sits in (a broken invariant is refused, never spread).
_BATCH_OF = {CS.BATCHED: BS.UNFULFILLED, CS.CREDITED: BS.FULFILLED}


def _check_batch_invariant(goods: dict[int, FreeGood], batches: dict[int, Batch], event: CreditEvent) -> None:
    wrong = {
        g.batch_id: batches[g.batch_id].status
        for g in goods.values()
        if g.batch_id is not None and batches[g.batch_id].status != _BATCH_OF.get(CS(g.status))
    }
    if wrong:
        raise IllegalTransitionError(
            f"cannot {event.value} free goods of batches in an unexpected state: "
            + "; ".join(f"batch {i} is {st}" for i, st in sorted(wrong.items())),
            event=event.value,
            current={str(i): st for i, st in sorted(wrong.items())},
        )


def _move_free_goods(
    rt: Runtime, actor: Actor, free_good_ids: Iterable[Any], event: CreditEvent, *, reason: str | None, note: str
) -> Moved:
    check_acts(actor)
    ids = clean_ids(free_good_ids)
    for _ in range(3):
        try:
            return _move_free_goods_once(rt, actor, ids, event, reason=reason, note=note)
        except _BatchesChanged:
            continue
    raise ConflictError("the free goods kept moving between batches while this ran; nothing was changed, retry")


def _move_free_goods_once(
    rt: Runtime, actor: Actor, ids: list[int], event: CreditEvent, *, reason: str | None, note: str
) -> Moved:
    now = rt.now()
    with transaction(rt.sessions) as s:
        # Batches before free goods, like fulfil and group, so the two never wait on each other in a cycle.
        batch_ids = sorted(
            {
                b
                for b in s.scalars(select(FreeGood.batch_id).where(FreeGood.id.in_(ids), *free_good_scope(actor)))
                if b is not None
            }
        )
        batches = lock_batches(s, actor, batch_ids) if batch_ids else {}
        goods = lock_free_goods(s, actor, ids)
        if any(g.batch_id is not None and g.batch_id not in batches for g in goods.values()):
            raise _BatchesChanged
        if CS.CREDITED in credit_sources(event):
            _check_batches_not_closed(goods, batches, event)
        targets = _check_moves(goods, event)
        _check_batch_invariant(goods, batches, event)
        by_target: dict[CreditStatus, list[int]] = {}
        for i in ids:
            by_target.setdefault(targets[i], []).append(i)
        for target, target_ids in by_target.items():
            _update_free_goods(
                s, target_ids, event, target, now, where=[_leavable_batch()], batch_id=None, reason=reason
            )
        why = reason or note
        for i in ids:
            g = goods[i]
            detail = why
            if g.batch_id is not None:
                detail = f"removed from batch {g.batch_id}" + (f": {why}" if why else "")
            record_event(s, "free_good", i, event, actor, now, detail, from_status=g.status, to_status=targets[i])
        for b in batches.values():
            left = [i for i in ids if goods[i].batch_id == b.id]
            record_event(
                s,
                "batch",
                b.id,
                BATCH_REMOVE,
                actor,
                now,
                f"{event.value}: free goods {_ids_text(left)}" + (f"; {why}" if why else ""),
                from_status=b.status,
                to_status=b.status,
            )
        to_status = ",".join(sorted({t.value for t in targets.values()}))
    return Moved(event=event.value, to_status=to_status, free_good_ids=ids, batch_ids=batch_ids)


def unbatch(rt: Runtime, actor: Actor, free_good_ids: Iterable[Any], note: str | None = None) -> Moved:
    """Take batched or credited free goods out of their batches, back to Unbatched.

    A credited free good (its batch was marked fulfilled) can be unbatched only while the batch is neither
    grouped for MFG credit nor reconciled by the retailer; otherwise the whole call is refused, naming the
    batch and why. A fulfilled batch that loses every free good stays, empty.
    """
    return _move_free_goods(
        rt, actor, free_good_ids, CE.UNBATCH, reason=None, note=optional_text(note, "note", REASON_MAX)
    )


def decline(rt: Runtime, actor: Actor, free_good_ids: Iterable[Any], reason: str) -> Moved:
    """Decline unbatched, batched or credited free goods (they leave their batch); the retailer sees the reason.

    Credited ones only while their batch is neither grouped for MFG credit nor reconciled (as for ``unbatch``).
    """
    check_acts(actor)  # before the input: a caller who may not act learns that first
    why = required_text(reason, "reason", REASON_MAX)
    return _move_free_goods(rt, actor, free_good_ids, CE.DECLINE, reason=why, note="")


def hold(rt: Runtime, actor: Actor, free_good_ids: Iterable[Any], reason: str) -> Moved:
    """Hold unbatched or batched free goods (they leave their batch) until released; the reason is required."""
    check_acts(actor)  # before the input: a caller who may not act learns that first
    why = required_text(reason, "reason", REASON_MAX)
    return _move_free_goods(rt, actor, free_good_ids, CE.HOLD, reason=why, note="")


def release(rt: Runtime, actor: Actor, free_good_ids: Iterable[Any], note: str | None = None) -> Moved:
    """Release held or declined free goods back to Unbatched (their reason is cleared; the events keep it)."""
    return _move_free_goods(
        rt, actor, free_good_ids, CE.RELEASE, reason=None, note=optional_text(note, "note", REASON_MAX)
    )
