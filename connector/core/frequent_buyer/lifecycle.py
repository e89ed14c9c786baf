"""Frequent-buyer lifecycles as explicit tables, like ``connector.core.lifecycle``.

One table per thing that moves (a reported redemption, a free good, a batch), so a
parametrised test can walk every pair and the UI, API and CLI obey the same rule.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from connector.core.errors import IllegalTransitionError
from connector.core.frequent_buyer.model import BatchEvent, BatchStatus, CreditEvent, CreditStatus
from connector.core.frequent_buyer.model import PosRedemptionEvent as PE
from connector.core.frequent_buyer.model import PosRedemptionStatus as PS

POS_TRANSITIONS: dict[tuple[PS, PE], PS] = {
    (PS.NEW, PE.MAP_CUSTOMER): PS.PENDING,
    (PS.PENDING, PE.DENY): PS.DENIED,
    (PS.PENDING, PE.PASS_RULES): PS.QUALITY_CHECK,
    (PS.QUALITY_CHECK, PE.PROCESS): PS.PROCESSED,
    (PS.DENIED, PE.RESUBMIT): PS.NEW,
}

C, CE = CreditStatus, CreditEvent
CREDIT_TRANSITIONS: dict[tuple[CreditStatus, CreditEvent], CreditStatus] = {
    (C.UNBATCHED, CE.BATCH): C.BATCHED,
    (C.BATCHED, CE.UNBATCH): C.UNBATCHED,
    # A credited free good may be taken back (unbatched or declined) only while its batch is still just
    # fulfilled: not grouped for MFG credit and not reconciled by the retailer. The table cannot see the
    # batch, so distribution/moves.py checks that (under the batch's row lock and in the conditional UPDATE).
    (C.CREDITED, CE.UNBATCH): C.UNBATCHED,
    (C.UNBATCHED, CE.DECLINE): C.DECLINED,
    (C.BATCHED, CE.DECLINE): C.DECLINED,
    (C.CREDITED, CE.DECLINE): C.DECLINED,
    (C.UNBATCHED, CE.HOLD): C.HELD,
    (C.BATCHED, CE.HOLD): C.HELD,
    (C.HELD, CE.RELEASE): C.UNBATCHED,
    (C.DECLINED, CE.RELEASE): C.UNBATCHED,
    (C.BATCHED, CE.CREDIT): C.CREDITED,
    (C.CREDITED, CE.GROUP): C.GROUPED,
    # Direct- and retailer-fulfilled free goods have no distributor and so no batch: owed (unbatched) → credited
    # in one step, by the brand side (brand_fulfilment.py). The use case refuses it for distributor free goods.
    (C.UNBATCHED, CE.CREDIT_DIRECT): C.CREDITED,
}

B, BE = BatchStatus, BatchEvent
BATCH_TRANSITIONS: dict[tuple[BatchStatus, BatchEvent], BatchStatus] = {
    (B.UNFULFILLED, BE.FULFIL): B.FULFILLED,
    (B.FULFILLED, BE.GROUP): B.GROUPED,
    (B.FULFILLED, BE.RECONCILE): B.FULFILLED,
    (B.GROUPED, BE.RECONCILE): B.GROUPED,
}

#: A rebate (a dollars-off redemption) moves like a free good, without holds or MFG grouping: the distributor
#: batches it, credits the batch, or declines it with a reason (and may release a declined one or unbatch it
#: while its batch is still unfulfilled).
REBATE_TRANSITIONS: dict[tuple[CreditStatus, CreditEvent], CreditStatus] = {
    (C.UNBATCHED, CE.BATCH): C.BATCHED,
    (C.BATCHED, CE.UNBATCH): C.UNBATCHED,
    (C.UNBATCHED, CE.DECLINE): C.DECLINED,
    (C.BATCHED, CE.DECLINE): C.DECLINED,
    (C.DECLINED, CE.RELEASE): C.UNBATCHED,
    (C.BATCHED, CE.CREDIT): C.CREDITED,
}

#: A Distributor Rebate Credit Batch is created unfulfilled and marked credited once; nothing follows.
REBATE_BATCH_TRANSITIONS: dict[tuple[BatchStatus, BatchEvent], BatchStatus] = {
    (B.UNFULFILLED, BE.FULFIL): B.FULFILLED,
}

S = TypeVar("S", bound=StrEnum)
V = TypeVar("V", bound=StrEnum)


def _move(table: dict[tuple[S, V], S], what: str, state: S, event: V) -> S:
    try:
        return table[(state, event)]
    except KeyError:
        allowed = sorted(s.value for (s, e) in table if e == event)
        raise IllegalTransitionError(
            f"cannot {event.value} a {what} that is {state.value}; only from: {', '.join(allowed) or 'nowhere'}",
            current=state.value,
            event=event.value,
        ) from None


def pos_transition(state: PS | str, event: PE | str) -> PS:
    return _move(POS_TRANSITIONS, "reported redemption", PS(state), PE(event))


def credit_transition(state: CreditStatus | str, event: CreditEvent | str) -> CreditStatus:
    return _move(CREDIT_TRANSITIONS, "free good", CreditStatus(state), CreditEvent(event))


def batch_transition(state: BatchStatus | str, event: BatchEvent | str) -> BatchStatus:
    return _move(BATCH_TRANSITIONS, "batch", BatchStatus(state), BatchEvent(event))


def rebate_transition(state: CreditStatus | str, event: CreditEvent | str) -> CreditStatus:
    return _move(REBATE_TRANSITIONS, "rebate", CreditStatus(state), CreditEvent(event))


def rebate_batch_transition(state: BatchStatus | str, event: BatchEvent | str) -> BatchStatus:
    return _move(REBATE_BATCH_TRANSITIONS, "rebate credit batch", BatchStatus(state), BatchEvent(event))


def credit_sources(
    event: CreditEvent, table: dict[tuple[CreditStatus, CreditEvent], CreditStatus] = CREDIT_TRANSITIONS
) -> tuple[CreditStatus, ...]:
    """States from which ``event`` is allowed (in ``table``), for conditional (race-safe) SQL updates."""
    return tuple(s for (s, e) in table if e == event)
