"""Every (state, event) pair of the frequent-buyer lifecycles: allowed ones move, all others refuse."""

from __future__ import annotations

import itertools

import pytest

from connector.core.errors import IllegalTransitionError
from connector.core.frequent_buyer.lifecycle import (
    BATCH_TRANSITIONS,
    CREDIT_TRANSITIONS,
    POS_TRANSITIONS,
    batch_transition,
    credit_sources,
    credit_transition,
    pos_transition,
)
from connector.core.frequent_buyer.model import (
    BatchEvent,
    BatchStatus,
    CreditEvent,
    CreditStatus,
    PosRedemptionEvent,
    PosRedemptionStatus,
)

CASES = (
    [
        (pos_transition, POS_TRANSITIONS, state, event)
        for state, event in itertools.product(PosRedemptionStatus, PosRedemptionEvent)
    ]
    + [
        (credit_transition, CREDIT_TRANSITIONS, state, event)
        for state, event in itertools.product(CreditStatus, CreditEvent)
    ]
    + [
        (batch_transition, BATCH_TRANSITIONS, state, event)
        for state, event in itertools.product(BatchStatus, BatchEvent)
    ]
)


@pytest.mark.parametrize(("move", "table", "state", "event"), CASES, ids=lambda v: getattr(v, "value", None))
def test_every_pair(move, table, state, event):
    if (state, event) in table:
        assert move(state, event) == table[(state, event)]
    else:
        with pytest.raises(IllegalTransitionError) as err:
            move(state, event)
        assert state.value in err.value.message and event.value in err.value.message


def test_distributor_path_matches_the_design():
    # unbatched → batched → credited → grouped, with unbatch back, decline/hold from unbatched and batched,
    # and unbatch/decline (never hold) from credited (seed 001: "in the Unfulfilled or Fulfilled section").
    s = CreditStatus.UNBATCHED
    for event in (CreditEvent.BATCH, CreditEvent.UNBATCH, CreditEvent.BATCH, CreditEvent.CREDIT, CreditEvent.GROUP):
        s = credit_transition(s, event)
    assert s == CreditStatus.GROUPED
    for start in (CreditStatus.UNBATCHED, CreditStatus.BATCHED):
        assert credit_transition(start, CreditEvent.DECLINE) == CreditStatus.DECLINED
        assert credit_transition(start, CreditEvent.HOLD) == CreditStatus.HELD
    # Whether the credited free good's batch still allows it (fulfilled, not grouped, not reconciled) is checked
    # in distribution/moves.py; the table only says the free good's own state may move.
    assert credit_transition(CreditStatus.CREDITED, CreditEvent.DECLINE) == CreditStatus.DECLINED
    assert credit_transition(CreditStatus.CREDITED, CreditEvent.UNBATCH) == CreditStatus.UNBATCHED
    with pytest.raises(IllegalTransitionError):
        credit_transition(CreditStatus.CREDITED, CreditEvent.HOLD)
    # Once grouped for MFG credit nothing takes a free good back.
    for event in CreditEvent:
        with pytest.raises(IllegalTransitionError):
            credit_transition(CreditStatus.GROUPED, event)


def test_the_sources_of_each_take_back_move():
    assert set(credit_sources(CreditEvent.UNBATCH)) == {CreditStatus.BATCHED, CreditStatus.CREDITED}
    assert set(credit_sources(CreditEvent.DECLINE)) == {
        CreditStatus.UNBATCHED,
        CreditStatus.BATCHED,
        CreditStatus.CREDITED,
    }
    assert set(credit_sources(CreditEvent.HOLD)) == {CreditStatus.UNBATCHED, CreditStatus.BATCHED}
