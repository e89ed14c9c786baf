"""Checkout (in-store redemption) helpers: a fixed counter clock, cashier actors, a pet owner with punches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from connector.core.access import Actor
from connector.core.frequent_buyer import checkout
from connector.core.model import Role
from connector.core.runtime import Runtime
from tests.frequent_buyer.conftest import FbWorld

#: The counter's day: inside every fb_world program's dates.
TODAY = date(2026, 6, 15)


@dataclass(frozen=True)
class Counter:
    """Paws Corner's cashier, Bark Avenue's cashier, and Paws Corner's pet owner Dana (no punches yet)."""

    cashier: Actor
    other_cashier: Actor
    dana_id: int
    #: Bark Avenue's pet owner, who shares Dana's first name.
    other_dana_id: int


def fix_clock(rt: Runtime) -> None:
    rt.now = lambda: datetime(TODAY.year, TODAY.month, TODAY.day, 15, 30, tzinfo=UTC)


def set_up_counter(rt: Runtime, w: FbWorld) -> Counter:
    fix_clock(rt)
    cashier = Actor("test:paws-cashier", Role.CASHIER, retailer_id=w.retailer_id)
    other = Actor("test:bark-cashier", Role.CASHIER, retailer_id=w.other_retailer_id)
    dana = checkout.add_customer(rt, cashier, name="Dana Smith", phone="(206) 555-0101", email="Dana@Example.com")
    other_dana = checkout.add_customer(rt, other, name="Dana Jones", phone="503-555-0199")
    return Counter(cashier, other, dana.id, other_dana.id)


def punch(rt: Runtime, actor: Actor, customer_id: int, sku: str, quantity: int, **kw: object) -> checkout.CardProgress:
    progress, _ = checkout.record_purchase(rt, actor, customer_id, item=sku, quantity=quantity, **kw)  # type: ignore[arg-type]
    return progress
