"""Every job the dispatchers can run, by name: each takes the runtime and one id and calls one use case.

The names are ``connector.core.scheduling``'s, the ones the use cases queue. The table
lives in the core, apart from ``connector.jobs`` (the RQ worker's entry point, which builds its
process runtime through ``connector.bootstrap``), so the dispatchers that ``bootstrap`` attaches run
jobs without importing back into ``bootstrap``.
"""

from __future__ import annotations

from collections.abc import Callable

from connector.core.frequent_buyer.notices import run_notices
from connector.core.fulfilment import fulfil_redemption
from connector.core.outbound_delivery import send_delivery
from connector.core.reversal import cancel_order
from connector.core.runtime import Runtime
from connector.core.scheduling import (
    CANCEL_JOB,
    DRAIN_JOB,
    FULFIL_JOB,
    NOTICES_JOB,
    OUTBOUND_JOB,
    PROCESS_JOB,
    SWEEP_JOB,
)
from connector.core.sweeper import sweep
from connector.core.webhook_intake import process_received_webhooks, process_webhook

JOBS: dict[str, Callable[[Runtime, int], object]] = {
    FULFIL_JOB: fulfil_redemption,
    CANCEL_JOB: cancel_order,
    PROCESS_JOB: process_webhook,
    DRAIN_JOB: process_received_webhooks,
    SWEEP_JOB: lambda rt, _arg: sweep(rt),
    OUTBOUND_JOB: send_delivery,
    NOTICES_JOB: run_notices,
}


def run_job(name: str, arg: int, runtime: Runtime) -> str:
    """Run one job by name with the runtime the caller already has."""
    return str(JOBS[name](runtime, arg))
