"""The fulfilment benchmark's arithmetic: how redemptions are spread over shops and what the ceilings are.

The benchmarks themselves are not tests (benches/README.md); these pure helpers decide what their
figures are compared against, so a slip here would make every reported ratio wrong.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benches"))

import fulfil_scale  # noqa: E402
import fulfilment_throughput as ft  # noqa: E402
import worker_ceiling  # noqa: E402


def test_redemptions_are_split_over_shops_evenly_and_none_is_lost():
    assert fulfil_scale.split(1000, 20) == [50] * 20
    assert fulfil_scale.split(7, 3) == [3, 2, 2]
    assert sum(fulfil_scale.split(1001, 20)) == 1001


def test_the_queue_mixes_shops_one_after_the_other():
    order = fulfil_scale.round_robin([[1, 2, 3], [10], [20, 21]])
    assert order == [(0, 1), (1, 10), (2, 20), (0, 2), (2, 21), (0, 3)]


def test_the_buckets_steady_limit_is_the_sum_of_restore_rate_over_cost():
    # Standard bucket, 100 points/s: 20 shops at 50 points a redemption allow 40 redemptions/s together.
    assert fulfil_scale.steady_limit([50.0] * 20) == 40.0
    # A shop whose cost is unknown (nothing fulfilled) adds nothing rather than NaN.
    assert fulfil_scale.steady_limit([50.0, float("nan")]) == 2.0


def test_a_full_bucket_pays_for_the_first_redemptions():
    # 150 redemptions at 50 points: 7,500 points, of which the full bucket pays 2,000; 55 s at 100/s.
    assert math.isclose(ft.bucket_bound(150, 50.0), 150 / 55)
    # 20 such shops together allow 20 times that.
    assert math.isclose(fulfil_scale.sum_of_bucket_bounds([150] * 20, [50.0] * 20), 20 * 150 / 55)
    # A count the full bucket covers is never bucket-bound.
    assert ft.bucket_bound(40, 50.0) == float("inf")


def test_the_worker_ceiling_is_timed_from_the_first_start_to_the_last_end():
    assert worker_ceiling.jobs_per_second([10.0, 10.5, 11.0], [10.2, 11.9, 12.0]) == (3, 2.0)
    finished, seconds = worker_ceiling.jobs_per_second([], [])
    assert finished == 0 and math.isnan(seconds)
