"""Program rules: is one reported card a valid redemption, and if not, exactly why.

Pure functions over plain values (no database, no clock), so the 100,000-card import calls
them in a tight loop and the tests call them without a fixture. ``pos_ingest`` builds one
``RuleBook`` per upload (the retailer's enrollments and every program the file mentions) and
calls ``evaluate_card`` once per card.

Finding the program
    1. The card names one (``program_code``): the program with that code, case-insensitively.
       Codes are unique per brand, so two brands may share one; then the best-ranked of them
       (below) is taken. A code no program has denies the card (``ineligible_program``): the
       store's POS program has no counterpart here yet, which is the fix to make.
    2. Otherwise the card's items decide: every program holding at least one of its purchases
       or free goods (by UPC when the item has one we know, else by SKU) is a candidate, ranked
       by (it holds every item on the card; the store is enrolled and the program runs on the
       redemption date; how many of the card's items it holds; lowest id). The first wins, so a
       card is judged against the program it plainly belongs to even when the store is not
       enrolled in it ("not enrolled in X" is the useful answer). No candidate at all denies the
       card (``item_not_in_program``). The same ranking breaks ties between brands sharing a code.

Precedence when several rules fail (the first failing one is the reason; the detail is precise)
    1. ``multiple_brands_on_card``: items of two brands on one card cannot be fixed by any
       program choice, and "keep one card per brand" is the fix the retailer needs first.
    2. ``item_not_in_program``: an unknown item makes every later count or size meaningless.
    3. ``ineligible_program``: not enrolled, enrollment ended before the redemption, redeemed
       outside the program's dates, or no distributor chosen for a distributor program.
    4. ``insufficient_purchase_quantity``: fewer purchases than X per Y free goods given.
       ``insufficient_purchase_amount``: the program has a minimum purchase in dollars and the
       card's purchases, valued at the store's price list (SRP, else unit cost), come to less;
       exactly the minimum passes. A purchase with no price denies the card with the same reason
       and a detail naming the SKU to price (the amount cannot be shown to reach the minimum).
    5. ``ineligible_free_good_size``: a free good larger than the smallest purchase, or sizes
       that cannot be compared (a count against a weight).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache

from connector.core.frequent_buyer.model import DenialReason, FulfilmentType
from connector.core.frequent_buyer.money import dollars
from connector.core.frequent_buyer.pos_types import PosCard, PosItem
from connector.core.frequent_buyer.units import DIMENSION_NOUN, Size, compare

#: Items listed by name in one detail before "and N more".
_LISTED = 5


@lru_cache(maxsize=1 << 16)
def sku_key(sku: str) -> str:
    """SKUs compare trimmed and case-insensitively (POS exports upper-case some, not others)."""
    return sku.strip().upper()


@lru_cache(maxsize=1 << 16)
def upc_key(upc: str | None) -> str | None:
    """UPC/EAN/GTIN compare as digits without leading zeros (a UPC-A is an EAN-13 with a leading 0)."""
    if not upc:
        return None
    digits = "".join(ch for ch in upc if ch.isdigit())
    return digits.lstrip("0") or None


def code_key(code: str) -> str:
    return code.strip().lower()


@dataclass(frozen=True)
class RuleItem:
    """An eligible program item (a ``ProgramItem``), as the rules need it."""

    id: int
    program_id: int
    sku: str
    upc: str | None
    description: str
    size: Size
    category: str = ""


@dataclass(frozen=True)
class RuleProgram:
    """A program with its items indexed by SKU and UPC."""

    id: int
    brand_id: int
    brand_name: str
    name: str
    code: str
    buy_quantity: int
    free_quantity: int
    fulfilment_type: FulfilmentType
    starts_on: date | None = None
    ends_on: date | None = None
    quality_check_required: bool = False
    items: Sequence[RuleItem] = ()
    #: The least the card's purchases must come to in dollars; None = no dollar minimum.
    minimum_purchase_amount: Decimal | None = None
    #: Set for a dollars-off program: a processed redemption owes a rebate of this many dollars, not a free good.
    rebate_amount: Decimal | None = None
    _by_sku: dict[str, RuleItem] = field(default_factory=dict, init=False, repr=False, compare=False)
    _by_upc: dict[str, RuleItem] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for item in self.items:
            self._by_sku[sku_key(item.sku)] = item
            key = upc_key(item.upc)
            if key:
                self._by_upc[key] = item

    def find(self, item: PosItem) -> RuleItem | None:
        """The program item a reported item is: by UPC when we know the UPC, else by SKU."""
        key = upc_key(item.upc)
        if key and key in self._by_upc:
            return self._by_upc[key]
        return self._by_sku.get(sku_key(item.sku))

    def runs_on(self, day: date) -> bool:
        return (self.starts_on is None or self.starts_on <= day) and (self.ends_on is None or day <= self.ends_on)

    def dates_text(self) -> str:
        start = self.starts_on.isoformat() if self.starts_on else "the start"
        end = self.ends_on.isoformat() if self.ends_on else "no end date"
        return f"{start} to {end}"


@dataclass(frozen=True)
class RuleEnrollment:
    """A retailer's enrollment: who fulfils the program, and until when it was enrolled."""

    program_id: int
    distributor_id: int | None
    #: The day the enrollment ended (UTC); cards redeemed on or after it are ineligible.
    ended_on: date | None = None

    def active_on(self, day: date) -> bool:
        return self.ended_on is None or day < self.ended_on


class RuleBook:
    """Everything the rules consult for one retailer: programs (any brand) and its enrollments.

    Only the programs a file can touch need to be in it (those holding one of its SKUs or UPCs,
    those its cards name, and those the retailer is enrolled in); a program left out simply is
    not found.
    """

    def __init__(
        self,
        programs: Iterable[RuleProgram],
        enrollments: Iterable[RuleEnrollment],
        prices: Mapping[str, Decimal] | None = None,
    ) -> None:
        #: The store's price per SKU (``sku_key``), for the minimum purchase amount.
        self.prices: Mapping[str, Decimal] = prices or {}
        self.programs: dict[int, RuleProgram] = {p.id: p for p in sorted(programs, key=lambda p: p.id)}
        self.enrollments: dict[int, RuleEnrollment] = {e.program_id: e for e in enrollments}
        self._by_code: dict[str, list[RuleProgram]] = {}
        self._by_sku: dict[str, list[RuleProgram]] = {}
        self._by_upc: dict[str, list[RuleProgram]] = {}
        for p in self.programs.values():
            self._by_code.setdefault(code_key(p.code), []).append(p)
            for item in p.items:
                self._by_sku.setdefault(sku_key(item.sku), []).append(p)
                key = upc_key(item.upc)
                if key:
                    self._by_upc.setdefault(key, []).append(p)

    def programs_with(self, item: PosItem) -> list[RuleProgram]:
        """Every program holding this item (by UPC or by SKU), lowest id first."""
        found: dict[int, RuleProgram] = {}
        key = upc_key(item.upc)
        for p in self._by_upc.get(key, ()) if key else ():
            found[p.id] = p
        for p in self._by_sku.get(sku_key(item.sku), ()):
            if p.find(item) is not None:
                found[p.id] = p
        return [found[i] for i in sorted(found)]

    def with_code(self, code: str) -> list[RuleProgram]:
        return list(self._by_code.get(code_key(code), ()))

    def eligible(self, program: RuleProgram, day: date) -> bool:
        enrollment = self.enrollments.get(program.id)
        return enrollment is not None and enrollment.active_on(day) and program.runs_on(day)


@dataclass(frozen=True)
class Passed:
    """The card is a valid redemption of ``program``; the free good goes to ``distributor_id``."""

    program: RuleProgram
    distributor_id: int | None
    purchases: tuple[tuple[PosItem, RuleItem], ...]
    free_goods: tuple[tuple[PosItem, RuleItem], ...]

    @property
    def brand_id(self) -> int:
        return self.program.brand_id

    @property
    def free_item(self) -> RuleItem:
        """The program item given free (an import refuses cards with two different free goods)."""
        return self.free_goods[0][1]

    @property
    def free_quantity(self) -> int:
        return sum(pos.quantity for pos, _ in self.free_goods)


@dataclass(frozen=True)
class Denied:
    """The card breaks ``reason``; ``detail`` says exactly how, in the retailer's words."""

    reason: DenialReason
    detail: str
    #: The program the card was judged against, when one was found.
    program: RuleProgram | None = None


Outcome = Passed | Denied


def describe(item: PosItem) -> str:
    """``'Kibble 4 lb' (SKU KIB-4)``: the name the retailer sees on the POS, and the code to search for."""
    name = item.description.strip() or item.sku
    return f"{name!r} (SKU {item.sku})"


def _listed(phrases: Sequence[str]) -> str:
    """``a, b and c``; a phrase repeated (the same item on several card lines) is named once."""
    phrases = list(dict.fromkeys(phrases))
    shown = phrases[:_LISTED]
    more = len(phrases) - len(shown)
    if more:
        shown.append(f"{more} more")
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def _pick(candidates: Sequence[RuleProgram], card: PosCard, book: RuleBook) -> RuleProgram:
    items = (*card.purchases, *card.free_goods)

    def rank(p: RuleProgram) -> tuple[bool, bool, int, int]:
        held = sum(1 for it in items if p.find(it) is not None)
        return (held == len(items), book.eligible(p, card.redeemed_on), held, -p.id)

    return max(candidates, key=rank)


def find_program(card: PosCard, book: RuleBook) -> RuleProgram | Denied:
    """The program a card is judged against (see the module docstring), or why there is none."""
    if card.program_code and card.program_code.strip():
        named = book.with_code(card.program_code)
        if not named:
            return Denied(
                DenialReason.INELIGIBLE_PROGRAM,
                f"no program has the code {card.program_code.strip()!r} named on the card; "
                "the POS program must use the code of a program the store is enrolled in",
            )
        return _pick(named, card, book)
    candidates: dict[int, RuleProgram] = {}
    for item in (*card.purchases, *card.free_goods):
        for p in book.programs_with(item):
            candidates[p.id] = p
    if not candidates:
        described = [f"purchase {describe(i)}" for i in card.purchases] + [
            f"free good {describe(i)}" for i in card.free_goods
        ]
        return Denied(DenialReason.ITEM_NOT_IN_PROGRAM, f"no program holds any item on the card: {_listed(described)}")
    return _pick(list(candidates.values()), card, book)


def _brands_on_card(card: PosCard, book: RuleBook, program: RuleProgram | None) -> dict[int, list[str]] | None:
    """The card's known items (described) grouped by brand when they span more than one brand; else None.

    An item's brands are the brands of the programs holding it; an item no program holds says
    nothing here (it is ``item_not_in_program``'s business). The card is single-brand when one
    brand holds every known item, so an item two brands both list never splits a card.
    """
    sets: list[tuple[str, set[int]]] = []
    labelled = [("purchase", i) for i in card.purchases] + [("free good", i) for i in card.free_goods]
    for kind, item in labelled:
        brands = {p.brand_id for p in book.programs_with(item)}
        if brands:
            sets.append((f"{kind} {describe(item)}", brands))
    if not sets:
        return None
    if set.intersection(*(b for _, b in sets)):
        return None
    groups: dict[int, list[str]] = {}
    for text, brands in sets:
        if program is not None and program.brand_id in brands:
            brand = program.brand_id
        else:
            # The brand most of the card agrees on, so the odd one out is the one named apart.
            brand = max(sorted(brands), key=lambda b: sum(1 for _, other in sets if b in other))
        groups.setdefault(brand, []).append(text)
    return groups


def _brand_name(book: RuleBook, brand_id: int) -> str:
    for p in book.programs.values():
        if p.brand_id == brand_id:
            return p.brand_name
    return f"brand {brand_id}"


def evaluate_card(card: PosCard, book: RuleBook) -> Outcome:
    """Judge one card: ``Passed`` or the first failing rule (precedence in the module docstring)."""
    found = find_program(card, book)
    program = found if isinstance(found, RuleProgram) else None

    groups = _brands_on_card(card, book, program)
    if groups is not None:
        parts = [
            f"{_brand_name(book, brand)!r} ({_listed(items)})"
            for brand, items in sorted(groups.items(), key=lambda kv: _brand_name(book, kv[0]))
        ]
        return Denied(
            DenialReason.MULTIPLE_BRANDS_ON_CARD,
            f"the card mixes {len(groups)} brands: {_listed(parts)}",
            program,
        )
    if program is None:
        assert isinstance(found, Denied)
        return found

    # 2. every item must be in the program
    missing = [f"purchase {describe(i)}" for i in card.purchases if program.find(i) is None]
    missing += [f"free good {describe(i)}" for i in card.free_goods if program.find(i) is None]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        return Denied(
            DenialReason.ITEM_NOT_IN_PROGRAM, f"{_listed(missing)} {verb} not in program {program.name!r}", program
        )
    purchases = tuple((i, program.find(i)) for i in card.purchases)
    free_goods = tuple((i, program.find(i)) for i in card.free_goods)

    # 3. the store runs the program, and the program ran on the day
    day = card.redeemed_on
    enrollment = book.enrollments.get(program.id)
    if enrollment is None:
        return Denied(
            DenialReason.INELIGIBLE_PROGRAM, f"the store is not enrolled in program {program.name!r}", program
        )
    if not enrollment.active_on(day):
        assert enrollment.ended_on is not None
        return Denied(
            DenialReason.INELIGIBLE_PROGRAM,
            f"the store's enrollment in program {program.name!r} ended on {enrollment.ended_on.isoformat()}; "
            f"the card was redeemed on {day.isoformat()}",
            program,
        )
    if not program.runs_on(day):
        return Denied(
            DenialReason.INELIGIBLE_PROGRAM,
            f"redeemed on {day.isoformat()}, outside program {program.name!r} dates ({program.dates_text()})",
            program,
        )
    if program.fulfilment_type == FulfilmentType.DISTRIBUTOR and enrollment.distributor_id is None:
        return Denied(
            DenialReason.INELIGIBLE_PROGRAM,
            f"no distributor is chosen for program {program.name!r} (a distributor-fulfilled program)",
            program,
        )

    # 4. X purchases per Y free goods
    bought = sum(i.quantity for i in card.purchases)
    given = sum(i.quantity for i in card.free_goods)
    sets = max(1, math.ceil(given / program.free_quantity))
    required = program.buy_quantity * sets
    if bought < required:
        per = f" for {given} free goods" if given > program.free_quantity else ""
        return Denied(
            DenialReason.INSUFFICIENT_PURCHASE_QUANTITY,
            f"purchased {bought} of {required} required{per} (program {program.name!r})",
            program,
        )

    amount_problem = _amount_problem(program, purchases, book)  # type: ignore[arg-type]
    if amount_problem:
        return Denied(DenialReason.INSUFFICIENT_PURCHASE_AMOUNT, amount_problem, program)

    # 5. free good no larger than the smallest purchase
    size_problem = _size_problem(purchases, free_goods)  # type: ignore[arg-type]
    if size_problem:
        return Denied(DenialReason.INELIGIBLE_FREE_GOOD_SIZE, size_problem, program)

    distributor_id = enrollment.distributor_id if program.fulfilment_type == FulfilmentType.DISTRIBUTOR else None
    return Passed(program, distributor_id, purchases, free_goods)  # type: ignore[arg-type]


def _amount_problem(program: RuleProgram, purchases: Sequence[tuple[PosItem, RuleItem]], book: RuleBook) -> str | None:
    """The card's purchases at the store's prices against the program's minimum (None when it is met)."""
    minimum = program.minimum_purchase_amount
    if minimum is None:
        return None
    total = Decimal("0")
    unpriced: list[str] = []
    for pos, item in purchases:
        price = book.prices.get(sku_key(item.sku))
        if price is None:
            price = book.prices.get(sku_key(pos.sku))
        if price is None:
            unpriced.append(describe(pos))
            continue
        total += price * pos.quantity
    if unpriced:
        noun = "has no price" if len(unpriced) == 1 else "have no price"
        return (
            f"cannot check program {program.name!r}'s minimum purchase of {dollars(minimum)}: purchase "
            f"{_listed(unpriced)} {noun} in the store's price list; add the price (Price list), then resubmit the row"
        )
    if total < minimum:
        return (
            f"purchases come to {dollars(total)} at the store's prices, below program {program.name!r}'s "
            f"minimum purchase of {dollars(minimum)}"
        )
    return None


def _name(item: RuleItem) -> str:
    return item.description.strip() or item.sku


def _size_problem(
    purchases: Sequence[tuple[PosItem, RuleItem]], free_goods: Sequence[tuple[PosItem, RuleItem]]
) -> str | None:
    """Sizes come from the program's product list (the POS's own size text is not trusted)."""
    if not purchases:
        return None
    for _, free in free_goods:
        for _, bought in purchases:
            if free.size.dimension != bought.size.dimension:
                return (
                    f"cannot compare sizes: free good {_name(free)!r} ({free.size}) is "
                    f"{DIMENSION_NOUN[free.size.dimension]} but purchase {_name(bought)!r} ({bought.size}) is "
                    f"{DIMENSION_NOUN[bought.size.dimension]}; keep separate cards for items sold by count and by size"
                )
        smallest = min((b for _, b in purchases), key=lambda b: (b.size.base, b.id))
        if compare(free.size, smallest.size) > 0:
            return (
                f"free good {_name(free)!r} ({free.size}) is larger than the smallest purchase "
                f"{_name(smallest)!r} ({smallest.size})"
            )
    return None
