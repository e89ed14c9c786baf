"""Many rows written and looked up in few round trips (COPY and array lookups on PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Table, any_, bindparam, func, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from connector.core.tables import UTCDateTime


def chunks(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


class Bulk:
    """Writes and looks up many rows in few round trips, inside the session's transaction.

    On PostgreSQL rows go in with ``COPY`` (ids drawn from the table's sequence first, when the
    caller needs them) and key lookups bind one array (``= ANY``): a multi-row ``INSERT`` or an
    ``IN`` list of thousands of placeholders costs more in the driver's query parsing than in
    the database. Elsewhere (SQLite) plain Core ``INSERT … RETURNING`` executemany and ``IN``.
    """

    def __init__(self, s: Session) -> None:
        self.s = s
        self.pg = s.get_bind().dialect.name == "postgresql"
        self._sequences: dict[str, str] = {}
        self._stamp: tuple[datetime | None, datetime | None] = (None, None)

    def _naive_utc(self, value: datetime | None) -> datetime | None:
        """What ``UTCDateTime`` stores; the last value is remembered (an import stamps every row with one time)."""
        if value is None:
            return None
        if value is not self._stamp[0]:
            self._stamp = (value, value.astimezone(UTC).replace(tzinfo=None))
        return self._stamp[1]

    def among(self, column: Any, values: Sequence[Any]) -> Any:
        if self.pg:
            return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
        return column.in_(list(values))

    def insert(self, table: Table, rows: list[dict[str, Any]], *, ids: bool = False) -> list[int]:
        """Insert ``rows`` (all with the same keys); with ``ids``, their new primary keys in order."""
        if not rows:
            return []
        if not self.pg:
            if ids:
                stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
                return list(self.s.execute(stmt, rows).scalars())
            self.s.execute(insert(table), rows)
            return []
        new_ids: list[int] = []
        columns = list(rows[0])
        if ids:
            seq = self._sequences.get(table.name)
            if seq is None:
                seq = self._sequences[table.name] = str(
                    self.s.scalar(select(func.pg_get_serial_sequence(table.name, "id")))
                )
            new_ids = list(self.s.scalars(select(func.nextval(seq)).select_from(func.generate_series(1, len(rows)))))
            columns = ["id", *columns]
        converters = []
        for name in columns:
            kind = table.c[name].type
            converters.append(
                _json_text if isinstance(kind, JSON) else self._naive_utc if isinstance(kind, UTCDateTime) else None
            )
        raw = self.s.connection().connection.driver_connection
        assert raw is not None, "an open session connection always has its driver (psycopg) connection"
        copy_sql = f'COPY "{table.name}" ({", ".join(chr(34) + c + chr(34) for c in columns)}) FROM STDIN'
        with raw.cursor() as cur, cur.copy(copy_sql) as copy:
            for n, row in enumerate(rows):
                values = [new_ids[n], *row.values()] if ids else list(row.values())
                copy.write_row([f(v) if f else v for f, v in zip(converters, values, strict=True)])
        return new_ids
