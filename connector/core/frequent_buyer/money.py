"""Dollar amounts typed by people (a minimum purchase, a credit memo amount): parsed as ``Decimal``, never float.

One parser so every form, API field and CLI option says the same thing about a bad amount.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

CENT = Decimal("0.01")
_LIMIT = Decimal("10000000000")


def parse_money(value: object, field_name: str, problems: dict[str, str], *, what: str) -> Decimal | None:
    """``value`` as dollars and cents, or None (blank). A problem is added under ``field_name`` when it is
    not a plain amount (``$`` and thousands commas are accepted), is negative, huge, or has more than 2
    decimal places; ``what`` names the amount in the message."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    shown = str(value).strip()
    try:
        amount = Decimal(shown.replace("$", "").replace(",", ""))
    except InvalidOperation:
        problems[field_name] = f"{shown!r} is not an amount; give {what} in dollars, like 25.00"
        return None
    if not amount.is_finite() or amount < 0 or amount >= _LIMIT:
        problems[field_name] = f"{shown!r} must be zero or more (and under 10 billion): {what} in dollars"
        return None
    if amount != amount.quantize(CENT):
        problems[field_name] = f"{shown!r} has more than 2 decimal places; {what} is dollars and cents"
        return None
    return amount.quantize(CENT)


def dollars(amount: Decimal) -> str:
    """``$1,234.50``: how amounts read in messages."""
    return f"${amount.quantize(CENT):,}"
