"""Comparing a parsed memo with its credited batch, SKU by SKU, and the stored comparison's views."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.frequent_buyer.credit_memo.parsing import MemoLine, ParsedMemo, sku_key
from connector.core.frequent_buyer.distribution import effective_unit_cost, line_cost
from connector.core.frequent_buyer.model import MemoLineOutcome
from connector.core.frequent_buyer.tables import Batch, CreditMemo, CreditMemoLine, FreeGood, PriceListEntry

MO = MemoLineOutcome


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
