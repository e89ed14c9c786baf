"""Mutation root fields: ``customerCreate``/``customerUpdate``, ``orderCreate``, ``orderCancel``."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from shopify_sim.mutations import apply_customer_input, cancel_order, create_order
from shopify_sim.payloads import customer_payload, order_payload
from shopify_sim.resolvers.context import check_scope, request_context
from shopify_sim.resolvers.views import customer_view, order_view
from shopify_sim.store import gid, parse_gid


def _forced(info: GraphQLResolveInfo) -> dict[str, Any] | None:
    return request_context(info).forced_user_errors.get(info.field_name)


def _plain_error(error: dict[str, Any]) -> dict[str, Any]:
    return {"field": error.get("field"), "message": error["message"]}


def resolve_customer_create(_: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict:  # noqa: A002
    """``customerCreate(input)``; sends ``customers/create``."""
    check_scope(info)
    if (forced := _forced(info)) is not None:
        return {"customer": None, "userErrors": [_plain_error(forced)]}
    ctx = request_context(info)
    data = {k: v for k, v in input.items() if k != "id"}
    customer, errors = apply_customer_input(ctx.store, data, None)
    if customer is None:
        return {"customer": None, "userErrors": [e.as_dict() for e in errors]}
    ctx.wrote = True
    ctx.events.append(("customers/create", customer_payload(customer)))
    return {"customer": customer_view(customer), "userErrors": []}


def resolve_customer_update(_: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict:  # noqa: A002
    """``customerUpdate(input)`` (``input.id`` picks the customer); sends ``customers/update``."""
    check_scope(info)
    if (forced := _forced(info)) is not None:
        return {"customer": None, "userErrors": [_plain_error(forced)]}
    ctx = request_context(info)
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
    """``orderCreate(order, options)``; sends ``orders/create``, and ``customers/create`` or ``customers/update``
    for the customer it created or changed (``toUpsert``, or the shipping address becoming the default)."""
    check_scope(info)
    if (forced := _forced(info)) is not None:
        return {"order": None, "userErrors": [{"code": "INVALID", **forced}]}
    ctx = request_context(info)
    known = set(ctx.store.customers)
    created, errors, touched = create_order(ctx.store, ctx.config, order, options)
    if created is None:
        return {"order": None, "userErrors": errors}
    ctx.wrote = True
    for customer in touched:
        topic = "customers/update" if customer.id in known else "customers/create"
        ctx.events.append((topic, customer_payload(customer)))
    ctx.events.append(("orders/create", order_payload(ctx.store, created)))
    return {"order": order_view(ctx.store, created), "userErrors": []}


def resolve_order_cancel(_: Any, info: GraphQLResolveInfo, **args: Any) -> dict:
    """``orderCancel(...)``: answers ``job { done: false }``; sends ``orders/cancelled``."""
    check_scope(info)
    if (forced := _forced(info)) is not None:
        error = {"code": "INVALID", **forced}
        return {"job": None, "orderCancelUserErrors": [error], "userErrors": [_plain_error(error)]}
    ctx = request_context(info)
    job, errors, cancelled = cancel_order(ctx.store, ctx.config, args)
    if job is None or cancelled is None:
        return {"job": None, "orderCancelUserErrors": errors, "userErrors": [_plain_error(e) for e in errors]}
    ctx.wrote = True
    ctx.events.append(("orders/cancelled", order_payload(ctx.store, cancelled)))
    return {"job": {"id": gid("Job", job.id), "done": False}, "orderCancelUserErrors": [], "userErrors": []}
