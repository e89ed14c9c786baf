"""Redeeming a complete card at the counter: the same free good a POS report of the card would make.

The redemption is the card a POS would report (``cards.checkout_card``), judged by the same rules
and written by the same code as an upload (``pos_ingest.record_cards``): a ``PosRedemption`` with
its events and, once processed, the unbatched ``FreeGood`` its distributor sees as a New Reward
(or held in Quality Check when the program asks for one). The counter's redemptions of one day
form one report, "Checkout YYYY-MM-DD" (format ``checkout``), on the retailer's POS Reports
dashboard, so they are reviewed, approved and counted with the uploaded ones.

A card the rules deny is refused at once with the rule's reason and words (``RedemptionDenied``)
and nothing is stored: at the counter the cashier sees the answer before giving anything away,
where a POS report can only record a denial after the fact.

Nothing twice: every redemption carries an idempotency key (the console's form carries one made
when the page was drawn; the API takes ``Idempotency-Key``; without one a key is made). The key is
the redemption's POS key, unique per retailer, so the same key again answers the redemption it
made (``replayed``) and a double-click or a retry gives one free good. Two different keys for the
same card are serialised by the retailer's row lock (as uploads are), and the second finds the
punches used, so it is denied for too few purchases rather than paid twice.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.errors import ConflictError, NotFoundError, ValidationError
from connector.core.frequent_buyer.checkout.cards import (
    cards_in_session,
    checkout_card,
    location_for,
    take_for_card,
    unused_punches,
)
from connector.core.frequent_buyer.checkout.customers import load_customer
from connector.core.frequent_buyer.checkout.scope import counter_retailer
from connector.core.frequent_buyer.checkout.visit import KEY_PREFIX, CheckoutRedemption, answer_of
from connector.core.frequent_buyer.checkout_tables import CardPunch
from connector.core.frequent_buyer.events import record_event
from connector.core.frequent_buyer.pos_ingest.customers import Cust
from connector.core.frequent_buyer.pos_ingest.importer import record_cards
from connector.core.frequent_buyer.pos_ingest.rule_book import load_rule_book
from connector.core.frequent_buyer.pos_ingest.summary import ImportSummary
from connector.core.frequent_buyer.pos_types import ParsedReport
from connector.core.frequent_buyer.rules import Denied, evaluate_card
from connector.core.frequent_buyer.tables import PosRedemption, PosReport, Retailer
from connector.core.runtime import Runtime

CHECKOUT_FORMAT = "checkout"
MAX_KEY = 190


class RedemptionDenied(ConflictError):
    """The card does not qualify: the rule's reason code and its words, exactly as a POS denial says them."""

    code = "redemption_denied"

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"not redeemed: {detail}; nothing was recorded", reason=reason, detail=detail)
        self.reason, self.detail = reason, detail


def _checked_key(key: str | None) -> str:
    if key is None:
        return uuid.uuid4().hex
    text = key.strip()
    if not text or len(text) > MAX_KEY or not text.isascii() or not text.isprintable():
        raise ValidationError(
            "invalid idempotency key",
            fields={"idempotency_key": f"1 to {MAX_KEY} printable ASCII characters (a UUID is recommended)"},
        )
    return text


def _day_report(s: Session, actor: Actor, retailer_id: int, day: date) -> PosReport:
    """The day's "Checkout" report of the retailer, made by its first counter redemption."""
    sha = hashlib.sha256(f"{CHECKOUT_FORMAT}:{retailer_id}:{day.isoformat()}".encode()).hexdigest()
    report = s.scalars(
        select(PosReport).where(PosReport.retailer_id == retailer_id, PosReport.sha256 == sha)
    ).one_or_none()
    if report is None:
        report = PosReport(
            retailer_id=retailer_id,
            format=CHECKOUT_FORMAT,
            filename=f"Checkout {day.isoformat()}",
            sha256=sha,
            row_count=0,
            uploaded_by=actor.name[:200],
        )
        s.add(report)
        s.flush()
    report.row_count += 1
    return report


def _by_key(retailer_id: int, pos_key: str) -> Select[PosRedemption]:
    """The retailer's redemption stored under the counter's card key."""
    return select(PosRedemption).where(PosRedemption.retailer_id == retailer_id, PosRedemption.pos_key == pos_key)


def redeem(
    rt: Runtime,
    actor: Actor,
    customer_id: int,
    *,
    program_id: int,
    free_item_id: int,
    location_id: int | None = None,
    idempotency_key: str | None = None,
    retailer_id: int | None = None,
) -> CheckoutRedemption:
    """Redeem the customer's complete card of ``program_id`` for ``free_item_id`` (seed 002's Redeem Selected Items).

    Raises ``RedemptionDenied`` (the rule's reason and words; nothing stored), ``NotFoundError`` for a
    customer or program the counter does not have, ``ConflictError`` for a key reused for another card.
    """
    retailer_id = counter_retailer(actor, retailer_id)
    key = _checked_key(idempotency_key)
    pos_key = KEY_PREFIX + key
    s = rt.sessions()
    try:
        # The retailer's row lock, as an upload takes it: one writer of this retailer's redemptions at a time.
        if s.scalars(select(Retailer.id).where(Retailer.id == retailer_id).with_for_update()).one_or_none() is None:
            raise NotFoundError(f"retailer {retailer_id} not found")
        customer = load_customer(s, retailer_id, customer_id)
        day = rt.now().date()
        before = s.scalars(_by_key(retailer_id, pos_key)).one_or_none()
        if before is not None:
            same = before.customer_id == customer_id and before.program_id == program_id
            free = (before.card.get("free_goods") or [{}])[0]
            if not same or free.get("program_item_id") != free_item_id:
                raise ConflictError(
                    "this idempotency key was already used for another redemption; use a new key for a new one"
                )
            return answer_of(s, before, replayed=True, cards=cards_in_session(s, customer, day))
        book = load_rule_book(s, retailer_id, ())
        program = book.programs.get(program_id)
        if program is None:
            raise NotFoundError(f"program {program_id} not found among your store's programs")
        free_item = next((i for i in program.items if i.id == free_item_id), None)
        if free_item is None:
            raise ValidationError(
                "the free good is not an item of this program",
                fields={"free_item_id": f"pick the reward from program {program.name!r}'s list"},
            )
        loc = location_for(s, retailer_id, location_id)
        taken = take_for_card(unused_punches(s, customer_id, program_id), program.buy_quantity)
        card = checkout_card(
            key=pos_key,
            day=day,
            customer=customer,
            program=program,
            taken=taken,
            free_item=free_item,
            store_code=loc.store_code if loc else None,
        )
        outcome = evaluate_card(card, book)
        if isinstance(outcome, Denied):
            raise RedemptionDenied(outcome.reason.value, outcome.detail)
        report = _day_report(s, actor, retailer_id, day)
        summary = ImportSummary(
            retailer_id=retailer_id,
            filename=report.filename,
            format=CHECKOUT_FORMAT,
            sha256=report.sha256,
            row_count=1,
            cards=1,
        )
        parsed = ParsedReport(format=CHECKOUT_FORMAT, sha256=report.sha256, row_count=1, cards=(card,))
        record_cards(
            s,
            actor,
            rt.now(),
            retailer_id,
            report.id,
            parsed,
            summary,
            customer=Cust(customer.id, customer.name, customer.phone, customer.email, customer.internal_id),
        )
        row = s.scalars(_by_key(retailer_id, pos_key)).one()
        _use_punches(s, taken, row.id)
        record_event(s, "customer", customer_id, "redeem", actor, rt.now(), f"redemption {row.id}: {program.name!r}")
        s.flush()
        answer = answer_of(s, row, replayed=False, cards=cards_in_session(s, customer, day))
        s.commit()
        return answer
    except BaseException:
        s.rollback()
        raise
    finally:
        s.close()


def _use_punches(s: Session, taken: list[tuple[CardPunch, int]], redemption_id: int) -> None:
    """Mark the punches the card used; a punch used in part is split, its rest staying on the card."""
    for punch, used in taken:
        if used < punch.quantity:
            s.add(
                CardPunch(
                    retailer_id=punch.retailer_id,
                    customer_id=punch.customer_id,
                    program_id=punch.program_id,
                    program_item_id=punch.program_item_id,
                    location_id=punch.location_id,
                    quantity=punch.quantity - used,
                    purchased_on=punch.purchased_on,
                    recorded_by=punch.recorded_by,
                    created_at=punch.created_at,
                )
            )
            punch.quantity = used
        punch.pos_redemption_id = redemption_id
