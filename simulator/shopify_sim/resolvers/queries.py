"""Query root fields: ``productVariants``, ``customers``/``customer``, ``orders``/``order``, ``job``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLResolveInfo

from shopify_sim.resolvers.context import check_scope, request_context
from shopify_sim.resolvers.pagination import connection
from shopify_sim.resolvers.views import customer_view, order_view, variant_view
from shopify_sim.search import customer_matcher, evaluate, order_matcher, parse_query, variant_matcher
from shopify_sim.store import Customer, Order, Variant, gid, parse_gid
from shopify_sim.validation import normalize_phone


@dataclass(frozen=True)
class SearchArgs:
    """The arguments Shopify's searchable connections share, so each resolver states only its matcher and keys."""

    first: int | None = None
    after: str | None = None
    query: str | None = None
    reverse: bool = False
    sortKey: str | None = None  # noqa: N815 - the GraphQL argument's name

    def page(self, found: list[Any], keys: dict[str, Callable[[Any], Any]], view: Callable[[Any], dict]) -> dict:
        """``found`` sorted by ``sortKey`` (``ID`` when unknown; ties by id) and cut to the requested page."""
        key = keys.get(self.sortKey or "ID", keys["ID"])
        items = sorted(found, key=lambda item: (key(item), item.id), reverse=bool(self.reverse))
        return connection(items, self.first, self.after, view)


def resolve_product_variants(_: Any, info: GraphQLResolveInfo, **arguments: Any) -> dict:
    """``productVariants(first, after, query, reverse, sortKey)``."""
    args = SearchArgs(**arguments)
    check_scope(info)
    store = request_context(info).store
    node = parse_query(args.query)
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
    return args.page(found, keys, lambda v: variant_view(store, v))


def resolve_customers(_: Any, info: GraphQLResolveInfo, **arguments: Any) -> dict:
    """``customers(first, after, query, reverse, sortKey)``."""
    args = SearchArgs(**arguments)
    check_scope(info)
    store = request_context(info).store
    node = parse_query(args.query)
    found = [c for c in store.customers.values() if evaluate(node, customer_matcher(c, normalize_phone))]
    keys: dict[str, Callable[[Customer], Any]] = {
        "ID": lambda c: c.id,
        "CREATED_AT": lambda c: c.created_at,
        "UPDATED_AT": lambda c: c.updated_at,
        "NAME": lambda c: c.display_name.lower(),
    }
    return args.page(found, keys, customer_view)


def resolve_customer(_: Any, info: GraphQLResolveInfo, id: str) -> dict | None:  # noqa: A002
    """``customer(id)``."""
    check_scope(info)
    customer = request_context(info).store.customers.get(parse_gid(id, "Customer") or -1)
    return customer_view(customer) if customer else None


def resolve_orders(_: Any, info: GraphQLResolveInfo, **arguments: Any) -> dict:
    """``orders(first, after, query, reverse, sortKey)``; honours ``search_lag_seconds``."""
    args = SearchArgs(**arguments)
    check_scope(info)
    ctx = request_context(info)
    store = ctx.store
    candidates = list(store.orders.values())
    if args.query and args.query.strip() and ctx.config.search_lag_seconds > 0:
        visible_before = time.time() - ctx.config.search_lag_seconds
        candidates = [o for o in candidates if o.created_at <= visible_before]
    node = parse_query(args.query)
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
    return args.page(found, keys, lambda o: order_view(store, o))


def resolve_order(_: Any, info: GraphQLResolveInfo, id: str) -> dict | None:  # noqa: A002
    """``order(id)`` (not subject to search lag: reads by id are immediate)."""
    check_scope(info)
    store = request_context(info).store
    order = store.orders.get(parse_gid(id, "Order") or -1)
    return order_view(store, order) if order else None


def resolve_job(_: Any, info: GraphQLResolveInfo, id: str) -> dict | None:  # noqa: A002
    """``job(id)``: ``done`` turns true once the cancel job's delay has passed."""
    prefix = "gid://shopify/Job/"
    job = request_context(info).store.jobs.get(id[len(prefix) :] if id.startswith(prefix) else "")
    return {"id": gid("Job", job.id), "done": job.done} if job else None
