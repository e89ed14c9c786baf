"""Does the distributor's credit memo match the credited batch? What the retailer's reconcile asks first.

When a distributor marks a batch fulfilled/credited it records the credit memo's number and amount
(``distribution.credit_memo_entry``). Before the retailer reconciles ("telling the Manufacturer that you
received the credits the Distributor sent you and you are happy with them", seed 000) the batch is
checked against it:

* the recorded amount against the batch's value at the store's price list (unit cost × quantity of each
  free good), compared only when every free good of the batch has a cost;
* and, when the retailer imported the memo file itself, that file's latest line-by-line comparison.

``MATCHES``: everything compared agrees. ``DOES NOT MATCH``: something differs; the reconcile then needs
an explicit confirmation (console: a confirm step; API: ``confirm: true`` after a 409; CLI: a flag), and
the confirmation is written into the reconcile event. ``NOT RECORDED``: no memo was recorded and none
imported (the credit came on an invoice or email), nothing to compare. ``CANNOT COMPARE``: a memo amount
was recorded but some free good has no cost, so the amount cannot be checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.errors import ConflictError
from connector.core.frequent_buyer.distribution import BatchView
from connector.core.frequent_buyer.money import dollars
from connector.core.frequent_buyer.tables import CreditMemo

MATCHES = "MATCHES"
DOES_NOT_MATCH = "DOES NOT MATCH"
NOT_RECORDED = "NOT RECORDED"
CANNOT_COMPARE = "CANNOT COMPARE"


@dataclass(frozen=True)
class MemoCheck:
    status: str
    credit_memo_number: str | None
    credit_memo_amount: Decimal | None
    #: The batch at the store's price list; None when a free good has no cost.
    expected_amount: Decimal | None
    #: Each difference, in words, for the confirm step and the 409.
    mismatches: tuple[str, ...] = ()

    @property
    def needs_confirmation(self) -> bool:
        return self.status == DOES_NOT_MATCH


class MemoMismatchError(ConflictError):
    """Reconciling a batch whose credit memo DOES NOT MATCH, without confirming it."""

    code = "credit_memo_mismatch"


def check_memo(s: Session, batch: BatchView) -> MemoCheck:
    """Compare the recorded memo (and the latest imported memo file) with ``batch``; see the module docstring."""
    expected = batch.approximate_cost if batch.uncosted == 0 else None
    mismatches: list[str] = []
    compared = False
    if batch.credit_memo_amount is not None and expected is not None:
        compared = True
        if batch.credit_memo_amount != expected:
            diff = batch.credit_memo_amount - expected
            mismatches.append(
                f"credit memo {batch.credit_memo_number} is for {dollars(batch.credit_memo_amount)} but the batch's "
                f"free goods come to {dollars(expected)} at your price list "
                f"({'over' if diff > 0 else 'short'} by {dollars(abs(diff))})"
            )
    latest = s.scalars(
        select(CreditMemo).where(CreditMemo.batch_id == batch.id).order_by(CreditMemo.id.desc()).limit(1)
    ).first()
    if latest is not None:
        compared = True
        if not latest.matches:
            mismatches.append(
                f"the credit memo file {latest.filename} you imported does not match the batch line by line"
            )
    if mismatches:
        status = DOES_NOT_MATCH
    elif compared:
        status = MATCHES
    elif batch.credit_memo_amount is not None:
        status = CANNOT_COMPARE
    else:
        status = NOT_RECORDED
    return MemoCheck(status, batch.credit_memo_number, batch.credit_memo_amount, expected, tuple(mismatches))


def refuse_unconfirmed(batch_id: int, check: MemoCheck) -> MemoMismatchError:
    """The 409 a reconcile answers when the memo DOES NOT MATCH and the caller did not confirm."""
    return MemoMismatchError(
        f"batch {batch_id}'s credit memo DOES NOT MATCH: {'; '.join(check.mismatches)}. Check it with your "
        "distributor, or confirm to reconcile anyway. Nothing was changed.",
        memo_check=check.status,
        mismatches=list(check.mismatches),
        credit_memo_number=check.credit_memo_number,
        credit_memo_amount=None if check.credit_memo_amount is None else str(check.credit_memo_amount),
        expected_amount=None if check.expected_amount is None else str(check.expected_amount),
    )
