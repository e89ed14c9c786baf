"""Every document the plugin sends is valid against Shopify's real Admin schema (2026-07).

Also checks the variables the plugin really builds coerce against the
schema's input types, and that the documents select only the fields the
Shopify simulator serves (the contract agreed with its author).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from graphql import (
    GraphQLSchema,
    NoDeprecatedCustomRule,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    parse,
    specified_rules,
    validate,
    visit,
)
from graphql.execution.values import get_variable_values
from shopify_fakes import make_member

from connector.plugins.shopify import documents
from connector.plugins.shopify.customers import customer_create_input, order_customer_input
from connector.plugins.shopify.identifiers import term
from connector.plugins.shopify.member_validation import validate_member
from connector.plugins.shopify.orders import order_cancel_variables, order_create_variables
from connector.plugins.shopify.regions import COUNTRY_CODES
from connector.plugins.shopify.variants import Variant

_MEMBER = validate_member(make_member(), make_member().date_of_birth.replace(year=2026))
_VARIANT = Variant(
    id="gid://shopify/ProductVariant/1",
    sku="REWARD-TSHIRT-M",
    title="M",
    product_id="gid://shopify/Product/10",
    product_title="Reward T-shirt",
    product_status="ACTIVE",
    tracked=True,
    inventory_policy="DENY",
    inventory_quantity=3,
)

#: Example variables per document, built by the plugin's own code where it builds them.
EXAMPLE_VARIABLES = {
    "FindVariantsBySku": {"query": term("sku", "REWARD-TSHIRT-M", always_quote=True)},
    "CustomerById": {"id": "gid://shopify/Customer/1"},
    "FindCustomers": {"query": term("email", "ada@example.com", always_quote=True)},
    "CustomerCreate": {"input": customer_create_input(_MEMBER)},
    "CustomerUpdate": {"input": {"id": "gid://shopify/Customer/1", "phone": "+16135550142", "firstName": "Ada"}},
    "FindOrders": {"query": term("tag", "redemption-ABC123")},
    "ListRewardOrders": {"query": "tag:loyalty-reward created_at:>=2026-11-15T00:00:00Z", "after": None},
    "OrderById": {"id": "gid://shopify/Order/1"},
    "RewardOrderCreate": order_create_variables(
        code="ABC123",
        variant=_VARIANT,
        customer=order_customer_input(_MEMBER),
        member=_MEMBER,
        currency="USD",
        test=True,
    ),
    "RewardOrderCancel": order_cancel_variables("gid://shopify/Order/1", "ABC123"),
    "JobStatus": {"id": "gid://shopify/Job/abc"},
}


def _names(text: str) -> set[str]:
    return set(text.split())


_ADDRESS = _names("id address1 address2 city province provinceCode country countryCodeV2 zip phone") | {
    "firstName",
    "lastName",
    "name",
}

#: The fields the simulator serves, per type: documents may use these and nothing else.
SIMULATOR_FIELDS: dict[str, set[str]] = {
    "QueryRoot": {"productVariants", "customers", "customer", "orders", "order", "job"},
    "Mutation": {"customerCreate", "customerUpdate", "orderCreate", "orderCancel"},
    "ProductVariant": _names(
        "id legacyResourceId sku title price availableForSale inventoryQuantity inventoryPolicy inventoryItem product"
    ),
    "InventoryItem": {"id", "tracked"},
    "Product": {"id", "title", "status", "tracksInventory", "totalInventory"},
    "Customer": _names(
        "id legacyResourceId firstName lastName displayName email phone defaultEmailAddress "
        "defaultPhoneNumber defaultAddress tags note createdAt updatedAt"
    ),
    "CustomerEmailAddress": {"emailAddress"},
    "CustomerPhoneNumber": {"phoneNumber"},
    "MailingAddress": _ADDRESS,
    "Order": _names(
        "id legacyResourceId name email tags sourceIdentifier note createdAt updatedAt cancelledAt "
        "cancelReason closed test displayFinancialStatus displayFulfillmentStatus totalPriceSet customer "
        "shippingAddress lineItems fulfillments"
    ),
    "MoneyBag": {"shopMoney"},
    "MoneyV2": {"amount", "currencyCode"},
    "LineItem": {"id", "sku", "quantity", "title", "variant"},
    "Fulfillment": {"id", "status", "displayStatus", "createdAt", "updatedAt", "trackingInfo"},
    "FulfillmentTrackingInfo": {"number", "url", "company"},
    "CustomerCreatePayload": {"customer", "userErrors"},
    "CustomerUpdatePayload": {"customer", "userErrors"},
    "UserError": {"field", "message"},
    "OrderCreatePayload": {"order", "userErrors"},
    "OrderCreateUserError": {"field", "message", "code"},
    "OrderCancelPayload": {"job", "orderCancelUserErrors"},
    "OrderCancelUserError": {"field", "message", "code"},
    "Job": {"id", "done"},
    "ProductVariantConnection": {"nodes", "pageInfo"},
    "CustomerConnection": {"nodes", "pageInfo"},
    "OrderConnection": {"nodes", "pageInfo"},
    "LineItemConnection": {"nodes", "pageInfo"},
    "PageInfo": {"hasNextPage", "endCursor"},
}

#: Deprecations used knowingly. ``orderCancel(refund:)`` is the argument the simulator serves
#: (``refundMethod`` is its replacement); a free order has nothing to refund either way.
ALLOWED_DEPRECATIONS = {"The argument 'Mutation.orderCancel(refund:)' is deprecated. Use `refundMethod` instead."}

DOCUMENTS = {doc.name: doc for doc in documents.ALL_DOCUMENTS}


def test_every_document_has_example_variables():
    assert set(EXAMPLE_VARIABLES) == set(DOCUMENTS)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_is_valid_against_the_admin_schema(admin_schema: GraphQLSchema, name: str):
    document = DOCUMENTS[name]
    ast = parse(document.text)
    errors = validate(admin_schema, ast, [*specified_rules, NoDeprecatedCustomRule])
    messages = [e.message for e in errors if e.message not in ALLOWED_DEPRECATIONS]
    assert not messages, messages
    operations = [d for d in ast.definitions if isinstance(d, OperationDefinitionNode)]
    assert len(operations) == 1 and operations[0].name and operations[0].name.value == document.name
    assert document.is_mutation == (operations[0].operation.value == "mutation")


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_example_variables_coerce_against_the_schema(admin_schema: GraphQLSchema, name: str):
    operation = parse(DOCUMENTS[name].text).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    coerced = get_variable_values(admin_schema, operation.variable_definitions or (), EXAMPLE_VARIABLES[name])
    assert not isinstance(coerced, list), [e.message for e in coerced]


@pytest.mark.parametrize(
    "customer",
    [
        order_customer_input(_MEMBER),  # a member not linked yet: upsert by email
        order_customer_input(replace(_MEMBER, shop_customer_id="gid://shopify/Customer/1")),  # linked: by id
        {"toAssociate": {"id": "gid://shopify/Customer/1"}},  # after matching the slow way (reward_order)
    ],
)
def test_every_order_customer_form_coerces_against_the_schema(admin_schema: GraphQLSchema, customer):
    operation = parse(documents.ORDER_CREATE.text).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    variables = order_create_variables(code="A1", variant=_VARIANT, customer=customer, member=_MEMBER, currency="USD")
    coerced = get_variable_values(admin_schema, operation.variable_definitions or (), variables)
    assert not isinstance(coerced, list), [e.message for e in coerced]


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_uses_only_fields_the_simulator_serves(admin_schema: GraphQLSchema, name: str):
    used: set[tuple[str, str]] = set()
    type_info = TypeInfo(admin_schema)

    class Collect(Visitor):
        def enter_field(self, node, *_):
            parent = type_info.get_parent_type()
            if parent is not None:
                used.add((get_named_type(parent).name, node.name.value))

    visit(parse(DOCUMENTS[name].text), TypeInfoVisitor(type_info, Collect()))
    extra = sorted(f"{t}.{f}" for t, f in used if f not in SIMULATOR_FIELDS.get(t, set()))
    assert not extra, f"{name} selects fields the simulator does not serve: {extra}"


def test_country_table_matches_shopify_country_codes(admin_schema: GraphQLSchema):
    enum = admin_schema.get_type("CountryCode")
    assert enum is not None
    unknown = COUNTRY_CODES - set(enum.values)  # type: ignore[attr-defined]
    assert not unknown, f"not Shopify CountryCode values: {sorted(unknown)}"
