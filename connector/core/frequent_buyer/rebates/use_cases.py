"""Use cases on rebates: create a Distributor Rebate Credit Batch, mark it credited, unbatch, decline, release.

They follow the free-goods moves (``distribution``) and share their machinery: the acting roles
(``check_acts``), the input checks, row locks in id order (``lock_rows``), the lifecycle check that names each
offending id (``_check_moves`` over ``REBATE_TRANSITIONS``), the conditional UPDATE (``update_in_states``) and
an ``fb_events`` row per subject, all in one transaction: a refused call changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import IllegalTransitionError, ValidationError
from connector.core.frequent_buyer.distribution.input_checks import (
    DESCRIPTION_MAX,
    REASON_MAX,
    _ids_text,
    clean_ids,
    optional_text,
    required_text,
)
from connector.core.frequent_buyer.distribution.moves import _check_moves, lock_rows, update_in_states
from connector.core.frequent_buyer.distribution.permissions import check_acts
from connector.core.frequent_buyer.events import record_event
from connector.core.frequent_buyer.lifecycle import REBATE_TRANSITIONS, credit_sources, rebate_batch_transition
from connector.core.frequent_buyer.model import BatchEvent, BatchStatus, CreditEvent, CreditStatus
from connector.core.frequent_buyer.rebate_tables import Rebate, RebateBatch
from connector.core.frequent_buyer.rebates.permissions import rebate_batch_scope, rebate_scope
from connector.core.frequent_buyer.rebates.read_models import (
    RebateBatchView,
    RebatesMoved,
    load_rebate_batch_view,
)
from connector.core.runtime import Runtime

CE, CS, BE, BS = CreditEvent, CreditStatus, BatchEvent, BatchStatus
IDS = "rebate_ids"


def _lock_rebates(s: Session, actor: Actor, ids: list[int]) -> dict[int, Rebate]:
    return lock_rows(s, Rebate, ids, rebate_scope(actor), "rebate", "rebates")


def _lock_batch(s: Session, actor: Actor, batch_id: int) -> RebateBatch:
    return lock_rows(s, RebateBatch, [batch_id], rebate_batch_scope(actor), "rebate credit batch", "batches")[batch_id]


def _move(s: Session, ids: list[int], event: CreditEvent, to: CreditStatus, now: datetime, **values: Any) -> None:
    update_in_states(
        s, Rebate, ids, credit_sources(event, REBATE_TRANSITIONS), "rebates", event.value,
        status=to, updated_at=now, **values,
    )  # fmt: skip


def _record(s: Session, rebates: Iterable[Rebate], event: CreditEvent, to: CreditStatus, actor: Actor,
            now: datetime, detail: str) -> None:  # fmt: skip
    for r in rebates:
        record_event(s, "rebate", r.id, event, actor, now, detail, from_status=r.status, to_status=to)


def _check_one_retailer(rebates: dict[int, Rebate], retailer_id: int | None) -> None:
    """A batch is one distributor's, for one retailer: the retailer matches it against one credit."""
    no_distributor = [r.id for r in rebates.values() if r.distributor_id is None]
    if no_distributor:
        raise ValidationError(
            "only distributor-fulfilled rebates can be batched",
            fields={IDS: f"rebates {_ids_text(no_distributor)} are credited directly or by the retailer"},
        )
    retailers = sorted({r.retailer_id for r in rebates.values()})
    if len(retailers) > 1:
        raise ValidationError(
            "a rebate credit batch is for one retailer",
            fields={IDS: f"these rebates belong to retailers {_ids_text(retailers)}; batch each one separately"},
        )
    if retailer_id is not None and retailers != [retailer_id]:
        raise ValidationError(
            "the rebates belong to another retailer",
            fields={"retailer_id": f"the rebates belong to retailer {retailers[0]}, not {retailer_id}"},
        )
    distributors = sorted({r.distributor_id for r in rebates.values() if r.distributor_id is not None})
    if len(distributors) > 1:  # only a platform admin can reach rebates of two distributors
        raise ValidationError(
            "a rebate credit batch belongs to one distributor",
            fields={IDS: f"these rebates belong to distributors {_ids_text(distributors)}"},
        )


def create_rebate_batch(
    rt: Runtime, actor: Actor, rebate_ids: Iterable[Any], description: str, *, retailer_id: int | None = None
) -> RebateBatchView:
    """Roll unbatched rebates of one retailer into a new unfulfilled Distributor Rebate Credit Batch."""
    check_acts(actor)
    ids = clean_ids(rebate_ids, IDS)
    description = required_text(description, "description", DESCRIPTION_MAX)
    now = rt.now()
    with transaction(rt.sessions) as s:
        rebates = _lock_rebates(s, actor, ids)
        _check_moves(rebates, CE.BATCH, REBATE_TRANSITIONS, "rebates")
        _check_one_retailer(rebates, retailer_id)
        first = rebates[ids[0]]
        assert first.distributor_id is not None  # checked above
        batch = RebateBatch(
            distributor_id=first.distributor_id,
            retailer_id=first.retailer_id,
            description=description,
            status=BS.UNFULFILLED,
            created_by=actor.name,
            created_at=now,
        )
        s.add(batch)
        s.flush()
        _move(s, ids, CE.BATCH, CS.BATCHED, now, batch_id=batch.id)
        record_event(
            s, "rebate_batch", batch.id, "create", actor, now, f"{description}; rebates {_ids_text(ids)}",
            from_status=None, to_status=BS.UNFULFILLED,
        )  # fmt: skip
        _record(s, [rebates[i] for i in ids], CE.BATCH, CS.BATCHED, actor, now, f"rebate batch {batch.id}")
        batch_id = batch.id
    with rt.sessions() as s:
        return load_rebate_batch_view(s, actor, batch_id)


def mark_rebate_batch_credited(rt: Runtime, actor: Actor, batch_id: int, note: str | None = None) -> RebateBatchView:
    """The distributor has credited the retailer: the batch and its rebates become credited.

    Only an unfulfilled batch with rebates in it can be marked credited (an empty one credits nothing).
    """
    check_acts(actor)
    note = optional_text(note, "note", REASON_MAX)
    now = rt.now()
    with transaction(rt.sessions) as s:
        batch = _lock_batch(s, actor, batch_id)
        new_status = rebate_batch_transition(batch.status, BE.FULFIL)
        rebates = s.scalars(
            select(Rebate)
            .where(Rebate.batch_id == batch_id)
            .order_by(Rebate.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
        if not rebates:
            raise IllegalTransitionError(
                f"cannot mark rebate credit batch {batch_id} credited: it has no rebates left; nothing was changed",
                current=batch.status,
                event=BE.FULFIL.value,
            )
        _check_moves({r.id: r for r in rebates}, CE.CREDIT, REBATE_TRANSITIONS, "rebates")
        update_in_states(
            s, RebateBatch, [batch_id], [BS.UNFULFILLED], "rebate credit batches", "credit",
            status=new_status, credited_at=now,
        )  # fmt: skip
        _move(s, [r.id for r in rebates], CE.CREDIT, CS.CREDITED, now)
        record_event(s, "rebate_batch", batch_id, BE.FULFIL, actor, now, note, from_status=batch.status,
                     to_status=new_status)  # fmt: skip
        _record(s, rebates, CE.CREDIT, CS.CREDITED, actor, now, f"rebate batch {batch_id} credited")
    with rt.sessions() as s:
        return load_rebate_batch_view(s, actor, batch_id)


def _leave(
    rt: Runtime, actor: Actor, rebate_ids: Iterable[Any], event: CreditEvent, reason: str | None
) -> RebatesMoved:
    """Move rebates out of Unbatched/an unfulfilled batch (unbatch, decline) or back (release); all or nothing."""
    ids = clean_ids(rebate_ids, IDS)
    now = rt.now()
    with transaction(rt.sessions) as s:
        batch_ids = sorted(
            {b for b in s.scalars(select(Rebate.batch_id).where(Rebate.id.in_(ids), *rebate_scope(actor))) if b}
        )
        batches = lock_rows(s, RebateBatch, batch_ids, rebate_batch_scope(actor), "rebate credit batch", "batches")
        rebates = _lock_rebates(s, actor, ids)
        targets = _check_moves(rebates, event, REBATE_TRANSITIONS, "rebates")
        credited = sorted(b.id for b in batches.values() if b.status != BS.UNFULFILLED)
        if credited:  # a batched rebate sits in an unfulfilled batch; refuse rather than spread a broken state
            raise IllegalTransitionError(
                f"cannot {event.value} rebates of credited batches {_ids_text(credited)}. Nothing was changed.",
                event=event.value,
                current={str(i): batches[i].status for i in credited},
            )
        (to,) = set(targets.values())
        _move(s, ids, event, to, now, batch_id=None, reason=reason)
        detail = reason or event.value
        for i in ids:
            r = rebates[i]
            where = f"removed from rebate batch {r.batch_id}: " if r.batch_id else ""
            record_event(s, "rebate", i, event, actor, now, where + detail, from_status=r.status, to_status=to)
        for b in batches.values():
            left = [i for i in ids if rebates[i].batch_id == b.id]
            record_event(s, "rebate_batch", b.id, "remove", actor, now, f"{event.value}: rebates {_ids_text(left)}",
                         from_status=b.status, to_status=b.status)  # fmt: skip
    return RebatesMoved(event=event.value, to_status=to.value, rebate_ids=ids, batch_ids=batch_ids)


def decline_rebates(rt: Runtime, actor: Actor, rebate_ids: Iterable[Any], reason: str) -> RebatesMoved:
    """Decline unbatched or batched rebates (they leave their batch); the retailer sees the reason."""
    check_acts(actor)
    return _leave(rt, actor, rebate_ids, CE.DECLINE, required_text(reason, "reason", REASON_MAX))


def unbatch_rebates(rt: Runtime, actor: Actor, rebate_ids: Iterable[Any]) -> RebatesMoved:
    """Take rebates out of their unfulfilled batch, back to Unbatched Rebates."""
    check_acts(actor)
    return _leave(rt, actor, rebate_ids, CE.UNBATCH, None)


def release_rebates(rt: Runtime, actor: Actor, rebate_ids: Iterable[Any]) -> RebatesMoved:
    """Release declined rebates back to Unbatched Rebates (the reason is cleared; the events keep it)."""
    check_acts(actor)
    return _leave(rt, actor, rebate_ids, CE.RELEASE, None)
