"""Can the database hold this value? Untrusted text and times, checked before they reach a statement.

PostgreSQL refuses text with a NUL, no UTF-8 encoding holds a lone surrogate, and an aware time such as
``0001-01-01T00:00:00+14:00`` is valid ISO 8601 yet has no UTC value. Any of them in a statement is a
``DataError`` or ``OverflowError``: a 500 on a request, or a job that fails on every retry. Webhook
intake refuses a delivery whose identifiers are such values; webhook effects treat them as absent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, String


def text_problem(text: str) -> str | None:
    """Why no stored text can hold or equal ``text`` (to follow "the <what> "), or None when one can."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (a lone surrogate)"
    return None


def declared_length(column: ColumnElement[Any]) -> int | None:
    """The length a text column declares (``String(100)`` → 100; None when unbounded): the longest text it holds.

    SQLAlchemy types ``column.type`` as the generic ``TypeEngine``; every caller passes a ``String`` column.
    """
    return cast(String, column.type).length


def utc_or_none(when: datetime | None) -> datetime | None:
    """``when`` in UTC, or None when it is None or has no UTC value."""
    try:
        return when.astimezone(UTC) if when is not None else None
    except OverflowError:
        return None
