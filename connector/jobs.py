"""The RQ worker's job entry point: builds this process's runtime once, then runs the job by name.

RQ imports ``connector.jobs.run_job`` by dotted path in worker processes (the path is stored with
every queued job, so it stays here); ``current_runtime`` builds the runtime from the environment
once per process. In-process dispatchers run ``connector.core.job_table.run_job`` with the runtime
they already have.
"""

from __future__ import annotations

import os

from connector.bootstrap import build_runtime
from connector.core import job_table
from connector.core.job_table import JOBS
from connector.core.runtime import Runtime

__all__ = ["JOBS", "current_runtime", "run_job"]

_process_runtime: Runtime | None = None


def current_runtime() -> Runtime:
    """The runtime of this process; a forking worker builds it once, before forking."""
    global _process_runtime
    if _process_runtime is None:
        rt = build_runtime()
        engine = rt.engine
        # A forked job must not reuse the parent's database connections (SQLAlchemy's pooling-and-fork rule).
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
        _process_runtime = rt
    return _process_runtime


def run_job(name: str, arg: int, runtime: Runtime | None = None) -> str:
    """Run one job by name; the RQ entry point (``connector.jobs.run_job``)."""
    return job_table.run_job(name, arg, runtime or current_runtime())
