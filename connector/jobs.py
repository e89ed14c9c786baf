"""Job entry points. Each takes one id, builds nothing but the runtime, and calls one use case.

RQ imports these by dotted path in worker processes, where ``current_runtime``
builds the runtime from the environment once per process. In-process
dispatchers call ``run_job`` with the runtime they already have.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from connector.core.fulfilment import fulfil_redemption
from connector.core.reversal import cancel_order
from connector.core.runtime import Runtime
from connector.core.sweeper import sweep
from connector.core.webhook_intake import process_received_webhooks, process_webhook

JOBS: dict[str, Callable[[Runtime, int], object]] = {
    "fulfil_redemption": fulfil_redemption,
    "cancel_order": cancel_order,
    "process_webhook": process_webhook,
    "process_received_webhooks": process_received_webhooks,
    "sweep": lambda rt, _arg: sweep(rt),
}

_process_runtime: Runtime | None = None


def current_runtime() -> Runtime:
    """The runtime of this process; a forking worker builds it once, before forking."""
    global _process_runtime
    if _process_runtime is None:
        from connector.bootstrap import build_runtime

        rt = build_runtime()
        engine = rt.engine
        # A forked job must not reuse the parent's database connections (SQLAlchemy's pooling-and-fork rule).
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
        _process_runtime = rt
    return _process_runtime


def run_job(name: str, arg: int, runtime: Runtime | None = None) -> str:
    """Run one job by name; the RQ entry point (``connector.jobs.run_job``)."""
    rt = runtime or current_runtime()
    result = JOBS[name](rt, arg)
    return str(result)
