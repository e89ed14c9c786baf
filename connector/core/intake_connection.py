"""One autocommit PostgreSQL connection per thread for storing webhook deliveries.

Why: a delivery is one INSERT, and Shopify sends them in bursts of hundreds a second. Checking a
connection out of the pool for each one cost a quarter of the route's CPU in process, most of it the
pre-ping round trip, which the INSERT itself would do just as well (docs/performance.md, "Issue 13").
So each thread keeps one connection, in autocommit (a single INSERT is atomic on its own: the row is
committed before the caller answers 200), and only pays for a new one when the old is gone.

A held connection can die (PostgreSQL restarted, a proxy dropped it). The INSERT then fails with a
disconnect, SQLAlchemy marks the connection invalidated, and ``insert_one`` runs the INSERT once more
on a fresh one. Should the first INSERT have been committed before the line dropped, the second meets
the delivery's unique keys and the caller reads it as a duplicate: stored once either way.

Held connections are idle outside any transaction, so they hold no locks. There is at most one per
thread: a thread that meets another engine (tests build one per runtime) gives the old one back first.
A process forked with one (the child inherits the thread's state) never touches the parent's: it is
kept, unused, and the child connects anew.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from sqlalchemy import Connection, Engine, Executable
from sqlalchemy.exc import DBAPIError

_held = threading.local()
#: Connections a forked child inherited: never used or closed here (the parent owns the socket), and
#: kept referenced so that collecting them cannot reset the parent's session through the shared socket.
_inherited: list[Connection] = []


def _connection(engine: Engine) -> Connection:
    conn: Connection | None = getattr(_held, "conn", None)
    if conn is not None:
        if _held.pid != os.getpid():
            _inherited.append(conn)
            conn = None
        elif conn.engine is not engine or conn.closed or conn.invalidated:
            conn.close()  # another engine's, or a dead one: back to its pool (a dead one is discarded there)
            conn = None
    if conn is None:
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        _held.conn, _held.pid = conn, os.getpid()
    return conn


def insert_one(engine: Engine, statement: Executable, values: dict[str, Any]) -> Any:
    """Run ``statement`` (an ``INSERT … RETURNING`` one value) on this thread's connection; return the value."""
    for attempt in (1, 2):
        conn = _connection(engine)
        try:
            return conn.execute(statement, values).scalar_one()
        except DBAPIError as exc:
            if attempt == 2 or not exc.connection_invalidated:
                raise
    raise AssertionError("unreachable")  # pragma: no cover

