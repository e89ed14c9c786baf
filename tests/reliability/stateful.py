"""What the two Hypothesis state machines share: their bounds and a way back to an empty database.

Bounds: 12 examples of up to 25 steps, ``derandomize=True`` (the same examples every run).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

from connector.core.runtime import Runtime
from connector.core.tables import Base

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
