"""Every GraphQL document the plugin sends to the Admin API (version 2026-07).

Kept in one module so a test can validate each of them against Shopify's
published schema, and so the exact set of fields the plugin depends on (which
the Shopify simulator must serve) is visible at a glance. Selections are
spelled out instead of using fragments: each document reads on its own and the
simulator needs no fragment support.

Deprecated fields are avoided on purpose (``Customer.email``/``phone`` are
read through ``defaultEmailAddress``/``defaultPhoneNumber``) so a future API
version that removes them does not break the plugin; the one exception is
``CustomerInput.addresses``, which is the only way to give a new customer an
address with the operations the plugin is allowed to use.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Document:
    """One named operation; ``name`` is the GraphQL operation name, used for logs and cost learning."""

    name: str
    text: str

    @property
    def is_mutation(self) -> bool:
        """Mutations may take effect even when the answer is lost, so their failures are "in doubt"."""
        return self.text.lstrip().startswith("mutation")


MAILING_ADDRESS_FIELDS = """
    id address1 address2 city province provinceCode country countryCodeV2 zip phone firstName lastName name
"""

CUSTOMER_FIELDS = f"""
    id legacyResourceId firstName lastName displayName
    defaultEmailAddress {{ emailAddress }}
    defaultPhoneNumber {{ phoneNumber }}
    defaultAddress {{ {MAILING_ADDRESS_FIELDS} }}
    tags note createdAt updatedAt
"""

VARIANT_FIELDS = """
    id legacyResourceId sku title price availableForSale inventoryQuantity inventoryPolicy
    inventoryItem { id tracked }
    product { id title status tracksInventory totalInventory }
"""

ORDER_FIELDS = f"""
    id legacyResourceId name email tags sourceIdentifier note createdAt updatedAt
    cancelledAt cancelReason closed test displayFinancialStatus displayFulfillmentStatus
    totalPriceSet {{ shopMoney {{ amount currencyCode }} }}
    customer {{ id }}
    shippingAddress {{ {MAILING_ADDRESS_FIELDS} }}
    lineItems(first: 5) {{ nodes {{ id sku quantity title variant {{ id }} }} }}
    fulfillments(first: 5) {{
        id status displayStatus createdAt updatedAt
        trackingInfo(first: 3) {{ number url company }}
    }}
"""

PAGE_INFO_FIELDS = "pageInfo { hasNextPage endCursor }"

#: Variant search by SKU. ``first: 2`` because search is tokenised, not exact: the caller
#: compares ``sku`` itself, and a second hit reveals a near-miss or a duplicate SKU.
FIND_VARIANTS_BY_SKU = Document(
    "FindVariantsBySku",
    f"""
query FindVariantsBySku($query: String!) {{
  productVariants(first: 2, query: $query) {{
    nodes {{ {VARIANT_FIELDS} }}
    {PAGE_INFO_FIELDS}
  }}
}}
""",
)

CUSTOMER_BY_ID = Document(
    "CustomerById",
    f"""
query CustomerById($id: ID!) {{
  customer(id: $id) {{ {CUSTOMER_FIELDS} }}
}}
""",
)

#: Customer search by ``email:"…"`` or ``phone:"…"``; the caller checks the match exactly.
FIND_CUSTOMERS = Document(
    "FindCustomers",
    f"""
query FindCustomers($query: String!) {{
  customers(first: 5, query: $query) {{
    nodes {{ {CUSTOMER_FIELDS} }}
    {PAGE_INFO_FIELDS}
  }}
}}
""",
)

CUSTOMER_CREATE = Document(
    "CustomerCreate",
    f"""
mutation CustomerCreate($input: CustomerInput!) {{
  customerCreate(input: $input) {{
    customer {{ {CUSTOMER_FIELDS} }}
    userErrors {{ field message }}
  }}
}}
""",
)

CUSTOMER_UPDATE = Document(
    "CustomerUpdate",
    f"""
mutation CustomerUpdate($input: CustomerInput!) {{
  customerUpdate(input: $input) {{
    customer {{ {CUSTOMER_FIELDS} }}
    userErrors {{ field message }}
  }}
}}
""",
)

#: Orders by ``tag:redemption-<code>`` or ``source_identifier:redemption-<code>``: the
#: crash-recovery lookup that keeps "one shop order per redemption" when an answer was lost.
FIND_ORDERS = Document(
    "FindOrders",
    f"""
query FindOrders($query: String!) {{
  orders(first: 5, query: $query) {{
    nodes {{ {ORDER_FIELDS} }}
    {PAGE_INFO_FIELDS}
  }}
}}
""",
)

LIST_REWARD_ORDERS = Document(
    "ListRewardOrders",
    f"""
query ListRewardOrders($query: String!, $after: String) {{
  orders(first: 100, after: $after, query: $query, sortKey: CREATED_AT, reverse: true) {{
    nodes {{ id name tags sourceIdentifier createdAt cancelledAt }}
    {PAGE_INFO_FIELDS}
  }}
}}
""",
)

ORDER_BY_ID = Document(
    "OrderById",
    f"""
query OrderById($id: ID!) {{
  order(id: $id) {{ {ORDER_FIELDS} }}
}}
""",
)

ORDER_CREATE = Document(
    "RewardOrderCreate",
    f"""
mutation RewardOrderCreate($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {{
  orderCreate(order: $order, options: $options) {{
    order {{ {ORDER_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}
""",
)

#: ``refund: false`` is written into the document: a reward order was never paid for.
#: ``refund`` is deprecated in favour of ``refundMethod`` but still served (and it is the
#: argument the simulator supports); the two are mutually exclusive, so only one is sent.
ORDER_CANCEL = Document(
    "RewardOrderCancel",
    """
mutation RewardOrderCancel(
  $orderId: ID!, $reason: OrderCancelReason!, $restock: Boolean!, $notifyCustomer: Boolean, $staffNote: String
) {
  orderCancel(
    orderId: $orderId, reason: $reason, restock: $restock, notifyCustomer: $notifyCustomer,
    refund: false, staffNote: $staffNote
  ) {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}
""",
)

#: ``orderCancel`` works asynchronously; this polls the job it returns.
JOB_STATUS = Document(
    "JobStatus",
    """
query JobStatus($id: ID!) {
  job(id: $id) { id done }
}
""",
)

ALL_DOCUMENTS: tuple[Document, ...] = (
    FIND_VARIANTS_BY_SKU,
    CUSTOMER_BY_ID,
    FIND_CUSTOMERS,
    CUSTOMER_CREATE,
    CUSTOMER_UPDATE,
    FIND_ORDERS,
    LIST_REWARD_ORDERS,
    ORDER_BY_ID,
    ORDER_CREATE,
    ORDER_CANCEL,
    JOB_STATUS,
)
