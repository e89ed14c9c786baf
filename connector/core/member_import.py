"""Importing members from CSV: strict, helpful, and all or nothing.

A file with one bad row imports nothing and says which row, which column, what
was found and what is expected, so the user fixes the file and runs it again
instead of untangling a half-import.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core import catalog
from connector.core.errors import ValidationError
from connector.core.storable import declared_length
from connector.core.tables import Brand, Member

REQUIRED = ("external_ref", "first_name", "last_name", "email")
OPTIONAL = ("phone", "date_of_birth", "address1", "address2", "city", "province_code", "country_code", "zip", "points")
COLUMNS = REQUIRED + OPTIONAL


def _stored_length(column: str) -> int:
    length = declared_length(Member.__table__.c[column])
    assert length is not None, f"members.{column} must declare a length: the import bounds every cell by it"
    return length


#: The longest value each column may hold: what the database stores, so a file is refused row by row before
#: anything is written (and an over-long cell is never parsed: a 5,000-digit ``points`` cannot become an int).
#: Columns with a check of their own (date, code, number) get a bound that leaves that check's precise message
#: to values of a plausible length.
LIMITS: dict[str, int] = {
    **{c: _stored_length(c) for c in COLUMNS if c not in ("date_of_birth", "points")},
    "date_of_birth": 40,
    "country_code": 40,
    "points": 9,
}


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    points_awarded: int = 0
    errors: list[str] = field(default_factory=list)


def _parse_row(line: int, row: dict[str, str], errors: list[str]) -> dict[str, object] | None:
    values: dict[str, object] = {}
    bad = False
    for column in COLUMNS:
        raw = (row.get(column) or "").strip()
        if column in REQUIRED and not raw:
            errors.append(f"row {line}, column {column!r}: empty; every member needs one")
            bad = True
            continue
        if len(raw) > LIMITS[column]:
            errors.append(f"row {line}, column {column!r}: {len(raw)} characters; at most {LIMITS[column]}")
            bad = True
            continue
        if column == "email" and raw and ("@" not in raw or " " in raw):
            errors.append(f"row {line}, column 'email': {raw!r} is not an email address (like ada@example.com)")
            bad = True
        elif column == "date_of_birth" and raw:
            try:
                values[column] = date.fromisoformat(raw)
            except ValueError:
                errors.append(f"row {line}, column 'date_of_birth': {raw!r} is not a date; use YYYY-MM-DD")
                bad = True
            continue
        elif column == "points" and raw:
            if not raw.isdigit():
                errors.append(f"row {line}, column 'points': {raw!r} is not a whole number of points")
                bad = True
            else:
                values[column] = int(raw)
            continue
        elif column == "country_code" and raw and not (len(raw) == 2 and raw.isalpha()):
            errors.append(f"row {line}, column 'country_code': {raw!r} is not a two-letter ISO code (like CA, US)")
            bad = True
        values[column] = raw.upper() if column in ("country_code", "province_code") and raw else (raw or None)
    return None if bad else values


def import_members(s: Session, brand: Brand, text: str, *, actor: str = "import") -> ImportResult:
    """Create or update members (matched by ``external_ref``) and award any ``points`` column.

    Raises ``ValidationError`` listing every problem, and changes nothing, if any row is wrong.
    """
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown)}")
        raise ValidationError(
            f"header row: {'; '.join(problems)}. Expected columns: {', '.join(COLUMNS)} "
            f"(the first {len(REQUIRED)} required)",
            fields={"header": problems},
        )
    result = ImportResult()
    parsed: list[tuple[int, dict[str, object]]] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(reader, start=2):
        if None in row:
            result.errors.append(f"row {line}: more values than columns (check for an unquoted comma)")
            continue
        values = _parse_row(line, row, result.errors)
        if values is None:
            continue
        ref = str(values["external_ref"])
        if ref in seen:
            result.errors.append(f"row {line}, column 'external_ref': {ref!r} already on row {seen[ref]}")
            continue
        seen[ref] = line
        parsed.append((line, values))
    if result.errors:
        raise ValidationError(
            f"{len(result.errors)} problem(s); nothing was imported. Fix the file and import it again.",
            fields={"rows": result.errors},
        )
    existing = {
        m.external_ref: m
        for m in s.scalars(select(Member).where(Member.brand_id == brand.id, Member.external_ref.in_(list(seen))))
    }
    for _, values in parsed:
        points = values.pop("points", None)
        member = existing.get(str(values["external_ref"]))
        if member is None:
            member = catalog.add_member(s, brand, **values)  # type: ignore[arg-type]
            result.created += 1
        else:
            for key, value in values.items():
                setattr(member, key, value)
            result.updated += 1
        if points:
            catalog.award_points(s, member, int(points), "imported points", actor=actor)  # type: ignore[call-overload]
            result.points_awarded += int(points)  # type: ignore[call-overload]
    s.flush()
    return result
