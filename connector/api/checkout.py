"""``/api/v1/checkout``: the counter's routes — look a pet owner up, add one, punch their cards, redeem.

The one API surface a cashier's token reaches (``auth.CASHIER_TAG``). Each route calls the same core use
case as the console's Checkout page and ``connector checkout`` (``connector.core.frequent_buyer.checkout``).
Punches and redemptions take an ``Idempotency-Key``: the same key again answers 200 with what it made and
``Idempotency-Replayed: true``, so a retried request makes nothing twice. A card the rules deny answers 409
``redemption_denied`` with the rule's ``reason`` and ``detail`` in ``error.details``; nothing is stored.
"""

from __future__ import annotations

from typing import Any

from flask import request

from connector.api.auth import CASHIER_TAG, current_actor
from connector.api.blueprint import bp
from connector.api.checkout_schemas import (
    CheckoutCardSchema,
    CheckoutCustomerCardsSchema,
    CheckoutCustomerInSchema,
    CheckoutCustomerListSchema,
    CheckoutCustomerSchema,
    CheckoutLookupQuerySchema,
    CheckoutPurchaseInSchema,
    CheckoutRedeemInSchema,
    CheckoutRedemptionSchema,
    CheckoutRetailerQuerySchema,
)
from connector.api.openapi import HeaderParam, operation
from connector.api.payload import load_body, load_query
from connector.api.redemptions import IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY_PATTERN
from connector.core.errors import ValidationError
from connector.core.frequent_buyer import checkout
from connector.core.frequent_buyer.checkout.redeem import MAX_KEY
from connector.request_context import current_runtime

_KEY_HEADER = HeaderParam(
    IDEMPOTENCY_HEADER,
    "Makes the request safe to retry (a double-click at the counter): one punch or redemption per key, per "
    "retailer. A UUID is recommended.",
    max_length=MAX_KEY,
    pattern=IDEMPOTENCY_KEY_PATTERN,
)
_REPLAYED = {200: {"Idempotency-Replayed": "`true`: nothing new was recorded."}}


def _key() -> str | None:
    raw = request.headers.get(IDEMPOTENCY_HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > MAX_KEY or not key.isascii() or not key.isprintable():
        problem = f"1 to {MAX_KEY} printable ASCII characters (a UUID is recommended)"
        raise ValidationError(f"invalid {IDEMPOTENCY_HEADER} header", fields={IDEMPOTENCY_HEADER: problem})
    return key


@bp.get("/checkout/customers")
@operation(
    summary="Look up the retailer's pet owners by name, phone or email (exact or prefix)",
    description="At most 20, exact matches first. Only the retailer's own customers are ever found.",
    tag=CASHIER_TAG,
    query=CheckoutLookupQuerySchema,
    responses={200: ("The matching customers", CheckoutCustomerListSchema)},
    errors=(403, 404),
)
def checkout_find_customers() -> dict[str, Any]:
    q = load_query(CheckoutLookupQuerySchema())
    found = checkout.find_customers(current_runtime(), current_actor(), q["q"], retailer_id=q.get("retailer_id"))
    return CheckoutCustomerListSchema().dump({"customers": found})


@bp.post("/checkout/customers")
@operation(
    summary="Add a pet owner (+ Add Customer)",
    description=(
        "A name and at least one of phone, email or internal id (so POS reports map to the same customer). "
        "A phone, email or id another customer of the retailer has answers 422 naming that customer."
    ),
    tag=CASHIER_TAG,
    body=CheckoutCustomerInSchema,
    responses={201: ("Added", CheckoutCustomerSchema)},
    errors=(403, 404),
)
def checkout_add_customer() -> tuple[dict[str, Any], int]:
    data = load_body(CheckoutCustomerInSchema())
    added = checkout.add_customer(current_runtime(), current_actor(), **data)
    return CheckoutCustomerSchema().dump(added), 201


@bp.get("/checkout/customers/<id:customer_id>/cards")
@operation(
    summary="A pet owner's cards: punches toward each program's reward, and the free goods it may give now",
    tag=CASHIER_TAG,
    query=CheckoutRetailerQuerySchema,
    responses={200: ("The customer and their cards", CheckoutCustomerCardsSchema)},
    errors=(403, 404),
)
def checkout_customer_cards(customer_id: int) -> dict[str, Any]:
    q = load_query(CheckoutRetailerQuerySchema())
    cards = checkout.customer_cards(current_runtime(), current_actor(), customer_id, retailer_id=q.get("retailer_id"))
    return CheckoutCustomerCardsSchema().dump(cards)


@bp.post("/checkout/customers/<id:customer_id>/purchases")
@operation(
    summary="Punch a pet owner's card for a purchase (scan an item)",
    description="The item (SKU or UPC) must be in a program the store runs today; answers the card's progress.",
    tag=CASHIER_TAG,
    body=CheckoutPurchaseInSchema,
    headers=(_KEY_HEADER,),
    responses={201: ("Punched", CheckoutCardSchema), 200: ("Replayed: this key punched already", CheckoutCardSchema)},
    response_headers=_REPLAYED,
    errors=(403, 404, 409),
)
def checkout_record_purchase(customer_id: int) -> tuple[dict[str, Any], int, dict[str, str]]:
    data = load_body(CheckoutPurchaseInSchema())
    progress, replayed = checkout.record_purchase(
        current_runtime(), current_actor(), customer_id, idempotency_key=_key(), **data
    )
    body = CheckoutCardSchema().dump(progress)
    return (body, 200, {"Idempotency-Replayed": "true"}) if replayed else (body, 201, {})


@bp.post("/checkout/customers/<id:customer_id>/redemptions")
@operation(
    summary="Redeem a complete card's free good at checkout (Redeem Selected Items)",
    description=(
        "Makes the same redemption and free good a POS report of the card would, with the same rules. A card the "
        "rules deny answers 409 `redemption_denied` with `error.details.reason` and `error.details.detail` and "
        "stores nothing. Send an `Idempotency-Key`: the same key again answers 200 with the same redemption."
    ),
    tag=CASHIER_TAG,
    body=CheckoutRedeemInSchema,
    headers=(_KEY_HEADER,),
    responses={
        201: ("Redeemed", CheckoutRedemptionSchema),
        200: ("Replayed: the redemption this key already made", CheckoutRedemptionSchema),
    },
    response_headers=_REPLAYED,
    errors=(403, 404, 409),
)
def checkout_redeem(customer_id: int) -> tuple[dict[str, Any], int, dict[str, str]]:
    data = load_body(CheckoutRedeemInSchema())
    done = checkout.redeem(current_runtime(), current_actor(), customer_id, idempotency_key=_key(), **data)
    body = CheckoutRedemptionSchema().dump(done)
    return (body, 200, {"Idempotency-Replayed": "true"}) if done.replayed else (body, 201, {})
