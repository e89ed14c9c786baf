"""The one parser that reads every ``ColumnMapping``: a report file into cards, or every problem in it.

Strict because the retailer's credit depends on it: a file with any problem is rejected as a whole, each
problem located by spreadsheet row (header = row 1), column, value found and what was expected. It streams
the bytes, so a 100,000-row report costs its cards' memory, not several copies of the file.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import IO, TYPE_CHECKING, Any

from connector.core.frequent_buyer.pos_types import (
    ParsedReport,
    PosCard,
    PosCustomer,
    PosItem,
    PosReportRejected,
)
from connector.plugins.darts.mapping.fields import CELL_LIMITS, CUSTOMER_ID_FIELDS, FIELDS, ROW_FIELDS
from connector.plugins.darts.mapping.header import HeaderChecks
from connector.plugins.darts.mapping.problems import Problems
from connector.plugins.darts.mapping.source import DecodeErrors, _encoding_label, _prepare, _sniff
from connector.plugins.darts.mapping.values import (
    _CONTROL,
    _EXCEL_NUMBER,
    _QUANTITY,
    _UPC,
    normalise_email,
    normalise_phone,
    parse_size,
)

if TYPE_CHECKING:
    from connector.plugins.darts.mapping.columns import Column, ColumnMapping


class _Card:
    __slots__ = ("store", "number", "first_row", "head", "rows", "purchases", "free", "broken")

    def __init__(self, store: str | None, number: str, first_row: int, head: tuple[Any, ...] | None) -> None:
        self.store = store
        self.number = number
        self.first_row = first_row
        self.head = head
        self.rows: list[int] = []
        self.purchases: list[PosItem] = []
        self.free: list[PosItem] = []
        self.broken = head is None


_FAILED = object()


def parse(stream: IO[bytes], filename: str, mapping: ColumnMapping) -> ParsedReport:
    """Read one report file into cards, or raise ``PosReportRejected`` with every problem found.

    The stream is read from its current position and left open (the caller owns it).
    """
    return _Parser(mapping, filename).run(stream)


class _Parser(HeaderChecks, DecodeErrors):
    def __init__(self, mapping: ColumnMapping, filename: str) -> None:
        self.m = mapping
        self.filename = filename
        self.problems = Problems()
        self.header_problem = False
        #: The csv reader gave up part-way: cards may be cut short, so card-level checks would only add noise.
        self.truncated = False
        self.titles = mapping.header
        self.cards: dict[tuple[str | None, str], _Card] = {}
        self.row_count = 0
        self._dates: dict[str, Any] = {}
        self._sizes: dict[str, Any] = {}
        self._quantities: dict[str, Any] = {}
        self._phones: dict[str, Any] = {}
        self._emails: dict[str, Any] = {}
        self._strings: dict[str, str] = {}
        kind = mapping.line_kind
        self._kinds = {v.strip().upper(): False for v in kind.purchase} | {v.strip().upper(): True for v in kind.free}
        self._aliases = {" ".join(k.lower().split()): v for k, v in mapping.size_units.items()}
        self._title = {name: (col.title if (col := mapping.column_for(name)) else name) for name in FIELDS}
        self._ix: dict[str, int] = {}
        self._check_control = False

    # -- driver -------------------------------------------------------------------------------------------

    def run(self, stream: IO[bytes]) -> ParsedReport:
        source = _prepare(stream, self.m.encodings)
        try:
            what = _sniff(source.head)
            if what and what.startswith("UTF-16") and any("16" in codecs.lookup(e).name for e in self.m.encodings):
                what = None  # this format is UTF-16: the byte-order mark is expected
            if what:
                self.problems.add(1, "(file)", what, f"a CSV text file in {_encoding_label(self.m.encodings[0])}")
                self._reject()
            encoding = next((enc for enc in self.m.encodings if source.decodes[enc]), None)
            if encoding is None:
                encoding = self.m.encodings[0]
                self._locate_decode_errors(source.rewind(), encoding)
            self._check_control = source.has_control
            self._read_rows(source.rewind(), encoding, strict=source.decodes[encoding])
        finally:
            if source.spool is not None:
                source.spool.close()
        cards = self._finish_cards()
        if self.problems.count:
            self._reject()
        return ParsedReport(format=self.m.name, sha256=source.sha256, row_count=self.row_count, cards=cards)

    def _reject(self) -> None:
        p = self.problems
        kept = sorted(p.kept, key=lambda x: x.row)
        more = p.count - len(kept)
        msg = (
            f"{self.filename!r} was not imported as a {self.m.name} report ({self.m.description}): "
            f"{p.count} problem{'s' if p.count != 1 else ''} found, nothing was imported. First: {kept[0].describe()}."
        )
        if more:
            msg += f" Listing the first {len(kept)}; and {more} more."
        if self.header_problem:
            msg += f" The header row (row 1) must be exactly: {self.m.delimiter.join(self.titles)}"
        raise PosReportRejected(msg, kept)

    def _read_rows(self, raw: IO[bytes], encoding: str, strict: bool) -> None:
        text = io.TextIOWrapper(raw, encoding=encoding, errors="strict" if strict else "replace", newline="")
        try:
            reader = csv.reader(text, delimiter=self.m.delimiter, quotechar=self.m.quotechar)
            rows = self._numbered(reader)
            present = self._read_header(rows)
            if present is None:
                return
            self._read_body(rows, present, lenient=not strict)
        finally:
            text.detach()  # the caller's stream stays open

    def _numbered(self, reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
        """Rows with their spreadsheet numbers; a row the csv module cannot read ends the file with a problem."""
        number = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                self.truncated = True
                self.problems.add(
                    number + 1,
                    "(row)",
                    str(exc)[:200],
                    "a readable CSV row (a quote character without its closing quote makes the rest of the file "
                    "one cell)",
                )
                return
            number += 1
            yield number, cells

    # -- body ---------------------------------------------------------------------------------------------

    def _read_body(self, rows: Iterator[tuple[int, list[str]]], present: list[Column], lenient: bool) -> None:
        """Every data row into its card. The hot loop: one pass, cached conversions, C-level list work.

        ``lenient``: the file did not decode and its undecodable bytes are already reported; rows holding
        them (now U+FFFD) are kept out of their cards so they do not also show up as disagreeing rows.
        """
        width = len(present)
        positions = {col.field: i for i, col in enumerate(present) if col.field}
        required = [(i, col.title) for i, col in enumerate(present) if col.required]
        # Every absent field reads the empty cell appended after the row, so the row code needs no branches.
        ix = {name: positions.get(name, width) for name in FIELDS}
        limited = sorted(
            ((CELL_LIMITS[col.field], i, col.title) for i, col in enumerate(present) if col.field in CELL_LIMITS),
        )
        self._ix = ix
        title = self._title
        has_store = "store_code" in positions
        by_sign = self.m.line_kind.by == "quantity_sign"
        required_ok = itemgetter(*[i for i, _ in required]) if required else None
        cells_of = itemgetter(*(ix[name] for name in ROW_FIELDS))
        header_hint = f"{width} cells, one per header column"
        problems, cards, strings, kinds = self.problems, self.cards, self._strings, self._kinds
        dates, quantities, sizes = self._dates, self._quantities, self._sizes
        phones, emails = self._phones, self._emails
        strip = str.strip
        for r, raw in rows:
            if len(raw) != width:
                if not raw or not any(map(strip, raw)):
                    continue  # a blank line or an empty spreadsheet row carries nothing
                if len(raw) > width:
                    hint = "; a value containing the delimiter must be in quotes"
                elif any("\n" in cell for cell in raw):
                    hint = "; a quote character without its closing quote joined it with the rows below"
                else:
                    hint = ""
                problems.add(r, "(row)", f"{len(raw)} cells", header_hint + hint)
                continue
            c = list(map(strip, raw))
            if not any(c):
                continue
            c.append("")
            self.row_count += 1
            before = problems.count
            if self._check_control:
                for i, cell in enumerate(c):
                    if found := _CONTROL.search(cell):
                        problems.add(
                            r,
                            present[i].title,
                            cell.replace(found.group(), f"[0x{ord(found.group()):02X}]"),
                            "text without control characters (a damaged or binary file?)",
                        )
            if required_ok is not None and not all(_as_tuple(required_ok(c))):
                for i, t in required:
                    if not c[i]:
                        problems.add(r, t, "", "a value: this column may not be empty")
            longest = max(map(len, c))
            for limit, i, t in limited:
                if limit >= longest:
                    break
                if len(c[i]) > limit:
                    problems.add(r, t, c[i], f"at most {limit} characters")
                    c[i] = ""  # reported; no conversion or pattern reads it (the row is refused anyway)
            (
                store,
                number,
                redeemed_text,
                customer_id,
                name,
                phone_text,
                email_text,
                program,
                kind_text,
                purchased_text,
                sku,
                upc,
                description,
                size_text,
                unit_text,
                qty_text,
                brand,
            ) = cells_of(c)

            # Conversions: a cache hit is the common case (a file repeats its dates, sizes and customers).
            quantity = quantities.get(qty_text) if qty_text else None
            if quantity is _FAILED or (qty_text and quantity is None):
                quantity = self._quantity(r, qty_text, by_sign)
            is_free: bool | None = None
            if by_sign:
                if quantity is not None:
                    is_free, quantity = quantity < 0, abs(quantity)
            elif kind_text:
                is_free = kinds.get(kind_text.upper())
                if is_free is None:
                    problems.add(r, title["line_type"], kind_text, f"one of {', '.join(self._kind_values())}")
            redeemed_on = dates.get(redeemed_text) if redeemed_text else None
            if redeemed_on is _FAILED or (redeemed_text and redeemed_on is None):
                redeemed_on = self._date(r, redeemed_text, title["redeemed_on"])
            purchased_on = dates.get(purchased_text) if purchased_text else None
            if purchased_on is _FAILED or (purchased_text and purchased_on is None):
                purchased_on = self._date(r, purchased_text, title["purchased_on"])
            size = None
            if size_text:
                if unit_text:
                    size_text = f"{size_text} {unit_text}"
                size = sizes.get(size_text)
                if size is None or isinstance(size, str):
                    size = self._size(r, size_text)
            phone = phones.get(phone_text) if phone_text else None
            if phone_text and not isinstance(phone, str):
                phone = self._normalised(r, phone_text, "phone", phones, self._phone)
            email = emails.get(email_text) if email_text else None
            if email_text and not isinstance(email, str):
                email = self._normalised(r, email_text, "email", emails, normalise_email)
            if upc and not _UPC.fullmatch(upc):
                hint = (
                    " (a spreadsheet turned it into a number: format the column as text)"
                    if _EXCEL_NUMBER.fullmatch(upc)
                    else ""
                )
                problems.add(r, title["upc"], upc, f"8 to 14 digits{hint}")

            if not number:
                continue
            ok = problems.count == before and not (lenient and any("\ufffd" in cell for cell in c))
            key = (store if has_store else None, number)
            head = (redeemed_on, program, customer_id, name, phone, email)
            card = cards.get(key)
            if card is None:
                card = cards[key] = _Card(key[0], number, r, head if ok else None)
            elif ok and card.head is not None and head != card.head:
                self._explain_head(r, card, head, c)
                ok = False
            card.rows.append(r)
            if not ok or card.head is None:
                card.broken = True
                continue
            item = PosItem(
                sku=strings.setdefault(sku, sku),
                description=strings.setdefault(description, description),
                quantity=quantity,  # type: ignore[arg-type]  # set: the cell is required and converted
                upc=strings.setdefault(upc, upc) if upc else None,
                size_value=size[0] if size else None,
                size_unit=size[1] if size else None,
                brand=strings.setdefault(brand, brand) if brand else None,
                purchased_on=purchased_on,
                row=r,
            )
            (card.free if is_free else card.purchases).append(item)

    def _kind_values(self) -> list[str]:
        return [*self.m.line_kind.purchase, *self.m.line_kind.free]

    def _explain_head(self, r: int, card: _Card, head: tuple[Any, ...], c: list[str]) -> None:
        names = ("redeemed_on", "program", "customer_id", "customer_name", "phone", "email")
        for name, mine, theirs in zip(names, head, card.head or (), strict=True):
            if mine != theirs:
                shown = c[self._ix[name]]
                first = "(empty)" if theirs in (None, "") else str(theirs)
                self.problems.add(
                    r,
                    self._title[name],
                    shown,
                    f"{first!r} as on row {card.first_row}: every row of card {self._key(card)} must repeat "
                    f"the same {self._title[name]}",
                )

    def _key(self, card: _Card) -> str:
        return f"{card.store}:{card.number}" if card.store is not None else card.number

    # -- cells --------------------------------------------------------------------------------------------

    def _date(self, r: int, text: str, column: str) -> date | None:
        if not text:
            return None
        found = self._dates.get(text)
        if found is None:
            found = _FAILED
            for fmt in self.m.date_formats:
                try:
                    found = datetime.strptime(text, fmt).date()
                    break
                except ValueError:
                    continue
            self._dates[text] = found
        if found is _FAILED:
            shown = " or ".join(_date_example(f) for f in self.m.date_formats)
            self.problems.add(r, column, text, f"a date like {shown}")
            return None
        return found  # type: ignore[return-value]

    def _quantity(self, r: int, text: str, signed: bool) -> int | None:
        found = self._quantities.get(text)
        if found is None:
            m = _QUANTITY.fullmatch(text)
            found = int(m.group(1) + m.group(2)) if m else _FAILED
            if found is not _FAILED and (found == 0 or (found < 0 and not signed)):  # type: ignore[operator]
                found = _FAILED
            self._quantities[text] = found
        if found is _FAILED:
            if signed:
                expected = "a whole number: positive for a purchase, negative for a free good, never 0"
            else:
                expected = "a whole number from 1 to 99999"
            self.problems.add(r, self._title["quantity"], text, expected)
            return None
        return found  # type: ignore[return-value]

    def _size(self, r: int, text: str) -> tuple[Decimal, str] | None:
        found = self._sizes.get(text)
        if found is None:
            try:
                found = parse_size(text, self.m.decimal_separator, self._aliases)
            except ValueError as exc:
                found = str(exc)
            self._sizes[text] = found
        if isinstance(found, str):
            self.problems.add(r, self._title["size"], text, found)
            return None
        return found

    def _phone(self, text: str) -> str:
        return normalise_phone(text, self.m.phone_country_code)

    def _normalised(self, r: int, text: str, name: str, cache: dict[str, Any], fn: Any) -> str | None:
        if not text:
            return None
        found = cache.get(text)
        if found is None:
            try:
                found = fn(text)
            except ValueError as exc:
                found = ValueError(str(exc))
            cache[text] = found
        if isinstance(found, ValueError):
            self.problems.add(r, self._title[name], text, str(found))
            return None
        return found

    # -- cards --------------------------------------------------------------------------------------------

    def _finish_cards(self) -> tuple[PosCard, ...]:
        m = self.m
        kind_col = self._title.get("line_type") if m.line_kind.by == "column" else self._title.get("quantity")
        has_redeemed = m.column_for("redeemed_on") is not None
        id_titles = " or ".join(c.title for f in CUSTOMER_ID_FIELDS if (c := m.column_for(f)))
        out: list[PosCard] = []
        if self.truncated:
            return ()
        for card in self.cards.values():
            if card.broken or card.head is None:
                continue
            key = self._key(card)
            rows = _rows_text(card.rows)
            bad = False
            if not card.free:
                free_says = "a negative quantity" if m.line_kind.by == "quantity_sign" else "/".join(m.line_kind.free)
                self.problems.add(
                    card.first_row,
                    kind_col or "",
                    "",
                    f"a free-good row ({free_says}) for card {key} ({rows}): a card without one is not a redemption",
                )
                bad = True
            if not card.purchases:
                self.problems.add(
                    card.first_row, kind_col or "", "", f"purchase rows for card {key} ({rows}): it has none"
                )
                bad = True
            redeemed_on, _program, customer_id, name, phone, email = card.head
            if not (customer_id or phone or email):
                self.problems.add(
                    card.first_row, id_titles, "", f"a {id_titles} for the customer of card {key} (at least one)"
                )
                bad = True
            if not has_redeemed and card.free:
                dates = {i.purchased_on for i in card.free}
                if len(dates) > 1:
                    self.problems.add(
                        card.free[1].row,
                        self._title["purchased_on"],
                        card.free[1].purchased_on.strftime(m.date_formats[0]),  # type: ignore[union-attr]
                        f"the same date on every free-good row of card {key} (it is the redemption date)",
                    )
                    bad = True
                redeemed_on = card.free[0].purchased_on
            if redeemed_on is None and not bad:
                column = self._title["redeemed_on" if has_redeemed else "purchased_on"]
                self.problems.add(card.first_row, column, "", f"the redemption date of card {key}")
                bad = True
            if bad or self.problems.count:
                continue  # the report is rejected anyway: build nothing more
            out.append(
                PosCard(
                    key=key,
                    redeemed_on=redeemed_on,
                    customer=PosCustomer(name=name, phone=phone, email=email, internal_id=customer_id or None),
                    purchases=tuple(card.purchases),
                    free_goods=tuple(card.free),
                    store_code=card.store,
                    program_code=_program or None,
                    rows=tuple(card.rows),
                )
            )
        return tuple(out)


def _as_tuple(value: Any) -> tuple[Any, ...]:
    """``itemgetter`` with one index returns the item, not a 1-tuple."""
    return value if isinstance(value, tuple) else (value,)


def _date_example(fmt: str) -> str:
    return f"{date(2024, 11, 23).strftime(fmt)!r} ({fmt})"


def _rows_text(rows: list[int]) -> str:
    if len(rows) == 1:
        return f"row {rows[0]}"
    if rows == list(range(rows[0], rows[-1] + 1)):
        return f"rows {rows[0]}-{rows[-1]}"
    shown = ", ".join(map(str, rows[:6]))
    return f"rows {shown}{', ...' if len(rows) > 6 else ''}"
