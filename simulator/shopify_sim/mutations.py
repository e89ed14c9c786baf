"""State-changing operations shared by the GraphQL resolvers and the control API.

Every function here expects the caller to hold ``store.lock`` for the whole call, so a
validation and the write it guards happen atomically (two racing ``orderCreate`` calls
cannot both pass the stock check). Validation always completes before the first write:
a call that answers ``userErrors`` changes nothing.

Error messages and ``field`` paths copy live Shopify answers where one was recorded
(shopify-api.md §1); the rest are marked "approximation" and keep Shopify's style.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shopify_sim.config import SimConfig
from shopify_sim.schema import country_codes
from shopify_sim.store import (
    Address,
    Customer,
    Fulfillment,
    Job,
    LineItem,
    Order,
    Product,
    Store,
    Variant,
    next_id,
    parse_gid,
)
from shopify_sim.validation import FieldError, check_phone, clean_address, valid_email

PRODUCT_STATUSES = frozenset({"ACTIVE", "ARCHIVED", "DRAFT", "UNLISTED"})
INVENTORY_POLICIES = frozenset({"DENY", "CONTINUE"})
#: Webhook ``shipment_status`` values -> GraphQL ``FulfillmentDisplayStatus``.
SHIPMENT_STATUSES: dict[str, str] = {
    "label_printed": "LABEL_PRINTED",
    "label_purchased": "LABEL_PURCHASED",
    "attempted_delivery": "ATTEMPTED_DELIVERY",
    "ready_for_pickup": "READY_FOR_PICKUP",
    "picked_up": "PICKED_UP",
    "confirmed": "CONFIRMED",
    "in_transit": "IN_TRANSIT",
    "out_for_delivery": "OUT_FOR_DELIVERY",
    "delivered": "DELIVERED",
    "failure": "FAILURE",
    "delayed": "DELAYED",
    "carrier_picked_up": "CARRIER_PICKED_UP",
}
FULFILLMENT_STATUSES = frozenset({"PENDING", "OPEN", "SUCCESS", "CANCELLED", "ERROR", "FAILURE"})


class ControlError(ValueError):
    """A control-API request that cannot be applied (answered with HTTP 4xx)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def clean_tags(tags: Any) -> list[str]:
    """Shopify tag normalisation: split on commas, trim, drop blanks and duplicates."""
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = [tags]
    out: list[str] = []
    seen: set[str] = set()
    for tag in tags:
        for part in str(tag).split(","):
            part = part.strip()
            if part and part.lower() not in seen:
                seen.add(part.lower())
                out.append(part)
    return out


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


# -- customers ----------------------------------------------------------------------------
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
            return _blank_to_none(data[key])
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


# -- orders -------------------------------------------------------------------------------
class _Errors:
    """Collects ``OrderCreateUserError``/``OrderCancelUserError`` dicts."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, field: list[str] | None, message: str, code: str = "INVALID") -> None:
        self.items.append({"field": field, "message": message, "code": code})

    def extend(self, errors: list[FieldError], code: str = "INVALID") -> None:
        for error in errors:
            self.add(error.field, error.message, code)


def _decimal(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


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
            target = store.customer_by_email(upsert["email"])
        if target is None and upsert.get("phone"):
            phone, _ = check_phone(upsert["phone"], [])
            target = store.customer_by_phone(phone) if phone else None
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
            amount = _decimal(shop_money.get("amount"))
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
    email = _blank_to_none(order_in.get("email"))
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
            _decimal(((line.get("priceSet") or {}).get("shopMoney") or {}).get("amount")) or Decimal("0")
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


# -- control-API operations ---------------------------------------------------------------
def _policy(value: Any) -> str:
    policy = str(value).upper()
    if policy not in INVENTORY_POLICIES:
        raise ControlError(f"policy must be one of {sorted(INVENTORY_POLICIES)}")
    return policy


def _status(value: Any) -> str:
    status = str(value).upper()
    if status not in PRODUCT_STATUSES:
        raise ControlError(f"status must be one of {sorted(PRODUCT_STATUSES)}")
    return status


def create_product(store: Store, spec: dict[str, Any]) -> Product:
    """``POST /_sim/products``: ``{title, status, variants: [{sku, title, price, inventory,
    tracked, policy}]}``; without ``variants`` the body itself describes the single variant."""
    variants_in = spec.get("variants")
    if variants_in is None:
        variants_in = [{k: spec[k] for k in ("sku", "price", "inventory", "tracked", "policy") if k in spec}]
        if "variant_title" in spec:
            variants_in[0]["title"] = spec["variant_title"]
    if not isinstance(variants_in, list) or not variants_in:
        raise ControlError("variants must be a non-empty list")
    variants: list[dict[str, Any]] = []
    for raw in variants_in:
        variant = dict(raw)
        if "price" in variant and _decimal(variant["price"]) is None:
            raise ControlError(f"invalid price {variant['price']!r}")
        try:
            variant["inventory"] = int(variant.get("inventory", 0))
        except (TypeError, ValueError) as exc:
            raise ControlError("inventory must be an integer") from exc
        variant["policy"] = _policy(variant.get("policy", "DENY"))
        variants.append(variant)
    title = spec.get("title") or (variants[0].get("sku") or "Simulated product")
    return store.add_product(str(title), _status(spec.get("status", "ACTIVE")), variants)


def update_variants(store: Store, sku: str, spec: dict[str, Any]) -> list[Product]:
    """``PATCH /_sim/variants/<sku>``: change every variant with that exact SKU.

    Keys: ``sku`` (rename), ``inventory`` (absolute), ``inventory_delta``, ``price``,
    ``tracked``, ``policy``, ``title`` (variant), ``status`` and ``product_title`` (product).
    """
    variants = store.variants_with_sku(sku)
    if not variants:
        raise ControlError(f"no variant with sku {sku!r}", status=404)
    allowed = {"sku", "inventory", "inventory_delta", "price", "tracked", "policy", "title", "status", "product_title"}
    unknown = set(spec) - allowed
    if unknown:
        raise ControlError(f"unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    now = time.time()
    products: list[Product] = []
    for variant in variants:
        if "sku" in spec:
            variant.sku = spec["sku"]
        if "inventory" in spec:
            variant.inventory_quantity = int(spec["inventory"])
        if "inventory_delta" in spec:
            variant.inventory_quantity += int(spec["inventory_delta"])
        if "price" in spec:
            price = _decimal(spec["price"])
            if price is None:
                raise ControlError(f"invalid price {spec['price']!r}")
            variant.price = price
        if "tracked" in spec:
            variant.tracked = bool(spec["tracked"])
        if "policy" in spec:
            variant.policy = _policy(spec["policy"])
        if "title" in spec:
            variant.title = str(spec["title"])
        variant.updated_at = now
        product = store.products[variant.product_id]
        if "status" in spec:
            product.status = _status(spec["status"])
        if "product_title" in spec:
            product.title = str(spec["product_title"])
        product.updated_at = now
        if product not in products:
            products.append(product)
    return products


def _camel(key: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), key)


def camelize(value: Any) -> Any:
    """snake_case keys -> camelCase, recursively (control API accepts either spelling)."""
    if isinstance(value, dict):
        return {_camel(k): camelize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camelize(v) for v in value]
    return value


def fulfil_order(store: Store, order: Order, spec: dict[str, Any]) -> Fulfillment:
    """``POST /_sim/orders/<id>/fulfil``: fulfil every line with one fulfillment."""
    if order.cancelled_at is not None:
        raise ControlError("cannot fulfil a cancelled order", status=409)
    if store.display_fulfillment_status(order) == "FULFILLED":
        raise ControlError("order is already fulfilled", status=409)
    shipment_status = _shipment_status(spec.get("shipment_status"))
    status = str(spec.get("status") or "SUCCESS").upper()
    if status not in FULFILLMENT_STATUSES:
        raise ControlError(f"status must be one of {sorted(FULFILLMENT_STATUSES)}")
    now = time.time()
    fulfillment = Fulfillment(
        id=next_id(),
        order_id=order.id,
        name=f"{order.name}.{len(order.fulfillment_ids) + 1}",
        status=status,
        shipment_status=shipment_status,
        tracking_number=spec.get("tracking_number"),
        tracking_url=spec.get("tracking_url"),
        tracking_company=spec.get("tracking_company"),
        created_at=now,
        updated_at=now,
    )
    store.fulfillments[fulfillment.id] = fulfillment
    order.fulfillment_ids.append(fulfillment.id)
    order.updated_at = now
    return fulfillment


def _shipment_status(value: Any) -> str | None:
    if value in (None, ""):
        return None
    status = str(value).lower()
    if status not in SHIPMENT_STATUSES:
        raise ControlError(f"shipment_status must be one of {sorted(SHIPMENT_STATUSES)}")
    return status


def update_fulfillment(store: Store, fulfillment: Fulfillment, spec: dict[str, Any]) -> Fulfillment:
    """``POST /_sim/fulfillments/<id>/update``: shipment status, status or tracking changes."""
    allowed = {"shipment_status", "status", "tracking_number", "tracking_url", "tracking_company"}
    unknown = set(spec) - allowed
    if unknown:
        raise ControlError(f"unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    if "shipment_status" in spec:
        fulfillment.shipment_status = _shipment_status(spec["shipment_status"])
    if "status" in spec:
        status = str(spec["status"]).upper()
        if status not in FULFILLMENT_STATUSES:
            raise ControlError(f"status must be one of {sorted(FULFILLMENT_STATUSES)}")
        fulfillment.status = status
    for key in ("tracking_number", "tracking_url", "tracking_company"):
        if key in spec:
            setattr(fulfillment, key, spec[key])
    now = time.time()
    fulfillment.updated_at = now
    store.orders[fulfillment.order_id].updated_at = now
    return fulfillment


def display_status(fulfillment: Fulfillment) -> str:
    """GraphQL ``Fulfillment.displayStatus`` derived from status and shipment status."""
    if fulfillment.status == "CANCELLED":
        return "CANCELED"
    if fulfillment.status in ("ERROR", "FAILURE"):
        return "FAILURE"
    if fulfillment.shipment_status:
        return SHIPMENT_STATUSES[fulfillment.shipment_status]
    return "FULFILLED"
