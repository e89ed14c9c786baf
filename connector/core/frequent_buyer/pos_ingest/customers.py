"""Mapping a card to one of the retailer's customers: by internal id, then phone digits, then email."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from connector.core.frequent_buyer.pos_ingest.bulk import Bulk, chunks
from connector.core.frequent_buyer.pos_types import PosCard, PosCustomer
from connector.core.frequent_buyer.tables import Customer

_NON_DIGITS = re.compile(r"\D")
#: Keys per lookup query (one array parameter on PostgreSQL).
_LOOKUP_CHUNK = 10_000
_CUSTOMERS: Table = Customer.__table__  # type: ignore[assignment]


def normalise_phone(phone: str | None) -> str | None:
    """Digits only; a North American number's leading country code 1 is dropped (11 → 10 digits)."""
    if not phone:
        return None
    digits = _NON_DIGITS.sub("", phone)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits or None


def normalise_email(email: str | None) -> str | None:
    text = (email or "").strip().lower()
    return text or None


def normalise_internal_id(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None


class Cust:
    """One customer as the import knows it: loaded, or created by this file (``id`` set on insert)."""

    __slots__ = ("id", "name", "phone", "email", "internal_id", "dirty")

    def __init__(
        self, id: int | None, name: str, phone: str | None, email: str | None, internal_id: str | None
    ) -> None:
        self.id, self.name, self.phone, self.email, self.internal_id = id, name, phone, email, internal_id
        self.dirty = False


class Customers:
    """Maps cards to customers with three indexes, so one phone in one file is one customer."""

    def __init__(self, bulk: Bulk, retailer_id: int, cards: Sequence[PosCard], now: datetime) -> None:
        self.bulk, self.retailer_id, self.now = bulk, retailer_id, now
        self.by_iid: dict[str, Cust] = {}
        self.by_phone: dict[str, Cust] = {}
        self.by_email: dict[str, Cust] = {}
        self.new: list[Cust] = []
        self.created = self.matched = 0
        iids = {v for c in cards if (v := normalise_internal_id(c.customer.internal_id))}
        phones = {v for c in cards if (v := normalise_phone(c.customer.phone))}
        emails = {v for c in cards if (v := normalise_email(c.customer.email))}
        found: dict[int, Cust] = {}
        for column, values in ((Customer.internal_id, iids), (Customer.phone, phones), (Customer.email, emails)):
            for part in chunks(sorted(values), _LOOKUP_CHUNK):
                rows = bulk.s.execute(
                    select(Customer.id, Customer.name, Customer.phone, Customer.email, Customer.internal_id).where(
                        Customer.retailer_id == retailer_id, bulk.among(column, part)
                    )
                )
                for row in rows:
                    found.setdefault(row.id, Cust(row.id, row.name, row.phone, row.email, row.internal_id))
        for c in sorted(found.values(), key=lambda c: c.id or 0):  # the oldest customer wins a shared phone
            self._index(c)

    def _index(self, c: Cust) -> None:
        if c.internal_id:
            self.by_iid.setdefault(c.internal_id, c)
        if c.phone:
            self.by_phone.setdefault(c.phone, c)
        if c.email:
            self.by_email.setdefault(c.email, c)

    def resolve(self, pos: PosCustomer) -> tuple[Cust, str]:
        iid = normalise_internal_id(pos.internal_id)
        phone = normalise_phone(pos.phone)
        email = normalise_email(pos.email)
        name = (pos.name or "").strip()[:200]
        if iid and iid in self.by_iid:
            c, how = self.by_iid[iid], "internal id"
        elif phone and phone in self.by_phone:
            c, how = self.by_phone[phone], "phone"
        elif email and email in self.by_email:
            c, how = self.by_email[email], "email"
        else:
            c = Cust(None, name, phone, email, iid)
            self.new.append(c)
            self.created += 1
            self._index(c)
            return c, "created"
        self.matched += 1
        # Fill what the customer lacks (never overwrite), so the next card finds them by it too.
        if iid and not c.internal_id and iid not in self.by_iid:
            c.internal_id, c.dirty = iid, True
        if phone and not c.phone and phone not in self.by_phone:
            c.phone, c.dirty = phone, True
        if email and not c.email and email not in self.by_email:
            c.email, c.dirty = email, True
        if name and not c.name:
            c.name, c.dirty = name, True
        self._index(c)
        return c, how

    def insert_new(self) -> None:
        if not self.new:
            return
        rows = [
            {
                "retailer_id": self.retailer_id,
                "name": c.name,
                "phone": c.phone,
                "email": c.email,
                "internal_id": c.internal_id,
                "created_at": self.now,
            }
            for c in self.new
        ]
        ids = self.bulk.insert(_CUSTOMERS, rows, ids=True)
        for c, new_id in zip(self.new, ids, strict=True):
            c.id, c.dirty = new_id, False
        self.new = []

    def save_filled(self, s: Session) -> None:
        seen: set[int] = set()
        rows = []
        for index in (self.by_iid, self.by_phone, self.by_email):
            for c in index.values():
                if c.dirty and c.id is not None and c.id not in seen:
                    seen.add(c.id)
                    rows.append(
                        {"b_id": c.id, "b_name": c.name, "b_phone": c.phone, "b_email": c.email, "b_iid": c.internal_id}
                    )
        if rows:
            s.execute(
                update(_CUSTOMERS)
                .where(_CUSTOMERS.c.id == bindparam("b_id"))
                .values(
                    name=bindparam("b_name"),
                    phone=bindparam("b_phone"),
                    email=bindparam("b_email"),
                    internal_id=bindparam("b_iid"),
                ),
                rows,
            )
