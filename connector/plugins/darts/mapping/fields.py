"""What a mapping can map a column to, and how long a cell may be: shared by the mapping and the parser."""

from __future__ import annotations

#: At most this many problems are kept (the rest are counted and summarised as "and N more").
MAX_PROBLEMS = 200
#: The header is looked for in this many leading rows, to say "delete the rows above it" when it moved down.
HEADER_SEARCH_ROWS = 10

#: Every target a column can map to: its kind and the longest value the database stores for it.
FIELDS: dict[str, tuple[str, int, str]] = {
    "store_code": ("text", 50, "the store number; part of the card key"),
    "card_number": ("text", 100, "the card/redemption number; cards are grouped by store + this"),
    "redeemed_on": ("date", 0, "the date the free good was given (one per card)"),
    "customer_id": ("text", 100, "the POS's internal customer id"),
    "customer_name": ("text", 200, "the customer's name"),
    "phone": ("phone", 20, "the customer's phone; kept as digits only"),
    "email": ("email", 320, "the customer's email; kept lower-cased"),
    "program": ("text", 100, "the program as the POS names it (matched to Program.code)"),
    "line_type": ("kind", 50, "says whether the row is a purchase or a free good"),
    "purchased_on": ("date", 0, "the date of this row's purchase (or free good)"),
    "sku": ("text", 100, "the item's SKU"),
    "upc": ("upc", 20, "the item's UPC/EAN/GTIN (8 to 14 digits)"),
    "description": ("text", 300, "the item's description"),
    "size": ("size", 0, "the item's size with its unit ('28 LB'), or the number alone with a size_unit column"),
    "size_unit": ("text", 20, "the unit of the size column, when the POS prints it separately"),
    "quantity": ("quantity", 0, "how many of the item (a whole number)"),
    "brand": ("text", 100, "the item's brand"),
}
#: Fields a mapping must have, and whose cells may never be empty.
MANDATORY_FIELDS = ("card_number", "sku", "quantity")
CUSTOMER_ID_FIELDS = ("customer_id", "phone", "email")
#: The longest cell each field is read from. Free text and kinds: the column the database stores them in.
#: Converted fields: generous for any real value, and checked before any pattern sees the cell, so an
#: over-long cell costs one ``len`` (a report is user input; no cell may keep a worker busy).
CELL_LIMITS: dict[str, int] = {
    **{name: limit for name, (kind, limit, _) in FIELDS.items() if kind in ("text", "kind", "email")},
    "redeemed_on": 40,
    "purchased_on": 40,
    "phone": 40,
    "upc": 40,
    "size": 40,
    "quantity": 20,
}
#: A size cell, with its unit cell appended when the POS prints the unit separately.
SIZE_TEXT_LIMIT = CELL_LIMITS["size"] + 1 + CELL_LIMITS["size_unit"]
#: The order ``_Parser._read_body`` unpacks a row's cells in.
ROW_FIELDS = (
    "store_code",
    "card_number",
    "redeemed_on",
    "customer_id",
    "customer_name",
    "phone",
    "email",
    "program",
    "line_type",
    "purchased_on",
    "sku",
    "upc",
    "description",
    "size",
    "size_unit",
    "quantity",
    "brand",
)

#: Canonical size units and the spellings POS systems print for them (lower-case, spaces collapsed).
