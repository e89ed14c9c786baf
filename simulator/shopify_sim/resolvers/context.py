"""What every resolver gets: the request's context (store, settings, scopes, webhooks to send) and the scope check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from shopify_sim.config import SimConfig
from shopify_sim.scopes import allows
from shopify_sim.store import Store

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


def request_context(info: GraphQLResolveInfo) -> RequestContext:
    """The request's :class:`RequestContext`."""
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


def check_scope(info: GraphQLResolveInfo) -> None:
    """Refuse a root field whose access scope the token lacks (Shopify's ``ACCESS_DENIED``)."""
    scope = REQUIRED_SCOPES.get(info.field_name)
    ctx = request_context(info)
    if scope is not None and not allows(ctx.granted_scopes, ctx.config.missing_scopes, scope):
        raise access_denied(info.field_name, scope)
