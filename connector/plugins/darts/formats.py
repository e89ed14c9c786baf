"""The DARTS "Buy X Get Y Free Redemption Export" as a column mapping, plus operator-declared mappings.

We have no real DARTS export to copy, so the column list below is our reading of the export
(one row per purchase or free good of a completed card, the customer repeated on every row).
It is data, not code: if the real export differs, this one mapping changes and nothing else.
``docs/pos-formats.md`` documents every column.
"""

from __future__ import annotations

from collections.abc import Mapping

from connector.plugins.darts.mapping import Column, ColumnMapping, LineKind, MappingError, load_mappings

#: The hook context's key for where operators drop ``*.json`` mappings for other POS systems (the host
#: sets it from the variable of the same name).
MAPPINGS_DIR_KEY = "CONNECTOR_POS_MAPPINGS_DIR"

DARTS_BXGY = ColumnMapping(
    name="darts-bxgy",
    description='DARTS "Buy X Get Y Free Redemption Export" (CSV)',
    columns=(
        Column("Store #", "store_code"),
        Column("Redemption #", "card_number"),
        Column("Redemption Date", "redeemed_on"),
        Column("Customer #", "customer_id", required=False),
        Column("Customer Name", "customer_name", required=False),
        Column("Phone", "phone", required=False),
        Column("Email", "email", required=False),
        Column("Program", "program"),
        Column("Line Type", "line_type"),
        Column("Purchase Date", "purchased_on"),
        Column("SKU", "sku"),
        Column("UPC", "upc", required=False),
        Column("Description", "description"),
        Column("Size", "size"),
        Column("Qty", "quantity"),
        Column("Brand", "brand", required=False),
    ),
    encodings=("utf-8-sig",),
    delimiter=",",
    date_formats=("%m/%d/%Y",),
    line_kind=LineKind(by="column", purchase=("PURCHASE",), free=("FREE",)),
)


def mappings(config: Mapping[str, str]) -> list[ColumnMapping]:
    """DARTS, then every JSON mapping in the folder ``config`` names (the hook context's; names must be unique)."""
    found = [DARTS_BXGY]
    directory = config.get(MAPPINGS_DIR_KEY, "").strip()
    if directory:
        found += load_mappings(directory)
    names: dict[str, int] = {}
    for m in found:
        names[m.name] = names.get(m.name, 0) + 1
    clashes = sorted(n for n, count in names.items() if count > 1)
    if clashes:
        raise MappingError(f"{MAPPINGS_DIR_KEY}={directory}: format name(s) {clashes} are declared more than once")
    return found
