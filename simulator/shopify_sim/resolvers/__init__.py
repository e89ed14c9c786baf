"""GraphQL root resolvers and the dict "views" of stored records.

graphql-core's default resolver reads dict keys and calls callables with ``(info,
**args)``, so views are plain dicts; fields that take arguments (``lineItems(first:)``,
``trackingInfo(first:)``) or point at other records are callables, evaluated only if the
document selects them. Execution happens while the caller holds ``store.lock``, so the
whole response reflects one consistent state.

One module per concern: :mod:`.context` (the request's context, the scope check), :mod:`.pagination`
(cursor connections), :mod:`.views` (records as dicts), :mod:`.queries` and :mod:`.mutations` (root
fields); the webhook-subscription fields are in :mod:`shopify_sim.subscriptions`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from graphql import GraphQLObjectType, GraphQLSchema, build_schema

from shopify_sim.resolvers.context import REQUIRED_SCOPES, RequestContext, access_denied, check_scope
from shopify_sim.resolvers.mutations import (
    resolve_customer_create,
    resolve_customer_update,
    resolve_order_cancel,
    resolve_order_create,
)
from shopify_sim.resolvers.pagination import MAX_PAGE, connection
from shopify_sim.resolvers.queries import (
    resolve_customer,
    resolve_customers,
    resolve_job,
    resolve_order,
    resolve_orders,
    resolve_product_variants,
)
from shopify_sim.resolvers.views import (
    address_view,
    customer_view,
    decimal_string,
    order_view,
    product_view,
    variant_view,
)
from shopify_sim.schema import schema_sdl
from shopify_sim.scopes import resolve_current_app_installation

__all__ = [
    "MAX_PAGE",
    "MUTATION_RESOLVERS",
    "QUERY_RESOLVERS",
    "REQUIRED_SCOPES",
    "RequestContext",
    "access_denied",
    "address_view",
    "check_scope",
    "connection",
    "customer_view",
    "decimal_string",
    "executable_schema",
    "order_view",
    "product_view",
    "variant_view",
]


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
    # Imported here: the subscription resolvers use this package's context and pagination (a cycle otherwise).
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
