"""The credit memo a distributor records when it marks a batch fulfilled/credited: its number and amount.

Both or neither: seed 000 says the credit may reach the store "on your next invoice, or ... in an email ...
or on a credit memo", so a batch can be credited without one; but a number without an amount (or the other
way round) gives the retailer nothing to compare, so that is refused with the field to fill in.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from connector.core.errors import ValidationError
from connector.core.frequent_buyer.distribution.input_checks import CONTROL_CHARS
from connector.core.frequent_buyer.money import dollars, parse_money

MEMO_NUMBER_MAX = 50


@dataclass(frozen=True)
class CreditMemoEntry:
    number: str
    amount: Decimal

    def describe(self) -> str:
        return f"credit memo {self.number} for {dollars(self.amount)}"


def clean_credit_memo(number: str | None, amount: object) -> CreditMemoEntry | None:
    """The memo as given, checked; None when neither is given. ``ValidationError`` names each bad field."""
    problems: dict[str, str] = {}
    text = (number or "").strip()
    if len(text) > MEMO_NUMBER_MAX:
        problems["credit_memo_number"] = f"at most {MEMO_NUMBER_MAX} characters; got {len(text)}"
    elif CONTROL_CHARS.search(text):
        problems["credit_memo_number"] = "plain text without control characters"
    value = parse_money(amount, "credit_memo_amount", problems, what="the credit memo's total")
    if not problems:
        if text and value is None:
            problems["credit_memo_amount"] = (
                f"give the total of credit memo {text} in dollars, like 125.00 (or leave both memo fields blank)"
            )
        elif value is not None and not text:
            problems["credit_memo_number"] = (
                "give the credit memo's number as printed on it (or leave both memo fields blank)"
            )
    if problems:
        raise ValidationError(
            "invalid credit memo: " + "; ".join(f"{k}: {v}" for k, v in problems.items()) + ". Nothing was changed.",
            problems,
        )
    if not text or value is None:
        return None
    return CreditMemoEntry(text, value)
