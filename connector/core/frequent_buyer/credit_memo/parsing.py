"""Reading a credit memo CSV (the format is described in the package's docstring): header aliases,
amounts, limits, and every problem reported with its row, column, value and what was expected.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO

from connector.core.errors import ValidationError
from connector.core.frequent_buyer.distribution import CONTROL_CHARS
from connector.core.frequent_buyer.pos_types import PosReportProblem

#: A credit memo is a page or two; a file far larger is not one.
MAX_MEMO_BYTES = 1024 * 1024

#: The largest request body that carries a memo upload: the memo itself plus room for the multipart framing.
MAX_MEMO_UPLOAD_BYTES = MAX_MEMO_BYTES + 16 * 1024

MAX_MEMO_LINES = 10_000

#: Problems reported for one file; more are summarised as a count.
MAX_PROBLEMS = 200

#: Canonical column → accepted header spellings (lower-cased, single spaces).
COLUMNS: dict[str, tuple[str, ...]] = {
    "SKU": ("sku", "item number", "item #"),
    "Description": ("description", "item description"),
    "Qty": ("qty", "quantity"),
    "Amount": ("amount", "credit amount"),
}

REQUIRED = ("SKU", "Qty")

_HEADER_HELP = "a header row like: SKU,Description,Qty,Amount (SKU and Qty are required)"

_AMOUNT_HELP = "an amount like 12.50 ($, thousands commas, and a minus or parentheses for a credit are accepted)"

_PLAIN_AMOUNT = re.compile(r"^\d+(\.\d{1,2})?$")

_GROUPED_AMOUNT = re.compile(r"^\d{1,3}(,\d{3})+(\.\d{1,2})?$")

_WHOLE = re.compile(r"^\d+$")


class CreditMemoRejected(ValidationError):
    """The memo cannot be imported as it is; nothing of it was stored."""

    code = "credit_memo_rejected"

    def __init__(self, filename: str, problems: list[PosReportProblem], more: int = 0) -> None:
        fields = {f"row {p.row}, column {p.column}": f"got {p.value!r}, expected {p.expected}" for p in problems}
        if more:
            fields["more"] = f"{more} more problems not listed; fix these and upload again"
        n = len(problems) + more
        super().__init__(
            f"the credit memo {filename!r} cannot be imported ({n} problem{'s' if n != 1 else ''}; nothing was "
            f"stored): {problems[0].describe()}",
            fields=fields,
        )
        self.problems = problems


@dataclass(frozen=True)
class MemoLine:
    """One data row of a parsed memo."""

    row: int
    sku: str
    description: str
    quantity: int
    amount: Decimal | None


@dataclass(frozen=True)
class ParsedMemo:
    sha256: str
    lines: tuple[MemoLine, ...]


class _Problems:
    def __init__(self) -> None:
        self.items: list[PosReportProblem] = []
        self.more = 0

    def add(self, row: int, column: str, value: str, expected: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(PosReportProblem(row, column, value, expected))
        else:
            self.more += 1

    def raise_if_any(self, filename: str) -> None:
        if self.items:
            raise CreditMemoRejected(filename, self.items, self.more)


def _norm_header(cell: str) -> str:
    return " ".join(cell.strip().lower().split())


def sku_key(sku: str) -> str:
    """SKUs compare case-insensitively, ignoring surrounding spaces."""
    return sku.strip().upper()


def _parse_amount(raw: str) -> Decimal | None:
    text = raw.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    text = text.removeprefix("-").strip().removeprefix("$").strip().removeprefix("-").strip()
    if _GROUPED_AMOUNT.match(text):
        text = text.replace(",", "")
    if not _PLAIN_AMOUNT.match(text):
        return None
    return Decimal(text).quantize(Decimal("0.01"))


def parse_credit_memo(stream: IO[bytes], filename: str) -> ParsedMemo:
    """Read and check the whole memo; raises ``CreditMemoRejected`` naming every bad row and column."""
    raw = stream.read(MAX_MEMO_BYTES + 1)
    problems = _Problems()
    if len(raw) > MAX_MEMO_BYTES:
        problems.add(
            0, "(file)", f"more than {MAX_MEMO_BYTES} bytes", f"a credit memo of at most {MAX_MEMO_BYTES} bytes"
        )
        problems.raise_if_any(filename)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = raw[: exc.start].count(b"\n") + 1
        problems.add(
            row, "(file)", f"byte 0x{raw[exc.start]:02x} at offset {exc.start}", "UTF-8 text (save as CSV UTF-8)"
        )
        problems.raise_if_any(filename)
    if not text.strip():
        problems.add(1, "(header)", "an empty file", _HEADER_HELP)
        problems.raise_if_any(filename)
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[list[str]] = []
    try:
        for record in reader:
            records.append(record)
    except csv.Error as exc:
        problems.add(len(records) + 1, "(file)", str(exc), "well-formed CSV (quotes closed, no NUL bytes)")
        problems.raise_if_any(filename)
    header = records[0]
    columns: dict[str, int] = {}
    for i, heading in enumerate(header):
        name = _norm_header(heading)
        canonical = next((c for c, spellings in COLUMNS.items() if name in spellings), None)
        if canonical is None:
            if not name and all(not c.strip() for c in header[i:]):
                break  # trailing empty header cells, as spreadsheets write them
            problems.add(1, heading or f"(column {i + 1})", heading, "one of the columns SKU, Description, Qty, Amount")
        elif canonical in columns:
            problems.add(
                1, heading, heading, f"the {canonical} column once (it is also column {columns[canonical] + 1})"
            )
        else:
            columns[canonical] = i
    for required in REQUIRED:
        if required not in columns:
            problems.add(1, required, "(missing)", _HEADER_HELP)
    problems.raise_if_any(filename)

    width = max(columns.values()) + 1
    lines: list[MemoLine] = []
    for row, cells in enumerate(records[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) < width or any(c.strip() for c in cells[width:]):
            problems.add(row, "(row)", f"{len(cells)} cells", f"{width} cells, one per header column")
            continue

        def cell(name: str, cells: Sequence[str] = cells) -> str:
            return cells[columns[name]].strip() if name in columns else ""

        for name in columns:
            if CONTROL_CHARS.search(cell(name)):
                problems.add(row, name, cell(name), "text without control characters (such as NUL)")
        sku = cell("SKU")
        if not sku:
            problems.add(row, "SKU", "", "the item's SKU")
        elif len(sku) > 100:
            problems.add(row, "SKU", sku, "a SKU of at most 100 characters")
        qty_text = cell("Qty")
        quantity = int(qty_text) if _WHOLE.match(qty_text) else 0
        if quantity < 1:
            problems.add(row, "Qty", qty_text, "a whole number of at least 1")
        amount_text = cell("Amount")
        amount = _parse_amount(amount_text) if amount_text else None
        if amount_text and amount is None:
            problems.add(row, "Amount", amount_text, _AMOUNT_HELP)
        description = cell("Description")
        if len(description) > 300:
            problems.add(row, "Description", description, "a description of at most 300 characters")
        lines.append(MemoLine(row, sku, description, quantity, amount))
    if not lines and not problems.items:
        problems.add(2, "(row)", "no lines", "at least one credited item below the header")
    if len(lines) > MAX_MEMO_LINES:
        problems.add(MAX_MEMO_LINES + 2, "(row)", f"{len(lines)} lines", f"at most {MAX_MEMO_LINES} lines")
    problems.raise_if_any(filename)
    return ParsedMemo(sha256=hashlib.sha256(raw).hexdigest(), lines=tuple(lines))
