"""The dict "views" of stored records that GraphQL answers are read from (see :mod:`shopify_sim.resolvers`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from graphql import GraphQLResolveInfo

from shopify_sim.mutations import display_status
from shopify_sim.payloads import money
from shopify_sim.resolvers.pagination import connection
from shopify_sim.store import Address, Customer, Fulfillment, LineItem, Order, Store, Variant, gid, iso


def decimal_string(amount: Decimal) -> str:
    """Shopify's ``Decimal`` output: no trailing zeros but at least one decimal (``"0.0"``)."""
    text = f"{amount.quantize(Decimal('0.01')):f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _money_bag(amount: Decimal, currency: str) -> dict[str, Any]:
    one = {"amount": decimal_string(amount), "currencyCode": currency}
    return {"shopMoney": one, "presentmentMoney": dict(one)}


def address_view(address: Address | None) -> dict[str, Any] | None:
    """``MailingAddress``."""
    if address is None:
        return None
    return {
        "id": gid("MailingAddress", address.id),
        "address1": address.address1,
        "address2": address.address2,
        "city": address.city,
        "company": address.company,
        "province": address.province,
        "provinceCode": address.province_code,
        "country": address.country,
        "countryCodeV2": address.country_code,
        "zip": address.zip,
        "phone": address.phone,
        "firstName": address.first_name,
        "lastName": address.last_name,
        "name": address.name,
    }


def product_view(store: Store, product_id: int) -> dict[str, Any]:
    """``Product``."""
    product = store.products[product_id]
    variants = [store.variants[v] for v in product.variant_ids]
    return {
        "id": gid("Product", product.id),
        "legacyResourceId": str(product.id),
        "title": product.title,
        "status": product.status,
        "tracksInventory": any(v.tracked for v in variants),
        "totalInventory": sum(v.inventory_quantity for v in variants if v.tracked),
        "createdAt": iso(product.created_at),
        "updatedAt": iso(product.updated_at),
    }


def variant_view(store: Store, variant: Variant) -> dict[str, Any]:
    """``ProductVariant``."""
    product = store.products[variant.product_id]
    in_stock = not variant.tracked or variant.policy == "CONTINUE" or variant.inventory_quantity > 0
    return {
        "id": gid("ProductVariant", variant.id),
        "legacyResourceId": str(variant.id),
        "sku": variant.sku,
        "title": variant.title,
        "displayName": f"{product.title} - {variant.title}",
        "price": money(variant.price),
        "availableForSale": product.status == "ACTIVE" and in_stock,
        "inventoryQuantity": variant.inventory_quantity,
        "inventoryPolicy": variant.policy,
        "inventoryItem": {
            "id": gid("InventoryItem", variant.inventory_item_id),
            "legacyResourceId": str(variant.inventory_item_id),
            "sku": variant.sku,
            "tracked": variant.tracked,
        },
        "product": lambda info, **_: product_view(store, variant.product_id),
        "createdAt": iso(variant.created_at),
        "updatedAt": iso(variant.updated_at),
    }


def customer_view(customer: Customer) -> dict[str, Any]:
    """``Customer``."""
    return {
        "id": gid("Customer", customer.id),
        "legacyResourceId": str(customer.id),
        "firstName": customer.first_name,
        "lastName": customer.last_name,
        "displayName": customer.display_name,
        "email": customer.email,
        "phone": customer.phone,
        "defaultEmailAddress": {"emailAddress": customer.email} if customer.email else None,
        "defaultPhoneNumber": {"phoneNumber": customer.phone} if customer.phone else None,
        "defaultAddress": address_view(customer.default_address),
        "tags": list(customer.tags),
        "note": customer.note,
        "createdAt": iso(customer.created_at),
        "updatedAt": iso(customer.updated_at),
    }


def _line_item_view(store: Store, item: LineItem) -> dict[str, Any]:
    variant = store.variants.get(item.variant_id) if item.variant_id else None
    return {
        "id": gid("LineItem", item.id),
        "sku": item.sku,
        "quantity": item.quantity,
        "title": item.title,
        "variantTitle": item.variant_title,
        "variant": (lambda info, **_: variant_view(store, variant)) if variant else None,
    }


def _fulfillment_view(fulfillment: Fulfillment) -> dict[str, Any]:
    def tracking(info: GraphQLResolveInfo, first: int | None = None) -> list[dict[str, Any]]:
        if not (fulfillment.tracking_number or fulfillment.tracking_url or fulfillment.tracking_company):
            return []
        info_item = {
            "number": fulfillment.tracking_number,
            "url": fulfillment.tracking_url,
            "company": fulfillment.tracking_company,
        }
        return [info_item][: first if first is not None else None]

    return {
        "id": gid("Fulfillment", fulfillment.id),
        "legacyResourceId": str(fulfillment.id),
        "name": fulfillment.name,
        "status": fulfillment.status,
        "displayStatus": display_status(fulfillment),
        "createdAt": iso(fulfillment.created_at),
        "updatedAt": iso(fulfillment.updated_at),
        "trackingInfo": tracking,
    }


def order_view(store: Store, order: Order) -> dict[str, Any]:
    """``Order``."""
    customer = store.customers.get(order.customer_id) if order.customer_id else None

    def line_items(info: GraphQLResolveInfo, first: int | None = None, after: str | None = None) -> dict:
        return connection(order.line_items, first, after, lambda li: _line_item_view(store, li))

    def fulfillments(info: GraphQLResolveInfo, first: int | None = None) -> list[dict[str, Any]]:
        found = store.order_fulfillments(order)
        return [_fulfillment_view(f) for f in (found[:first] if first is not None else found)]

    return {
        "id": gid("Order", order.id),
        "legacyResourceId": str(order.id),
        "name": order.name,
        "email": order.email,
        "phone": order.phone,
        "tags": list(order.tags),
        "sourceIdentifier": order.source_identifier,
        "sourceName": order.source_name or "api",
        "note": order.note,
        "createdAt": iso(order.created_at),
        "updatedAt": iso(order.updated_at),
        "processedAt": iso(order.processed_at),
        "cancelledAt": iso(order.cancelled_at),
        "cancelReason": order.cancel_reason,
        "closed": order.closed_at is not None,
        "closedAt": iso(order.closed_at),
        "test": order.test,
        "displayFinancialStatus": order.financial_status,
        "displayFulfillmentStatus": store.display_fulfillment_status(order),
        "totalPriceSet": _money_bag(order.total, order.currency),
        "customer": (lambda info, **_: customer_view(customer)) if customer else None,
        "shippingAddress": address_view(order.shipping_address),
        "lineItems": line_items,
        "fulfillments": fulfillments,
    }
