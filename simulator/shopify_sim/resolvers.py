"""GraphQL root resolvers and the dict "views" of stored records.

graphql-core's default resolver reads dict keys and calls callables with ``(info,
**args)``, so views are plain dicts; fields that take arguments (``lineItems(first:)``,
``trackingInfo(first:)``) or point at other records are callables, evaluated only if the
document selects them. Execution happens while the caller holds ``store.lock``, so the
whole response reflects one consistent state.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from graphql import GraphQLError, GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema, build_schema

from shopify_sim.config import SimConfig
from shopify_sim.mutations import apply_customer_input, cancel_order, create_order, display_status
from shopify_sim.schema import schema_sdl
from shopify_sim.scopes import allows, resolve_current_app_installation
from shopify_sim.search import customer_matcher, evaluate, order_matcher, parse_query, variant_matcher
from shopify_sim.store import (
    Address,
    Customer,
    Fulfillment,
    LineItem,
    Order,
    Store,
    Variant,
    gid,
    iso,
    parse_gid,
)
from shopify_sim.validation import normalize_phone
from shopify_sim.webhooks import customer_payload, money, order_payload

#: Largest page Shopify serves; larger ``first`` values are clamped.
MAX_PAGE = 250

#: Access scope each root field needs (checked against the token's scopes and ``config.missing_scopes``).
REQUIRED_SCOPES: dict[str, str] = {
    "productVariants": "read_products",
    "customers": "read_customers",
    "customer": "read_customers",
    "orders": "read_orders",
    "order": "read_orders",
    "customerCreate": "write_customers",
    "customerUpdate": "write_customers",
    "orderCreate": "write_orders",
    "orderCancel": "write_orders",
}


@dataclass
class RequestContext:
    """Per-request state handed to resolvers as ``info.context``."""

    store: Store
    config: SimConfig
    #: root field name -> userError to answer instead of executing (``user_error`` fault).
    forced_user_errors: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: (topic, payload) webhooks to send once execution has finished.
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: Whether any mutation actually changed state (for stats).
    wrote: bool = False
    #: Scopes of the token that made the request (``None``: unrestricted).
    granted_scopes: frozenset[str] | None = None


def _ctx(info: GraphQLResolveInfo) -> RequestContext:
    return info.context


def access_denied(field_name: str, scope: str) -> GraphQLError:
    """Shopify's top-level error for a missing access scope."""
    return GraphQLError(
        f"Access denied for {field_name} field. Required access: `{scope}` access scope.",
        extensions={
            "code": "ACCESS_DENIED",
            "documentation": "https://shopify.dev/api/usage/access-scopes",
            "requiredAccess": f"`{scope}` access scope.",
        },
    )


def _check_scope(info: GraphQLResolveInfo) -> None:
    scope = REQUIRED_SCOPES.get(info.field_name)
    ctx = _ctx(info)
    if scope is not None and not allows(ctx.granted_scopes, ctx.config.missing_scopes, scope):
        raise access_denied(info.field_name, scope)


# -- scalars ------------------------------------------------------------------------------
def decimal_string(amount: Decimal) -> str:
    """Shopify's ``Decimal`` output: no trailing zeros but at least one decimal (``"0.0"``)."""
    text = f"{amount.quantize(Decimal('0.01')):f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _money_bag(amount: Decimal, currency: str) -> dict[str, Any]:
    one = {"amount": decimal_string(amount), "currencyCode": currency}
    return {"shopMoney": one, "presentmentMoney": dict(one)}


# -- pagination ---------------------------------------------------------------------------
def _encode_cursor(record_id: int, offset: int) -> str:
    raw = json.dumps({"last_id": record_id, "offset": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return int(data["last_id"]), int(data["offset"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise GraphQLError("Invalid cursor for current pagination sort.", extensions={"code": "BAD_REQUEST"}) from exc


def connection(
    items: list[Any], first: int | None, after: str | None, view: Callable[[Any], dict[str, Any]]
) -> dict[str, Any]:
    """Relay connection over ``items`` (already filtered and sorted; each has ``.id``)."""
    if first is None:
        raise GraphQLError("you must provide one of first or last", extensions={"code": "BAD_REQUEST"})
    if first < 0:
        raise GraphQLError("first must be greater than or equal to 0", extensions={"code": "BAD_REQUEST"})
    first = min(first, MAX_PAGE)
    start = 0
    if after:
        last_id, offset = _decode_cursor(after)
        position = next((i for i, item in enumerate(items) if item.id == last_id), None)
        start = position + 1 if position is not None else offset + 1
    page = items[start : start + first]
    cursors = [_encode_cursor(item.id, start + i) for i, item in enumerate(page)]
    nodes = [view(item) for item in page]
    return {
        "nodes": nodes,
        "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, nodes, strict=True)],
        "pageInfo": {
            "hasNextPage": start + first < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


# -- views --------------------------------------------------------------------------------
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


# -- queries ------------------------------------------------------------------------------
def _sorted(
    items: list[Any], keys: dict[str, Callable[[Any], Any]], sort_key: str | None, reverse: bool | None
) -> list[Any]:
    key = keys.get(sort_key or "ID", keys["ID"])
    return sorted(items, key=lambda item: (key(item), item.id), reverse=bool(reverse))


def resolve_product_variants(
    _: Any,
    info: GraphQLResolveInfo,
    first: int | None = None,
    after: str | None = None,
    query: str | None = None,
    reverse: bool = False,
    sortKey: str | None = None,
) -> dict:  # noqa: N803 - GraphQL argument names
    """``productVariants(first, after, query, reverse, sortKey)``."""
    _check_scope(info)
    store = _ctx(info).store
    node = parse_query(query)
    found = [v for v in store.variants.values() if evaluate(node, variant_matcher(v, store.products[v.product_id]))]
    keys: dict[str, Callable[[Variant], Any]] = {
        "ID": lambda v: v.id,
        "SKU": lambda v: v.sku or "",
        "TITLE": lambda v: v.title,
        "FULL_TITLE": lambda v: (store.products[v.product_id].title, v.title),
        "NAME": lambda v: (store.products[v.product_id].title, v.title),
        "INVENTORY_QUANTITY": lambda v: v.inventory_quantity,
        "POSITION": lambda v: (v.product_id, v.position),
    }
    items = _sorted(found, keys, sortKey, reverse)
    return connection(items, first, after, lambda v: variant_view(store, v))


def resolve_customers(
    _: Any,
    info: GraphQLResolveInfo,
    first: int | None = None,
    after: str | None = None,
    query: str | None = None,
    reverse: bool = False,
    sortKey: str | None = None,
) -> dict:  # noqa: N803
    """``customers(first, after, query, reverse, sortKey)``."""
    _check_scope(info)
    store = _ctx(info).store
    node = parse_query(query)
    found = [c for c in store.customers.values() if evaluate(node, customer_matcher(c, normalize_phone))]
    keys: dict[str, Callable[[Customer], Any]] = {
        "ID": lambda c: c.id,
        "CREATED_AT": lambda c: c.created_at,
        "UPDATED_AT": lambda c: c.updated_at,
        "NAME": lambda c: c.display_name.lower(),
    }
    return connection(_sorted(found, keys, sortKey, reverse), first, after, customer_view)


def resolve_customer(_: Any, info: GraphQLResolveInfo, id: str) -> dict | None:  # noqa: A002
    """``customer(id)``."""
    _check_scope(info)
    customer = _ctx(info).store.customers.get(parse_gid(id, "Customer") or -1)
    return customer_view(customer) if customer else None


def resolve_orders(
    _: Any,
    info: GraphQLResolveInfo,
    first: int | None = None,
    after: str | None = None,
    query: str | None = None,
    reverse: bool = False,
    sortKey: str | None = None,
) -> dict:  # noqa: N803
    """``orders(first, after, query, reverse, sortKey)``; honours ``search_lag_seconds``."""
    _check_scope(info)
    ctx = _ctx(info)
    store = ctx.store
    candidates = list(store.orders.values())
    if query and query.strip() and ctx.config.search_lag_seconds > 0:
        visible_before = time.time() - ctx.config.search_lag_seconds
        candidates = [o for o in candidates if o.created_at <= visible_before]
    node = parse_query(query)
    found = [o for o in candidates if evaluate(node, order_matcher(o, store))]
    keys: dict[str, Callable[[Order], Any]] = {
        "ID": lambda o: o.id,
        "CREATED_AT": lambda o: o.created_at,
        "UPDATED_AT": lambda o: o.updated_at,
        "PROCESSED_AT": lambda o: o.processed_at,
        "ORDER_NUMBER": lambda o: o.number,
        "TOTAL_PRICE": lambda o: o.total,
        "CURRENT_TOTAL_PRICE": lambda o: o.total,
        "FINANCIAL_STATUS": lambda o: o.financial_status,
        "FULFILLMENT_STATUS": lambda o: store.display_fulfillment_status(o),
    }
    return connection(_sorted(found, keys, sortKey, reverse), first, after, lambda o: order_view(store, o))


def resolve_order(_: Any, info: GraphQLResolveInfo, id: str) -> dict | None:  # noqa: A002
    """``order(id)`` (not subject to search lag: reads by id are immediate)."""
    _check_scope(info)
    store = _ctx(info).store
    order = store.orders.get(parse_gid(id, "Order") or -1)
    return order_view(store, order) if order else None


def resolve_job(_: Any, info: GraphQLResolveInfo, id: str) -> dict | None:  # noqa: A002
    """``job(id)``: ``done`` turns true once the cancel job's delay has passed."""
    prefix = "gid://shopify/Job/"
    job = _ctx(info).store.jobs.get(id[len(prefix) :] if id.startswith(prefix) else "")
    return {"id": gid("Job", job.id), "done": job.done} if job else None


# -- mutations ----------------------------------------------------------------------------
def _forced(info: GraphQLResolveInfo) -> dict[str, Any] | None:
    return _ctx(info).forced_user_errors.get(info.field_name)


def _plain_error(error: dict[str, Any]) -> dict[str, Any]:
    return {"field": error.get("field"), "message": error["message"]}


def resolve_customer_create(_: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict:  # noqa: A002
    """``customerCreate(input)``; sends ``customers/create``."""
    _check_scope(info)
    if (forced := _forced(info)) is not None:
        return {"customer": None, "userErrors": [_plain_error(forced)]}
    ctx = _ctx(info)
    data = {k: v for k, v in input.items() if k != "id"}
    customer, errors = apply_customer_input(ctx.store, data, None)
    if customer is None:
        return {"customer": None, "userErrors": [e.as_dict() for e in errors]}
    ctx.wrote = True
    ctx.events.append(("customers/create", customer_payload(customer)))
    return {"customer": customer_view(customer), "userErrors": []}


def resolve_customer_update(_: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict:  # noqa: A002
    """``customerUpdate(input)`` (``input.id`` picks the customer); sends ``customers/update``."""
    _check_scope(info)
    if (forced := _forced(info)) is not None:
        return {"customer": None, "userErrors": [_plain_error(forced)]}
    ctx = _ctx(info)
    existing = ctx.store.customers.get(parse_gid(input.get("id"), "Customer") or -1)
    if existing is None:
        return {"customer": None, "userErrors": [{"field": ["id"], "message": "Customer does not exist"}]}
    data = {k: v for k, v in input.items() if k != "id"}
    customer, errors = apply_customer_input(ctx.store, data, existing)
    if customer is None:
        return {"customer": None, "userErrors": [e.as_dict() for e in errors]}
    ctx.wrote = True
    ctx.events.append(("customers/update", customer_payload(customer)))
    return {"customer": customer_view(customer), "userErrors": []}


def resolve_order_create(
    _: Any, info: GraphQLResolveInfo, order: dict[str, Any], options: dict[str, Any] | None = None
) -> dict:
    """``orderCreate(order, options)``; sends ``orders/create``."""
    _check_scope(info)
    if (forced := _forced(info)) is not None:
        return {"order": None, "userErrors": [{"code": "INVALID", **forced}]}
    ctx = _ctx(info)
    created, errors, _ = create_order(ctx.store, ctx.config, order, options)
    if created is None:
        return {"order": None, "userErrors": errors}
    ctx.wrote = True
    ctx.events.append(("orders/create", order_payload(ctx.store, created)))
    return {"order": order_view(ctx.store, created), "userErrors": []}


def resolve_order_cancel(_: Any, info: GraphQLResolveInfo, **args: Any) -> dict:
    """``orderCancel(...)``: answers ``job { done: false }``; sends ``orders/cancelled``."""
    _check_scope(info)
    if (forced := _forced(info)) is not None:
        error = {"code": "INVALID", **forced}
        return {"job": None, "orderCancelUserErrors": [error], "userErrors": [_plain_error(error)]}
    ctx = _ctx(info)
    job, errors, cancelled = cancel_order(ctx.store, ctx.config, args)
    if job is None or cancelled is None:
        return {"job": None, "orderCancelUserErrors": errors, "userErrors": [_plain_error(e) for e in errors]}
    ctx.wrote = True
    ctx.events.append(("orders/cancelled", order_payload(ctx.store, cancelled)))
    return {"job": {"id": gid("Job", job.id), "done": False}, "orderCancelUserErrors": [], "userErrors": []}


QUERY_RESOLVERS: dict[str, Callable[..., Any]] = {
    "productVariants": resolve_product_variants,
    "customers": resolve_customers,
    "customer": resolve_customer,
    "orders": resolve_orders,
    "order": resolve_order,
    "job": resolve_job,
    "currentAppInstallation": resolve_current_app_installation,
}
MUTATION_RESOLVERS: dict[str, Callable[..., Any]] = {
    "customerCreate": resolve_customer_create,
    "customerUpdate": resolve_customer_update,
    "orderCreate": resolve_order_create,
    "orderCancel": resolve_order_cancel,
}


@lru_cache(maxsize=1)
def executable_schema() -> GraphQLSchema:
    """The subset schema with the simulator's root resolvers attached (built once)."""
    # Imported here: the subscription resolvers use this module's ``connection`` (an import cycle otherwise).
    from shopify_sim import subscriptions

    schema = build_schema(schema_sdl())
    queries = {**QUERY_RESOLVERS, **subscriptions.QUERY_RESOLVERS}
    mutations = {**MUTATION_RESOLVERS, **subscriptions.MUTATION_RESOLVERS}
    for root, resolvers in ((schema.query_type, queries), (schema.mutation_type, mutations)):
        assert isinstance(root, GraphQLObjectType)
        missing = set(root.fields) - set(resolvers)
        if missing:
            raise RuntimeError(f"schema root fields without a resolver: {sorted(missing)}")
        for name, resolver in resolvers.items():
            root.fields[name].resolve = resolver
    return schema
