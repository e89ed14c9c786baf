"""The shipped schema subset is faithful to Shopify's real Admin SDL (2026-07).

Faithful means: every type, field, argument, input field and enum value in the subset
exists in the real schema with the identical type signature, default and deprecation;
nothing the real API requires (arguments, input fields) is missing; enums and input
types are complete. So a document valid against the subset is valid against Shopify.
"""

from __future__ import annotations

import pytest
from graphql import (
    DocumentNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    build_ast_schema,
    parse,
    validate,
)
from graphql.pyutils import Undefined

from shopify_sim.extract_schema import SPEC, render
from shopify_sim.schema import SCHEMA_PATH, base_schema, schema_sdl
from tests.shopify_schema import admin_schema_path, admin_sdl

from . import documents


@pytest.fixture(scope="module")
def real_sdl() -> str:
    return admin_sdl()


@pytest.fixture(scope="module")
def real_document(real_sdl: str) -> DocumentNode:
    return parse(real_sdl, no_location=True)


@pytest.fixture(scope="module")
def real_schema(real_document: DocumentNode) -> GraphQLSchema:
    # assume_valid: graphql-core 3.3 rejects Shopify's own SDL (deprecated fields implementing
    # non-deprecated interface fields); documents still validate field by field against it.
    return build_ast_schema(real_document, assume_valid_sdl=True, assume_valid=True)


def _required(type_: object, default: object) -> bool:
    return isinstance(type_, GraphQLNonNull) and default is Undefined


def test_every_subset_definition_matches_the_real_schema(real_schema: GraphQLSchema) -> None:
    subset = base_schema()
    assert subset.query_type is not None and real_schema.query_type is not None
    assert subset.query_type.name == real_schema.query_type.name
    assert subset.mutation_type is not None and real_schema.mutation_type is not None
    assert subset.mutation_type.name == real_schema.mutation_type.name
    problems: list[str] = []
    for name, sub in subset.type_map.items():
        if name.startswith("__"):
            continue
        real = real_schema.type_map.get(name)
        if real is None:
            problems.append(f"type {name} does not exist")
            continue
        if type(real) is not type(sub):
            problems.append(f"{name} is a {type(sub).__name__} here but {type(real).__name__} in Shopify")
            continue
        if isinstance(sub, GraphQLObjectType | GraphQLInterfaceType):
            assert isinstance(real, GraphQLObjectType | GraphQLInterfaceType)
            extra = {i.name for i in sub.interfaces} - {i.name for i in real.interfaces}
            if extra:
                problems.append(f"{name} implements {extra} only here")
            for field_name, field in sub.fields.items():
                real_field = real.fields.get(field_name)
                if real_field is None:
                    problems.append(f"{name}.{field_name} does not exist")
                    continue
                where = f"{name}.{field_name}"
                if str(field.type) != str(real_field.type):
                    problems.append(f"{where}: {field.type} here, {real_field.type} in Shopify")
                if field.deprecation_reason != real_field.deprecation_reason:
                    problems.append(f"{where}: deprecation differs")
                for arg_name, arg in field.args.items():
                    real_arg = real_field.args.get(arg_name)
                    if real_arg is None:
                        problems.append(f"{where}({arg_name}) does not exist")
                    elif str(arg.type) != str(real_arg.type) or arg.default_value != real_arg.default_value:
                        problems.append(f"{where}({arg_name}): signature differs")
                for arg_name, real_arg in real_field.args.items():
                    if _required(real_arg.type, real_arg.default_value) and arg_name not in field.args:
                        problems.append(f"{where}: required argument {arg_name} missing")
        elif isinstance(sub, GraphQLInputObjectType):
            assert isinstance(real, GraphQLInputObjectType)
            if set(sub.fields) != set(real.fields):
                problems.append(f"input {name} fields differ: {set(sub.fields) ^ set(real.fields)}")
            for field_name, field in sub.fields.items():
                real_field = real.fields.get(field_name)
                if real_field is not None and (
                    str(field.type) != str(real_field.type) or field.default_value != real_field.default_value
                ):
                    problems.append(f"input {name}.{field_name}: signature differs")
        elif isinstance(sub, GraphQLEnumType):
            assert isinstance(real, GraphQLEnumType)
            if set(sub.values) != set(real.values):
                problems.append(f"enum {name} values differ: {set(sub.values) ^ set(real.values)}")
    for directive in subset.directives:
        if real_schema.get_directive(directive.name) is None:
            problems.append(f"directive @{directive.name} does not exist")
    assert not problems, "\n".join(problems)


def test_shipped_file_is_what_the_extractor_generates(real_sdl: str, real_document: DocumentNode) -> None:
    regenerated = render(real_sdl, admin_schema_path().name, real_document)
    assert regenerated == SCHEMA_PATH.read_text(encoding="utf-8"), (
        "schema.graphql is stale: run python -m shopify_sim.extract_schema <path to real SDL>"
    )


REQUIRED_FIELDS = {
    "QueryRoot": {
        "productVariants": {"first", "after", "query", "reverse", "sortKey"},
        "customers": {"first", "after", "query"},
        "customer": {"id"},
        "orders": {"first", "after", "query", "reverse", "sortKey"},
        "order": {"id"},
        "job": {"id"},
        "webhookSubscriptions": {"first", "after", "topics", "uri"},
    },
    "Mutation": {
        "customerCreate": {"input"},
        "customerUpdate": {"input"},
        "orderCreate": {"order", "options"},
        "orderCancel": {"orderId", "reason", "restock", "notifyCustomer", "refund", "refundMethod", "staffNote"},
        "webhookSubscriptionCreate": {"topic", "webhookSubscription"},
        "webhookSubscriptionUpdate": {"id", "webhookSubscription"},
        "webhookSubscriptionDelete": {"id"},
    },
    "ProductVariant": "id legacyResourceId sku title price availableForSale inventoryQuantity inventoryPolicy "
    "inventoryItem product",
    "InventoryItem": "id tracked",
    "Product": "id title status tracksInventory totalInventory",
    "Customer": "id legacyResourceId firstName lastName displayName email phone defaultEmailAddress "
    "defaultPhoneNumber defaultAddress tags note createdAt updatedAt",
    "CustomerEmailAddress": "emailAddress",
    "CustomerPhoneNumber": "phoneNumber",
    "MailingAddress": "id address1 address2 city province provinceCode country countryCodeV2 zip phone "
    "firstName lastName name",
    "Order": "id legacyResourceId name email tags sourceIdentifier note createdAt updatedAt cancelledAt "
    "cancelReason closed test displayFinancialStatus displayFulfillmentStatus totalPriceSet customer "
    "shippingAddress lineItems fulfillments",
    "LineItem": "id sku quantity title variant",
    "Fulfillment": "id status displayStatus createdAt updatedAt trackingInfo",
    "FulfillmentTrackingInfo": "number url company",
    "MoneyBag": "shopMoney",
    "MoneyV2": "amount currencyCode",
    "CustomerCreatePayload": "customer userErrors",
    "CustomerUpdatePayload": "customer userErrors",
    "OrderCreatePayload": "order userErrors",
    "OrderCancelPayload": "job orderCancelUserErrors userErrors",
    "UserError": "field message",
    "OrderCreateUserError": "field message code",
    "OrderCancelUserError": "field message code",
    "Job": "id done",
    "PageInfo": "hasNextPage endCursor",
    "ProductVariantConnection": "nodes edges pageInfo",
    "CustomerConnection": "nodes edges pageInfo",
    "OrderConnection": "nodes edges pageInfo",
    "LineItemConnection": "nodes edges pageInfo",
    "ProductVariantEdge": "cursor node",
    "WebhookSubscription": "id legacyResourceId topic uri filter format includeFields createdAt updatedAt",
    "WebhookSubscriptionConnection": "nodes edges pageInfo",
    "WebhookSubscriptionCreatePayload": "webhookSubscription userErrors",
    "WebhookSubscriptionUpdatePayload": "webhookSubscription userErrors",
    "WebhookSubscriptionDeletePayload": "deletedWebhookSubscriptionId userErrors",
}


def test_subset_has_every_field_the_simulator_promises() -> None:
    subset = base_schema()
    for type_name, wanted in REQUIRED_FIELDS.items():
        type_ = subset.type_map[type_name]
        assert isinstance(type_, GraphQLObjectType)
        if isinstance(wanted, str):
            assert set(wanted.split()) <= set(type_.fields), type_name
        else:
            for field_name, args in wanted.items():
                assert args <= set(type_.fields[field_name].args), f"{type_name}.{field_name}"
    assert "first" in subset.type_map["Order"].fields["lineItems"].args  # type: ignore[union-attr]


def test_spec_only_names_types_in_the_subset() -> None:
    assert set(SPEC) <= set(base_schema().type_map)


@pytest.mark.parametrize("name", sorted(documents.ALL))
def test_test_documents_validate_against_subset_and_real_schema(name: str, real_schema: GraphQLSchema) -> None:
    document = parse(documents.ALL[name])
    assert validate(base_schema(), document) == []
    assert validate(real_schema, document) == []


def test_subset_sdl_is_small() -> None:
    # The point of the subset: it builds in milliseconds, unlike the 3.8 MB original.
    assert len(schema_sdl()) < 100_000
