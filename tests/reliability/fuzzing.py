"""Hypothesis settings every end-to-end fuzz in this folder shares."""

from __future__ import annotations

from hypothesis import HealthCheck, settings


def fuzz_settings(examples: int) -> settings:
    """``examples`` derandomized examples (the same every run), no deadline, no example database.

    The fuzzes drive the real app through function-scoped fixtures (one database per test), whose
    examples are slow and large on purpose, so those health checks are off.
    """
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )
