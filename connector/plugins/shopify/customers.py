"""CRM sync: match a member to a Shopify customer (the "CRM ID"), creating or updating it.

A redemption normally does all of this inside its ``orderCreate`` (``order_customer_input``: one
call instead of a search and a write); ``sync_customer`` below is the slow path the plugin falls
back to when Shopify refuses that upsert (``reward_order``), and it defines the outcome the upsert
must match. Matching order, most to least certain:

1. the customer id stored from an earlier fulfilment (``customer(id)``); a
   customer deleted or merged since then is skipped, not an error;
2. the member's email (``email:"…"``, quoted because email is tokenised), then
   their E.164 phone; search results are compared exactly, because search is
   fuzzy and a near match would ship a reward to a stranger's account;
3. otherwise a new customer with the member's address.

A customer that is found but differs in name, email or phone is updated. Its
addresses are left alone on purpose: ``customerUpdate`` with ``addresses``
replaces the customer's whole address book, and the order's shipping address
becomes the customer's default address anyway.

Shopify's ``userErrors`` are translated to the field of the member at fault,
with Shopify's own message, so the admin sees "Shopify rejected the member's
state/province: Province is invalid" rather than a generic failure.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from connector.core.errors import ProviderError
from connector.plugins.shopify.documents import (
    CUSTOMER_BY_ID,
    CUSTOMER_CREATE,
    CUSTOMER_UPDATE,
    FIND_CUSTOMERS,
)
from connector.plugins.shopify.graphql_client import ShopifyGraphQLClient, mutation_payload
from connector.plugins.shopify.identifiers import gid, term
from connector.plugins.shopify.member_validation import LABELS, ValidatedMember
from connector.plugins.shopify.user_errors import MEMBER_FIELDS, says_missing

#: Kept under its old name for callers; the map lives in ``user_errors``.
USER_ERROR_FIELDS = MEMBER_FIELDS

NOTHING_IDENTIFYING = "a name, phone number, or email address must be present"


class CustomerGoneError(Exception):
    """Shopify said "Customer does not exist" for a customer it had just returned (deleted or merged)."""


class CustomerTakenError(Exception):
    """Shopify says another customer already has the member's email or phone: search missed it."""


def sync_customer(client: ShopifyGraphQLClient, member: ValidatedMember, logger: logging.Logger) -> str:
    """Find, update or create the member's Shopify customer and return its GID."""
    customer = None
    stored = gid("Customer", member.shop_customer_id) if member.shop_customer_id else None
    if stored:
        customer = _customer_by_id(client, stored)
        if customer is None:
            logger.info("shopify: stored customer of member %s no longer exists; matching again", member.id)
    if customer is None:
        customer = find_customer(client, member)
    if customer is not None:
        try:
            return _update_if_changed(client, member, customer)
        except CustomerGoneError:
            # Deleted or merged after search returned it (search lags behind deletes): match again once.
            logger.info("shopify: customer matched for member %s was just deleted; matching again", member.id)
            customer = find_customer(client, member, skip_id=str(customer["id"]))
            if customer is not None:
                try:
                    return _update_if_changed(client, member, customer)
                except CustomerGoneError:
                    raise ProviderError(
                        "crm_id_not_found",
                        "Shopify reported the member's matching customers as deleted while matching them.",
                        fix="Retry in a few minutes; if it persists, check the member's customer in Shopify "
                        "(merged or deleted).",
                        retryable=True,
                        retry_after=60.0,
                        field="shop_customer_id",
                    ) from None
    try:
        return _create(client, member)
    except CustomerTakenError as taken:
        # Shopify holds a customer with this email/phone that search did not return (search lags writes).
        field = str(taken)
        logger.info("shopify: %s of member %s already taken; looking the customer up again", field, member.id)
        customer = find_customer(client, member)
        if customer is not None:
            return _update_if_changed(client, member, customer)
        raise ProviderError(
            "crm_id_not_found",
            f"Shopify already has a customer with the member's {LABELS[field]}, but its search does not "
            "return that customer yet, so the member cannot be matched.",
            fix="Retry in a few minutes (Shopify's search catches up); if it persists, look the customer up "
            f"by {LABELS[field]} in Shopify and check it is not disabled or merged.",
            retryable=True,
            retry_after=60.0,
            field=field,
        ) from None


def find_customer(
    client: ShopifyGraphQLClient, member: ValidatedMember, skip_id: str | None = None
) -> dict[str, Any] | None:
    """The customer whose email (first) or phone (second) is exactly the member's, if any.

    One ``email OR phone`` search instead of two: customer searches were 61% of a new
    member's Shopify cost (docs/performance.md). A full page without a match falls back to
    one search per key, so a crowded result cannot hide the customer.
    """
    queries = []
    if member.email:
        queries.append(term("email", member.email, always_quote=True))
    if member.phone:
        queries.append(term("phone", member.phone, always_quote=True))
    if not queries:
        return None
    nodes = _search(client, " OR ".join(queries))
    found = _best_match(nodes, member, skip_id)
    if found is None and len(nodes) >= SEARCH_PAGE and len(queries) > 1:
        for query in queries:
            found = _best_match(_search(client, query), member, skip_id)
            if found is not None:
                break
    return found


def _best_match(
    nodes: Sequence[Mapping[str, Any]], member: ValidatedMember, skip_id: str | None
) -> dict[str, Any] | None:
    candidates = [dict(node) for node in nodes if node.get("id") != skip_id]
    if member.email:
        wanted = member.email.casefold()
        for node in candidates:
            if (_email_of(node) or "").casefold() == wanted:
                return node
    if member.phone:
        for node in candidates:
            if _digits(_phone_of(node)) == _digits(member.phone):
                return node
    return None


# -- reads ---------------------------------------------------------------------------------------------


def _customer_by_id(client: ShopifyGraphQLClient, customer_id: str) -> dict[str, Any] | None:
    data = client.execute(CUSTOMER_BY_ID, {"id": customer_id})
    customer = data.get("customer")
    return customer if isinstance(customer, dict) and customer.get("id") else None


SEARCH_PAGE = 5  # FIND_CUSTOMERS asks for first: 5


def _search(client: ShopifyGraphQLClient, query: str) -> list[dict[str, Any]]:
    data = client.execute(FIND_CUSTOMERS, {"query": query})
    connection = data.get("customers") or {}
    nodes = connection.get("nodes") if isinstance(connection, dict) else None
    return [node for node in nodes or [] if isinstance(node, dict) and node.get("id")]


def _email_of(customer: Mapping[str, Any]) -> str | None:
    address = customer.get("defaultEmailAddress")
    return address.get("emailAddress") if isinstance(address, Mapping) else None


def _phone_of(customer: Mapping[str, Any]) -> str | None:
    number = customer.get("defaultPhoneNumber")
    return number.get("phoneNumber") if isinstance(number, Mapping) else None


def _digits(value: str | None) -> str:
    return re.sub(r"[^0-9]", "", value or "")


# -- writes ----------------------------------------------------------------------------------------------


def order_customer_input(member: ValidatedMember) -> dict[str, Any]:
    """The ``OrderCreateCustomerInput`` that matches, creates or updates the member's customer inside ``orderCreate``.

    Always ``toUpsert``, carrying the member's name, email and phone, so the customer ends up as
    ``sync_customer`` leaves it (found customers get the member's details) in the same call:

    * a linked member names the stored customer (``id``): it is updated, never searched for;
    * otherwise Shopify matches by email (exactly, which its search cannot promise) or creates one.

    No ``addresses``: they would replace a found customer's whole address book, and the order's
    shipping address becomes the customer's default address anyway. Shopify refusing the upsert
    because the stored customer is gone or another customer holds the email or phone
    (``CustomerGoneError``/``CustomerTakenError``) sends the caller back to ``sync_customer``.
    """
    attributes: dict[str, Any] = {"firstName": member.first_name, "lastName": member.last_name}
    stored = gid("Customer", member.shop_customer_id) if member.shop_customer_id else None
    if stored:
        attributes["id"] = stored
    if member.email:
        attributes["email"] = member.email
    if member.phone:
        attributes["phone"] = member.phone
    return {"toUpsert": attributes}


def customer_create_input(member: ValidatedMember) -> dict[str, Any]:
    """The ``CustomerInput`` for a new customer: name, contact and the shipping address."""
    customer_input: dict[str, Any] = {
        "firstName": member.first_name,
        "lastName": member.last_name,
        "addresses": [member.mailing_address()],
    }
    if member.email:
        customer_input["email"] = member.email
    if member.phone:
        customer_input["phone"] = member.phone
    return customer_input


def _create(client: ShopifyGraphQLClient, member: ValidatedMember) -> str:
    data = client.execute(CUSTOMER_CREATE, {"input": customer_create_input(member)})
    return _customer_id_from(data, "customerCreate")


def _update_if_changed(client: ShopifyGraphQLClient, member: ValidatedMember, customer: Mapping[str, Any]) -> str:
    changes: dict[str, Any] = {}
    if customer.get("firstName") != member.first_name:
        changes["firstName"] = member.first_name
    if customer.get("lastName") != member.last_name:
        changes["lastName"] = member.last_name
    if member.email and (_email_of(customer) or "").casefold() != member.email.casefold():
        changes["email"] = member.email
    if member.phone and _digits(_phone_of(customer)) != _digits(member.phone):
        changes["phone"] = member.phone
    customer_id = str(customer["id"])
    if not changes:
        return customer_id
    data = client.execute(CUSTOMER_UPDATE, {"input": {"id": customer_id, **changes}})
    try:
        return _customer_id_from(data, "customerUpdate")
    except CustomerTakenError as taken:
        field = str(taken)
        raise ProviderError(
            "crm_id_not_found",
            f"The member matches Shopify customer {customer_id}, but another Shopify customer already has "
            f"the member's {LABELS[field]}.",
            fix=f"Merge the two customers in Shopify, or correct the member's {LABELS[field]}, then retry.",
            retryable=False,
            field=field,
        ) from None


def _customer_id_from(data: Mapping[str, Any], mutation: str) -> str:
    payload = mutation_payload(data, mutation)
    raise_for_customer_user_errors(payload.get("userErrors") or [])
    customer = payload.get("customer")
    if not isinstance(customer, Mapping) or not customer.get("id"):
        raise ProviderError(
            "shop_unavailable",
            f"Shopify answered {mutation} with neither a customer nor an error.",
            retryable=True,
            in_doubt=True,
        )
    return str(customer["id"])


def raise_for_customer_user_errors(user_errors: Sequence[Any]) -> None:
    """Translate ``customerCreate``/``customerUpdate`` userErrors into the member field at fault.

    Raises ``CustomerGoneError`` for "Customer does not exist" and
    ``CustomerTakenError`` for an email/phone Shopify already holds, so the
    caller can look the customer up again; everything else is a
    ``ProviderError`` naming the field and quoting Shopify's message.
    """
    errors = [e for e in user_errors if isinstance(e, Mapping)]
    if not errors:
        return
    missing: list[tuple[str, str]] = []
    wrong: list[tuple[str, str]] = []
    for error in errors:
        message = str(error.get("message") or "unknown error")
        path = [str(part) for part in error.get("field") or []]
        last = path[-1] if path else ""
        lowered = message.lower()
        if "does not exist" in lowered and last in ("id", ""):
            raise CustomerGoneError(message)
        if NOTHING_IDENTIFYING in lowered:
            missing.append(("first_name,last_name,email,phone", message))
            continue
        field = USER_ERROR_FIELDS.get(last)
        if field in ("email", "phone") and "already been taken" in lowered:
            raise CustomerTakenError(field)
        if field and says_missing(message):
            missing.append((field, f"{LABELS[field]}: {message}"))
        elif field:
            wrong.append((field, f"Shopify rejected the member's {LABELS[field]}: {message}"))
        else:
            wrong.append(("", f"Shopify rejected the customer: {message}"))
    fields: str | None
    if missing:
        fields = ",".join(dict.fromkeys(f for f, _ in missing))
        raise ProviderError(
            "missing_user_information",
            "Shopify needs more of the member's details: " + "; ".join(m for _, m in missing) + ".",
            fix="Fill in the member's name and email or phone (contact the member if needed), then retry.",
            retryable=False,
            field=fields,
        )
    fields = ",".join(dict.fromkeys(f for f, _ in wrong if f)) or None
    labels = ", ".join(LABELS[f] for f in (fields or "").split(",") if f)
    raise ProviderError(
        "crm_id_not_found",
        "; ".join(m for _, m in wrong) + ".",
        fix=f"Correct the member's {labels}, then retry."
        if labels
        else "Verify and correct the member's State, City, Date of Birth and Address format, then retry.",
        retryable=False,
        field=fields,
    )
