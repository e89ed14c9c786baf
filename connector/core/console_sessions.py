"""Server-side console sessions: signing out ends a session for good, and no session outlives its lifetime.

A signed cookie alone cannot be taken back: a copy saved before sign-out kept working until it
expired, and each request renewed it. Now the cookie also carries a random session id whose SHA-256
is a ``ConsoleSession`` row; every request needs that row, sign-out deletes it, a password change or
a disabled account deletes all of the user's rows, and a row older than the absolute lifetime no
longer counts, however active its session was.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from connector.core.tables import ConsoleSession


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(s: Session, user_id: int, now: datetime, lifetime: timedelta) -> str:
    """A new session for ``user_id``; returns its id (for the cookie only: it is not stored).

    Sessions past their lifetime are deleted on the way, so the table holds open sessions only.
    """
    s.execute(
        delete(ConsoleSession)
        .where(ConsoleSession.created_at <= now - lifetime)
        .execution_options(synchronize_session=False)
    )
    session_id = secrets.token_urlsafe(32)
    s.add(ConsoleSession(token_hash=_hash(session_id), user_id=user_id, created_at=now))
    s.flush()
    return session_id


def is_open(s: Session, user_id: int, session_id: str, now: datetime, lifetime: timedelta) -> bool:
    """True if ``session_id`` is a session of ``user_id`` that was not ended and is younger than ``lifetime``."""
    created = s.scalar(
        select(ConsoleSession.created_at).where(
            ConsoleSession.token_hash == _hash(session_id), ConsoleSession.user_id == user_id
        )
    )
    return created is not None and now - created < lifetime


def end_session(s: Session, session_id: str) -> None:
    """Sign-out: this session stops working, even from a saved copy of its cookie."""
    s.execute(
        delete(ConsoleSession)
        .where(ConsoleSession.token_hash == _hash(session_id))
        .execution_options(synchronize_session=False)
    )


def end_all_sessions(s: Session, user_id: int) -> None:
    """A password change or a disabled account: every open session of the user ends."""
    s.execute(
        delete(ConsoleSession).where(ConsoleSession.user_id == user_id).execution_options(synchronize_session=False)
    )
