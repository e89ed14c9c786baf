"""A pet owner's cards at the counter: scanning purchases onto them, and how far each has got.

A card is a program's unused punches (``CardPunch`` rows not yet used by a redemption). Whether a
card is complete, and which free goods it may give, is never worked out here: the would-be card is
built as the ``PosCard`` a POS report would carry and judged by ``rules.evaluate_card`` against the
retailer's ``RuleBook`` (``pos_ingest.load_rule_book``), so the counter and the upload agree on
every rule and every denial reason and its words.

A scan finds its program among those the store runs on the day (enrolled, enrollment not ended,
program dates): by UPC when the program knows the item's UPC, else by SKU, as the rules match
items. An item in no such program is refused (nothing to punch); an item two running programs
hold asks which one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.errors import ConflictError, NotFoundError, ValidationError
from connector.core.frequent_buyer.checkout.customers import CustomerView, load_customer, view_of
from connector.core.frequent_buyer.checkout.scope import counter_retailer
from connector.core.frequent_buyer.checkout.visit import CheckoutRedemption, redeemed_this_visit
from connector.core.frequent_buyer.checkout_tables import CardPunch
from connector.core.frequent_buyer.events import record_event
from connector.core.frequent_buyer.pos_ingest.rule_book import load_rule_book
from connector.core.frequent_buyer.pos_types import PosCard, PosCustomer, PosItem
from connector.core.frequent_buyer.rules import Denied, RuleBook, RuleItem, RuleProgram, evaluate_card
from connector.core.frequent_buyer.tables import Customer, RetailerLocation
from connector.core.runtime import Runtime

MAX_UNITS = 999


@dataclass(frozen=True)
class FreeChoice:
    """A program item the card may give free now (the rules pass it)."""

    item_id: int
    sku: str
    description: str
    size: str


@dataclass(frozen=True)
class CardProgress:
    """One program's card: punches toward the reward, and what it may give (or why not yet)."""

    program_id: int
    program_name: str
    brand_name: str
    buy_quantity: int
    free_quantity: int
    punched: int
    #: The free goods the rules pass now; empty until the card is complete.
    choices: tuple[FreeChoice, ...]
    #: Why no free good passes yet (a rule's reason code and its words), when none does.
    denial_reason: str | None
    denial_detail: str | None

    @property
    def eligible(self) -> bool:
        return bool(self.choices)


@dataclass(frozen=True)
class CustomerCards:
    customer: CustomerView
    cards: tuple[CardProgress, ...]
    #: Rewards Earned / Redeemed This Visit: the customer's counter redemptions today.
    visit: tuple[CheckoutRedemption, ...] = ()


def location_for(s: Session, retailer_id: int, location_id: int | None) -> RetailerLocation | None:
    """The counter's store: the one named (the retailer's own only), else the retailer's only store."""
    if location_id is not None:
        loc = s.get(RetailerLocation, location_id)
        if loc is None or loc.retailer_id != retailer_id:
            raise ValidationError("no such store", fields={"location_id": "pick one of your stores from the list"})
        return loc
    locations = list(s.scalars(select(RetailerLocation).where(RetailerLocation.retailer_id == retailer_id).limit(2)))
    return locations[0] if len(locations) == 1 else None


def unused_punches(s: Session, customer_id: int, program_id: int | None = None) -> list[CardPunch]:
    q = select(CardPunch).where(CardPunch.customer_id == customer_id, CardPunch.pos_redemption_id.is_(None))
    if program_id is not None:
        q = q.where(CardPunch.program_id == program_id)
    return list(s.scalars(q.order_by(CardPunch.id)))


def take_for_card(punches: Sequence[CardPunch], buy_quantity: int) -> list[tuple[CardPunch, int]]:
    """The oldest punches making up one card's purchases: (punch, units used), at most ``buy_quantity`` units."""
    taken: list[tuple[CardPunch, int]] = []
    left = buy_quantity
    for p in punches:
        if left <= 0:
            break
        used = min(p.quantity, left)
        taken.append((p, used))
        left -= used
    return taken


def _pos_item(item: RuleItem, quantity: int, day: date | None) -> PosItem:
    return PosItem(
        sku=item.sku,
        description=item.description,
        quantity=quantity,
        upc=item.upc,
        size_value=item.size.value,
        size_unit=item.size.unit,
        purchased_on=day,
    )


def checkout_card(
    *,
    key: str,
    day: date,
    customer: Customer,
    program: RuleProgram,
    taken: Sequence[tuple[CardPunch, int]],
    free_item: RuleItem,
    store_code: str | None,
) -> PosCard:
    """The card a POS would report for this redemption, so the same rules judge it and the same rows store it."""
    items = {i.id: i for i in program.items}
    purchases = tuple(
        _pos_item(items[p.program_item_id], used, p.purchased_on) for p, used in taken if p.program_item_id in items
    )
    return PosCard(
        key=key,
        redeemed_on=day,
        customer=PosCustomer(customer.name, customer.phone, customer.email, customer.internal_id),
        purchases=purchases,
        free_goods=(_pos_item(free_item, program.free_quantity, day),),
        store_code=store_code,
        program_code=program.code,
    )


def progress_of(
    customer: Customer, program: RuleProgram, punches: Sequence[CardPunch], book: RuleBook, day: date
) -> CardProgress:
    """The card's progress, each free item judged by the rules as the redemption would be."""
    taken = take_for_card(punches, program.buy_quantity)
    choices: list[FreeChoice] = []
    first_denial: Denied | None = None
    for item in program.items:
        card = checkout_card(
            key="progress", day=day, customer=customer, program=program, taken=taken, free_item=item, store_code=None
        )
        outcome = evaluate_card(card, book)
        if isinstance(outcome, Denied):
            first_denial = first_denial or outcome
        else:
            choices.append(FreeChoice(item.id, item.sku, item.description, str(item.size)))
    denial = first_denial if not choices else None
    return CardProgress(
        program_id=program.id,
        program_name=program.name,
        brand_name=program.brand_name,
        buy_quantity=program.buy_quantity,
        free_quantity=program.free_quantity,
        punched=sum(p.quantity for p in punches),
        choices=tuple(choices),
        denial_reason=denial.reason.value if denial else None,
        denial_detail=denial.detail if denial else None,
    )


def _book(s: Session, retailer_id: int) -> RuleBook:
    """The retailer's rule book: its enrollments' programs (punches are only ever on those)."""
    return load_rule_book(s, retailer_id, ())


def cards_in_session(s: Session, customer: Customer, day: date) -> tuple[CardProgress, ...]:
    punches = unused_punches(s, customer.id)
    if not punches:
        return ()
    book = _book(s, customer.retailer_id)
    by_program: dict[int, list[CardPunch]] = {}
    for p in punches:
        by_program.setdefault(p.program_id, []).append(p)
    return tuple(
        progress_of(customer, book.programs[pid], ps, book, day)
        for pid, ps in sorted(by_program.items())
        if pid in book.programs
    )


def customer_cards(rt: Runtime, actor: Actor, customer_id: int, *, retailer_id: int | None = None) -> CustomerCards:
    """The pet owner and their cards' progress (punches toward each program's reward)."""
    retailer_id = counter_retailer(actor, retailer_id)
    with rt.sessions() as s:
        customer = load_customer(s, retailer_id, customer_id)
        day = rt.now().date()
        return CustomerCards(
            view_of(customer),
            cards_in_session(s, customer, day),
            redeemed_this_visit(s, retailer_id, customer_id, day),
        )


def counter_stores(rt: Runtime, actor: Actor, *, retailer_id: int | None = None) -> list[tuple[int, str]]:
    """The stores a counter may ring up at: (location id, "name (store code)"), for the store picker."""
    retailer_id = counter_retailer(actor, retailer_id)
    with rt.sessions() as s:
        rows = s.execute(
            select(RetailerLocation.id, RetailerLocation.name, RetailerLocation.store_code)
            .where(RetailerLocation.retailer_id == retailer_id)
            .order_by(RetailerLocation.store_code, RetailerLocation.id)
        )
        return [(r.id, f"{r.name} ({r.store_code})") for r in rows]


def _program_for(book: RuleBook, scanned: PosItem, program_id: int | None, day: date) -> tuple[RuleProgram, RuleItem]:
    running = [p for p in book.programs_with(scanned) if book.eligible(p, day)]
    if program_id is not None:
        running = [p for p in running if p.id == program_id]
    if not running:
        raise ValidationError(
            "no program your store runs today holds this item; nothing was recorded",
            fields={"item": f"{scanned.sku!r} is in none of your enrolled programs: scan or type an item of one"},
        )
    if len(running) > 1:
        names = ", ".join(f"{p.name!r} (id {p.id})" for p in running)
        raise ValidationError(
            "the item is in more than one of your programs; nothing was recorded",
            fields={"program_id": f"pick the card to punch: {names}"},
        )
    program = running[0]
    found = program.find(scanned)
    assert found is not None  # programs_with found it there
    return program, found


def record_purchase(
    rt: Runtime,
    actor: Actor,
    customer_id: int,
    *,
    item: str,
    quantity: int = 1,
    program_id: int | None = None,
    location_id: int | None = None,
    idempotency_key: str | None = None,
    retailer_id: int | None = None,
) -> tuple[CardProgress, bool]:
    """Punch the customer's card for a purchase (an item's SKU or UPC); the card's progress, and whether replayed.

    The same ``idempotency_key`` again records nothing and answers the card as it is (a double-click
    or a retried request punches once).
    """
    retailer_id = counter_retailer(actor, retailer_id)
    text = (item or "").strip()
    if not text or len(text) > 100:
        raise ValidationError("no item given", fields={"item": "scan the item, or type its SKU or UPC"})
    if not isinstance(quantity, int) or not 1 <= quantity <= MAX_UNITS:
        raise ValidationError("bad quantity", fields={"quantity": f"a whole number from 1 to {MAX_UNITS}"})
    with rt.sessions() as s:
        customer = load_customer(s, retailer_id, customer_id, lock=True)
        day = rt.now().date()
        book = _book(s, retailer_id)
        if idempotency_key is not None:
            before = s.scalars(
                select(CardPunch).where(
                    CardPunch.retailer_id == retailer_id, CardPunch.idempotency_key == idempotency_key
                )
            ).one_or_none()
            if before is not None:
                if before.customer_id != customer_id:
                    raise ConflictError(
                        "this Idempotency-Key was already used for another customer; use a new key for a new scan"
                    )
                program = book.programs.get(before.program_id)
                if program is None:
                    raise NotFoundError(f"program {before.program_id} not found")
                return progress_of(customer, program, unused_punches(s, customer_id, program.id), book, day), True
        scanned = PosItem(sku=text, description="", quantity=quantity, upc=text if text.isdigit() else None)
        program, program_item = _program_for(book, scanned, program_id, day)
        loc = location_for(s, retailer_id, location_id)
        now = rt.now()
        punch = CardPunch(
            retailer_id=retailer_id,
            customer_id=customer_id,
            program_id=program.id,
            program_item_id=program_item.id,
            location_id=loc.id if loc else None,
            quantity=quantity,
            purchased_on=day,
            idempotency_key=idempotency_key,
            recorded_by=actor.name[:200],
            created_at=now,
        )
        s.add(punch)
        s.flush()
        record_event(
            s,
            "customer",
            customer_id,
            "punch",
            actor,
            now,
            f"{quantity} x {program_item.description or program_item.sku} on program {program.name!r}",
        )
        progress = progress_of(customer, program, unused_punches(s, customer_id, program.id), book, day)
        s.commit()
        return progress, False
