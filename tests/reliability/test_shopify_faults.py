"""The shop answers 429, 5xx and timeouts at random, and sometimes loses the answer after executing.

100 redemptions (``RELIABILITY_FAULTS_COUNT``; 200 is the issue's size) through three real
``connector worker`` processes against the simulator with
seeded random fault rates on every GraphQL request (the simulator rolls them with
``random.Random(seed)``; set ``RELIABILITY_FAULT_SEED`` to choose the seed, it is printed). Which
request gets which fault still depends on how the workers interleave, so two runs with one seed
differ in detail, not in kind.

The faults that would make duplicates are ``after_effect_500`` and ``after_effect_timeout`` on
``orderCreate``: the order is created, the client hears a 500 or nothing (its read timeout is
shorter than the simulator's hold). The next attempt must find that order by its
``redemption-<code>`` tag instead of creating a second one.
"""

from __future__ import annotations

import os
import random
import time

import pytest

from tests.integration.conftest import worker_env
from tests.reliability.services import (
    check_invariants,
    redeem_all,
    say,
    seed_members,
    settled,
    status_counts,
    wait_until,
    workers_running,
)

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(240)]

COUNT = int(os.environ.get("RELIABILITY_FAULTS_COUNT", "100"))  # the full size: see docs/reliability.md
SEED = int(os.environ.get("RELIABILITY_FAULT_SEED", "20261123"))


def _rates(rng: random.Random) -> list[dict[str, object]]:
    """Per-request fault probabilities; the first that fires wins (simulator order)."""
    jitter = lambda base: round(base * rng.uniform(0.8, 1.2), 4)  # noqa: E731 - the seed picks the exact rates
    return [
        {"kind": "after_effect_500", "rate": jitter(0.08), "operation": "orderCreate"},
        {"kind": "after_effect_timeout", "rate": jitter(0.08), "operation": "orderCreate"},
        {"kind": "429", "rate": jitter(0.05)},
        {"kind": "500", "rate": jitter(0.03)},
        {"kind": "502", "rate": jitter(0.01)},
        {"kind": "503", "rate": jitter(0.01)},
        {"kind": "timeout", "rate": jitter(0.02)},
        {"kind": "throttled", "rate": jitter(0.01)},
    ]


def test_random_shop_faults_make_no_duplicate_and_lose_nothing(make_rq_runtime, fast_sim, tmp_path):
    rng = random.Random(SEED)
    rates = _rates(rng)
    sim_seed = rng.randrange(2**31)
    say(f"shopify faults: seed {SEED} (RELIABILITY_FAULT_SEED), simulator seed {sim_seed}, rates {rates}")
    rt = make_rq_runtime()
    seeded = seed_members(rt, fast_sim.base_url, COUNT)
    ids = redeem_all(rt, seeded)
    # A held answer outlasts the client's read timeout (1 s): "executed, but the answer never came".
    fast_sim.control("config", {"timeout_seconds": 1.5, "retry_after": "0.2"})
    fast_sim.control("faults", {"seed": sim_seed, "rates": rates, "replace": True})
    env = worker_env(
        rt,
        CONNECTOR_CLAIM_LEASE_SECONDS="20",  # longer than any one attempt here, so leases never lapse
        CONNECTOR_RETRY_CAP_SECONDS="3",
        SHOPIFY_TIMEOUT_SECONDS="1",
        SHOPIFY_THROTTLE_MAX_WAIT_SECONDS="5",
        # The simulator's search shows an order at once; 3 s outlasts any request still in flight.
        SHOPIFY_ORDER_LOOKUP_LAG_SECONDS="3",
    )
    progress = lambda: (  # noqa: E731
        f"{dict(status_counts(rt, ids))}, faults fired {fast_sim.control('faults')['fired']}"
    )
    try:
        with workers_running(env, tmp_path, "a", "b", "c", sweep_every=2) as workers:
            wait_until(lambda: settled(rt, ids), timeout=200, what="no redemption pending", tick=progress)
            wall = time.monotonic() - workers.started_at
            alive = workers.alive()
    finally:
        fired = fast_sim.control("faults")["fired"]
        fast_sim.control("faults", method="DELETE")

    stats = fast_sim.control("stats")
    outcome = check_invariants(rt, fast_sim, ids)
    say(
        f"shopify faults: settled in {wall:.1f}s; faults fired {dict(sorted(fired.items()))} "
        f"({sum(fired.values())} in all); HTTP statuses {stats.get('http_statuses')}"
    )

    assert fired.get("after_effect_500", 0) + fired.get("after_effect_timeout", 0) > 0, fired
    # Each order created behind a lost answer was found, not created again (check_invariants: one order each).
    assert outcome.found_existing > 0, outcome.line()
    assert set(outcome.statuses) <= {"fulfilled", "error"}, outcome.line()
    assert sorted(alive) == ["a", "b", "c"]
