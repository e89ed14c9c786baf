"""Use cases on batches: create, add to, mark fulfilled (credited), group for MFG credit."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import IllegalTransitionError, NotFoundError, ValidationError
from connector.core.frequent_buyer.distribution.credit_memo_entry import clean_credit_memo
from connector.core.frequent_buyer.distribution.input_checks import (
    DESCRIPTION_MAX,
    REASON_MAX,
    _ids_text,
    clean_ids,
    optional_text,
    required_text,
)
from connector.core.frequent_buyer.distribution.moves import (
    _check_batchable,
    _check_moves,
    _update_batches,
    _update_free_goods,
    lock_batches,
    lock_free_goods,
)
from connector.core.frequent_buyer.distribution.permissions import check_acts
from connector.core.frequent_buyer.distribution.read_models import (
    BatchView,
    CreditGroupView,
    batch_select,
    batch_view,
    load_batch_view,
)
from connector.core.frequent_buyer.events import record_event
from connector.core.frequent_buyer.lifecycle import BATCH_TRANSITIONS, batch_transition
from connector.core.frequent_buyer.model import BatchEvent, BatchStatus, CreditEvent, CreditStatus
from connector.core.frequent_buyer.tables import Batch, CreditGroup, FreeGood
from connector.core.runtime import Runtime
from connector.core.scheduling import owe_notices

CE, CS, BE, BS = CreditEvent, CreditStatus, BatchEvent, BatchStatus

#: Batch events that are not status transitions: membership changes and creation, for the batch's timeline.
BATCH_CREATE = "create"

BATCH_ADD = "add"


def create_batch(
    rt: Runtime,
    actor: Actor,
    free_good_ids: Iterable[Any],
    description: str,
    *,
    retailer_id: int | None = None,
) -> BatchView:
    """Roll unbatched free goods of one retailer into a new Unfulfilled batch.

    Any free good that is not unbatched refuses the whole call (``IllegalTransitionError`` naming each id and
    its status); free goods of two retailers refuse it too (``ValidationError``). ``retailer_id``, when given,
    must be the free goods' retailer (a check for callers that picked the retailer first, like the CLI).
    """
    check_acts(actor)
    ids = clean_ids(free_good_ids)
    description = required_text(description, "description", DESCRIPTION_MAX)
    now = rt.now()
    with transaction(rt.sessions) as s:
        goods = lock_free_goods(s, actor, ids)
        targets = _check_moves(goods, CE.BATCH)
        _check_batchable(goods, retailer_id=retailer_id, distributor_id=None)
        first = goods[ids[0]]
        batch = Batch(
            distributor_id=first.distributor_id,
            retailer_id=first.retailer_id,
            description=description,
            status=BS.UNFULFILLED,
            created_by=actor.name,
            created_at=now,
        )
        s.add(batch)
        s.flush()
        _update_free_goods(s, ids, CE.BATCH, CS.BATCHED, now, batch_id=batch.id)
        record_event(
            s,
            "batch",
            batch.id,
            BATCH_CREATE,
            actor,
            now,
            f"{description}; free goods {_ids_text(ids)}",
            from_status=None,
            to_status=BS.UNFULFILLED,
        )
        _record_moves(s, [goods[i] for i in ids], CE.BATCH, actor, now, f"batch {batch.id}: {description}", targets)
        batch_id = batch.id
    with rt.sessions() as s:
        return load_batch_view(s, actor, batch_id)


def add_to_batch(rt: Runtime, actor: Actor, batch_id: int, free_good_ids: Iterable[Any]) -> BatchView:
    """Add unbatched free goods of the batch's retailer to an Unfulfilled batch."""
    check_acts(actor)
    ids = clean_ids(free_good_ids)
    now = rt.now()
    with transaction(rt.sessions) as s:
        batch = lock_batches(s, actor, [batch_id])[batch_id]
        if batch.status != BS.UNFULFILLED:
            raise IllegalTransitionError(
                f"cannot add free goods to batch {batch_id}: it is {batch.status}; only an unfulfilled batch takes "
                "more free goods (create a new batch for them)",
                current=batch.status,
                event=BATCH_ADD,
            )
        goods = lock_free_goods(s, actor, ids)
        targets = _check_moves(goods, CE.BATCH)
        _check_batchable(goods, retailer_id=batch.retailer_id, distributor_id=batch.distributor_id)
        _update_free_goods(s, ids, CE.BATCH, CS.BATCHED, now, batch_id=batch.id)
        record_event(
            s,
            "batch",
            batch.id,
            BATCH_ADD,
            actor,
            now,
            f"free goods {_ids_text(ids)}",
            from_status=batch.status,
            to_status=batch.status,
        )
        detail = f"batch {batch.id}: {batch.description}"
        _record_moves(s, [goods[i] for i in ids], CE.BATCH, actor, now, detail, targets)
    with rt.sessions() as s:
        return load_batch_view(s, actor, batch_id)


def mark_batch_fulfilled(
    rt: Runtime,
    actor: Actor,
    batch_id: int,
    note: str | None = None,
    *,
    credit_memo_number: str | None = None,
    credit_memo_amount: Decimal | str | None = None,
) -> BatchView:
    """Mark an Unfulfilled batch Fulfilled/Credited: the distributor has issued the retailer its credit.

    Its free goods move batched → credited with it. An empty batch cannot be fulfilled: there is nothing to
    credit, and an empty credited batch would ask the retailer to reconcile nothing. The credit memo (number
    and amount, both or neither; see ``credit_memo_entry``) is stored on the batch for the retailer's
    reconcile to compare, and named in the batch's ``fulfil`` event.
    """
    check_acts(actor)
    note = optional_text(note, "note", REASON_MAX)
    memo = clean_credit_memo(credit_memo_number, credit_memo_amount)
    now = rt.now()
    with transaction(rt.sessions) as s:
        batch = lock_batches(s, actor, [batch_id])[batch_id]
        new_status = batch_transition(batch.status, BE.FULFIL)
        goods = s.scalars(
            select(FreeGood)
            .where(FreeGood.batch_id == batch_id)
            .order_by(FreeGood.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
        if not goods:
            raise IllegalTransitionError(
                f"cannot fulfil batch {batch_id}: it has no free goods; add free goods to it first",
                current=batch.status,
                event=BE.FULFIL.value,
            )
        targets = _check_moves({g.id: g for g in goods}, CE.CREDIT)
        ids = [g.id for g in goods]
        memo_values = {"credit_memo_number": memo.number, "credit_memo_amount": memo.amount} if memo else {}
        _update_batches(s, [batch_id], BE.FULFIL, new_status, fulfilled_at=now, **memo_values)
        _update_free_goods(s, ids, CE.CREDIT, CS.CREDITED, now)
        said = "; ".join(part for part in (memo.describe() if memo else "", note) if part)
        record_event(s, "batch", batch_id, BE.FULFIL, actor, now, said, from_status=batch.status, to_status=new_status)
        detail = f"batch {batch_id} fulfilled" + (f": {said}" if said else "")
        _record_moves(s, goods, CE.CREDIT, actor, now, detail, targets)
        owe_notices(s)  # the retailer's users hear it was credited once this commits
    with rt.sessions() as s:
        return load_batch_view(s, actor, batch_id)


def group_for_mfg_credit(rt: Runtime, actor: Actor, batch_ids: Iterable[Any], description: str) -> CreditGroupView:
    """Group Fulfilled batches (one distributor's) to claim from the manufacturer; creates a ``CreditGroup``."""
    check_acts(actor)
    ids = clean_ids(batch_ids, "batch_ids")
    description = required_text(description, "description", DESCRIPTION_MAX)
    now = rt.now()
    with transaction(rt.sessions) as s:
        batches = lock_batches(s, actor, ids)
        offending = {b.id: b.status for b in batches.values() if (b.status, BE.GROUP) not in BATCH_TRANSITIONS}
        if offending:
            shown = "; ".join(f"{i} is {st}" for i, st in offending.items())
            raise IllegalTransitionError(
                f"cannot group batches that are not fulfilled: {shown}. Nothing was changed.",
                event=BE.GROUP.value,
                current={str(i): st for i, st in offending.items()},
            )
        holding = set(
            s.scalars(select(FreeGood.batch_id).where(FreeGood.batch_id.in_(ids)).group_by(FreeGood.batch_id))
        )
        empty = [i for i in ids if i not in holding]
        if empty:  # every free good was unbatched or declined after the batch was fulfilled
            noun = "batch" if len(empty) == 1 else "batches"
            raise IllegalTransitionError(
                f"cannot group {noun} {_ids_text(empty)} for MFG credit: no free goods are left in "
                f"{'it' if len(empty) == 1 else 'them'} (each was unbatched or declined after the batch was "
                "fulfilled), so there is nothing to claim. Nothing was changed.",
                event=BE.GROUP.value,
                current={str(i): batches[i].status for i in empty},
                empty=empty,
            )
        distributors = {b.distributor_id for b in batches.values()}
        if len(distributors) > 1:
            raise ValidationError(
                "a credit group belongs to one distributor",
                fields={"batch_ids": f"these batches belong to distributors {_ids_text(sorted(distributors))}"},
            )
        goods = s.scalars(
            select(FreeGood)
            .where(FreeGood.batch_id.in_(ids))
            .order_by(FreeGood.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
        targets = _check_moves({g.id: g for g in goods}, CE.GROUP)
        group = CreditGroup(
            distributor_id=distributors.pop(), description=description, created_by=actor.name, created_at=now
        )
        s.add(group)
        s.flush()
        _update_batches(s, ids, BE.GROUP, BS.GROUPED, credit_group_id=group.id)
        if goods:
            _update_free_goods(s, [g.id for g in goods], CE.GROUP, CS.GROUPED, now)
        for b in batches.values():
            record_event(
                s,
                "batch",
                b.id,
                BE.GROUP,
                actor,
                now,
                f"credit group {group.id}: {description}",
                from_status=b.status,
                to_status=BS.GROUPED,
            )
        _record_moves(s, goods, CE.GROUP, actor, now, f"credit group {group.id}: {description}", targets)
        group_id = group.id
    return get_credit_group(rt, actor, group_id)


def get_credit_group(rt: Runtime, actor: Actor, group_id: int) -> CreditGroupView:
    with rt.sessions() as s:
        group = s.get(CreditGroup, group_id)
        if group is None:
            raise NotFoundError(f"credit group {group_id} not found")
        rows = s.execute(batch_select(actor).where(Batch.credit_group_id == group_id).order_by(Batch.id)).all()
        if not rows:  # outside the actor's scope (another distributor's group)
            raise NotFoundError(f"credit group {group_id} not found")
        views = [batch_view(r) for r in rows]
        costs = [v.approximate_cost for v in views if v.approximate_cost is not None]
        return CreditGroupView(
            id=group.id,
            distributor_id=group.distributor_id,
            description=group.description,
            created_by=group.created_by,
            created_at=group.created_at,
            batch_ids=[v.id for v in views],
            free_goods=sum(v.free_goods for v in views),
            quantity=sum(v.quantity for v in views),
            approximate_cost=sum(costs, Decimal("0.00")) if costs else None,
        )


def _record_moves(
    s: Session,
    goods: Iterable[FreeGood],
    event: CreditEvent,
    actor: Actor,
    now: datetime,
    detail: str,
    targets: dict[int, CreditStatus],
) -> None:
    """A free good's history shows every call that moved it, so each one gets its own event, in ``goods``' order."""
    for g in goods:
        record_event(s, "free_good", g.id, event, actor, now, detail, from_status=g.status, to_status=targets[g.id])
