"""Customers: ``customerCreate``/``customerUpdate`` input applied to the store (GraphQL and control API)."""

from __future__ import annotations

import time
from typing import Any

from shopify_sim.mutations.common import blank_to_none, clean_tags
from shopify_sim.schema import country_codes
from shopify_sim.store import Address, Customer, Store, next_id
from shopify_sim.validation import FieldError, check_phone, clean_address, valid_email


def apply_customer_input(
    store: Store, data: dict[str, Any], existing: Customer | None, *, prefix: list[str] | None = None
) -> tuple[Customer | None, list[FieldError]]:
    """Create (``existing is None``) or update a customer from a ``CustomerInput`` dict.

    Keys absent from ``data`` keep their current value; explicit ``null`` clears.
    ``addresses``, when given, replace the address list and the first one becomes the
    default address. Returns the customer, or the userErrors and no change at all.
    """
    path = list(prefix or [])
    errors: list[FieldError] = []
    exclude = existing.id if existing else None

    def current(key: str, attr: str) -> Any:
        if key in data:
            return blank_to_none(data[key])
        return getattr(existing, attr) if existing else None

    email = current("email", "email")
    if email is not None and "email" in data:
        if not valid_email(email):
            errors.append(FieldError([*path, "email"], "Email is invalid"))
        elif store.customer_by_email(email, exclude=exclude):
            errors.append(FieldError([*path, "email"], "Email has already been taken"))
    phone = existing.phone if existing else None
    if "phone" in data:
        phone, phone_errors = check_phone(data["phone"], [*path, "phone"])
        errors.extend(phone_errors)
        if phone and not phone_errors and store.customer_by_phone(phone, exclude=exclude):
            errors.append(FieldError([*path, "phone"], "Phone has already been taken"))
    first_name = current("firstName", "first_name")
    last_name = current("lastName", "last_name")
    addresses = list(existing.addresses) if existing else []
    if data.get("addresses") is not None:
        addresses = []
        for index, raw in enumerate(data["addresses"]):
            clean, address_errors = clean_address(raw, [*path, "addresses", str(index)], country_codes())
            errors.extend(address_errors)
            if clean is not None:
                addresses.append(Address.from_clean(clean))
    if not any((first_name, last_name, email, phone)):
        errors.append(FieldError(path or None, "A name, phone number, or email address must be present"))
    if errors:
        return None, errors

    now = time.time()
    tags = clean_tags(data["tags"]) if "tags" in data else (list(existing.tags) if existing else [])
    note = current("note", "note")
    if existing is None:
        customer = Customer(
            id=next_id(),
            first_name=first_name,
            last_name=last_name,
            email=email,
            phone=phone,
            tags=tags,
            note=note,
            addresses=addresses,
            created_at=now,
            updated_at=now,
        )
        store.customers[customer.id] = customer
        return customer, []
    existing.first_name, existing.last_name, existing.email, existing.phone = first_name, last_name, email, phone
    existing.tags, existing.note, existing.addresses, existing.updated_at = tags, note, addresses, now
    return existing, []
