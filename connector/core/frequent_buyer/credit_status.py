"""The retailer's side: Distributor Free Goods Credit Status and reconciling a credited batch (seed 002).

A retailer sees each of its distributor-fulfilled free goods in one of four views:

* **uncredited**: the distributor has not credited it yet (unbatched, in an unfulfilled batch, or held);
* **credited**: its batch was marked fulfilled/credited (or grouped for MFG credit) and the retailer has not
  reconciled that batch yet;
* **reconciled**: the retailer confirmed the batch against the distributor's credit memo;
* **declined**: the distributor declined it (with the reason).

Each line carries an approximate cost (unit cost × quantity; the unit cost is the processing-time snapshot,
else the retailer's current price list entry for the SKU, else blank), and the report totals quantity and
cost per distributor and brand, so the retailer can compare what it is owed with what arrives on its
invoices and credit memos.

Reconciling is the retailer telling the manufacturer "I received these credits and I am happy with them": it
sets the batch's ``reconciled_at``/``reconciled_by`` once, with a ``reconcile`` event, and is only possible
for a credited (fulfilled or grouped) batch that still holds free goods: the distributor may unbatch or
decline the credited free goods of a fulfilled batch until it is reconciled, and a batch emptied that way
has nothing to reconcile (it is not listed among the batches to reconcile either).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.database import rowcount, transaction
from connector.core.errors import (
    ConflictError,
    IllegalTransitionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from connector.core.frequent_buyer.distribution import (
    REASON_MAX,
    BatchView,
    FreeGoodView,
    batch_select,
    batch_transition,
    batch_view,
    free_good_scope,
    free_good_select,
    free_good_view,
    load_batch_view,
    lock_batches,
    optional_text,
)
from connector.core.frequent_buyer.events import record_event
from connector.core.frequent_buyer.memo_check import MemoCheck, check_memo, refuse_unconfirmed
from connector.core.frequent_buyer.model import BatchEvent, BatchStatus, CreditStatus, RetailerCreditView
from connector.core.frequent_buyer.tables import Batch, FreeGood
from connector.core.model import Role
from connector.core.runtime import Runtime

RV = RetailerCreditView

#: Roles that reconcile (and import credit memos): the retailer itself, or a platform admin on its behalf.
#: Support reads but does not reconcile: reconciling says the retailer received its money.
_RECONCILING_ROLES = {Role.RETAILER, Role.PLATFORM_ADMIN}


def check_reconciles(actor: Actor) -> None:
    if actor.role not in _RECONCILING_ROLES:
        raise PermissionDeniedError(
            f"role {actor.role.value} cannot reconcile credits; the retailer (or a platform admin on its behalf) does"
        )


def retailer_view(status: str, reconciled_at: datetime | None) -> RetailerCreditView:
    """Where a free good stands for its retailer (seed 002's report groups)."""
    s = CreditStatus(status)
    if s in (CreditStatus.UNBATCHED, CreditStatus.BATCHED, CreditStatus.HELD):
        return RV.UNCREDITED
    if s == CreditStatus.DECLINED:
        return RV.DECLINED
    return RV.RECONCILED if reconciled_at is not None else RV.CREDITED


@dataclass(frozen=True)
class CreditLine:
    view: RetailerCreditView
    free_good: FreeGoodView


@dataclass(frozen=True)
class CreditTotal:
    """Free goods, quantity and approximate cost of one group (a view, or a distributor × brand × view)."""

    view: RetailerCreditView
    distributor_id: int | None
    distributor_name: str | None
    brand_id: int | None
    brand_name: str | None
    free_goods: int
    quantity: int
    #: Sum over the lines with a known cost; None when no line has one (shown blank, not as 0.00).
    approximate_cost: Decimal | None
    #: Lines without a known cost, so a total is never mistaken for complete.
    uncosted: int


@dataclass(frozen=True)
class CreditStatusReport:
    retailer_id: int
    views: dict[RetailerCreditView, list[CreditLine]]
    #: One per view, in the order uncredited, credited, reconciled, declined.
    totals: list[CreditTotal]
    #: Per distributor and brand within each view.
    totals_by_distributor_brand: list[CreditTotal]


def _total(
    view: RetailerCreditView,
    lines: Iterable[FreeGoodView],
    *,
    distributor: tuple[int | None, str | None] = (None, None),
    brand: tuple[int | None, str | None] = (None, None),
) -> CreditTotal:
    lines = list(lines)
    costs = [g.approximate_cost for g in lines if g.approximate_cost is not None]
    return CreditTotal(
        view=view,
        distributor_id=distributor[0],
        distributor_name=distributor[1],
        brand_id=brand[0],
        brand_name=brand[1],
        free_goods=len(lines),
        quantity=sum(g.quantity for g in lines),
        approximate_cost=sum(costs, Decimal("0.00")) if costs else None,
        uncosted=len(lines) - len(costs),
    )


def credit_status(
    rt: Runtime,
    actor: Actor,
    *,
    retailer_id: int | None = None,
    distributor_id: int | None = None,
    brand_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> CreditStatusReport:
    """Distributor Free Goods Credit Status for one retailer (by redemption date, newest first in each view).

    A retailer user gets its own (``retailer_id`` may be left out; another retailer's id is not found).
    Other readers name the retailer and see it within their own
    scope: a distributor only its own free goods, a brand admin only its brand's.
    """
    if actor.role == Role.RETAILER:
        if retailer_id is not None and retailer_id != actor.retailer_id:
            raise NotFoundError(f"retailer {retailer_id} not found")
        retailer_id = actor.retailer_id
    if retailer_id is None:
        raise ValidationError("which retailer?", fields={"retailer_id": "required for a non-retailer user"})
    if date_from and date_to and date_from > date_to:
        raise ValidationError("date_to is before date_from", fields={"date_to": "must be on or after date_from"})
    q = free_good_select().where(
        FreeGood.retailer_id == retailer_id, FreeGood.distributor_id.is_not(None), *free_good_scope(actor)
    )
    if distributor_id is not None:
        q = q.where(FreeGood.distributor_id == distributor_id)
    if brand_id is not None:
        q = q.where(FreeGood.brand_id == brand_id)
    if date_from is not None:
        q = q.where(FreeGood.redeemed_on >= date_from)
    if date_to is not None:
        q = q.where(FreeGood.redeemed_on <= date_to)
    with rt.sessions() as s:
        rows = s.execute(q.order_by(FreeGood.redeemed_on.desc(), FreeGood.id.desc())).all()
    views: dict[RetailerCreditView, list[CreditLine]] = {v: [] for v in RV}
    for row in rows:
        g = free_good_view(row)
        v = retailer_view(g.status, g.reconciled_at)
        views[v].append(CreditLine(v, g))
    totals = [_total(v, (line.free_good for line in views[v])) for v in RV]
    by_group: dict[tuple[RetailerCreditView, int | None, int], list[FreeGoodView]] = {}
    names: dict[tuple[RetailerCreditView, int | None, int], tuple[str | None, str]] = {}
    for v in RV:
        for line in views[v]:
            key = (v, line.free_good.distributor_id, line.free_good.brand_id)
            by_group.setdefault(key, []).append(line.free_good)
            names[key] = (line.free_good.distributor_name, line.free_good.brand_name)
    breakdown = [
        _total(key[0], goods, distributor=(key[1], names[key][0]), brand=(key[2], names[key][1]))
        for key, goods in sorted(
            by_group.items(), key=lambda kv: (list(RV).index(kv[0][0]), names[kv[0]][0] or "", names[kv[0]][1])
        )
    ]
    return CreditStatusReport(retailer_id, views, totals, breakdown)


# -- reconcile -----------------------------------------------------------------------------------------------


def reconcile_locked(s: Session, actor: Actor, batch: Batch, at: datetime, detail: str) -> None:
    """Reconcile a batch already locked in ``s``: checked, conditional, one event. Raises if it cannot.

    Free goods leave a batch only under its row lock, so the emptiness check below cannot go stale before the
    commit: a decline racing this reconcile either empties the batch first (this refuses) or waits and finds
    the batch reconciled (the decline refuses).
    """
    batch_transition(batch.status, BatchEvent.RECONCILE)  # only fulfilled or grouped batches
    if batch.reconciled_at is not None:
        raise ConflictError(
            f"batch {batch.id} was already reconciled by {batch.reconciled_by} on {batch.reconciled_at:%Y-%m-%d}; "
            "nothing was changed",
            current=batch.status,
            reconciled_at=batch.reconciled_at.isoformat(),
            reconciled_by=batch.reconciled_by,
        )
    if not s.scalar(select(exists().where(FreeGood.batch_id == batch.id))):
        raise IllegalTransitionError(
            f"cannot reconcile batch {batch.id}: the distributor took every free good back out of it (unbatched "
            "or declined) after marking it fulfilled, so there is no credit to reconcile; nothing was changed",
            current=batch.status,
            event=BatchEvent.RECONCILE.value,
            empty=True,
        )
    won = rowcount(
        s.execute(
            update(Batch)
            .where(
                Batch.id == batch.id,
                Batch.reconciled_at.is_(None),
                Batch.status.in_((BatchStatus.FULFILLED, BatchStatus.GROUPED)),
                exists().where(FreeGood.batch_id == Batch.id),
            )
            .values(reconciled_at=at, reconciled_by=actor.name)
            .execution_options(synchronize_session=False)
        )
    )
    if won != 1:  # unreachable under the row lock; a lost race must still never record a second reconcile
        raise ConflictError(f"batch {batch.id} was reconciled meanwhile; nothing was changed")
    record_event(
        s, "batch", batch.id, BatchEvent.RECONCILE, actor, at, detail, from_status=batch.status, to_status=batch.status
    )


def lock_batch_for_retailer(s: Session, actor: Actor, batch_id: int) -> Batch:
    """The batch, row-locked, if the actor may see it (a retailer: its own; others: their scope)."""
    return lock_batches(s, actor, [batch_id])[batch_id]


def reconcile_batch(
    rt: Runtime, actor: Actor, batch_id: int, note: str | None = None, *, confirm: bool = False
) -> BatchView:
    """The retailer confirms a credited batch against its credit memo. Reconciling twice is a ``ConflictError``.

    When the batch's credit memo DOES NOT MATCH (``memo_check``), reconciling needs ``confirm=True``; without
    it a ``MemoMismatchError`` (409) names each difference and nothing changes. A confirmed reconcile records
    what was accepted in its event.
    """
    check_reconciles(actor)
    note = optional_text(note, "note", REASON_MAX)
    now = rt.now()
    with transaction(rt.sessions) as s:
        batch = lock_batch_for_retailer(s, actor, batch_id)
        batch_transition(batch.status, BatchEvent.RECONCILE)  # an unfulfilled batch is refused as before
        check = check_memo(s, load_batch_view(s, actor, batch_id))
        if check.needs_confirmation:
            if not confirm:
                raise refuse_unconfirmed(batch_id, check)
            accepted = f"confirmed although the credit memo DOES NOT MATCH: {'; '.join(check.mismatches)}"
            note = f"{note}; {accepted}" if note else accepted
        reconcile_locked(s, actor, batch, now, note)
    with rt.sessions() as s:
        return load_batch_view(s, actor, batch_id)


def memo_check(rt: Runtime, actor: Actor, batch_id: int) -> MemoCheck:
    """The batch's credit memo against the batch, for the pages before reconciling (within the actor's scope).

    Credit memos are between a distributor and a retailer: brand users do not see them."""
    if actor.brand_id is not None and not actor.is_party:
        raise PermissionDeniedError(
            "credit memos are between a distributor and a retailer; brand users do not see them"
        )
    with rt.sessions() as s:
        return check_memo(s, load_batch_view(s, actor, batch_id))


def reconcilable_batches(rt: Runtime, actor: Actor, *, retailer_id: int | None = None) -> list[BatchView]:
    """The retailer's credited batches not yet reconciled, oldest first: what its credit memos should cover.

    A fulfilled batch the distributor emptied (every free good unbatched or declined) is left out: there is
    nothing in it to reconcile.
    """
    if actor.role == Role.RETAILER:
        retailer_id = actor.retailer_id
    q = batch_select(actor).where(
        Batch.status.in_((BatchStatus.FULFILLED, BatchStatus.GROUPED)),
        Batch.reconciled_at.is_(None),
        exists().where(FreeGood.batch_id == Batch.id),
    )
    if retailer_id is not None:
        q = q.where(Batch.retailer_id == retailer_id)
    with rt.sessions() as s:
        return [batch_view(r) for r in s.execute(q.order_by(Batch.fulfilled_at, Batch.id))]
