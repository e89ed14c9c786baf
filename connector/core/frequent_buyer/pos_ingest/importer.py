"""Importing a POS redemption report: every card checked, mapped to a customer, and sent on — or none.

One upload is one transaction. The file's problems are found before anything is written (an
unknown store code, a card without a free good, a key twice...) and rejected together with
their rows and columns (``PosReportRejected``); a failure after writing started rolls every row
back. Nothing is imported twice: the same bytes from the same retailer answer the first
import's summary (``duplicate_of``), and a card whose POS key was imported before is skipped
(``already_imported``) — unless that earlier one was denied, in which case the corrected card
replaces it in place (same id, a ``resubmit`` event) and is judged again.

Each card walks the POS lifecycle inside the transaction, with an ``fb_events`` row per move:
``new → pending`` (mapped to one of the retailer's customers: by internal id, then phone digits,
then email; a new customer when none matches, once per file however many cards share a phone),
then ``pending → denied`` (reason and detail from ``rules``) or ``pending → quality_check``, and
``quality_check → processed`` at once unless the program asks for a person's check
(``approve_quality_check``). Processing creates the program's ``FreeGood`` row — unbatched, for
the enrollment's distributor (none for direct and retailer-fulfilled programs), with the unit
cost from the retailer's price list — which the distributor side picks up.

Speed: a 100,000-row file is one pass over in-memory cards in chunks. Programs, items,
enrollments, prices and the customers the file can match are loaded once into dicts; rows are
written with Core ``INSERT … RETURNING`` executemany per chunk (no ORM objects per card, no
flush per row), so memory stays at one chunk of rows beside the parsed report.

Decisions where the brief left a choice
    * A card's ``store_code`` that the retailer has no location for rejects the whole file (its
      rows named): mapping it to "no location" would hide a typo. A card without a store code is
      put at the retailer's only location, or at no location when it has several.
    * A card must give exactly one free item (one ``FreeGood`` per redemption); two different
      free items on one card reject the file, asking for one card per free item.
    * Support and platform admins may upload on a retailer's behalf (seed 000: reports are
      emailed to the POS team, who upload them); distributors, brands and viewers may not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Table, any_, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import IllegalTransitionError, NotFoundError, PermissionDeniedError, ValidationError
from connector.core.frequent_buyer.lifecycle import pos_transition
from connector.core.frequent_buyer.model import CreditStatus, FulfilmentType
from connector.core.frequent_buyer.model import PosRedemptionEvent as PE
from connector.core.frequent_buyer.model import PosRedemptionStatus as PS
from connector.core.frequent_buyer.pos_types import (
    ParsedReport,
    PosCard,
    PosCustomer,
    PosFormat,
    PosItem,
    PosReportProblem,
    PosReportRejected,
)
from connector.core.frequent_buyer.programs import (
    check_retailer_write,
    check_staff,
    is_staff,
    record,
    store_code_key,
)
from connector.core.frequent_buyer.rules import (
    Denied,
    Outcome,
    RuleBook,
    RuleEnrollment,
    RuleItem,
    RuleProgram,
    code_key,
    evaluate_card,
    sku_key,
    upc_key,
)
from connector.core.frequent_buyer.tables import (
    Customer,
    Enrollment,
    FbEvent,
    FreeGood,
    PosRedemption,
    PosReport,
    PriceListEntry,
    Program,
    ProgramItem,
    Retailer,
    RetailerLocation,
)
from connector.core.frequent_buyer.units import Size
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.tables import Brand, UTCDateTime

_NON_DIGITS = re.compile(r"\D")

#: Cards written per round trip; bounded memory, few statements.
CHUNK = 2_000
#: Denials listed one by one in a summary (all are counted by reason).
MAX_DENIAL_LINES = 1_000
#: Problems listed when a file is rejected.
MAX_PROBLEMS = 1_000
_IN_CHUNK = 1_000
#: Keys per lookup query (one array parameter on PostgreSQL).
_LOOKUP_CHUNK = 10_000

_REDEMPTIONS: Table = PosRedemption.__table__  # type: ignore[assignment]
_EVENTS: Table = FbEvent.__table__  # type: ignore[assignment]
_FREE_GOODS: Table = FreeGood.__table__  # type: ignore[assignment]
_CUSTOMERS: Table = Customer.__table__  # type: ignore[assignment]


# -- formats -------------------------------------------------------------------------------------------


def pos_formats(rt: Runtime) -> dict[str, PosFormat]:
    """Every POS report format the installed plugins read, by name."""
    found: dict[str, PosFormat] = {}
    for formats in rt.plugins.hook.connector_pos_formats():
        for f in formats or ():
            found.setdefault(f.name, f)
    return dict(sorted(found.items()))


def find_pos_format(rt: Runtime, name: str) -> PosFormat:
    """The parser for ``name``, or a ``ValidationError`` on ``format`` listing the installed ones."""
    formats = pos_formats(rt)
    if name in formats:
        return formats[name]
    available = ", ".join(formats) or "none (enable the darts plugin)"
    raise ValidationError(
        f"unknown POS report format {name!r}", fields={"format": f"unknown format {name!r}; available: {available}"}
    )


def check_can_upload(actor: Actor) -> None:
    """Role-level: retailer users (for themselves), support and platform admins upload; nobody else, ever.

    Checked before a request body is read, so a distributor's 50 MiB upload is refused unread.
    """
    if not (is_staff(actor) or actor.role == Role.RETAILER):
        raise PermissionDeniedError(
            f"role {actor.role.value} cannot upload POS reports; the retailer or support uploads them"
        )


# -- the summary -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DenialLine:
    redemption_id: int | None
    pos_key: str
    rows: tuple[int, ...]
    reason: str
    detail: str


@dataclass
class ImportSummary:
    """What an import did (or, with ``dry_run``, would do). Counts are over the file's cards."""

    retailer_id: int
    filename: str
    format: str
    sha256: str
    row_count: int
    cards: int
    report_id: int | None = None
    dry_run: bool = False
    #: The report these same bytes were imported as before; nothing was imported now.
    duplicate_of: int | None = None
    #: New redemptions created.
    imported: int = 0
    #: Denied redemptions replaced by a corrected card (same id, judged again).
    replaced: int = 0
    #: Cards whose POS key was imported before and not denied: skipped, so nothing counts twice.
    already_imported: int = 0
    processed: int = 0
    quality_check: int = 0
    denied: int = 0
    denied_by_reason: dict[str, int] = field(default_factory=dict)
    customers_created: int = 0
    customers_matched: int = 0
    free_goods_created: int = 0
    #: The first ``MAX_DENIAL_LINES`` denials with their detail (``denied`` counts them all).
    denials: list[DenialLine] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        """Everything but the denial lines: what the import event stores."""
        out = asdict(self)
        out.pop("denials")
        return out


# -- customers -------------------------------------------------------------------------------------------


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


def _normalise_internal_id(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None


class _Cust:
    """One customer as the import knows it: loaded, or created by this file (``id`` set on insert)."""

    __slots__ = ("id", "name", "phone", "email", "internal_id", "dirty")

    def __init__(
        self, id: int | None, name: str, phone: str | None, email: str | None, internal_id: str | None
    ) -> None:
        self.id, self.name, self.phone, self.email, self.internal_id = id, name, phone, email, internal_id
        self.dirty = False


class _Customers:
    """Maps cards to customers with three indexes, so one phone in one file is one customer."""

    def __init__(self, bulk: _Bulk, retailer_id: int, cards: Sequence[PosCard], now: datetime) -> None:
        self.bulk, self.retailer_id, self.now = bulk, retailer_id, now
        self.by_iid: dict[str, _Cust] = {}
        self.by_phone: dict[str, _Cust] = {}
        self.by_email: dict[str, _Cust] = {}
        self.new: list[_Cust] = []
        self.created = self.matched = 0
        iids = {v for c in cards if (v := _normalise_internal_id(c.customer.internal_id))}
        phones = {v for c in cards if (v := normalise_phone(c.customer.phone))}
        emails = {v for c in cards if (v := normalise_email(c.customer.email))}
        found: dict[int, _Cust] = {}
        for column, values in ((Customer.internal_id, iids), (Customer.phone, phones), (Customer.email, emails)):
            for part in _chunks(sorted(values), _LOOKUP_CHUNK):
                rows = bulk.s.execute(
                    select(Customer.id, Customer.name, Customer.phone, Customer.email, Customer.internal_id).where(
                        Customer.retailer_id == retailer_id, bulk.among(column, part)
                    )
                )
                for row in rows:
                    found.setdefault(row.id, _Cust(row.id, row.name, row.phone, row.email, row.internal_id))
        for c in sorted(found.values(), key=lambda c: c.id or 0):  # the oldest customer wins a shared phone
            self._index(c)

    def _index(self, c: _Cust) -> None:
        if c.internal_id:
            self.by_iid.setdefault(c.internal_id, c)
        if c.phone:
            self.by_phone.setdefault(c.phone, c)
        if c.email:
            self.by_email.setdefault(c.email, c)

    def resolve(self, pos: PosCustomer) -> tuple[_Cust, str]:
        iid = _normalise_internal_id(pos.internal_id)
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
            c = _Cust(None, name, phone, email, iid)
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


# -- the rule book ---------------------------------------------------------------------------------------


def _chunks(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


class _Bulk:
    """Writes and looks up many rows in few round trips, inside the session's transaction.

    On PostgreSQL rows go in with ``COPY`` (ids drawn from the table's sequence first, when the
    caller needs them) and key lookups bind one array (``= ANY``): a multi-row ``INSERT`` or an
    ``IN`` list of thousands of placeholders costs more in the driver's query parsing than in
    the database. Elsewhere (SQLite) plain Core ``INSERT … RETURNING`` executemany and ``IN``.
    """

    def __init__(self, s: Session) -> None:
        self.s = s
        self.pg = s.get_bind().dialect.name == "postgresql"
        self._sequences: dict[str, str] = {}
        self._stamp: tuple[datetime | None, datetime | None] = (None, None)

    def _naive_utc(self, value: datetime | None) -> datetime | None:
        """What ``UTCDateTime`` stores; the last value is remembered (an import stamps every row with one time)."""
        if value is None:
            return None
        if value is not self._stamp[0]:
            self._stamp = (value, value.astimezone(UTC).replace(tzinfo=None))
        return self._stamp[1]

    def among(self, column: Any, values: Sequence[Any]) -> Any:
        if self.pg:
            return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
        return column.in_(list(values))

    def insert(self, table: Table, rows: list[dict[str, Any]], *, ids: bool = False) -> list[int]:
        """Insert ``rows`` (all with the same keys); with ``ids``, their new primary keys in order."""
        if not rows:
            return []
        if not self.pg:
            if ids:
                stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
                return list(self.s.execute(stmt, rows).scalars())
            self.s.execute(insert(table), rows)
            return []
        new_ids: list[int] = []
        columns = list(rows[0])
        if ids:
            seq = self._sequences.get(table.name)
            if seq is None:
                seq = self._sequences[table.name] = str(
                    self.s.scalar(select(func.pg_get_serial_sequence(table.name, "id")))
                )
            new_ids = list(self.s.scalars(select(func.nextval(seq)).select_from(func.generate_series(1, len(rows)))))
            columns = ["id", *columns]
        converters = []
        for name in columns:
            kind = table.c[name].type
            converters.append(
                _json_text if isinstance(kind, JSON) else self._naive_utc if isinstance(kind, UTCDateTime) else None
            )
        raw = self.s.connection().connection.driver_connection
        copy_sql = f'COPY "{table.name}" ({", ".join(chr(34) + c + chr(34) for c in columns)}) FROM STDIN'
        with raw.cursor() as cur, cur.copy(copy_sql) as copy:
            for n, row in enumerate(rows):
                values = [new_ids[n], *row.values()] if ids else list(row.values())
                copy.write_row([f(v) if f else v for f, v in zip(converters, values, strict=True)])
        return new_ids


def _rule_programs(s: Session, program_ids: Iterable[int]) -> list[RuleProgram]:
    ids = sorted(set(program_ids))
    if not ids:
        return []
    programs: list[Program] = []
    items: dict[int, list[RuleItem]] = {}
    for part in _chunks(ids, _IN_CHUNK):
        programs.extend(s.scalars(select(Program).where(Program.id.in_(part))))
        for i in s.scalars(select(ProgramItem).where(ProgramItem.program_id.in_(part)).order_by(ProgramItem.id)):
            items.setdefault(i.program_id, []).append(
                RuleItem(i.id, i.program_id, i.sku, i.upc, i.description, Size(i.size_value, i.size_unit), i.category)
            )
    brands = {
        brand_id: name
        for brand_id, name in s.execute(
            select(Brand.id, Brand.name).where(Brand.id.in_({p.brand_id for p in programs}))
        )
    }
    return [
        RuleProgram(
            id=p.id,
            brand_id=p.brand_id,
            brand_name=brands.get(p.brand_id, ""),
            name=p.name,
            code=p.code,
            buy_quantity=p.buy_quantity,
            free_quantity=p.free_quantity,
            fulfilment_type=FulfilmentType(p.fulfilment_type),
            starts_on=p.starts_on,
            ends_on=p.ends_on,
            quality_check_required=p.quality_check_required,
            items=tuple(items.get(p.id, ())),
        )
        for p in programs
    ]


def load_rule_book(s: Session, retailer_id: int, cards: Sequence[PosCard]) -> RuleBook:
    """The retailer's enrollments and every program the cards can touch (by SKU, UPC, code, enrollment)."""
    enrollments = [
        RuleEnrollment(program_id, distributor_id, ended_at.date() if ended_at else None)
        for program_id, distributor_id, ended_at in s.execute(
            select(Enrollment.program_id, Enrollment.distributor_id, Enrollment.ended_at).where(
                Enrollment.retailer_id == retailer_id
            )
        )
    ]
    skus: set[str] = set()
    upcs: set[str] = set()
    codes: set[str] = set()
    for card in cards:
        if card.program_code and card.program_code.strip():
            codes.add(code_key(card.program_code))
        for item in (*card.purchases, *card.free_goods):
            skus.add(sku_key(item.sku))
            if key := upc_key(item.upc):
                upcs.add(key)
    program_ids = {e.program_id for e in enrollments}
    for part in _chunks(sorted(skus), _IN_CHUNK):
        program_ids.update(
            s.scalars(select(ProgramItem.program_id).where(func.upper(func.trim(ProgramItem.sku)).in_(part)))
        )
    for part in _chunks(sorted(upcs), _IN_CHUNK):
        program_ids.update(s.scalars(select(ProgramItem.program_id).where(func.ltrim(ProgramItem.upc, "0").in_(part))))
    for part in _chunks(sorted(codes), _IN_CHUNK):
        program_ids.update(s.scalars(select(Program.id).where(func.lower(func.trim(Program.code)).in_(part))))
    return RuleBook(_rule_programs(s, program_ids), enrollments)


# -- checking the file -----------------------------------------------------------------------------------


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
        if (i := _normalise_internal_id(c.internal_id)) and len(i) > 100:
            add(row, "customer id", c.internal_id, "at most 100 characters")
    if problems:
        more = " (only the first ones are listed)" if len(problems) >= MAX_PROBLEMS else ""
        raise PosReportRejected(
            f"{len(problems)} problem(s) in {filename}{more}; nothing was imported. "
            "Fix the file (or the store codes) and upload it again.",
            problems,
        )


# -- the import ------------------------------------------------------------------------------------------


def _item_json(item: PosItem, program_item_id: int | None) -> dict[str, Any]:
    return {
        "sku": item.sku,
        "upc": item.upc,
        "description": item.description,
        "quantity": item.quantity,
        "size_value": None if item.size_value is None else str(item.size_value),
        "size_unit": item.size_unit,
        "brand": item.brand,
        "purchased_on": item.purchased_on.isoformat() if item.purchased_on else None,
        "row": item.row,
        "program_item_id": program_item_id,
    }


def card_json(card: PosCard, outcome: Outcome) -> dict[str, Any]:
    """The card as reported, with each item's program item when it passed (the Review screen shows this)."""
    program = outcome.program

    def resolved(item: PosItem) -> int | None:
        found = program.find(item) if program is not None else None
        return found.id if found is not None else None

    c = card.customer
    return {
        "customer": {"name": c.name, "phone": c.phone, "email": c.email, "internal_id": c.internal_id},
        "program_code": card.program_code,
        "store_code": card.store_code,
        "purchases": [_item_json(i, resolved(i)) for i in card.purchases],
        "free_goods": [_item_json(i, resolved(i)) for i in card.free_goods],
    }


def free_good_values(
    *,
    redemption_id: int,
    retailer_id: int,
    location_id: int | None,
    customer_id: int | None,
    program: RuleProgram | Program,
    distributor_id: int | None,
    item: RuleItem | ProgramItem,
    quantity: int,
    redeemed_on: Any,
    unit_cost: Decimal | None,
    now: datetime,
) -> dict[str, Any]:
    """The ``fb_free_goods`` row for a processed redemption: a New Reward for its distributor."""
    size = item.size if isinstance(item, RuleItem) else Size(item.size_value, item.size_unit)
    return {
        "pos_redemption_id": redemption_id,
        "retailer_id": retailer_id,
        "location_id": location_id,
        "distributor_id": distributor_id,
        "brand_id": program.brand_id,
        "program_id": program.id,
        "customer_id": customer_id,
        "fulfilment_type": str(program.fulfilment_type),
        "sku": item.sku,
        "upc": item.upc,
        "description": item.description,
        "quantity": quantity,
        "size_value": size.value,
        "size_unit": size.unit,
        "redeemed_on": redeemed_on,
        "unit_cost": unit_cost,
        "status": CreditStatus.UNBATCHED.value,
        "batch_id": None,
        "reason": None,
        "created_at": now,
        "updated_at": now,
    }


def _event(
    subject_id: int, event: PE, before: PS | None, after: PS, actor: str, now: datetime, detail: str
) -> dict[str, Any]:
    return {
        "subject_type": "pos_redemption",
        "subject_id": subject_id,
        "event": event.value,
        "from_status": before.value if before else None,
        "to_status": after.value,
        "actor": actor,
        "detail": detail,
        "at": now,
    }


@dataclass
class _Plan:
    card: PosCard
    prior_id: int | None
    outcome: Outcome
    customer: _Cust
    how: str
    id: int = 0


class _Importer:
    def __init__(
        self,
        s: Session,
        actor: Actor,
        now: datetime,
        retailer_id: int,
        report_id: int,
        report: ParsedReport,
        locations: dict[str, int],
        summary: ImportSummary,
    ) -> None:
        self.s, self.actor, self.now = s, actor, now
        self.retailer_id, self.report_id, self.report, self.summary = retailer_id, report_id, report, summary
        self.locations = locations
        self.only_location = next(iter(locations.values())) if len(locations) == 1 else None
        self.book = load_rule_book(s, retailer_id, report.cards)
        self.prices = {
            sku_key(sku): cost
            for sku, cost in s.execute(
                select(PriceListEntry.sku, PriceListEntry.unit_cost).where(PriceListEntry.retailer_id == retailer_id)
            )
        }
        self.bulk = _Bulk(s)
        self.customers = _Customers(self.bulk, retailer_id, report.cards, now)

    def location_of(self, card: PosCard) -> int | None:
        if card.store_code is not None and card.store_code.strip():
            return self.locations[store_code_key(card.store_code)]
        return self.only_location

    def run(self) -> None:
        for chunk in _chunks(self.report.cards, CHUNK):
            self._chunk(chunk)
        self.customers.save_filled(self.s)
        self.summary.customers_created = self.customers.created
        self.summary.customers_matched = self.customers.matched

    def _chunk(self, cards: Sequence[PosCard]) -> None:
        s, summary = self.s, self.summary
        keys = [c.key.strip() for c in cards]
        prior = {
            row.pos_key: (row.id, row.status)
            for row in s.execute(
                select(PosRedemption.id, PosRedemption.pos_key, PosRedemption.status).where(
                    PosRedemption.retailer_id == self.retailer_id, self.bulk.among(PosRedemption.pos_key, keys)
                )
            )
        }
        plans: list[_Plan] = []
        for card, key in zip(cards, keys, strict=True):
            before = prior.get(key)
            if before is not None and before[1] != PS.DENIED:
                summary.already_imported += 1
                continue
            outcome = evaluate_card(card, self.book)
            customer, how = self.customers.resolve(card.customer)
            plans.append(_Plan(card, before[0] if before else None, outcome, customer, how))
        self.customers.insert_new()

        fresh = [p for p in plans if p.prior_id is None]
        if fresh:
            ids = self.bulk.insert(_REDEMPTIONS, [self._row(p) for p in fresh], ids=True)
            for p, new_id in zip(fresh, ids, strict=True):
                p.id = new_id
        replaced = [p for p in plans if p.prior_id is not None]
        if replaced:
            for p in replaced:
                p.id = p.prior_id or 0
            s.execute(
                update(_REDEMPTIONS)
                .where(_REDEMPTIONS.c.id == bindparam("b_id"))
                .values({name: bindparam("b_" + name) for name in self._row(replaced[0])}),
                [{"b_id": p.id, **{"b_" + k: v for k, v in self._row(p).items()}} for p in replaced],
            )
        events: list[dict[str, Any]] = []
        free_goods: list[dict[str, Any]] = []
        for p in plans:
            self._walk(p, events, free_goods)
        self.bulk.insert(_EVENTS, events)
        self.bulk.insert(_FREE_GOODS, free_goods)
        summary.imported += len(fresh)
        summary.replaced += len(replaced)
        summary.free_goods_created += len(free_goods)

    def _final_status(self, outcome: Outcome) -> PS:
        if isinstance(outcome, Denied):
            return PS.DENIED
        return PS.QUALITY_CHECK if outcome.program.quality_check_required else PS.PROCESSED

    def _row(self, p: _Plan) -> dict[str, Any]:
        outcome = p.outcome
        program = outcome.program
        denied = isinstance(outcome, Denied)
        return {
            "retailer_id": self.retailer_id,
            "report_id": self.report_id,
            "location_id": self.location_of(p.card),
            "pos_key": p.card.key.strip(),
            "source_rows": list(p.card.rows),
            "status": self._final_status(outcome).value,
            "denial_reason": outcome.reason.value if denied else None,
            "denial_detail": outcome.detail if denied else None,
            "customer_id": p.customer.id,
            "program_id": program.id if program else None,
            "brand_id": program.brand_id if program else None,
            "distributor_id": None if denied else outcome.distributor_id,
            "redeemed_on": p.card.redeemed_on,
            "card": card_json(p.card, outcome),
            "updated_at": self.now,
        } | ({"created_at": self.now} if p.prior_id is None else {})

    def _walk(self, p: _Plan, events: list[dict[str, Any]], free_goods: list[dict[str, Any]]) -> None:
        """The moves this card made, as event rows (and its free good when processed)."""
        actor, now, summary = self.actor.name, self.now, self.summary
        state = PS.NEW
        if p.prior_id is not None:
            state = pos_transition(PS.DENIED, PE.RESUBMIT)
            events.append(
                _event(p.id, PE.RESUBMIT, PS.DENIED, state, actor, now, f"corrected card in report {self.report_id}")
            )
        after = pos_transition(state, PE.MAP_CUSTOMER)
        who = f"created customer {p.customer.id}" if p.how == "created" else f"customer {p.customer.id} by {p.how}"
        events.append(_event(p.id, PE.MAP_CUSTOMER, state, after, actor, now, who))
        state = after
        outcome = p.outcome
        if isinstance(outcome, Denied):
            after = pos_transition(state, PE.DENY)
            events.append(_event(p.id, PE.DENY, state, after, actor, now, f"{outcome.reason.value}: {outcome.detail}"))
            summary.denied += 1
            reason = outcome.reason.value
            summary.denied_by_reason[reason] = summary.denied_by_reason.get(reason, 0) + 1
            if len(summary.denials) < MAX_DENIAL_LINES:
                summary.denials.append(DenialLine(p.id, p.card.key.strip(), tuple(p.card.rows), reason, outcome.detail))
            return
        after = pos_transition(state, PE.PASS_RULES)
        to = f"distributor {outcome.distributor_id}" if outcome.distributor_id else outcome.program.fulfilment_type
        events.append(_event(p.id, PE.PASS_RULES, state, after, actor, now, f"program {outcome.program.name!r}; {to}"))
        state = after
        if outcome.program.quality_check_required:
            summary.quality_check += 1
            return
        after = pos_transition(state, PE.PROCESS)
        events.append(_event(p.id, PE.PROCESS, state, after, actor, now, f"free good sent to {to}"))
        summary.processed += 1
        item = outcome.free_item
        free_goods.append(
            free_good_values(
                redemption_id=p.id,
                retailer_id=self.retailer_id,
                location_id=self.location_of(p.card),
                customer_id=p.customer.id,
                program=outcome.program,
                distributor_id=outcome.distributor_id,
                item=item,
                quantity=outcome.free_quantity,
                redeemed_on=p.card.redeemed_on,
                unit_cost=self.prices.get(sku_key(item.sku)),
                now=now,
            )
        )


def _locations(s: Session, retailer_id: int) -> dict[str, int]:
    return {
        store_code_key(code): loc_id
        for loc_id, code in s.execute(
            select(RetailerLocation.id, RetailerLocation.store_code)
            .where(RetailerLocation.retailer_id == retailer_id)
            .order_by(RetailerLocation.id)
        )
    }


def _stored_summary(s: Session, report: PosReport) -> ImportSummary:
    stored = s.scalar(
        select(FbEvent.detail)
        .where(FbEvent.subject_type == "pos_report", FbEvent.subject_id == report.id, FbEvent.event == "import")
        .order_by(FbEvent.id)
        .limit(1)
    )
    data = json.loads(stored) if stored else {}
    known = {f for f in ImportSummary.__dataclass_fields__ if f != "denials"}
    summary = ImportSummary(
        **{
            "retailer_id": report.retailer_id,
            "filename": report.filename,
            "format": report.format,
            "sha256": report.sha256,
            "row_count": report.row_count,
            "cards": 0,
            **{k: v for k, v in data.items() if k in known},
        }
    )
    denied = s.execute(
        select(
            PosRedemption.id,
            PosRedemption.pos_key,
            PosRedemption.source_rows,
            PosRedemption.denial_reason,
            PosRedemption.denial_detail,
        )
        .where(PosRedemption.report_id == report.id, PosRedemption.status == PS.DENIED)
        .order_by(PosRedemption.id)
        .limit(MAX_DENIAL_LINES)
    )
    summary.denials = [
        DenialLine(r.id, r.pos_key, tuple(r.source_rows or ()), r.denial_reason or "", r.denial_detail or "")
        for r in denied
    ]
    summary.report_id = summary.duplicate_of = report.id
    return summary


def import_pos_report(
    rt: Runtime,
    actor: Actor,
    retailer_id: int,
    report: ParsedReport,
    filename: str,
    *,
    dry_run: bool = False,
) -> ImportSummary:
    """Import a parsed report for a retailer, all or nothing; ``dry_run`` reports the same and stores nothing.

    Raises ``PosReportRejected`` (every bad row and column) when the file cannot be imported,
    ``NotFoundError`` for a retailer the actor cannot act for, ``PermissionDeniedError`` for
    roles that never upload.
    """
    check_can_upload(actor)
    check_retailer_write(actor, retailer_id, "upload POS reports")
    filename = (filename or "report").strip()[:300] or "report"
    s = rt.sessions()
    try:
        # One import per retailer at a time: the lock makes "same file twice" and "same card in two files"
        # sequential, so the second sees the first's rows instead of failing on a unique key.
        retailer = s.scalars(select(Retailer).where(Retailer.id == retailer_id).with_for_update()).one_or_none()
        if retailer is None:
            raise NotFoundError(f"retailer {retailer_id} not found")
        existing = s.scalars(
            select(PosReport).where(PosReport.retailer_id == retailer_id, PosReport.sha256 == report.sha256)
        ).one_or_none()
        if existing is not None:
            summary = _stored_summary(s, existing)
            summary.dry_run = dry_run
            s.rollback()
            return summary
        locations = _locations(s, retailer_id)
        check_report(report, retailer.name, locations, filename)
        now = rt.now()
        row = PosReport(
            retailer_id=retailer_id,
            format=report.format[:50],
            filename=filename,
            sha256=report.sha256,
            row_count=report.row_count,
            uploaded_by=actor.name[:200],
            uploaded_at=now,
        )
        s.add(row)
        s.flush()
        summary = ImportSummary(
            retailer_id=retailer_id,
            filename=filename,
            format=report.format,
            sha256=report.sha256,
            row_count=report.row_count,
            cards=len(report.cards),
            report_id=row.id,
            dry_run=dry_run,
        )
        _Importer(s, actor, now, retailer_id, row.id, report, locations, summary).run()
        record(s, "pos_report", row.id, "import", actor, now, json.dumps(summary.counts(), sort_keys=True))
        if dry_run:
            s.rollback()
            summary.report_id = None
            summary.denials = [DenialLine(None, d.pos_key, d.rows, d.reason, d.detail) for d in summary.denials]
        else:
            s.commit()
        return summary
    except BaseException:
        s.rollback()
        raise
    finally:
        s.close()


# -- quality check ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApproveResult:
    processed_ids: tuple[int, ...]
    free_goods_created: int


def approve_quality_check(
    rt: Runtime,
    actor: Actor,
    *,
    pos_redemption_ids: Sequence[int] | None = None,
    report_id: int | None = None,
) -> ApproveResult:
    """The final check passed: ``quality_check → processed``, each with its ``FreeGood`` (support/admins).

    With ``report_id`` alone, every redemption of that report now in Quality Check; with ids,
    exactly those (and, with ``report_id`` too, only if they all belong to it) — all or none:
    an id not in Quality Check answers ``IllegalTransitionError`` naming it.
    """
    check_staff(actor, "approve the quality check")
    if pos_redemption_ids is None and report_id is None:
        raise ValidationError(
            "give redemption ids or a report", fields={"pos_redemption_ids": "give these, or report_id"}
        )
    now = rt.now()
    with transaction(rt.sessions) as s:
        q = select(PosRedemption).order_by(PosRedemption.id).with_for_update()
        if report_id is not None and s.get(PosReport, report_id) is None:
            raise NotFoundError(f"POS report {report_id} not found")
        if pos_redemption_ids is None:
            rows = list(
                s.scalars(q.where(PosRedemption.report_id == report_id, PosRedemption.status == PS.QUALITY_CHECK))
            )
        else:
            wanted = sorted(set(pos_redemption_ids))
            if not wanted:
                raise ValidationError("no redemptions given", fields={"pos_redemption_ids": "give at least one id"})
            rows = list(s.scalars(q.where(PosRedemption.id.in_(wanted))))
            missing = sorted(set(wanted) - {r.id for r in rows})
            if missing:
                raise NotFoundError(f"POS redemption(s) {', '.join(map(str, missing))} not found")
            outside = [r.id for r in rows if report_id is not None and r.report_id != report_id]
            if outside:
                raise ValidationError(
                    "redemptions not in this report",
                    fields={"pos_redemption_ids": f"not in report {report_id}: {', '.join(map(str, outside))}"},
                )
            for r in rows:
                try:
                    pos_transition(r.status, PE.PROCESS)
                except IllegalTransitionError as exc:
                    raise IllegalTransitionError(
                        f"redemption {r.id} ({r.pos_key}): {exc.message}", current=r.status, event=PE.PROCESS.value
                    ) from None
        if not rows:
            return ApproveResult((), 0)
        programs = {p.id: p for p in s.scalars(select(Program).where(Program.id.in_({r.program_id for r in rows})))}
        item_ids = {_free_item_id(r) for r in rows}
        items = {i.id: i for i in s.scalars(select(ProgramItem).where(ProgramItem.id.in_(item_ids)))}
        prices: dict[tuple[int, str], Decimal] = {
            (rid, sku_key(sku)): cost
            for rid, sku, cost in s.execute(
                select(PriceListEntry.retailer_id, PriceListEntry.sku, PriceListEntry.unit_cost).where(
                    PriceListEntry.retailer_id.in_({r.retailer_id for r in rows})
                )
            )
        }
        free_goods, events = [], []
        for r in rows:
            program, item = programs[r.program_id or 0], items[_free_item_id(r)]
            after = pos_transition(r.status, PE.PROCESS)
            to = f"distributor {r.distributor_id}" if r.distributor_id else program.fulfilment_type
            events.append(
                _event(
                    r.id,
                    PE.PROCESS,
                    PS(r.status),
                    after,
                    actor.name,
                    now,
                    f"quality check passed; free good sent to {to}",
                )
            )
            r.status, r.updated_at = after.value, now
            free_goods.append(
                free_good_values(
                    redemption_id=r.id,
                    retailer_id=r.retailer_id,
                    location_id=r.location_id,
                    customer_id=r.customer_id,
                    program=program,
                    distributor_id=r.distributor_id,
                    item=item,
                    quantity=sum(int(f["quantity"]) for f in r.card["free_goods"]),
                    redeemed_on=r.redeemed_on,
                    unit_cost=prices.get((r.retailer_id, sku_key(item.sku))),
                    now=now,
                )
            )
        s.flush()
        s.execute(insert(_EVENTS), events)
        s.execute(insert(_FREE_GOODS), free_goods)
        return ApproveResult(tuple(r.id for r in rows), len(free_goods))


def _free_item_id(r: PosRedemption) -> int:
    item_id = r.card["free_goods"][0].get("program_item_id")
    if item_id is None:  # a passed card always has it; anything else is a corrupted row
        raise IllegalTransitionError(f"redemption {r.id} has no resolved free good; import the card again")
    return int(item_id)
