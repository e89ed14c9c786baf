"""What a POS report parser hands the core: cards, not file rows.

Parsers (the ``darts`` plugin, or any column mapping) turn a file into a
``ParsedReport`` or raise ``PosReportRejected`` naming every bad row and column;
the core never sees bytes, headers or encodings, so a new POS system is a new
parser or mapping and never new core code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import IO

from connector.core.errors import ValidationError


@dataclass(frozen=True)
class PosItem:
    """One purchased or free item on a card, as the POS printed it."""

    sku: str
    description: str
    quantity: int
    upc: str | None = None
    size_value: Decimal | None = None
    size_unit: str | None = None
    brand: str | None = None
    purchased_on: date | None = None
    #: The file row (1-based; the header is row 1) this item was read from.
    row: int = 0


@dataclass(frozen=True)
class PosCustomer:
    name: str = ""
    phone: str | None = None  # digits only
    email: str | None = None  # lower-cased
    internal_id: str | None = None


@dataclass(frozen=True)
class PosCard:
    """A completed frequent-buyer card: its purchases and the free good(s) given for it."""

    #: The POS's own identity for this redemption (store + card/redemption number), stable across resubmissions.
    key: str
    redeemed_on: date
    customer: PosCustomer
    purchases: tuple[PosItem, ...]
    free_goods: tuple[PosItem, ...]
    store_code: str | None = None
    #: The program as the POS names it; matched to ``Program.code`` case-insensitively.
    program_code: str | None = None
    rows: tuple[int, ...] = ()


@dataclass(frozen=True)
class ParsedReport:
    format: str
    sha256: str
    row_count: int
    cards: tuple[PosCard, ...]


@dataclass(frozen=True)
class PosReportProblem:
    """Exactly where a file is wrong and what was expected there (POS reports and credit memos alike)."""

    row: int
    column: str
    value: str
    expected: str

    def describe(self) -> str:
        shown = self.value if len(self.value) <= 60 else self.value[:57] + "..."
        return f"row {self.row}, column {self.column!r}: got {shown!r}, expected {self.expected}"


class PosReportRejected(ValidationError):
    """The file cannot be imported as it is; nothing of it was stored."""

    code = "pos_report_rejected"

    def __init__(self, message: str, problems: list[PosReportProblem]) -> None:
        fields = {f"row {p.row}, column {p.column}": f"got {p.value!r}, expected {p.expected}" for p in problems[:200]}
        super().__init__(message, fields=fields)
        self.problems = problems


@dataclass(frozen=True)
class PosFormat:
    """A report format a plugin reads. ``parse`` gets the raw bytes stream and the file name."""

    name: str
    description: str
    parse: Callable[[IO[bytes], str], ParsedReport] = field(repr=False)
