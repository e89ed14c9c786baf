"""A declarative column mapping: one POS report layout as data, and the one parser that reads them all.

POS systems export frequent-buyer redemptions as flat CSV files whose columns differ only in
names, order, delimiter, date format and how a row says "purchase" or "free good". A
``ColumnMapping`` states those differences; ``parse`` turns a file into a ``ParsedReport`` of
cards. Adding a POS system is therefore a new mapping (Python or a JSON file an operator drops
in a folder), never new parser or core code.

The parser is strict because the retailer's credit depends on it: a file whose layout changed
is rejected as a whole, with every problem located by spreadsheet row (header = row 1), column
title, the value found and what was expected, so the retailer can fix the export in one go.
Nothing is returned from a file with any problem. It streams the bytes (hash, decode check,
csv) so a 100,000-row report costs its cards' memory, not several copies of the file.

The JSON form of a mapping (``ColumnMapping.from_json``) is documented in ``docs/pos-formats.md``.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

from connector.core.frequent_buyer.pos_types import (
    ParsedReport,
    PosCard,
    PosCustomer,
    PosFormat,
    PosItem,
    PosReportProblem,
    PosReportRejected,
)
from connector.core.frequent_buyer.units import CANONICAL_UNITS, UnknownUnitError, canonical_unit

#: At most this many problems are kept (the rest are counted and summarised as "and N more").
MAX_PROBLEMS = 200
#: The header is looked for in this many leading rows, to say "delete the rows above it" when it moved down.
HEADER_SEARCH_ROWS = 10
_CHUNK = 1 << 20
_SPOOL_IN_MEMORY = 8 << 20

#: Every target a column can map to: its kind and the longest value the database stores for it.
FIELDS: dict[str, tuple[str, int, str]] = {
    "store_code": ("text", 50, "the store number; part of the card key"),
    "card_number": ("text", 100, "the card/redemption number; cards are grouped by store + this"),
    "redeemed_on": ("date", 0, "the date the free good was given (one per card)"),
    "customer_id": ("text", 100, "the POS's internal customer id"),
    "customer_name": ("text", 200, "the customer's name"),
    "phone": ("phone", 20, "the customer's phone; kept as digits only"),
    "email": ("email", 320, "the customer's email; kept lower-cased"),
    "program": ("text", 100, "the program as the POS names it (matched to Program.code)"),
    "line_type": ("kind", 50, "says whether the row is a purchase or a free good"),
    "purchased_on": ("date", 0, "the date of this row's purchase (or free good)"),
    "sku": ("text", 100, "the item's SKU"),
    "upc": ("upc", 20, "the item's UPC/EAN/GTIN (8 to 14 digits)"),
    "description": ("text", 300, "the item's description"),
    "size": ("size", 0, "the item's size with its unit ('28 LB'), or the number alone with a size_unit column"),
    "size_unit": ("text", 20, "the unit of the size column, when the POS prints it separately"),
    "quantity": ("quantity", 0, "how many of the item (a whole number)"),
    "brand": ("text", 100, "the item's brand"),
}
#: Fields a mapping must have, and whose cells may never be empty.
_MANDATORY_FIELDS = ("card_number", "sku", "quantity")
_CUSTOMER_ID_FIELDS = ("customer_id", "phone", "email")
#: The longest cell each field is read from. Free text and kinds: the column the database stores them in.
#: Converted fields: generous for any real value, and checked before any pattern sees the cell, so an
#: over-long cell costs one ``len`` (a report is user input; no cell may keep a worker busy).
CELL_LIMITS: dict[str, int] = {
    **{name: limit for name, (kind, limit, _) in FIELDS.items() if kind in ("text", "kind", "email")},
    "redeemed_on": 40,
    "purchased_on": 40,
    "phone": 40,
    "upc": 40,
    "size": 40,
    "quantity": 20,
}
#: A size cell, with its unit cell appended when the POS prints the unit separately.
_SIZE_TEXT_LIMIT = CELL_LIMITS["size"] + 1 + CELL_LIMITS["size_unit"]
#: The order ``_Parser._read_body`` unpacks a row's cells in.
_ROW_FIELDS = (
    "store_code",
    "card_number",
    "redeemed_on",
    "customer_id",
    "customer_name",
    "phone",
    "email",
    "program",
    "line_type",
    "purchased_on",
    "sku",
    "upc",
    "description",
    "size",
    "size_unit",
    "quantity",
    "brand",
)

#: Canonical size units and the spellings POS systems print for them (lower-case, spaces collapsed).

_FORMAT_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,49}")
#: Every pattern below runs in time linear in its input: no two parts of one can match the same characters
#: (the old ``\s*-?\s*`` and ``[^@]+\.[^@]+`` could split a long run many ways and were quadratic).
_SIZE = re.compile(r"(\d{1,7}(?:[.,]\d{1,3})?|[.,]\d{1,3})(?:\s*-)?\s*(\S(?:.{0,18}\S)?)")
_QUANTITY = re.compile(r"([+-]?)(\d{1,5})(?:[.,]0{1,4})?")
_PHONE_ALLOWED = re.compile(r"[0-9 ()+.\-/]+")
_NOT_DIGIT = re.compile(r"[^0-9]")
#: name@domain with a dot inside the domain (not first or last). The domain is its first character, the
#: characters up to its first later dot (which cannot be dots), that dot and the rest: one way to match.
_EMAIL = re.compile(r"[^@\s,;<>\"]+@[^@\s,;<>\"][^@\s,;<>\".]*\.[^@\s,;<>\"]+")
_UPC = re.compile(r"\d{8,14}")
_EXCEL_NUMBER = re.compile(r"\d(?:[.,]\d+)?[eE]\+?\d+")
#: Control characters (not tab, CR or LF) never belong in a report, and PostgreSQL refuses NUL in text.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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
    needed = list(_MANDATORY_FIELDS) + (["line_type"] if m.line_kind.by == "column" else [])
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
    if not any(m.column_for(f) for f in _CUSTOMER_ID_FIELDS):
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


# -- value rules (public: the core and the docs use the same ones) ------------------------------------------


def parse_size(
    text: str, decimal_separator: str = ".", aliases: Mapping[str, str] | None = None
) -> tuple[Decimal, str]:
    """``"28LB"``, ``"12.5 oz"``, ``"6 ct"`` -> ``(Decimal, unit)`` with unit one of ``CANONICAL_UNITS``.

    Raises ``ValueError`` with what was expected, so callers can report it as a problem.
    """
    text = text.strip()
    m = _SIZE.fullmatch(text) if len(text) <= _SIZE_TEXT_LIMIT else None
    if not m:
        raise ValueError("a size like '28 lb', '12.5 oz' or '6 ct'")
    number, unit_text = m.groups()
    other = "," if decimal_separator == "." else "."
    if other in number:
        raise ValueError(
            f"a size with {decimal_separator!r} as the decimal separator, like '12{decimal_separator}5 oz'"
        )
    value = Decimal(number.replace(",", "."))
    if value <= 0:
        raise ValueError("a size greater than zero")
    key = " ".join(unit_text.lower().split())
    unit = (aliases or {}).get(key)
    if unit is None:
        try:
            unit = canonical_unit(key)
        except UnknownUnitError:
            raise ValueError(
                f"a size unit of {', '.join(CANONICAL_UNITS)} (or a spelling of them, like 'lbs' or 'count')"
            ) from None
    return value, unit


def normalise_phone(text: str, country_code: str | None = "1") -> str:
    """Digits only, without the country code of an 11-digit NANP-style number; ``ValueError`` if not a phone."""
    if len(text) > CELL_LIMITS["phone"]:
        raise ValueError(f"a phone number of at most {CELL_LIMITS['phone']} characters")
    if not _PHONE_ALLOWED.fullmatch(text):
        raise ValueError("a phone number of digits, spaces, '+', '-', '.', '/' and parentheses only")
    digits = _NOT_DIGIT.sub("", text)
    if country_code and len(digits) == 10 + len(country_code) and digits.startswith(country_code):
        digits = digits[len(country_code) :]
    if not 7 <= len(digits) <= 15:
        raise ValueError("a phone number with 7 to 15 digits")
    return digits


def normalise_email(text: str) -> str:
    """Lower-cased; ``ValueError`` unless it looks like one address (at most 320 characters, checked first)."""
    if len(text) > CELL_LIMITS["email"] or not _EMAIL.fullmatch(text):
        raise ValueError("one email address like name@example.com")
    return text.lower()


# -- reading the bytes ------------------------------------------------------------------------------------


def _encoding_label(encoding: str) -> str:
    name = codecs.lookup(encoding).name
    return {
        "utf-8-sig": "UTF-8 (with or without a byte-order mark)",
        "utf-8": "UTF-8",
        "cp1252": "Windows-1252",
        "iso8859-1": "Latin-1",
    }.get(name, encoding)


@dataclass
class _Source:
    """The file, positioned at its start, with facts gathered in the one pass that hashed it."""

    stream: IO[bytes]
    start: int
    sha256: str
    head: bytes
    decodes: dict[str, bool]
    #: Whether any control byte occurs at all; only then are cells checked one by one.
    has_control: bool = False
    spool: IO[bytes] | None = None

    def rewind(self) -> IO[bytes]:
        self.stream.seek(self.start)
        return self.stream


def _seekable(stream: IO[bytes]) -> bool:
    try:
        return bool(stream.seekable()) and hasattr(stream, "readable") and stream.readable()
    except (AttributeError, OSError, ValueError):
        return False


def _prepare(stream: IO[bytes], encodings: Iterable[str]) -> _Source:
    """Hash the bytes and check each declared encoding in one chunked pass (spooling a non-seekable stream)."""
    digest = hashlib.sha256()
    decoders = {enc: codecs.getincrementaldecoder(enc)("strict") for enc in encodings}
    ok = dict.fromkeys(decoders, True)
    spool: IO[bytes] | None = None
    if _seekable(stream):
        source, start = stream, stream.tell()
    else:
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115 - closed by the caller
        source, start = spool, 0
    head = b""
    has_control = False
    while chunk := stream.read(_CHUNK):
        has_control = has_control or _CONTROL_BYTES.search(chunk) is not None
        if not head:
            head = chunk[:8]
        digest.update(chunk)
        if spool is not None:
            spool.write(chunk)
        for enc, dec in decoders.items():
            if ok[enc]:
                try:
                    dec.decode(chunk)
                except UnicodeDecodeError:
                    ok[enc] = False
    for enc, dec in decoders.items():
        if ok[enc]:
            try:
                dec.decode(b"", True)
            except UnicodeDecodeError:
                ok[enc] = False
    return _Source(source, start, digest.hexdigest(), head, ok, has_control, spool)


def _sniff(head: bytes) -> str | None:
    """Name what the file is when it is obviously not CSV text, because that is the whole fix."""
    if head.startswith(b"PK\x03\x04"):
        return "an Excel workbook (.xlsx) or another zip file"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old Excel workbook (.xls)"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16 text (Excel's 'Unicode Text')"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    return None


# -- the parser -------------------------------------------------------------------------------------------


class _Problems:
    """Keeps the first ``MAX_PROBLEMS`` problems and counts the rest."""

    def __init__(self) -> None:
        self.kept: list[PosReportProblem] = []
        self.count = 0

    def add(self, row: int, column: str, value: str, expected: str) -> None:
        self.count += 1
        if len(self.kept) < MAX_PROBLEMS:
            self.kept.append(PosReportProblem(row, column, value, expected))


class _Card:
    __slots__ = ("store", "number", "first_row", "head", "rows", "purchases", "free", "broken")

    def __init__(self, store: str | None, number: str, first_row: int, head: tuple[Any, ...] | None) -> None:
        self.store = store
        self.number = number
        self.first_row = first_row
        self.head = head
        self.rows: list[int] = []
        self.purchases: list[PosItem] = []
        self.free: list[PosItem] = []
        self.broken = head is None


_FAILED = object()


def parse(stream: IO[bytes], filename: str, mapping: ColumnMapping) -> ParsedReport:
    """Read one report file into cards, or raise ``PosReportRejected`` with every problem found.

    The stream is read from its current position and left open (the caller owns it).
    """
    return _Parser(mapping, filename).run(stream)


class _Parser:
    def __init__(self, mapping: ColumnMapping, filename: str) -> None:
        self.m = mapping
        self.filename = filename
        self.problems = _Problems()
        self.header_problem = False
        #: The csv reader gave up part-way: cards may be cut short, so card-level checks would only add noise.
        self.truncated = False
        self.titles = mapping.header
        self.cards: dict[tuple[str | None, str], _Card] = {}
        self.row_count = 0
        self._dates: dict[str, Any] = {}
        self._sizes: dict[str, Any] = {}
        self._quantities: dict[str, Any] = {}
        self._phones: dict[str, Any] = {}
        self._emails: dict[str, Any] = {}
        self._strings: dict[str, str] = {}
        kind = mapping.line_kind
        self._kinds = {v.strip().upper(): False for v in kind.purchase} | {v.strip().upper(): True for v in kind.free}
        self._aliases = {" ".join(k.lower().split()): v for k, v in mapping.size_units.items()}
        self._title = {name: (col.title if (col := mapping.column_for(name)) else name) for name in FIELDS}
        self._ix: dict[str, int] = {}
        self._check_control = False

    # -- driver -------------------------------------------------------------------------------------------

    def run(self, stream: IO[bytes]) -> ParsedReport:
        source = _prepare(stream, self.m.encodings)
        try:
            what = _sniff(source.head)
            if what and what.startswith("UTF-16") and any("16" in codecs.lookup(e).name for e in self.m.encodings):
                what = None  # this format is UTF-16: the byte-order mark is expected
            if what:
                self.problems.add(1, "(file)", what, f"a CSV text file in {_encoding_label(self.m.encodings[0])}")
                self._reject()
            encoding = next((enc for enc in self.m.encodings if source.decodes[enc]), None)
            if encoding is None:
                encoding = self.m.encodings[0]
                self._locate_decode_errors(source.rewind(), encoding)
            self._check_control = source.has_control
            self._read_rows(source.rewind(), encoding, strict=source.decodes[encoding])
        finally:
            if source.spool is not None:
                source.spool.close()
        cards = self._finish_cards()
        if self.problems.count:
            self._reject()
        return ParsedReport(format=self.m.name, sha256=source.sha256, row_count=self.row_count, cards=cards)

    def _reject(self) -> None:
        p = self.problems
        kept = sorted(p.kept, key=lambda x: x.row)
        more = p.count - len(kept)
        msg = (
            f"{self.filename!r} was not imported as a {self.m.name} report ({self.m.description}): "
            f"{p.count} problem{'s' if p.count != 1 else ''} found, nothing was imported. First: {kept[0].describe()}."
        )
        if more:
            msg += f" Listing the first {len(kept)}; and {more} more."
        if self.header_problem:
            msg += f" The header row (row 1) must be exactly: {self.m.delimiter.join(self.titles)}"
        raise PosReportRejected(msg, kept)

    def _read_rows(self, raw: IO[bytes], encoding: str, strict: bool) -> None:
        text = io.TextIOWrapper(raw, encoding=encoding, errors="strict" if strict else "replace", newline="")
        try:
            reader = csv.reader(text, delimiter=self.m.delimiter, quotechar=self.m.quotechar)
            rows = self._numbered(reader)
            present = self._read_header(rows)
            if present is None:
                return
            self._read_body(rows, present, lenient=not strict)
        finally:
            text.detach()  # the caller's stream stays open

    def _numbered(self, reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
        """Rows with their spreadsheet numbers; a row the csv module cannot read ends the file with a problem."""
        number = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                self.truncated = True
                self.problems.add(
                    number + 1,
                    "(row)",
                    str(exc)[:200],
                    "a readable CSV row (a quote character without its closing quote makes the rest of the file "
                    "one cell)",
                )
                return
            number += 1
            yield number, cells

    # -- header -------------------------------------------------------------------------------------------

    def _match(self, cells: list[str]) -> list[Column] | None:
        """The columns present, in file order, when ``cells`` is the header (optional ones may be absent)."""
        got = [c.strip() for c in cells]
        present: list[Column] = []
        for col in self.m.columns:
            if len(present) < len(got) and got[len(present)] == col.title:
                present.append(col)
            elif not col.optional:
                return None
        return present if len(present) == len(got) else None

    def _read_header(self, rows: Iterator[tuple[int, list[str]]]) -> list[Column] | None:
        peeked: list[tuple[int, list[str]]] = []
        for number, cells in rows:
            peeked.append((number, cells))
            present = self._match(cells)
            if present is not None:
                if number > 1:
                    self.header_problem = True
                    self.problems.add(
                        1,
                        "(row)",
                        self._row_text(peeked[0][1]),
                        f"the header row as row 1; it was found on row {number}: delete the "
                        f"{number - 1} row{'s' if number > 2 else ''} above it",
                    )
                return present
            if len(peeked) >= HEADER_SEARCH_ROWS:
                break
        self.header_problem = True
        if not peeked:
            self.problems.add(1, "(header)", "", "the header row; the file is empty")
            return None
        # Explain against the row that looks most like the header, so a title row on top is not blamed for all.
        known = set(self.titles)
        best_number, best = max(peeked, key=lambda p: (sum(c.strip() in known for c in p[1]), -p[0]))
        if best_number > 1:
            self.problems.add(
                1,
                "(row)",
                self._row_text(peeked[0][1]),
                f"the header row as row 1; row {best_number} looks like the header: delete the rows above it",
            )
        self._explain_header([c.strip() for c in best], best_number)
        return None

    def _row_text(self, cells: list[str]) -> str:
        """A row as the user would recognise it: its cells joined, without the trailing empty ones."""
        return self.m.delimiter.join(c.strip() for c in cells).rstrip(self.m.delimiter)[:100]

    def _explain_header(self, got: list[str], row: int) -> None:
        """Say which columns are missing, unexpected, renamed or out of order."""
        cols = self.m.columns
        known = {c.title for c in cols}
        present = set(got)
        missing = [i for i, c in enumerate(cols) if c.title not in present and not c.optional]
        seen: set[str] = set()
        unexpected = []
        for i, title in enumerate(got):
            if title not in known or title in seen:
                unexpected.append(i)
            seen.add(title)
        if missing and len(missing) == len(unexpected):
            for ci, gi in zip(missing, unexpected, strict=True):
                self.problems.add(
                    row,
                    cols[ci].title,
                    got[gi],
                    f"{cols[ci].title!r} as column {gi + 1}: the column was renamed or replaced",
                )
            return
        for ci in missing:
            before = cols[ci - 1].title if ci > 0 else None
            where = f"after {before!r}" if before else "as the first column"
            self.problems.add(row, cols[ci].title, "", f"a column titled {cols[ci].title!r} {where}: it is missing")
        for gi in unexpected:
            what = "a second column with this title" if got[gi] in known else "a column this format does not have"
            self.problems.add(
                row,
                got[gi] or f"(column {gi + 1})",
                got[gi],
                f"no column {gi + 1} like this ({what}); remove it",
            )
        if not missing and not unexpected:
            expected = [c.title for c in cols if c.title in present]
            for gi, (g, e) in enumerate(zip(got, expected, strict=True)):
                if g != e:
                    self.problems.add(row, e, g, f"{e!r} as column {gi + 1}: the columns were reordered")

    # -- body ---------------------------------------------------------------------------------------------

    def _read_body(self, rows: Iterator[tuple[int, list[str]]], present: list[Column], lenient: bool) -> None:
        """Every data row into its card. The hot loop: one pass, cached conversions, C-level list work.

        ``lenient``: the file did not decode and its undecodable bytes are already reported; rows holding
        them (now U+FFFD) are kept out of their cards so they do not also show up as disagreeing rows.
        """
        width = len(present)
        positions = {col.field: i for i, col in enumerate(present) if col.field}
        required = [(i, col.title) for i, col in enumerate(present) if col.required]
        # Every absent field reads the empty cell appended after the row, so the row code needs no branches.
        ix = {name: positions.get(name, width) for name in FIELDS}
        limited = sorted(
            ((CELL_LIMITS[col.field], i, col.title) for i, col in enumerate(present) if col.field in CELL_LIMITS),
        )
        self._ix = ix
        title = self._title
        has_store = "store_code" in positions
        by_sign = self.m.line_kind.by == "quantity_sign"
        required_ok = itemgetter(*[i for i, _ in required]) if required else None
        cells_of = itemgetter(*(ix[name] for name in _ROW_FIELDS))
        header_hint = f"{width} cells, one per header column"
        problems, cards, strings, kinds = self.problems, self.cards, self._strings, self._kinds
        dates, quantities, sizes = self._dates, self._quantities, self._sizes
        phones, emails = self._phones, self._emails
        strip = str.strip
        for r, raw in rows:
            if len(raw) != width:
                if not raw or not any(map(strip, raw)):
                    continue  # a blank line or an empty spreadsheet row carries nothing
                if len(raw) > width:
                    hint = "; a value containing the delimiter must be in quotes"
                elif any("\n" in cell for cell in raw):
                    hint = "; a quote character without its closing quote joined it with the rows below"
                else:
                    hint = ""
                problems.add(r, "(row)", f"{len(raw)} cells", header_hint + hint)
                continue
            c = list(map(strip, raw))
            if not any(c):
                continue
            c.append("")
            self.row_count += 1
            before = problems.count
            if self._check_control:
                for i, cell in enumerate(c):
                    if found := _CONTROL.search(cell):
                        problems.add(
                            r,
                            present[i].title,
                            cell.replace(found.group(), f"[0x{ord(found.group()):02X}]"),
                            "text without control characters (a damaged or binary file?)",
                        )
            if required_ok is not None and not all(_as_tuple(required_ok(c))):
                for i, t in required:
                    if not c[i]:
                        problems.add(r, t, "", "a value: this column may not be empty")
            longest = max(map(len, c))
            for limit, i, t in limited:
                if limit >= longest:
                    break
                if len(c[i]) > limit:
                    problems.add(r, t, c[i], f"at most {limit} characters")
                    c[i] = ""  # reported; no conversion or pattern reads it (the row is refused anyway)
            (
                store,
                number,
                redeemed_text,
                customer_id,
                name,
                phone_text,
                email_text,
                program,
                kind_text,
                purchased_text,
                sku,
                upc,
                description,
                size_text,
                unit_text,
                qty_text,
                brand,
            ) = cells_of(c)

            # Conversions: a cache hit is the common case (a file repeats its dates, sizes and customers).
            quantity = quantities.get(qty_text) if qty_text else None
            if quantity is _FAILED or (qty_text and quantity is None):
                quantity = self._quantity(r, qty_text, by_sign)
            is_free: bool | None = None
            if by_sign:
                if quantity is not None:
                    is_free, quantity = quantity < 0, abs(quantity)
            elif kind_text:
                is_free = kinds.get(kind_text.upper())
                if is_free is None:
                    problems.add(r, title["line_type"], kind_text, f"one of {', '.join(self._kind_values())}")
            redeemed_on = dates.get(redeemed_text) if redeemed_text else None
            if redeemed_on is _FAILED or (redeemed_text and redeemed_on is None):
                redeemed_on = self._date(r, redeemed_text, title["redeemed_on"])
            purchased_on = dates.get(purchased_text) if purchased_text else None
            if purchased_on is _FAILED or (purchased_text and purchased_on is None):
                purchased_on = self._date(r, purchased_text, title["purchased_on"])
            size = None
            if size_text:
                if unit_text:
                    size_text = f"{size_text} {unit_text}"
                size = sizes.get(size_text)
                if size is None or isinstance(size, str):
                    size = self._size(r, size_text)
            phone = phones.get(phone_text) if phone_text else None
            if phone_text and not isinstance(phone, str):
                phone = self._normalised(r, phone_text, "phone", phones, self._phone)
            email = emails.get(email_text) if email_text else None
            if email_text and not isinstance(email, str):
                email = self._normalised(r, email_text, "email", emails, normalise_email)
            if upc and not _UPC.fullmatch(upc):
                hint = (
                    " (a spreadsheet turned it into a number: format the column as text)"
                    if _EXCEL_NUMBER.fullmatch(upc)
                    else ""
                )
                problems.add(r, title["upc"], upc, f"8 to 14 digits{hint}")

            if not number:
                continue
            ok = problems.count == before and not (lenient and any("\ufffd" in cell for cell in c))
            key = (store if has_store else None, number)
            head = (redeemed_on, program, customer_id, name, phone, email)
            card = cards.get(key)
            if card is None:
                card = cards[key] = _Card(key[0], number, r, head if ok else None)
            elif ok and card.head is not None and head != card.head:
                self._explain_head(r, card, head, c)
                ok = False
            card.rows.append(r)
            if not ok or card.head is None:
                card.broken = True
                continue
            item = PosItem(
                sku=strings.setdefault(sku, sku),
                description=strings.setdefault(description, description),
                quantity=quantity,  # type: ignore[arg-type]  # set: the cell is required and converted
                upc=strings.setdefault(upc, upc) if upc else None,
                size_value=size[0] if size else None,
                size_unit=size[1] if size else None,
                brand=strings.setdefault(brand, brand) if brand else None,
                purchased_on=purchased_on,  # type: ignore[arg-type]
                row=r,
            )
            (card.free if is_free else card.purchases).append(item)

    def _kind_values(self) -> list[str]:
        return [*self.m.line_kind.purchase, *self.m.line_kind.free]

    def _explain_head(self, r: int, card: _Card, head: tuple[Any, ...], c: list[str]) -> None:
        names = ("redeemed_on", "program", "customer_id", "customer_name", "phone", "email")
        for name, mine, theirs in zip(names, head, card.head or (), strict=True):
            if mine != theirs:
                shown = c[self._ix[name]]
                first = "(empty)" if theirs in (None, "") else str(theirs)
                self.problems.add(
                    r,
                    self._title[name],
                    shown,
                    f"{first!r} as on row {card.first_row}: every row of card {self._key(card)} must repeat "
                    f"the same {self._title[name]}",
                )

    def _key(self, card: _Card) -> str:
        return f"{card.store}:{card.number}" if card.store is not None else card.number

    # -- cells --------------------------------------------------------------------------------------------

    def _date(self, r: int, text: str, column: str) -> date | None:
        if not text:
            return None
        found = self._dates.get(text)
        if found is None:
            found = _FAILED
            for fmt in self.m.date_formats:
                try:
                    found = datetime.strptime(text, fmt).date()
                    break
                except ValueError:
                    continue
            self._dates[text] = found
        if found is _FAILED:
            shown = " or ".join(_date_example(f) for f in self.m.date_formats)
            self.problems.add(r, column, text, f"a date like {shown}")
            return None
        return found  # type: ignore[return-value]

    def _quantity(self, r: int, text: str, signed: bool) -> int | None:
        found = self._quantities.get(text)
        if found is None:
            m = _QUANTITY.fullmatch(text)
            found = int(m.group(1) + m.group(2)) if m else _FAILED
            if found is not _FAILED and (found == 0 or (found < 0 and not signed)):  # type: ignore[operator]
                found = _FAILED
            self._quantities[text] = found
        if found is _FAILED:
            if signed:
                expected = "a whole number: positive for a purchase, negative for a free good, never 0"
            else:
                expected = "a whole number from 1 to 99999"
            self.problems.add(r, self._title["quantity"], text, expected)
            return None
        return found  # type: ignore[return-value]

    def _size(self, r: int, text: str) -> tuple[Decimal, str] | None:
        found = self._sizes.get(text)
        if found is None:
            try:
                found = parse_size(text, self.m.decimal_separator, self._aliases)
            except ValueError as exc:
                found = str(exc)
            self._sizes[text] = found
        if isinstance(found, str):
            self.problems.add(r, self._title["size"], text, found)
            return None
        return found

    def _phone(self, text: str) -> str:
        return normalise_phone(text, self.m.phone_country_code)

    def _normalised(self, r: int, text: str, name: str, cache: dict[str, Any], fn: Any) -> str | None:
        if not text:
            return None
        found = cache.get(text)
        if found is None:
            try:
                found = fn(text)
            except ValueError as exc:
                found = ValueError(str(exc))
            cache[text] = found
        if isinstance(found, ValueError):
            self.problems.add(r, self._title[name], text, str(found))
            return None
        return found

    # -- cards --------------------------------------------------------------------------------------------

    def _finish_cards(self) -> tuple[PosCard, ...]:
        m = self.m
        kind_col = self._title.get("line_type") if m.line_kind.by == "column" else self._title.get("quantity")
        has_redeemed = m.column_for("redeemed_on") is not None
        id_titles = " or ".join(c.title for f in _CUSTOMER_ID_FIELDS if (c := m.column_for(f)))
        out: list[PosCard] = []
        if self.truncated:
            return ()
        for card in self.cards.values():
            if card.broken or card.head is None:
                continue
            key = self._key(card)
            rows = _rows_text(card.rows)
            bad = False
            if not card.free:
                free_says = "a negative quantity" if m.line_kind.by == "quantity_sign" else "/".join(m.line_kind.free)
                self.problems.add(
                    card.first_row,
                    kind_col or "",
                    "",
                    f"a free-good row ({free_says}) for card {key} ({rows}): a card without one is not a redemption",
                )
                bad = True
            if not card.purchases:
                self.problems.add(
                    card.first_row, kind_col or "", "", f"purchase rows for card {key} ({rows}): it has none"
                )
                bad = True
            redeemed_on, _program, customer_id, name, phone, email = card.head
            if not (customer_id or phone or email):
                self.problems.add(
                    card.first_row, id_titles, "", f"a {id_titles} for the customer of card {key} (at least one)"
                )
                bad = True
            if not has_redeemed and card.free:
                dates = {i.purchased_on for i in card.free}
                if len(dates) > 1:
                    self.problems.add(
                        card.free[1].row,
                        self._title["purchased_on"],
                        card.free[1].purchased_on.strftime(m.date_formats[0]),  # type: ignore[union-attr]
                        f"the same date on every free-good row of card {key} (it is the redemption date)",
                    )
                    bad = True
                redeemed_on = card.free[0].purchased_on
            if redeemed_on is None and not bad:
                column = self._title["redeemed_on" if has_redeemed else "purchased_on"]
                self.problems.add(card.first_row, column, "", f"the redemption date of card {key}")
                bad = True
            if bad or self.problems.count:
                continue  # the report is rejected anyway: build nothing more
            out.append(
                PosCard(
                    key=key,
                    redeemed_on=redeemed_on,
                    customer=PosCustomer(name=name, phone=phone, email=email, internal_id=customer_id or None),
                    purchases=tuple(card.purchases),
                    free_goods=tuple(card.free),
                    store_code=card.store,
                    program_code=_program or None,
                    rows=tuple(card.rows),
                )
            )
        return tuple(out)

    # -- encoding -----------------------------------------------------------------------------------------

    def _locate_decode_errors(self, raw: IO[bytes], encoding: str) -> None:
        """Report every undecodable byte: its row, column, byte offset and what it reads as in Windows-1252."""
        label = _encoding_label(encoding)
        if codecs.lookup(encoding).name == "utf-8-sig":
            encoding = "utf-8"  # the same bytes; positions then count the byte-order mark too
        dec = codecs.getincrementaldecoder(encoding)("strict")
        carry, base, line, tail = b"", 0, 1, b""
        eof = False
        while not eof:
            chunk = raw.read(_CHUNK)
            eof = not chunk
            data = carry + chunk
            pos = counted = 0
            while True:
                try:
                    dec.decode(data[pos:], eof)
                    pending = b"" if eof else dec.getstate()[0]
                    end = len(data) - len(pending)
                    dec.reset()  # the pending bytes are fed again, as ``carry``, with the next chunk
                    break
                except UnicodeDecodeError as exc:
                    bad = pos + exc.start
                    line += data.count(b"\n", counted, bad)
                    counted = bad
                    start = data.rfind(b"\n", 0, bad)
                    prefix = data[start + 1 : bad] if start >= 0 else tail + data[:bad]
                    self._decode_problem(line, prefix, data[bad : pos + exc.end], base + bad, encoding, label)
                    dec.reset()
                    pos += exc.end
            line += data.count(b"\n", counted, end)
            start = data.rfind(b"\n", 0, end)
            tail = data[start + 1 : end] if start >= 0 else (tail + data[:end])[: 64 * 1024]
            carry, base = data[end:], base + end

    def _decode_problem(self, line: int, prefix: bytes, bad: bytes, offset: int, encoding: str, label: str) -> None:
        text = prefix.decode(encoding, "replace").replace("\r", " ")
        try:
            fields = next(csv.reader([text], delimiter=self.m.delimiter, quotechar=self.m.quotechar), []) or [""]
        except csv.Error:
            fields = [""]
        index = len(fields) - 1
        if line == 1:
            column = "(header)"
        else:
            column = self.titles[index] if index < len(self.titles) else f"(column {index + 1})"
        shown = "".join(f"[0x{b:02X}]" for b in bad[:4])
        as_cp1252 = bad.decode("cp1252", "replace")
        hint = (
            f"; {shown} reads {as_cp1252!r} in Windows-1252, so the file was probably saved as Windows-1252/ANSI: "
            "export or save it as CSV UTF-8"
            if "\ufffd" not in as_cp1252 and label.startswith("UTF-8")
            else ""
        )
        self.problems.add(line, column, f"{fields[-1][-20:]}{shown} at byte offset {offset}", f"text in {label}{hint}")


def _as_tuple(value: Any) -> tuple[Any, ...]:
    """``itemgetter`` with one index returns the item, not a 1-tuple."""
    return value if isinstance(value, tuple) else (value,)


def _date_example(fmt: str) -> str:
    return f"{date(2024, 11, 23).strftime(fmt)!r} ({fmt})"


def _rows_text(rows: list[int]) -> str:
    if len(rows) == 1:
        return f"row {rows[0]}"
    if rows == list(range(rows[0], rows[-1] + 1)):
        return f"rows {rows[0]}-{rows[-1]}"
    shown = ", ".join(map(str, rows[:6]))
    return f"rows {shown}{', ...' if len(rows) > 6 else ''}"
