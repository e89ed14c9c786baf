"""Orders: ``orderCreate`` (stock, customer, addresses, prices checked before any write) and ``orderCancel``."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from shopify_sim.config import SimConfig
from shopify_sim.mutations.common import blank_to_none, clean_tags, parse_decimal
from shopify_sim.mutations.customers import apply_customer_input
from shopify_sim.mutations.fulfillments import fulfil_order
from shopify_sim.schema import country_codes
from shopify_sim.store import Address, Customer, Job, LineItem, Order, Store, Variant, next_id, parse_gid
from shopify_sim.validation import FieldError, check_phone, clean_address, valid_email


class _Errors:
    """Collects ``OrderCreateUserError``/``OrderCancelUserError`` dicts."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, field: list[str] | None, message: str, code: str = "INVALID") -> None:
        self.items.append({"field": field, "message": message, "code": code})

    def extend(self, errors: list[FieldError], code: str = "INVALID") -> None:
        for error in errors:
            self.add(error.field, error.message, code)


def _parse_time(value: Any) -> float | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _resolve_order_customer(
    store: Store, order_in: dict[str, Any], errors: _Errors
) -> tuple[Customer | None, dict[str, Any] | None, Customer | None]:
    """Return (associated customer, upsert input, upsert target) after validation."""
    customer_in = order_in.get("customer") or {}
    if order_in.get("customerId") and customer_in:
        errors.add(["order"], "Cannot specify both customerId and customer.", "REDUNDANT_CUSTOMER_FIELDS")
    associate = customer_in.get("toAssociate")
    upsert = customer_in.get("toUpsert")
    if associate and upsert:
        errors.add(["order", "customer"], "Cannot specify both toAssociate and toUpsert.", "REDUNDANT_CUSTOMER_FIELDS")
    customer: Customer | None = None
    if order_in.get("customerId"):
        customer = store.customers.get(parse_gid(order_in["customerId"], "Customer") or -1)
        if customer is None:
            errors.add(["order", "customerId"], "Customer does not exist")
    if associate:
        if associate.get("id"):
            customer = store.customers.get(parse_gid(associate["id"], "Customer") or -1)
            if customer is None:
                errors.add(["order", "customer", "toAssociate", "id"], "Customer does not exist")
        elif associate.get("email"):
            customer = store.customer_by_email(associate["email"])
            if customer is None:
                errors.add(["order", "customer", "toAssociate", "email"], "Customer does not exist")
    target: Customer | None = None
    if upsert:
        if upsert.get("id"):
            target = store.customers.get(parse_gid(upsert["id"], "Customer") or -1)
            if target is None:
                errors.add(["order", "customer", "toUpsert", "id"], "Customer does not exist")
        elif upsert.get("email"):
            # "If no `id` is provided, [email] is used to uniquely identify the customer" (the schema's
            # OrderCreateUpsertCustomerAttributesInput.email); a phone identifies nobody: a phone another
            # customer holds is "already taken" (apply_customer_input), as the phone field's description says.
            target = store.customer_by_email(upsert["email"])
    return customer, upsert, target


def create_order(
    store: Store, config: SimConfig, order_in: dict[str, Any], options: dict[str, Any] | None
) -> tuple[Order | None, list[dict[str, Any]], list[Customer]]:
    """``orderCreate``: validate, claim inventory, store. Returns (order, userErrors, customers touched)."""
    errors = _Errors()
    customer, upsert, upsert_target = _resolve_order_customer(store, order_in, errors)

    items_in = order_in.get("lineItems") or []
    if not items_in:
        errors.add(["order", "lineItems"], "Line items must have at least one line item")
    lines: list[tuple[dict[str, Any], Variant | None, Decimal]] = []
    currency = order_in.get("currency")
    for index, item in enumerate(items_in):
        here = ["order", "lineItems", str(index)]
        if item["quantity"] < 1:
            errors.add([*here, "quantity"], "Quantity must be greater than or equal to 1")
        variant: Variant | None = None
        if item.get("variantId") is not None:
            variant = store.variants.get(parse_gid(item["variantId"], "ProductVariant") or -1)
            if variant is None:
                errors.add([*here, "variantId"], "Variant does not exist")  # approximation
        elif not item.get("title"):
            errors.add([*here, "title"], "Title can't be blank")
        price = variant.price if variant else Decimal("0")
        shop_money = (item.get("priceSet") or {}).get("shopMoney")
        if shop_money is not None:
            amount = parse_decimal(shop_money.get("amount"))
            if amount is None or amount < 0:
                errors.add([*here, "priceSet", "shopMoney", "amount"], "Price must be greater than or equal to 0")
                amount = Decimal("0")
            price = amount
            currency = currency or shop_money.get("currencyCode")
        lines.append((item, variant, price))

    addresses: dict[str, Address | None] = {}
    for key in ("shippingAddress", "billingAddress"):
        raw = order_in.get(key)
        addresses[key] = None
        if raw:
            clean, address_errors = clean_address(raw, ["order", key], country_codes())
            errors.extend(address_errors)
            addresses[key] = Address.from_clean(clean) if clean else None
    email = blank_to_none(order_in.get("email"))
    if email is not None and not valid_email(email):
        errors.add(["order", "email"], "Email is invalid")
    phone = None
    if order_in.get("phone"):
        phone, phone_errors = check_phone(order_in["phone"], ["order", "phone"])
        errors.extend(phone_errors)

    behaviour = (options or {}).get("inventoryBehaviour") or "BYPASS"
    claims: dict[int, int] = {}
    if behaviour != "BYPASS":
        for item, variant, _ in lines:
            if variant is not None and variant.tracked:
                claims[variant.id] = claims.get(variant.id, 0) + max(0, item["quantity"])
        if behaviour == "DECREMENT_OBEYING_POLICY":
            for index, (_, variant, _) in enumerate(lines):
                if (
                    variant is not None
                    and variant.id in claims
                    and variant.policy == "DENY"
                    and variant.inventory_quantity < claims[variant.id]
                ):
                    errors.add(
                        ["order", "lineItems", str(index)],
                        f"Unable to claim inventory for {variant.sku or variant.title}: "
                        f"{max(variant.inventory_quantity, 0)} available",  # approximation
                        "INVENTORY_CLAIM_FAILED",
                    )
                    claims.pop(variant.id)

    upserted: Customer | None = None
    if upsert and not errors.items:
        upsert_data = {
            k: v for k, v in upsert.items() if k not in ("id", "addresses", "taxExempt", "multipassIdentifier")
        }
        if upsert.get("addresses") is not None:
            upsert_data["addresses"] = upsert["addresses"]
        upserted, upsert_errors = apply_customer_input(
            store, upsert_data, upsert_target, prefix=["order", "customer", "toUpsert"]
        )
        errors.extend(upsert_errors)
    if errors.items:
        return None, errors.items, []

    customer = upserted or customer
    now = time.time()
    for variant_id, quantity in claims.items():
        variant = store.variants[variant_id]
        variant.inventory_quantity -= quantity
        variant.updated_at = now
    shipping_total = sum(
        (
            parse_decimal(((line.get("priceSet") or {}).get("shopMoney") or {}).get("amount")) or Decimal("0")
            for line in order_in.get("shippingLines") or []
        ),
        Decimal("0"),
    )
    line_items = [
        LineItem(
            id=next_id(),
            variant_id=variant.id if variant else None,
            product_id=variant.product_id if variant else parse_gid(item.get("productId"), "Product"),
            sku=variant.sku if variant else item.get("sku"),
            title=store.products[variant.product_id].title if variant else item["title"],
            variant_title=(variant.title if variant and variant.title != "Default Title" else None)
            if variant
            else item.get("variantTitle"),
            quantity=item["quantity"],
            price=price,
            requires_shipping=item.get("requiresShipping", True) is not False,
            properties=[{"name": p["name"], "value": p["value"]} for p in item.get("properties") or []],
        )
        for item, variant, price in lines
    ]
    total = sum((li.price * li.quantity for li in line_items), Decimal("0")) + shipping_total
    financial = order_in.get("financialStatus") or ("PAID" if total == 0 else "PENDING")
    processed = _parse_time(order_in.get("processedAt"))
    closed_at = _parse_time(order_in.get("closedAt"))
    order = Order(
        id=next_id(),
        number=store.take_order_number(),
        email=email or (customer.email if customer else None),
        phone=phone or (customer.phone if customer else None),
        customer_id=customer.id if customer else None,
        tags=clean_tags(order_in.get("tags")),
        source_identifier=order_in.get("sourceIdentifier"),
        source_name=order_in.get("sourceName"),
        note=order_in.get("note"),
        test=bool(order_in.get("test")),
        financial_status=financial,
        currency=currency or config.currency,
        line_items=line_items,
        shipping_address=addresses["shippingAddress"],
        billing_address=addresses["billingAddress"],
        created_at=now,
        updated_at=now,
        # As of 2026-07 a future processedAt is clamped to now.
        processed_at=min(processed, now) if processed is not None else now,
        shipping_total=shipping_total,
        closed_at=closed_at,
        inventory_claims=claims,
    )
    store.orders[order.id] = order
    touched = [upserted] if upserted else []
    default_source = addresses["shippingAddress"] or addresses["billingAddress"]
    if customer is not None and default_source is not None:
        # "If a customer is provided, this field ... will be set as the customer's default address."
        copy = Address(**{**default_source.__dict__, "id": next_id()})
        customer.addresses = [copy, *customer.addresses]
        customer.updated_at = now
        if customer not in touched:
            touched.append(customer)
    if order_in.get("fulfillmentStatus") == "FULFILLED":
        fulfillment_in = order_in.get("fulfillment") or {}
        status = fulfillment_in.get("shipmentStatus")
        fulfil_order(
            store,
            order,
            {
                "shipment_status": status.lower() if status else None,
                "tracking_number": fulfillment_in.get("trackingNumber"),
                "tracking_company": fulfillment_in.get("trackingCompany"),
            },
        )
    return order, [], touched


def cancel_order(
    store: Store, config: SimConfig, args: dict[str, Any]
) -> tuple[Job | None, list[dict[str, Any]], Order | None]:
    """``orderCancel``: returns (job, orderCancelUserErrors, cancelled order).

    The cancellation is applied at once; the returned job reports ``done: false`` and
    ``job(id:)`` reports ``done: true`` once ``config.job_delay_seconds`` have passed.
    """
    errors = _Errors()
    order = store.orders.get(parse_gid(args.get("orderId"), "Order") or -1)
    if order is None:
        errors.add(["orderId"], "Order does not exist", "NOT_FOUND")  # approximation
    if args.get("refund") is not None and args.get("refundMethod") is not None:
        errors.add(["refund"], "Only one of the arguments `refund` or `refund_method` is allowed.")
    if len(args.get("staffNote") or "") > 255:
        errors.add(["staffNote"], "Staff note is too long. Maximum length is 255 characters.")
    if order is not None:
        if order.cancelled_at is not None:
            errors.add(["orderId"], "Cannot cancel an order that has already been canceled")
        elif store.display_fulfillment_status(order) == "FULFILLED":
            errors.add(["orderId"], "Cannot cancel an order that has been fulfilled")
    if errors.items or order is None:
        return None, errors.items, None
    now = time.time()
    order.cancelled_at = now
    order.closed_at = order.closed_at or now
    order.cancel_reason = args["reason"]
    order.updated_at = now
    if order.financial_status in ("PENDING", "AUTHORIZED"):
        order.financial_status = "VOIDED"
    elif (
        order.financial_status == "PAID"
        and order.total > 0
        and (args.get("refund") or (args.get("refundMethod") or {}).get("originalPaymentMethodsRefund"))
    ):
        order.financial_status = "REFUNDED"
    if args.get("restock"):
        for variant_id, quantity in order.inventory_claims.items():
            variant = store.variants.get(variant_id)
            if variant is not None:
                variant.inventory_quantity += quantity
                variant.updated_at = now
        order.inventory_claims = {}
    return store.new_job(config.job_delay_seconds), [], order
