"""What the two Hypothesis state machines share: their bounds, an empty database, the refusal check.

Bounds: 12 examples of up to 25 steps, ``derandomize=True`` (the same examples every run).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from hypothesis import HealthCheck, Phase, settings

from connector.core.errors import ConnectorError
from connector.core.runtime import Runtime
from connector.core.tables import Base
from tests.reliability.models import Refused

EXAMPLES, STEPS = 12, 25

#: Shrinking a failing run against PostgreSQL takes minutes (past pytest's 300 s timeout), so a failure is
#: reported as found, with its full step sequence; RELIABILITY_SHRINK=1 shrinks it to a minimal one.
PHASES = tuple(Phase) if os.environ.get("RELIABILITY_SHRINK") else tuple(p for p in Phase if p != Phase.shrink)
SETTINGS = settings(
    max_examples=EXAMPLES,
    phases=PHASES,
    stateful_step_count=STEPS,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def reset_database(rt: Runtime) -> None:
    """Empty every table, so each example starts from nothing (faster than a new database)."""
    with rt.engine.begin() as c:
        for table in reversed(Base.metadata.sorted_tables):
            c.execute(table.delete())


def check_refused(call: Callable[[], object], why: Refused, state: Callable[[], object]) -> ConnectorError:
    """``call`` must be refused as the model says and leave what ``state`` reads as it was.

    The product's error class is the model's, its message says why and names the state it was refused
    in. Returns the error, for a machine's own further checks.
    """
    before = state()
    try:
        call()
    except ConnectorError as exc:
        assert type(exc).__name__ == why.expected, (type(exc).__name__, why.expected, exc.message)
        assert exc.message, "a refusal must say why"
        if why.state is not None:
            assert why.state in exc.message, (why.state, exc.message)
        refusal = exc
    else:
        raise AssertionError(f"expected {why.expected}; the call succeeded") from None
    assert state() == before, "a refused call changed the database"
    return refusal
