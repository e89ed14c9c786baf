"""Keyset pages over a table's integer id, for the admin lists (shops, users, tokens, audit log).

A cursor is the last id the previous page showed, handed out as a string; clients pass it back as
is. One parser for all of them so every list refuses a bad cursor with the same message, and an id
beyond the 32-bit column range reads as "after everything" instead of failing in the database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from connector.core.errors import ValidationError
from connector.core.runtime import Runtime

#: The largest id an INTEGER column holds: a larger cursor means "past the last row".
LAST_ID = 2**31 - 1

T = TypeVar("T")


def parse_cursor(cursor: str | None) -> int | None:
    """The id a page cursor names, or None for the first page; a malformed one is a ValidationError."""
    if cursor is None or cursor == "":
        return None
    if not cursor.isascii() or not cursor.isdigit() or len(cursor) > 19:
        raise ValidationError("invalid cursor", fields={"cursor": "pass back next_cursor unchanged"})
    return min(int(cursor), LAST_ID)


def id_page(
    rt: Runtime,
    q: Select[*tuple[Any, ...]],
    id_column: InstrumentedAttribute[int],
    view: Callable[[Sequence[Any]], T],
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[T], str | None]:
    """One page of ``q``'s rows in id order after ``cursor``, each turned into ``view(row)``, and the next cursor.

    ``view`` runs while the session is open, so it may read relationships; one row more than ``limit``
    is read to learn whether another page follows.
    """
    after = parse_cursor(cursor)
    q = q.order_by(id_column).limit(limit + 1)
    if after is not None:
        q = q.where(id_column > after)
    with rt.sessions() as s:
        rows = s.execute(q).all()
        items = [view(row) for row in rows[:limit]]
    more = len(rows) > limit
    return items, (str(_id_of(rows[limit - 1])) if more else None)


def _id_of(row: Sequence[Any]) -> int:
    return int(row[0].id)
