"""Who may upload, and the file-level checks made before anything is written (unknown stores, keys twice...)."""

from __future__ import annotations

from connector.core.access import Actor
from connector.core.errors import PermissionDeniedError
from connector.core.frequent_buyer.pos_ingest.customers import normalise_email, normalise_internal_id, normalise_phone
from connector.core.frequent_buyer.pos_types import ParsedReport, PosCard, PosItem, PosReportProblem, PosReportRejected
from connector.core.frequent_buyer.programs import is_staff, store_code_key
from connector.core.frequent_buyer.rules import sku_key, upc_key
from connector.core.model import Role

#: Problems listed when a file is rejected.
MAX_PROBLEMS = 1_000


def check_can_upload(actor: Actor) -> None:
    """Role-level: retailer users (for themselves), support and platform admins upload; nobody else, ever.

    Checked before a request body is read, so a distributor's 50 MiB upload is refused unread.
    """
    if not (is_staff(actor) or actor.role == Role.RETAILER):
        raise PermissionDeniedError(
            f"role {actor.role.value} cannot upload POS reports; the retailer or support uploads them"
        )


def _first_row(card: PosCard) -> int:
    if card.rows:
        return card.rows[0]
    return next((i.row for i in (*card.purchases, *card.free_goods) if i.row), 0)


def _free_identity(item: PosItem) -> str:
    return "upc:" + key if (key := upc_key(item.upc)) else "sku:" + sku_key(item.sku)


def check_report(report: ParsedReport, retailer: str, locations: dict[str, int], filename: str) -> None:
    """Every problem that makes the file unimportable, found before anything is written."""
    problems: list[PosReportProblem] = []
    seen: dict[str, int] = {}
    codes = ", ".join(sorted(locations)) or "none: add the store's location first"

    def add(row: int, column: str, value: object, expected: str) -> None:
        if len(problems) < MAX_PROBLEMS:
            problems.append(PosReportProblem(row, column, "" if value is None else str(value), expected))

    for card in report.cards:
        row = _first_row(card)
        key = card.key.strip() if card.key else ""
        if not key or len(key) > 200:
            add(row, "key", card.key, "the POS's redemption key: 1 to 200 characters")
        elif key in seen:
            add(row, "key", key, f"one card per key; this key is also on row {seen[key]}")
        else:
            seen[key] = row
        if card.store_code and card.store_code.strip() and store_code_key(card.store_code) not in locations:
            add(row, "store", card.store_code, f"a store code of retailer {retailer!r}: {codes}")
        if not card.free_goods:
            add(row, "free good", "", "at least one free good on a completed card")
        elif len({_free_identity(i) for i in card.free_goods}) > 1:
            skus = " and ".join(sorted({i.sku for i in card.free_goods}))
            add(row, "free good", skus, "one free item per card; report different free items as separate cards")
        for item in (*card.purchases, *card.free_goods):
            if not item.sku or not item.sku.strip() or len(item.sku.strip()) > 100:
                add(item.row or row, "sku", item.sku, "the item's SKU: 1 to 100 characters")
            if not isinstance(item.quantity, int) or item.quantity < 1:
                add(item.row or row, "quantity", item.quantity, "a whole number of at least 1")
        c = card.customer
        if (p := normalise_phone(c.phone)) and len(p) > 20:
            add(row, "phone", c.phone, "a phone number of at most 20 digits")
        if (e := normalise_email(c.email)) and (len(e) > 320 or "@" not in e):
            add(row, "email", c.email, "an email address like ana@example.com")
        if (i := normalise_internal_id(c.internal_id)) and len(i) > 100:
            add(row, "customer id", c.internal_id, "at most 100 characters")
    if problems:
        more = " (only the first ones are listed)" if len(problems) >= MAX_PROBLEMS else ""
        raise PosReportRejected(
            f"{len(problems)} problem(s) in {filename}{more}; nothing was imported. "
            "Fix the file (or the store codes) and upload it again.",
            problems,
        )
