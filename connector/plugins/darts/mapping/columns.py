"""``ColumnMapping``: one POS report layout as data (Python or an operator's JSON file), checked when built."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from connector.core.frequent_buyer.pos_types import PosFormat
from connector.core.frequent_buyer.units import CANONICAL_UNITS
from connector.plugins.darts.mapping.fields import CUSTOMER_ID_FIELDS, FIELDS, MANDATORY_FIELDS
from connector.plugins.darts.mapping.parser import parse

_FORMAT_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,49}")


class MappingError(ValueError):
    """A mapping (Python or JSON) is unusable; the message names the file, key and what is wrong.

    Raised when the mapping is built, so an operator's typo stops start-up or the upload with a
    precise reason instead of rejecting every retailer's file for a mysterious one.
    """


@dataclass(frozen=True)
class Column:
    """One column of the header row.

    ``required``: the cell may never be empty. ``optional``: the whole column may be absent from
    the header (only columns declared so; any other difference rejects the file).
    ``field`` is None for a column that must be there but is not read.
    """

    title: str
    field: str | None
    required: bool = True
    optional: bool = False


@dataclass(frozen=True)
class LineKind:
    """How a row says purchase or free good.

    ``by="column"``: the ``line_type`` column holds one of ``purchase`` or ``free`` (case-insensitive).
    ``by="quantity_sign"``: a negative quantity is a free good (its quantity is the absolute value),
    a positive one a purchase.
    """

    by: str = "column"
    purchase: tuple[str, ...] = ("PURCHASE",)
    free: tuple[str, ...] = ("FREE",)


@dataclass(frozen=True)
class ColumnMapping:
    """One POS report layout. See the module docstring and ``docs/pos-formats.md``."""

    name: str
    description: str
    columns: tuple[Column, ...]
    #: Tried in order; the first that decodes the whole file wins. Declare a legacy fallback
    #: (e.g. ``cp1252``) only when the POS really writes it: otherwise a mis-saved file is rejected.
    encodings: tuple[str, ...] = ("utf-8-sig",)
    delimiter: str = ","
    quotechar: str = '"'
    date_formats: tuple[str, ...] = ("%m/%d/%Y",)
    line_kind: LineKind = field(default_factory=LineKind)
    decimal_separator: str = "."
    #: An 11-digit phone starting with this code loses it, so "+1 (555) 010-2000" and "555-010-2000" match.
    phone_country_code: str | None = "1"
    #: Extra size-unit spellings for this POS, mapped to one of ``CANONICAL_UNITS``.
    size_units: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def header(self) -> tuple[str, ...]:
        """The full header row, optional columns included."""
        return tuple(c.title for c in self.columns)

    def column_for(self, field_name: str) -> Column | None:
        return next((c for c in self.columns if c.field == field_name), None)

    def as_pos_format(self) -> PosFormat:
        """The ``PosFormat`` a plugin returns from ``connector_pos_formats``."""
        return PosFormat(self.name, self.description, lambda stream, filename: parse(stream, filename, self))

    # -- JSON -------------------------------------------------------------------------------------

    @classmethod
    def from_json(cls, path: str | Path) -> ColumnMapping:
        """Load a mapping an operator wrote as JSON (schema in ``docs/pos-formats.md``)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MappingError(f"{path}: cannot read the mapping as UTF-8 JSON: {exc}") from exc
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: Any, source: str = "mapping") -> ColumnMapping:
        """Build from the JSON shape, naming ``source`` and the offending key in every error."""
        if not isinstance(data, dict):
            raise MappingError(f"{source}: expected a JSON object, got {type(data).__name__}")
        known = {
            "format",
            "description",
            "columns",
            "encodings",
            "delimiter",
            "quotechar",
            "date_formats",
            "line_kind",
            "decimal_separator",
            "phone_country_code",
            "size_units",
            "comment",
        }
        unknown = sorted(set(data) - known)
        if unknown:
            raise MappingError(f"{source}: unknown key(s) {unknown}; allowed: {sorted(known)}")
        for key in ("format", "description", "columns"):
            if key not in data:
                raise MappingError(f"{source}: missing key {key!r}")
        columns_raw = data["columns"]
        if not isinstance(columns_raw, list) or not columns_raw:
            raise MappingError(f"{source}: 'columns' must be a non-empty list of objects")
        columns = []
        for i, col in enumerate(columns_raw):
            where = f"{source}: columns[{i}]"
            if not isinstance(col, dict):
                raise MappingError(f"{where}: expected an object with 'title' and 'field'")
            extra = sorted(set(col) - {"title", "field", "required", "optional"})
            if extra:
                raise MappingError(f"{where}: unknown key(s) {extra}; allowed: title, field, required, optional")
            title, fld = col.get("title"), col.get("field")
            required, optional = col.get("required", True), col.get("optional", False)
            if not isinstance(title, str):
                raise MappingError(f"{where}: 'title' must be a string")
            if fld is not None and not isinstance(fld, str):
                raise MappingError(f"{where}: 'field' must be a string or null")
            if not isinstance(required, bool) or not isinstance(optional, bool):
                raise MappingError(f"{where}: 'required' and 'optional' must be true or false")
            columns.append(Column(title, fld, required, optional))
        kind_raw = data.get("line_kind", {"by": "column"})
        if not isinstance(kind_raw, dict) or set(kind_raw) - {"by", "purchase", "free"}:
            raise MappingError(
                f"{source}: 'line_kind' must be an object with 'by' and, for by=column, 'purchase'/'free'"
            )
        kind = LineKind(
            by=kind_raw.get("by", "column"),
            purchase=_str_tuple(kind_raw.get("purchase", ["PURCHASE"]), f"{source}: line_kind.purchase"),
            free=_str_tuple(kind_raw.get("free", ["FREE"]), f"{source}: line_kind.free"),
        )
        size_units = data.get("size_units", {})
        if not isinstance(size_units, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in size_units.items()
        ):
            raise MappingError(f'{source}: \'size_units\' must map spellings to units, e.g. {{"lbs.": "lb"}}')
        for key in ("format", "description", "delimiter", "quotechar", "decimal_separator"):
            if key in data and not isinstance(data[key], str):
                raise MappingError(f"{source}: {key!r} must be a string")
        phone_cc = data.get("phone_country_code", "1")
        if phone_cc is not None and not isinstance(phone_cc, str):
            raise MappingError(f"{source}: 'phone_country_code' must be a string of digits or null")
        try:
            return cls(
                name=data["format"],
                description=data["description"],
                columns=tuple(columns),
                encodings=_str_tuple(data.get("encodings", ["utf-8-sig"]), f"{source}: encodings"),
                delimiter=data.get("delimiter", ","),
                quotechar=data.get("quotechar", '"'),
                date_formats=_str_tuple(data.get("date_formats", ["%m/%d/%Y"]), f"{source}: date_formats"),
                line_kind=kind,
                decimal_separator=data.get("decimal_separator", "."),
                phone_country_code=phone_cc,
                size_units=dict(size_units),
            )
        except MappingError as exc:
            raise MappingError(f"{source}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape ``from_dict`` reads, so a Python mapping can be exported as a template."""
        kind: dict[str, Any] = {"by": self.line_kind.by}
        if self.line_kind.by == "column":
            kind |= {"purchase": list(self.line_kind.purchase), "free": list(self.line_kind.free)}
        return {
            "format": self.name,
            "description": self.description,
            "encodings": list(self.encodings),
            "delimiter": self.delimiter,
            "quotechar": self.quotechar,
            "date_formats": list(self.date_formats),
            "decimal_separator": self.decimal_separator,
            "phone_country_code": self.phone_country_code,
            "line_kind": kind,
            "size_units": dict(self.size_units),
            "columns": [
                {"title": c.title, "field": c.field, "required": c.required, "optional": c.optional}
                for c in self.columns
            ],
        }


def _str_tuple(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise MappingError(f"{where}: expected a non-empty list of strings")
    return tuple(value)


def _validate(m: ColumnMapping) -> None:
    """Refuse a mapping that could never read a file correctly, saying exactly why."""

    def fail(msg: str) -> None:
        raise MappingError(f"format {m.name!r}: {msg}")

    if not isinstance(m.name, str) or not _FORMAT_NAME.fullmatch(m.name):
        raise MappingError(f"format name {m.name!r}: use 1-50 lower-case letters, digits, '.', '_' or '-'")
    if not m.description.strip():
        fail("description is empty")
    if not m.columns:
        fail("no columns")
    titles = [c.title for c in m.columns]
    for c in m.columns:
        if not c.title.strip() or c.title != c.title.strip():
            fail(f"column title {c.title!r} is empty or has surrounding spaces")
        if c.field is not None and c.field not in FIELDS:
            fail(f"column {c.title!r}: unknown field {c.field!r}; fields are {', '.join(FIELDS)}")
    dupes = sorted({t for t in titles if titles.count(t) > 1})
    if dupes:
        fail(f"column titles must be unique; repeated: {dupes}")
    mapped = [c.field for c in m.columns if c.field]
    twice = sorted({f for f in mapped if mapped.count(f) > 1})
    if twice:
        fail(f"each field may be mapped once; mapped more than once: {twice}")
    needed = list(MANDATORY_FIELDS) + (["line_type"] if m.line_kind.by == "column" else [])
    for name in needed:
        col = m.column_for(name)
        if col is None:
            fail(f"no column maps to the mandatory field {name!r}")
        elif col.optional or not col.required:
            fail(f"column {col.title!r} ({name}) must be required and not optional")
    if m.column_for("redeemed_on") is None and m.column_for("purchased_on") is None:
        fail("map 'redeemed_on', or 'purchased_on' (the free-good row's date is then the redemption date)")
    for name in ("redeemed_on", "purchased_on", "store_code", "program"):
        col = m.column_for(name)
        if col is not None and col.optional:
            fail(f"column {col.title!r} ({name}) may not be optional: cards are grouped and checked by it")
    if not any(m.column_for(f) for f in CUSTOMER_ID_FIELDS):
        fail("map at least one customer identifier: customer_id, phone or email")
    if m.column_for("size_unit") is not None and m.column_for("size") is None:
        fail("a size_unit column needs a size column")
    if not m.encodings:
        fail("no encodings")
    for enc in m.encodings:
        try:
            codecs.lookup(enc)
        except LookupError:
            fail(f"unknown encoding {enc!r}")
    if len(m.delimiter) != 1 or m.delimiter in "\r\n" or m.delimiter == m.quotechar:
        fail(f"delimiter {m.delimiter!r} must be one character, not a newline or the quote character")
    if len(m.quotechar) != 1 or m.quotechar in "\r\n":
        fail(f"quotechar {m.quotechar!r} must be one character")
    if not m.date_formats:
        fail("no date_formats")
    probe = date(2024, 11, 23)
    for fmt in m.date_formats:
        try:
            ok = datetime.strptime(probe.strftime(fmt), fmt).date() == probe
        except ValueError:
            ok = False
        if not ok:
            fail(f"date format {fmt!r} does not round-trip a date (it needs day, month and year)")
    if m.line_kind.by not in ("column", "quantity_sign"):
        fail(f"line_kind.by is {m.line_kind.by!r}; use 'column' or 'quantity_sign'")
    if m.line_kind.by == "column":
        purchase = {v.strip().upper() for v in m.line_kind.purchase}
        free = {v.strip().upper() for v in m.line_kind.free}
        if not purchase or not free or "" in purchase | free or purchase & free:
            fail("line_kind purchase and free values must be non-empty and distinct")
    if m.decimal_separator not in (".", ","):
        fail(f"decimal_separator must be '.' or ',', not {m.decimal_separator!r}")
    if m.phone_country_code is not None and not re.fullmatch(r"\d{1,3}", m.phone_country_code):
        fail(f"phone_country_code {m.phone_country_code!r} must be 1-3 digits or null")
    for alias, unit in m.size_units.items():
        if unit not in CANONICAL_UNITS:
            fail(f"size_units maps {alias!r} to {unit!r}; the units are {', '.join(CANONICAL_UNITS)}")


def load_mappings(directory: str | Path) -> list[ColumnMapping]:
    """Every ``*.json`` mapping in ``directory``, sorted by file name; a broken one raises ``MappingError``."""
    folder = Path(directory)
    if not folder.is_dir():
        raise MappingError(f"POS mappings directory {str(folder)!r} does not exist or is not a directory")
    return [ColumnMapping.from_json(p) for p in sorted(folder.glob("*.json"))]
