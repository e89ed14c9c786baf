"""Retry delays: exponential with jitter, never sooner than the provider asked."""

from __future__ import annotations

import random


def retry_delay(
    attempt: int,
    *,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before attempt ``attempt + 1``.

    "Equal jitter": half the exponential delay is kept, the other half random,
    so a burst of failures spreads out without ever retrying immediately.
    """
    exp = min(cap, base * (2 ** max(0, attempt - 1)))
    delay = exp / 2 + (rng or random).uniform(0, exp / 2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(max(delay, 0.0), max(cap, retry_after or 0.0))
