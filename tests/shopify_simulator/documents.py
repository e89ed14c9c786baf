"""GraphQL documents the simulator tests send; each is checked against the real SDL too."""

FIND_VARIANT = """
query FindVariantBySku($query: String!, $first: Int!) {
  productVariants(first: $first, query: $query) {
    nodes {
      id legacyResourceId sku title price availableForSale inventoryQuantity inventoryPolicy
      inventoryItem { id tracked }
      product { id title status tracksInventory totalInventory }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

VARIANT_PAGE = """
query VariantPage($first: Int!, $after: String, $sortKey: ProductVariantSortKeys, $reverse: Boolean) {
  productVariants(first: $first, after: $after, sortKey: $sortKey, reverse: $reverse) {
    edges { cursor node { id sku } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

CUSTOMER_FIELDS = """
fragment CustomerFields on Customer {
  id legacyResourceId firstName lastName displayName email phone tags note createdAt updatedAt
  defaultEmailAddress { emailAddress }
  defaultPhoneNumber { phoneNumber }
  defaultAddress { id address1 address2 city province provinceCode country countryCodeV2 zip phone
                   firstName lastName name }
}
"""

CUSTOMER_CREATE = (
    CUSTOMER_FIELDS
    + """
mutation CustomerCreate($input: CustomerInput!) {
  customerCreate(input: $input) {
    customer { ...CustomerFields }
    userErrors { field message }
  }
}
"""
)

CUSTOMER_UPDATE = (
    CUSTOMER_FIELDS
    + """
mutation CustomerUpdate($input: CustomerInput!) {
  customerUpdate(input: $input) {
    customer { ...CustomerFields }
    userErrors { field message }
  }
}
"""
)

FIND_CUSTOMERS = """
query FindCustomers($query: String!) {
  customers(first: 5, query: $query) { nodes { id email phone } }
}
"""

GET_CUSTOMER = """
query GetCustomer($id: ID!) { customer(id: $id) { id displayName defaultEmailAddress { emailAddress } } }
"""

ORDER_FIELDS = """
fragment OrderFields on Order {
  id legacyResourceId name email tags sourceIdentifier note createdAt updatedAt cancelledAt cancelReason
  closed test displayFinancialStatus displayFulfillmentStatus
  totalPriceSet { shopMoney { amount currencyCode } }
  customer { id email }
  shippingAddress { address1 city provinceCode countryCodeV2 zip }
  lineItems(first: 10) { nodes { id sku quantity title variant { id } } }
  fulfillments(first: 5) { id status displayStatus createdAt updatedAt trackingInfo(first: 3) { number url company } }
}
"""

ORDER_CREATE = (
    ORDER_FIELDS
    + """
mutation RewardOrderCreate($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
  orderCreate(order: $order, options: $options) {
    order { ...OrderFields }
    userErrors { field message code }
  }
}
"""
)

FIND_ORDERS = """
query OrdersByQuery($query: String!) {
  orders(first: 10, query: $query) {
    nodes { id name tags sourceIdentifier cancelledAt displayFulfillmentStatus }
  }
}
"""

GET_ORDER = (
    ORDER_FIELDS
    + """
query GetOrder($id: ID!) { order(id: $id) { ...OrderFields } }
"""
)

ORDER_CANCEL = """
mutation RewardOrderCancel($orderId: ID!, $reason: OrderCancelReason!, $restock: Boolean!,
                           $notifyCustomer: Boolean, $staffNote: String) {
  orderCancel(orderId: $orderId, reason: $reason, restock: $restock, notifyCustomer: $notifyCustomer,
              refund: false, staffNote: $staffNote) {
    job { id done }
    orderCancelUserErrors { field message code }
    userErrors { field message }
  }
}
"""

JOB_STATUS = """
query JobStatus($id: ID!) { job(id: $id) { id done } }
"""

SUBSCRIPTION_FIELDS = (
    "id legacyResourceId topic uri filter format includeFields metafieldNamespaces name createdAt updatedAt"
)

LIST_SUBSCRIPTIONS = f"""
query Subscriptions($first: Int!, $after: String, $topics: [WebhookSubscriptionTopic!], $uri: String) {{
  webhookSubscriptions(first: $first, after: $after, topics: $topics, uri: $uri) {{
    nodes {{ {SUBSCRIPTION_FIELDS} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

CREATE_SUBSCRIPTION = f"""
mutation Subscribe($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {{
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {{
    webhookSubscription {{ {SUBSCRIPTION_FIELDS} }}
    userErrors {{ field message }}
  }}
}}
"""

UPDATE_SUBSCRIPTION = f"""
mutation ChangeSubscription($id: ID!, $sub: WebhookSubscriptionInput!) {{
  webhookSubscriptionUpdate(id: $id, webhookSubscription: $sub) {{
    webhookSubscription {{ {SUBSCRIPTION_FIELDS} }}
    userErrors {{ field message }}
  }}
}}
"""

DELETE_SUBSCRIPTION = """
mutation Unsubscribe($id: ID!) {
  webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } }
}
"""

ALL = {
    name: value
    for name, value in dict(globals()).items()
    if name.isupper() and isinstance(value, str) and not name.endswith("_FIELDS")
}
