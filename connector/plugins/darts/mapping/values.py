"""The value rules for cells (sizes, phones, emails, UPCs, quantities), public so a hand-written format applies
the same ones, with the patterns they use."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

from connector.core.frequent_buyer.units import CANONICAL_UNITS, UnknownUnitError, canonical_unit
from connector.plugins.darts.mapping.fields import CELL_LIMITS, SIZE_TEXT_LIMIT

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


def parse_size(
    text: str, decimal_separator: str = ".", aliases: Mapping[str, str] | None = None
) -> tuple[Decimal, str]:
    """``"28LB"``, ``"12.5 oz"``, ``"6 ct"`` -> ``(Decimal, unit)`` with unit one of ``CANONICAL_UNITS``.

    Raises ``ValueError`` with what was expected, so callers can report it as a problem.
    """
    text = text.strip()
    m = _SIZE.fullmatch(text) if len(text) <= SIZE_TEXT_LIMIT else None
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
