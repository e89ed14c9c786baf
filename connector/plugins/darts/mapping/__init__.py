"""Declarative column mappings: one POS report layout as data, and the one parser that reads them all.

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

from connector.plugins.darts.mapping.columns import Column, ColumnMapping, LineKind, MappingError, load_mappings
from connector.plugins.darts.mapping.fields import CELL_LIMITS, FIELDS, HEADER_SEARCH_ROWS, MAX_PROBLEMS
from connector.plugins.darts.mapping.parser import parse
from connector.plugins.darts.mapping.values import normalise_email, normalise_phone, parse_size

__all__ = [
    "CELL_LIMITS",
    "FIELDS",
    "HEADER_SEARCH_ROWS",
    "MAX_PROBLEMS",
    "Column",
    "ColumnMapping",
    "LineKind",
    "MappingError",
    "load_mappings",
    "normalise_email",
    "normalise_phone",
    "parse",
    "parse_size",
]
