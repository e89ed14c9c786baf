"""Engine and session construction; sessions are always passed, never global."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, Result, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from connector.core.credentials import Keyring, attach_keyring


def normalise_url(url: str) -> str:
    """Accept Heroku-style ``postgres://`` URLs and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, *, keyring: Keyring | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url``; ``keyring`` opens its encrypted credential columns (``core.credentials``).

    Bound values are hidden from SQL logs and error messages (``hide_parameters``): a statement that fails
    before its values are encrypted would otherwise print a credential, and members' personal data with it.
    """
    kwargs.setdefault("hide_parameters", True)
    engine = _make_engine(normalise_url(url), **kwargs)
    attach_keyring(engine, keyring)
    return engine


def _make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets readers run beside a writer; foreign keys are off by default in SQLite.
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
            cur = dbapi_conn.cursor()
            if ":memory:" not in url and url not in {"sqlite://", "sqlite:///"}:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin_immediate(conn: Any) -> None:
            # Take the write lock up front: a read-then-write transaction that upgrades later can fail
            # with "database is locked" at once under concurrency; waiting at BEGIN honours busy_timeout.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def rowcount(result: Result[*tuple[Any, ...]]) -> int:
    """The rows an UPDATE or DELETE matched. ``Session.execute`` is typed as returning a plain ``Result``,
    but a DML statement's result is always a ``CursorResult``, which carries the count."""
    return cast("CursorResult[*tuple[Any, ...]]", result).rowcount
