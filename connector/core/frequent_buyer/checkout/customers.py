"""Looking a pet owner up at the counter, and adding one: always within one retailer's customers.

Lookup takes what the customer tells the cashier: a name, a phone number or an email, exact or
its beginning. Phone numbers compare as digits (the POS import stores them so), so "(303) 555-01"
finds 3035550142. Exact matches come first, then prefix matches, then by name. A new customer
needs a name and at least one of phone, email or customer id, so the POS reports the retailer
uploads later map to the same pet owner (seed 002: "add as much unique information ... as
possible"); a phone, email or id another customer of the retailer already has is refused, naming
that customer, so one pet owner does not become two.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.errors import NotFoundError, ValidationError
from connector.core.frequent_buyer.checkout.scope import counter_retailer
from connector.core.frequent_buyer.events import record_event
from connector.core.frequent_buyer.pos_ingest.customers import normalise_email, normalise_internal_id, normalise_phone
from connector.core.frequent_buyer.tables import Customer, Retailer
from connector.core.queries import escape_like
from connector.core.runtime import Runtime

#: Customers one lookup answers with; a cashier types more rather than scroll.
MAX_MATCHES = 20
#: A lookup shorter than this would list half the store.
MIN_QUERY = 2
MAX_QUERY = 200


@dataclass(frozen=True)
class CustomerView:
    id: int
    retailer_id: int
    name: str
    phone: str | None
    email: str | None
    internal_id: str | None


def view_of(c: Customer) -> CustomerView:
    return CustomerView(c.id, c.retailer_id, c.name, c.phone, c.email, c.internal_id)


def load_customer(s: Session, retailer_id: int, customer_id: int, *, lock: bool = False) -> Customer:
    """The retailer's customer, or "not found" (another retailer's customer is not found either)."""
    q = select(Customer).where(Customer.id == customer_id, Customer.retailer_id == retailer_id)
    found = s.scalars(q.with_for_update() if lock else q).one_or_none()
    if found is None:
        raise NotFoundError(f"customer {customer_id} not found")
    return found


def _like_prefix(text: str) -> str:
    return escape_like(text) + "%"


def find_customers(rt: Runtime, actor: Actor, query: str, *, retailer_id: int | None = None) -> list[CustomerView]:
    """The retailer's customers whose name (or a word of it), phone digits or email is or starts with ``query``."""
    retailer_id = counter_retailer(actor, retailer_id)
    text = (query or "").strip()
    if len(text) < MIN_QUERY or len(text) > MAX_QUERY:
        raise ValidationError(
            "the lookup needs more to go on" if len(text) < MIN_QUERY else "the lookup is too long",
            fields={"q": f"type {MIN_QUERY} to {MAX_QUERY} characters of a name, phone number or email"},
        )
    lowered = text.lower()
    prefix = _like_prefix(lowered)
    clauses: list[ColumnElement[bool]] = [
        func.lower(Customer.name).like(prefix, escape="\\"),
        func.lower(Customer.name).like("% " + prefix, escape="\\"),
        Customer.email.like(prefix, escape="\\"),
    ]
    digits = normalise_phone(text) if any(ch.isdigit() for ch in text) and "@" not in text else None
    if digits and len(digits) >= MIN_QUERY:
        clauses.append(Customer.phone.like(_like_prefix(digits), escape="\\"))
    with rt.sessions() as s:
        if s.get(Retailer, retailer_id) is None:
            raise NotFoundError(f"retailer {retailer_id} not found")
        found = list(
            s.scalars(
                select(Customer)
                .where(Customer.retailer_id == retailer_id, or_(*clauses))
                .order_by(Customer.name, Customer.id)
                .limit(MAX_MATCHES * 5)
            )
        )

    def exact(c: Customer) -> bool:
        return c.name.strip().lower() == lowered or c.email == lowered or (digits is not None and c.phone == digits)

    found.sort(key=lambda c: (not exact(c), c.name.lower(), c.id))
    return [view_of(c) for c in found[:MAX_MATCHES]]


def _checked(name: str, phone: str | None, email: str | None, internal_id: str | None) -> tuple[str, ...]:
    problems: dict[str, str] = {}
    clean_name = (name or "").strip()
    if not clean_name:
        problems["name"] = "the pet owner's name, as the cashier would search for it"
    elif len(clean_name) > 200:
        problems["name"] = "at most 200 characters"
    digits = normalise_phone(phone)
    if phone and phone.strip() and digits is None:
        problems["phone"] = "a phone number with digits, like 303-555-0142"
    elif digits is not None and not 7 <= len(digits) <= 15:
        problems["phone"] = f"7 to 15 digits (got {len(digits)}), like 303-555-0142"
    mail = normalise_email(email)
    if mail is not None and (
        "@" not in mail or mail.startswith("@") or mail.endswith("@") or " " in mail or len(mail) > 320
    ):
        problems["email"] = "an email address like ana@example.com"
    iid = normalise_internal_id(internal_id)
    if iid is not None and len(iid) > 100:
        problems["internal_id"] = "at most 100 characters"
    if not problems and digits is None and mail is None and iid is None:
        problems["phone"] = "give a phone number, an email or a customer id, so the POS reports find this customer too"
    if problems:
        raise ValidationError("the customer cannot be added as given; nothing was saved", fields=problems)
    return clean_name, digits or "", mail or "", iid or ""


def add_customer(
    rt: Runtime,
    actor: Actor,
    *,
    name: str,
    phone: str | None = None,
    email: str | None = None,
    internal_id: str | None = None,
    retailer_id: int | None = None,
) -> CustomerView:
    """A new pet owner account for the retailer (seed 002's "+ Add Customer"), every bad field named."""
    retailer_id = counter_retailer(actor, retailer_id)
    clean_name, digits, mail, iid = _checked(name, phone, email, internal_id)
    with rt.sessions() as s:
        # Under the retailer's row lock, as the POS import takes it, so two adds (or an add and an import)
        # cannot both create the same phone.
        retailer = s.scalars(select(Retailer).where(Retailer.id == retailer_id).with_for_update()).one_or_none()
        if retailer is None:
            raise NotFoundError(f"retailer {retailer_id} not found")
        taken: dict[str, str] = {}
        for field, column, value in (
            ("phone", Customer.phone, digits),
            ("email", Customer.email, mail),
            ("internal_id", Customer.internal_id, iid),
        ):
            if not value:
                continue
            other = s.scalars(
                select(Customer).where(Customer.retailer_id == retailer_id, column == value).order_by(Customer.id)
            ).first()
            if other is not None:
                taken[field] = f"already on customer {other.name or other.id!r} (id {other.id}); look them up instead"
        if taken:
            raise ValidationError("this customer is already in your system; nothing was saved", fields=taken)
        now = rt.now()
        customer = Customer(
            retailer_id=retailer_id,
            name=clean_name,
            phone=digits or None,
            email=mail or None,
            internal_id=iid or None,
            created_at=now,
        )
        s.add(customer)
        s.flush()
        record_event(s, "customer", customer.id, "add", actor, now, "added at Checkout")
        view = view_of(customer)
        s.commit()
        return view
