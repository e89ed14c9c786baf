"""Every (state, event) pair of the redemption lifecycle, legal or not."""

from __future__ import annotations

import itertools

import pytest

from connector.core.errors import IllegalTransitionError
from connector.core.lifecycle import TRANSITIONS, sources_of, transition
from connector.core.model import RedemptionEvent, RedemptionStatus

EXPECTED = {
    ("pending", "fulfil"): "fulfilled",
    ("pending", "fail"): "error",
    ("error", "retry"): "pending",
    ("pending", "reverse"): "reversed",
    ("error", "reverse"): "reversed",
    ("fulfilled", "reverse"): "reversed",
}


@pytest.mark.parametrize(
    ("state", "event"), list(itertools.product(RedemptionStatus, RedemptionEvent)), ids=lambda v: str(v)
)
def test_lifecycle_every_pair(state: RedemptionStatus, event: RedemptionEvent) -> None:
    expected = EXPECTED.get((state.value, event.value))
    if expected is None:
        with pytest.raises(IllegalTransitionError) as info:
            transition(state, event)
        assert state.value in info.value.message and event.value in info.value.message
        assert info.value.status_code == 409
    else:
        assert transition(state, event) == expected


def test_lifecycle_table_is_exactly_the_design() -> None:
    assert {(s.value, e.value): t.value for (s, e), t in TRANSITIONS.items()} == EXPECTED


def test_lifecycle_sources_of_reverse() -> None:
    assert set(sources_of(RedemptionEvent.REVERSE)) == {"pending", "error", "fulfilled"}


def test_lifecycle_reversed_is_terminal() -> None:
    for event in RedemptionEvent:
        with pytest.raises(IllegalTransitionError):
            transition("reversed", event)
