"""Importing a distributor's credit memo and comparing it, line by line, with the credited batch.

The retailer receives a credit memo from its distributor for a credited batch (seed 000:
"compare the credit memo sent to you by your distributor to your Credited Batch Report
and Reconcile it"). Importing the memo does that comparison by SKU and stores it, so the
retailer sees at once which lines match and which do not.

The memo is a CSV file (UTF-8, a BOM is fine), header on row 1, one credited item per row:

========================  ========  ==========================================================
Column                    Required  Meaning
========================  ========  ==========================================================
``SKU``                   yes       the item's SKU, as on the free good (case and surrounding
                                    spaces are ignored); also accepted: ``Item Number``, ``Item #``
``Description``           no        free text, shown with lines that are not in the batch;
                                    also accepted: ``Item Description``
``Qty``                   yes       whole number ≥ 1; also accepted: ``Quantity``
``Amount``                no        the credit for the line in dollars, e.g. ``12.50``, ``$1,012.50``;
                                    a credit may be written negative (``-12.50`` or ``(12.50)``),
                                    the absolute value is compared; blank = not stated.
                                    Also accepted: ``Credit Amount``
========================  ========  ==========================================================

Header names are case-insensitive. Any other column is refused (a misspelt ``Ammount`` silently
ignored would leave the amounts unchecked). Blank rows are skipped; rows for the same SKU are
added up. Every problem is reported with its row (the header is row 1), column, the value found
and what was expected, and a rejected file stores nothing.

Comparison, per SKU: ``matched``; ``quantity_differs``; ``amount_differs`` (the quantities agree
but the amount differs from unit cost × quantity — checked only when the batch knows a cost for
every free good of that SKU and the memo states an amount); ``not_in_batch`` (credited on the memo,
not in the batch); ``missing_from_memo`` (in the batch, not on the memo). A memo matches when every
line is ``matched``; with ``reconcile_if_matched`` a matching memo reconciles the batch in the same
transaction. The same file (same bytes) imported twice for the same batch is stored once: the
second import answers the first comparison, marked ``duplicate``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import IO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import IllegalTransitionError, NotFoundError, PermissionDeniedError, ValidationError
from connector.core.frequent_buyer.credit_status import check_reconciles, reconcile_locked
from connector.core.frequent_buyer.distribution import (
    CONTROL_CHARS,
    batch_scope,
    effective_unit_cost,
    line_cost,
    lock_batches,
)
from connector.core.frequent_buyer.model import BatchStatus, MemoLineOutcome
from connector.core.frequent_buyer.pos_types import PosReportProblem
from connector.core.frequent_buyer.tables import Batch, CreditMemo, CreditMemoLine, FreeGood, PriceListEntry
from connector.core.runtime import Runtime

MO = MemoLineOutcome

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
    for i, cell in enumerate(header):
        name = _norm_header(cell)
        canonical = next((c for c, spellings in COLUMNS.items() if name in spellings), None)
        if canonical is None:
            if not name and all(not c.strip() for c in header[i:]):
                break  # trailing empty header cells, as spreadsheets write them
            problems.add(1, cell or f"(column {i + 1})", cell, "one of the columns SKU, Description, Qty, Amount")
        elif canonical in columns:
            problems.add(1, cell, cell, f"the {canonical} column once (it is also column {columns[canonical] + 1})")
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


# -- comparison ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemoLineView:
    #: The memo row (the first, when a SKU has several); None for a batch item missing from the memo.
    row: int | None
    sku: str
    quantity: int | None
    amount: Decimal | None
    expected_quantity: int | None
    expected_amount: Decimal | None
    outcome: str
    detail: str


@dataclass(frozen=True)
class MemoComparison:
    memo_id: int
    batch_id: int
    retailer_id: int
    filename: str
    sha256: str
    imported_by: str
    imported_at: datetime
    matches: bool
    lines: list[MemoLineView]
    #: How many lines have each outcome (every outcome is present, possibly 0).
    outcomes: dict[str, int] = field(default_factory=dict)
    #: True when this call found the same file already imported for the batch (nothing new was stored).
    duplicate: bool = False
    #: True when this call reconciled the batch (``reconcile_if_matched`` and the memo matched).
    reconciled: bool = False
    batch_reconciled_at: datetime | None = None


@dataclass(frozen=True)
class _Expected:
    sku: str
    quantity: int
    amount: Decimal | None
    unit_costs: tuple[Decimal, ...]


def _expected_by_sku(s: Session, batch_id: int) -> dict[str, _Expected]:
    rows = s.execute(
        select(FreeGood.sku, FreeGood.quantity, effective_unit_cost().label("unit_cost"))
        .outerjoin(
            PriceListEntry,
            (PriceListEntry.retailer_id == FreeGood.retailer_id) & (PriceListEntry.sku == FreeGood.sku),
        )
        .where(FreeGood.batch_id == batch_id)
        .order_by(FreeGood.id)
    ).all()
    grouped: dict[str, list[tuple[str, int, Decimal | None]]] = {}
    for sku, qty, cost in rows:
        grouped.setdefault(sku_key(sku), []).append((sku, qty, None if cost is None else Decimal(str(cost))))
    out: dict[str, _Expected] = {}
    for key, items in grouped.items():
        costs = [line_cost(c, q) for _, q, c in items]
        known = all(c is not None for c in costs)
        out[key] = _Expected(
            sku=items[0][0],
            quantity=sum(q for _, q, _ in items),
            amount=sum((c for c in costs if c is not None), Decimal("0.00")) if known else None,
            unit_costs=tuple(sorted({c for _, _, c in items if c is not None})),
        )
    return out


def compare(parsed: ParsedMemo, expected: dict[str, _Expected], batch_id: int) -> list[MemoLineView]:
    """Each memo SKU against the batch, in file order, then the batch's SKUs the memo leaves out."""
    memo: dict[str, list[MemoLine]] = {}
    for line in parsed.lines:
        memo.setdefault(sku_key(line.sku), []).append(line)
    out: list[MemoLineView] = []
    for key, lines in memo.items():
        qty = sum(line.quantity for line in lines)
        amounts = [line.amount for line in lines]
        amount = sum((a for a in amounts if a is not None), Decimal("0.00")) if None not in amounts else None
        rows = ", ".join(str(line.row) for line in lines[:10]) + (
            f" and {len(lines) - 10} more" if len(lines) > 10 else ""
        )
        also = f" (rows {rows} added up)" if len(lines) > 1 else ""
        exp = expected.get(key)
        if exp is None:
            what = f" ({lines[0].description})" if lines[0].description else ""
            out.append(
                MemoLineView(
                    lines[0].row,
                    lines[0].sku,
                    qty,
                    amount,
                    None,
                    None,
                    MO.NOT_IN_BATCH,
                    f"the memo credits {qty} of {lines[0].sku}{what}; batch {batch_id} has none{also}",
                )
            )
            continue
        if qty != exp.quantity:
            outcome, detail = MO.QUANTITY_DIFFERS, f"the memo credits {qty}, the batch has {exp.quantity}{also}"
        elif amount is not None and exp.amount is not None and amount != exp.amount:
            costs = "/".join(str(c) for c in exp.unit_costs)
            outcome = MO.AMOUNT_DIFFERS
            detail = f"the memo credits {amount}, expected {exp.amount} ({exp.quantity} at {costs}){also}"
        else:
            outcome = MO.MATCHED
            detail = also.strip(" ()")
            if amount is not None and exp.amount is None:
                detail = "amount not checked: no cost is known for every free good of this SKU" + also
        out.append(MemoLineView(lines[0].row, exp.sku, qty, amount, exp.quantity, exp.amount, outcome, detail))
    for key, exp in sorted(expected.items()):
        if key not in memo:
            out.append(
                MemoLineView(
                    None,
                    exp.sku,
                    None,
                    None,
                    exp.quantity,
                    exp.amount,
                    MO.MISSING_FROM_MEMO,
                    f"batch {batch_id} has {exp.quantity} of {exp.sku}; the memo does not credit it",
                )
            )
    return out


def _comparison(
    memo: CreditMemo,
    lines: Sequence[CreditMemoLine],
    batch: Batch,
    *,
    duplicate: bool = False,
    reconciled: bool = False,
    reconciled_at: datetime | None = None,
) -> MemoComparison:
    views = [
        MemoLineView(
            line.row,
            line.sku,
            line.quantity,
            line.amount,
            line.expected_quantity,
            line.expected_amount,
            line.outcome,
            line.detail,
        )
        for line in lines
    ]
    outcomes = {o.value: 0 for o in MO}
    for v in views:
        outcomes[v.outcome] += 1
    return MemoComparison(
        memo_id=memo.id,
        batch_id=memo.batch_id,
        retailer_id=memo.retailer_id,
        filename=memo.filename,
        sha256=memo.sha256,
        imported_by=memo.imported_by,
        imported_at=memo.imported_at,
        matches=memo.matches,
        lines=views,
        outcomes=outcomes,
        duplicate=duplicate,
        reconciled=reconciled,
        batch_reconciled_at=reconciled_at or batch.reconciled_at,
    )


def _lines_of(s: Session, memo_id: int) -> list[CreditMemoLine]:
    return list(s.scalars(select(CreditMemoLine).where(CreditMemoLine.memo_id == memo_id).order_by(CreditMemoLine.id)))


def _existing(s: Session, batch_id: int, sha256: str) -> CreditMemo | None:
    return s.scalars(select(CreditMemo).where(CreditMemo.batch_id == batch_id, CreditMemo.sha256 == sha256)).first()


_CREDITED = (BatchStatus.FULFILLED, BatchStatus.GROUPED)


def import_credit_memo(
    rt: Runtime,
    actor: Actor,
    batch_id: int,
    stream: IO[bytes],
    filename: str,
    *,
    reconcile_if_matched: bool = False,
) -> MemoComparison:
    """Parse the memo, compare it with the credited batch, store both, and answer the comparison.

    A malformed memo raises ``CreditMemoRejected`` before anything is opened for writing. Only a credited
    (fulfilled or grouped) batch can be compared. The same bytes for the same batch import once.
    """
    check_reconciles(actor)
    filename = CONTROL_CHARS.sub("", filename or "").strip()[:300] or "credit-memo.csv"
    parsed = parse_credit_memo(stream, filename)
    # Find the batch (scope, state) before anything is written, so a refusal stores nothing.
    try:
        with transaction(rt.sessions) as s:
            batch = lock_batches(s, actor, [batch_id])[batch_id]
            existing = _existing(s, batch_id, parsed.sha256)
            if existing is not None:
                return _comparison(existing, _lines_of(s, existing.id), batch, duplicate=True)
            if batch.status not in _CREDITED:
                raise IllegalTransitionError(
                    f"batch {batch_id} is {batch.status}: a credit memo is compared with a credited batch; wait "
                    "until the distributor marks the batch fulfilled",
                    current=batch.status,
                    event="import_credit_memo",
                )
            views = compare(parsed, _expected_by_sku(s, batch_id), batch_id)
            matches = all(v.outcome == MO.MATCHED for v in views)
            now = rt.now()
            memo = CreditMemo(
                retailer_id=batch.retailer_id,
                batch_id=batch_id,
                filename=filename,
                sha256=parsed.sha256,
                imported_by=actor.name,
                imported_at=now,
                matches=matches,
            )
            s.add(memo)
            s.flush()
            rows = [
                CreditMemoLine(
                    memo_id=memo.id,
                    row=v.row,
                    sku=v.sku,
                    quantity=v.quantity,
                    amount=v.amount,
                    expected_quantity=v.expected_quantity,
                    expected_amount=v.expected_amount,
                    outcome=v.outcome,
                    detail=v.detail,
                )
                for v in views
            ]
            s.add_all(rows)
            s.flush()
            if matches and reconcile_if_matched and batch.reconciled_at is None:
                reconcile_locked(s, actor, batch, now, f"credit memo {filename} (memo {memo.id}) matched the batch")
                return _comparison(memo, rows, batch, reconciled=True, reconciled_at=now)
            return _comparison(memo, rows, batch)
    except IntegrityError:
        # Two uploads of the same file raced past the check above; the unique (batch, sha256) kept one.
        with rt.sessions() as s:
            existing = _existing(s, batch_id, parsed.sha256)
            batch_row = s.get(Batch, batch_id)
            if existing is None or batch_row is None:
                raise
            return _comparison(existing, _lines_of(s, existing.id), batch_row, duplicate=True)


def _check_reads_memos(actor: Actor) -> None:
    if actor.brand_id is not None and not actor.is_party:
        raise PermissionDeniedError(
            "credit memos are between a distributor and a retailer; brand users do not see them"
        )


def get_credit_memo(rt: Runtime, actor: Actor, memo_id: int) -> MemoComparison:
    """A stored comparison: the retailer's own, the distributor's own batches', or any for admins and support."""
    _check_reads_memos(actor)
    with rt.sessions() as s:
        row = s.execute(
            select(CreditMemo, Batch)
            .join(Batch, Batch.id == CreditMemo.batch_id)
            .where(CreditMemo.id == memo_id, *batch_scope(actor))
        ).one_or_none()
        if row is None:
            raise NotFoundError(f"credit memo {memo_id} not found")
        memo, batch = row
        return _comparison(memo, _lines_of(s, memo.id), batch)


def list_credit_memos(rt: Runtime, actor: Actor, batch_id: int) -> list[MemoComparison]:
    """Every memo imported for a batch, oldest first."""
    _check_reads_memos(actor)
    with rt.sessions() as s:
        batch = s.scalars(select(Batch).where(Batch.id == batch_id, *batch_scope(actor))).one_or_none()
        if batch is None:
            raise NotFoundError(f"batch {batch_id} not found")
        memos = s.scalars(select(CreditMemo).where(CreditMemo.batch_id == batch_id).order_by(CreditMemo.id)).all()
        return [_comparison(m, _lines_of(s, m.id), batch) for m in memos]
