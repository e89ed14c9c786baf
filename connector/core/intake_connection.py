"""A few autocommit PostgreSQL connections kept for storing webhook deliveries, never pinged.

Why: a delivery is one INSERT, and Shopify sends them in bursts of hundreds a second. Checking a
connection out of the pool for each one cost a quarter of the route's CPU in process, most of it the
pre-ping round trip, which the INSERT itself does just as well (docs/performance.md, "Issue 13").
So the intake keeps up to ``MAX_IDLE`` connections of its own, in autocommit (a single INSERT is atomic
on its own: the row is committed before the caller answers 200), and a thread takes one for its
INSERT and puts it back. Beyond that many idle, a connection goes back to the engine's pool, so the
rest of the process is never starved of connections.

A kept connection can die (PostgreSQL restarted, a proxy dropped it). The INSERT then fails with a
disconnect, SQLAlchemy marks the connection invalidated, and ``insert_one`` runs the INSERT once more
on a fresh one. Should the first INSERT have been committed before the line dropped, the second meets
the delivery's unique keys and the caller reads it as a duplicate: stored once either way.

Kept connections are idle outside any transaction, so they hold no locks. They belong to one engine:
when another engine stores a delivery (tests build one per runtime), the old engine's are closed. A
forked child never touches its parent's: it keeps them, unused, and connects anew.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from sqlalchemy import Connection, Engine, Executable
from sqlalchemy.exc import DBAPIError

#: Idle connections kept: gunicorn's threads per worker in the Procfile (``--threads 4``).
MAX_IDLE = 4

_lock = threading.Lock()
_engine: Engine | None = None
_pid = os.getpid()
_idle: list[Connection] = []
#: Connections a forked child inherited: never used or closed here (the parent owns the socket), and
#: kept referenced so that collecting them cannot reset the parent's session through the shared socket.
_inherited: list[Connection] = []


def _take(engine: Engine) -> Connection:
    global _engine, _pid
    stale: list[Connection] = []
    with _lock:
        if _pid != os.getpid():
            _inherited.extend(_idle)
            _idle.clear()
            _pid = os.getpid()
        if _engine is not engine:
            stale = list(_idle)
            _idle.clear()
            _engine = engine
        conn = _idle.pop() if _idle else None
    for old in stale:
        old.close()
    return conn if conn is not None else engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def _give_back(engine: Engine, conn: Connection) -> None:
    with _lock:
        if (
            _engine is engine
            and _pid == os.getpid()
            and len(_idle) < MAX_IDLE
            and not conn.closed
            and not conn.invalidated
        ):
            _idle.append(conn)
            return
    conn.close()  # to the engine's pool (an invalidated connection is discarded there)


def insert_one(engine: Engine, statement: Executable, values: dict[str, Any]) -> Any:
    """Run ``statement`` (an ``INSERT … RETURNING`` one value) on a kept connection; return the value."""
    for attempt in (1, 2):
        conn = _take(engine)
        try:
            value = conn.execute(statement, values).scalar_one()
        except DBAPIError as exc:
            _give_back(engine, conn)  # still good after, say, a unique violation; a dead one is closed
            if attempt == 2 or not exc.connection_invalidated:
                raise
            continue
        except BaseException:
            conn.close()
            raise
        _give_back(engine, conn)
        return value
    raise AssertionError("unreachable")  # pragma: no cover
