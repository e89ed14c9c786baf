"""The redemption lifecycle as one explicit table.

A table rather than scattered ``if`` checks so that one parametrised test can
walk every (state, event) pair, and so the rule a support user hits in the UI
is the same one the worker obeys.
"""

from __future__ import annotations

from connector.core.errors import IllegalTransitionError
from connector.core.model import RedemptionEvent as E
from connector.core.model import RedemptionStatus as S

TRANSITIONS: dict[tuple[S, E], S] = {
    (S.PENDING, E.FULFIL): S.FULFILLED,
    (S.PENDING, E.FAIL): S.ERROR,
    (S.ERROR, E.RETRY): S.PENDING,
    (S.PENDING, E.REVERSE): S.REVERSED,
    (S.ERROR, E.REVERSE): S.REVERSED,
    (S.FULFILLED, E.REVERSE): S.REVERSED,
}

_HINTS: dict[E, str] = {
    E.FULFIL: "only a pending redemption can be fulfilled",
    E.FAIL: "only a pending redemption can fail",
    E.RETRY: "only a redemption in error can be retried; fix the cause shown on it first",
    E.REVERSE: "a redemption can be reversed once; it is already reversed",
}


def sources_of(event: E) -> tuple[S, ...]:
    """The states from which ``event`` is allowed, for conditional SQL updates."""
    return tuple(state for (state, ev) in TRANSITIONS if ev == event)


def transition(state: S | str, event: E | str) -> S:
    """Return the state after ``event``, or raise without side effects."""
    current, ev = S(state), E(event)
    try:
        return TRANSITIONS[(current, ev)]
    except KeyError:
        raise IllegalTransitionError(
            f"cannot {ev.value} a redemption that is {current.value}: {_HINTS[ev]}",
            current=current.value,
            event=ev.value,
        ) from None
