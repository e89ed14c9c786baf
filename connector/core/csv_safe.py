"""CSV cells that a spreadsheet cannot run as formulas, and whole CSV lines built from them.

Exports carry text typed by other people (retailer and customer names, item
descriptions, decline reasons, batch descriptions). A cell starting with ``=``,
``+``, ``-``, ``@``, tab or carriage return is read by Excel and LibreOffice as
the start of a formula ("CSV injection", OWASP), so such a text cell gets a
leading ``'``, which the spreadsheet shows as plain text. Every cell is also
quoted, so an importer that guesses another separator (``;``) cannot split a
cell into a new one that starts with ``=``.

Numbers we produce ourselves (``int``, ``Decimal``, ``float``) are written as
they are: they cannot carry a formula, and prefixing ``-3`` would turn a number
into text in the spreadsheet. Dates and datetimes are written in ISO 8601 (UTC
with ``Z``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal

#: First characters a spreadsheet reads as the start of a formula (OWASP CSV Injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The cell text for ``value``; text that would start a formula gets a leading ``'``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal | float):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:  # the database layer stores UTC; a naive value is UTC by contract
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def csv_line(values: Iterable[object]) -> str:
    """One CSV record (every cell neutralised and quoted), ending in CRLF as RFC 4180 has it."""
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerow([safe_cell(v) for v in values])
    return out.getvalue()
