"""Regenerate ``schema.graphql``: the simulator's subset of Shopify's Admin GraphQL SDL.

Developers run this by hand when the simulator needs another field or when the pinned
API version changes::

    python -m shopify_sim.extract_schema tests/data/shopify/admin-2026-07.graphql

Why a subset rather than the real 3.8 MB SDL: building the full schema takes seconds per
process, and a simulator that *accepts* fields it does not implement would let client
code pass tests against behaviour nobody wrote. The subset keeps Shopify's exact type
names, field names, argument names and type signatures (``tests/shopify_simulator/
test_schema_subset.py`` proves it), so any document that validates here also validates
against the real API.

Rules applied to the real SDL:

* object/interface types: only the fields listed in :data:`SPEC`, and on those fields only
  the listed arguments (plus any argument the real field *requires*, so the subset never
  accepts a call the real API rejects);
* every input object, enum and scalar reachable from the kept fields and arguments is
  kept whole (input types are cheap and clients may send any of their fields);
* interfaces are kept only when they appear in :data:`SPEC`;
* descriptions are dropped (size); ``@deprecated`` and other directives are kept.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from graphql import (
    DirectiveDefinitionNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    FieldDefinitionNode,
    InputObjectTypeDefinitionNode,
    InputValueDefinitionNode,
    InterfaceTypeDefinitionNode,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    ObjectTypeDefinitionNode,
    ScalarTypeDefinitionNode,
    SchemaDefinitionNode,
    TypeNode,
    build_ast_schema,
    parse,
    print_ast,
)

#: Where the generated file lives (next to this module, shipped as package data).
OUTPUT_PATH = Path(__file__).with_name("schema.graphql")

BUILTIN_SCALARS = frozenset({"String", "Int", "Float", "Boolean", "ID"})


def _plain(names: str) -> dict[str, tuple[str, ...]]:
    """Fields without arguments, written as one space-separated string for readability."""
    return {name: () for name in names.split()}


#: type name -> field name -> argument names kept on that field.
SPEC: dict[str, dict[str, tuple[str, ...]]] = {
    "QueryRoot": {
        "productVariants": ("first", "after", "query", "reverse", "sortKey"),
        "customers": ("first", "after", "query", "reverse", "sortKey"),
        "customer": ("id",),
        "orders": ("first", "after", "query", "reverse", "sortKey"),
        "order": ("id",),
        "job": ("id",),
        "webhookSubscriptions": ("first", "after", "topics", "uri"),
        "currentAppInstallation": (),
    },
    "Mutation": {
        "customerCreate": ("input",),
        "customerUpdate": ("input",),
        "orderCreate": ("order", "options"),
        "orderCancel": ("orderId", "reason", "restock", "notifyCustomer", "refund", "refundMethod", "staffNote"),
        "webhookSubscriptionCreate": ("topic", "webhookSubscription"),
        "webhookSubscriptionUpdate": ("id", "webhookSubscription"),
        "webhookSubscriptionDelete": ("id",),
    },
    "Node": _plain("id"),
    "DisplayableError": _plain("field message"),
    "ProductVariant": _plain(
        "id legacyResourceId sku title displayName price availableForSale inventoryQuantity "
        "inventoryPolicy inventoryItem product createdAt updatedAt"
    ),
    "InventoryItem": _plain("id legacyResourceId sku tracked"),
    "Product": _plain("id legacyResourceId title status tracksInventory totalInventory createdAt updatedAt"),
    "Customer": _plain(
        "id legacyResourceId firstName lastName displayName email phone defaultEmailAddress "
        "defaultPhoneNumber defaultAddress tags note createdAt updatedAt"
    ),
    "CustomerEmailAddress": _plain("emailAddress"),
    "CustomerPhoneNumber": _plain("phoneNumber"),
    "MailingAddress": _plain(
        "id address1 address2 city company province provinceCode country countryCodeV2 zip phone "
        "firstName lastName name"
    ),
    "Order": {
        **_plain(
            "id legacyResourceId name email phone tags sourceIdentifier sourceName note createdAt "
            "updatedAt processedAt cancelledAt cancelReason closed closedAt test displayFinancialStatus "
            "displayFulfillmentStatus totalPriceSet customer shippingAddress"
        ),
        "lineItems": ("first", "after"),
        "fulfillments": ("first",),
    },
    "LineItem": _plain("id sku quantity title variantTitle variant"),
    "Fulfillment": {
        **_plain("id legacyResourceId name status displayStatus createdAt updatedAt"),
        "trackingInfo": ("first",),
    },
    "FulfillmentTrackingInfo": _plain("number url company"),
    "MoneyBag": _plain("shopMoney presentmentMoney"),
    "MoneyV2": _plain("amount currencyCode"),
    "Job": _plain("id done"),
    "AppInstallation": _plain("id accessScopes"),
    "AccessScope": _plain("handle description"),
    "PageInfo": _plain("hasNextPage hasPreviousPage startCursor endCursor"),
    "ProductVariantConnection": _plain("nodes edges pageInfo"),
    "ProductVariantEdge": _plain("cursor node"),
    "CustomerConnection": _plain("nodes edges pageInfo"),
    "CustomerEdge": _plain("cursor node"),
    "OrderConnection": _plain("nodes edges pageInfo"),
    "OrderEdge": _plain("cursor node"),
    "LineItemConnection": _plain("nodes edges pageInfo"),
    "LineItemEdge": _plain("cursor node"),
    "CustomerCreatePayload": _plain("customer userErrors"),
    "CustomerUpdatePayload": _plain("customer userErrors"),
    "OrderCreatePayload": _plain("order userErrors"),
    "OrderCancelPayload": _plain("job orderCancelUserErrors userErrors"),
    "UserError": _plain("field message"),
    "OrderCreateUserError": _plain("field message code"),
    "OrderCancelUserError": _plain("field message code"),
    # Webhook subscriptions (simulator/shopify_sim/subscriptions.py): ``callbackUrl`` and ``endpoint`` are
    # deprecated in favour of ``uri`` and not served, so a client still reading them fails here first.
    "WebhookSubscription": _plain(
        "id legacyResourceId topic uri filter format includeFields metafieldNamespaces name createdAt updatedAt"
    ),
    "WebhookSubscriptionConnection": _plain("nodes edges pageInfo"),
    "WebhookSubscriptionEdge": _plain("cursor node"),
    "WebhookSubscriptionCreatePayload": _plain("webhookSubscription userErrors"),
    "WebhookSubscriptionUpdatePayload": _plain("webhookSubscription userErrors"),
    "WebhookSubscriptionDeletePayload": _plain("deletedWebhookSubscriptionId userErrors"),
}

HEADER = """\
# Subset of Shopify's Admin GraphQL schema ({version}) used by shopify_sim.
# Generated by simulator/shopify_sim/extract_schema.py from {source}; do not hand-edit.
# Names and type signatures are Shopify's; descriptions were dropped.

"""


def _replace(node: Any, **changes: Any) -> Any:
    """Copy an AST node with some attributes changed (graphql-core nodes are plain objects)."""
    values = {key: getattr(node, key) for key in node.keys if key != "loc"}
    values.update(changes)
    return node.__class__(**values)


def _named(type_node: TypeNode) -> str:
    while isinstance(type_node, NonNullTypeNode | ListTypeNode):
        type_node = type_node.type
    assert isinstance(type_node, NamedTypeNode)
    return type_node.name.value


def _strip_args(args: Iterable[InputValueDefinitionNode]) -> tuple[InputValueDefinitionNode, ...]:
    return tuple(_replace(arg, description=None) for arg in args)


def _required(arg: InputValueDefinitionNode) -> bool:
    return isinstance(arg.type, NonNullTypeNode) and arg.default_value is None


class SubsetError(ValueError):
    """The SPEC asks for something the real SDL does not have (or cannot be closed over)."""


def extract(sdl: str | DocumentNode, spec: Mapping[str, Mapping[str, tuple[str, ...]]] = SPEC) -> str:
    """Return the SDL text of the subset of ``sdl`` (text or parsed) described by ``spec``."""
    document = parse(sdl, no_location=True) if isinstance(sdl, str) else sdl
    by_name: dict[str, Any] = {}
    directives: list[DirectiveDefinitionNode] = []
    for definition in document.definitions:
        if isinstance(definition, DirectiveDefinitionNode):
            directives.append(definition)
        elif hasattr(definition, "name") and definition.name is not None:
            by_name[definition.name.value] = definition

    kept: dict[str, Any] = {}
    pending: list[str] = ["QueryRoot", "Mutation"]
    pending.extend(name for name in spec if name not in ("QueryRoot", "Mutation"))

    def need(name: str) -> None:
        if name not in kept and name not in pending and name not in BUILTIN_SCALARS:
            pending.append(name)

    while pending:
        name = pending.pop(0)
        if name in kept or name in BUILTIN_SCALARS:
            continue
        node = by_name.get(name)
        if node is None:
            raise SubsetError(f"type {name!r} does not exist in the source SDL")
        if isinstance(node, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode):
            wanted = spec.get(name)
            if wanted is None:
                raise SubsetError(f"object/interface type {name!r} is reachable but has no SPEC entry")
            real_fields = {field.name.value: field for field in node.fields or ()}
            fields: list[FieldDefinitionNode] = []
            for field_name, arg_names in wanted.items():
                field = real_fields.get(field_name)
                if field is None:
                    raise SubsetError(f"{name}.{field_name} does not exist in the source SDL")
                real_args = {arg.name.value: arg for arg in field.arguments or ()}
                missing = [arg for arg in arg_names if arg not in real_args]
                if missing:
                    raise SubsetError(f"{name}.{field_name} has no argument(s) {missing}")
                args = [arg for arg in field.arguments or () if arg.name.value in arg_names or _required(arg)]
                for arg in args:
                    need(_named(arg.type))
                need(_named(field.type))
                fields.append(_replace(field, description=None, arguments=_strip_args(args)))
            fields.sort(key=lambda f: list(real_fields).index(f.name.value))
            interfaces = tuple(i for i in (node.interfaces or ()) if i.name.value in spec)
            kept[name] = _replace(node, description=None, fields=tuple(fields), interfaces=interfaces)
        elif isinstance(node, InputObjectTypeDefinitionNode):
            for field in node.fields or ():
                need(_named(field.type))
            kept[name] = _replace(node, description=None, fields=_strip_args(node.fields or ()))
        elif isinstance(node, EnumTypeDefinitionNode):
            values = tuple(_replace(value, description=None) for value in node.values or ())
            kept[name] = _replace(node, description=None, values=values)
        elif isinstance(node, ScalarTypeDefinitionNode):
            kept[name] = _replace(node, description=None)
        else:
            raise SubsetError(f"type {name!r} is a {type(node).__name__}, which the subset does not support")

    schema_def = next(d for d in document.definitions if isinstance(d, SchemaDefinitionNode))
    kept_directives = [_replace(d, description=None, arguments=_strip_args(d.arguments or ())) for d in directives]
    definitions = [_replace(schema_def, description=None), *kept_directives]
    definitions.extend(kept[name] for name in sorted(kept))
    text = print_ast(DocumentNode(definitions=tuple(definitions)))
    build_ast_schema(parse(text))  # fail loudly if the subset is not a valid schema
    return text + "\n"


def _version_of(sdl: str) -> str:
    first = sdl.splitlines()[0] if sdl else ""
    return first.rsplit(" ", 1)[-1] if first.startswith("#") else "unknown version"


def render(sdl: str, source_name: str, document: DocumentNode | None = None) -> str:
    """The full text of ``schema.graphql``: header comment plus :func:`extract`."""
    return HEADER.format(version=_version_of(sdl), source=source_name) + extract(document or sdl)


def main(argv: list[str] | None = None) -> int:
    """CLI entry: read the real SDL, write the subset (default: next to this module)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="path to Shopify's full Admin GraphQL SDL")
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT_PATH)
    options = parser.parse_args(argv)
    sdl = options.source.read_text(encoding="utf-8")
    text = render(sdl, options.source.name)
    options.output.write_text(text, encoding="utf-8")
    print(f"wrote {options.output} ({len(text)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
