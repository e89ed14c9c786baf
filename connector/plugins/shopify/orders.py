"""Reward orders: find the one a redemption already made, create it, cancel it.

``orderCreate`` takes no idempotency key, so "one shop order per redemption"
rests on a deterministic mark: every reward order carries the tag and the
``sourceIdentifier`` ``redemption-<code>``. Before repeating an attempt that
may have created the order, the plugin searches for that mark (see
``hooks.connector_fulfil_redemption``).

The order is zero-priced and marked PAID (a reward was paid for in points),
claims inventory obeying the product's policy, sends no order receipt (the
connector sends its own confirmation) but does let Shopify email shipping
updates, which is how the member learns their tracking number.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connector.core.errors import ProviderError
from connector.core.hooktypes import CancelResult, ExternalOrder
from connector.plugins.shopify.customers import raise_for_customer_user_errors
from connector.plugins.shopify.documents import (
    FIND_ORDERS,
    JOB_STATUS,
    LIST_REWARD_ORDERS,
    ORDER_BY_ID,
    ORDER_CANCEL,
    ORDER_CREATE,
)
from connector.plugins.shopify.graphql_client import ShopifyGraphQLClient, mutation_payload
from connector.plugins.shopify.identifiers import redemption_key, term
from connector.plugins.shopify.member_validation import LABELS, ValidatedMember
from connector.plugins.shopify.payload_shapes import json_object
from connector.plugins.shopify.user_errors import MEMBER_FIELDS, says_missing
from connector.plugins.shopify.variants import Variant

ORDER_TAG = "loyalty-reward"
#: The ``OrderCreateCustomerInput`` field whose userErrors concern the member's customer.
UPSERT = "toUpsert"
SOURCE_NAME = "connector"
MAX_STAFF_NOTE = 255


@dataclass(frozen=True)
class ShopOrder:
    id: str
    name: str | None
    customer_id: str | None
    cancelled_at: str | None
    created_at: str | None
    display_fulfillment_status: str | None
    #: The SKUs of the order's lines as Shopify recorded them (the variant's SKU when it was ordered).
    line_skus: tuple[str, ...] = ()

    @classmethod
    def from_node(cls, node: Mapping[str, Any]) -> ShopOrder:
        customer = json_object(node, "customer")
        lines = json_object(node, "lineItems").get("nodes")
        return cls(
            id=str(node["id"]),
            name=node.get("name"),
            customer_id=customer.get("id"),
            cancelled_at=node.get("cancelledAt"),
            created_at=node.get("createdAt"),
            display_fulfillment_status=node.get("displayFulfillmentStatus"),
            line_skus=tuple(str(line.get("sku") or "") for line in lines if isinstance(line, Mapping))
            if isinstance(lines, list)
            else (),
        )


# -- finding -----------------------------------------------------------------------------------------


def find_redemption_order(client: ShopifyGraphQLClient, code: str, logger: logging.Logger) -> ShopOrder | None:
    """The order an earlier attempt created for this redemption, if Shopify's search shows it.

    Searches by tag first, then by ``sourceIdentifier`` (either mark may be
    indexed first), and keeps only orders that carry the mark exactly. When
    a crash ever produced two, the earliest one that is not cancelled is the
    redemption's order; the rest are reported as duplicates.
    """
    key = redemption_key(code)
    matches: dict[str, Mapping[str, Any]] = {}
    for query in (term("tag", key), term("source_identifier", key)):
        data = client.execute(FIND_ORDERS, {"query": query})
        connection = data.get("orders") or {}
        for node in (connection.get("nodes") if isinstance(connection, Mapping) else None) or []:
            if isinstance(node, Mapping) and node.get("id") and _carries_mark(node, key):
                matches[str(node["id"])] = node
        if matches:
            break
    if not matches:
        return None
    ranked = sorted(
        matches.values(),
        key=lambda n: (n.get("cancelledAt") is not None, str(n.get("createdAt") or ""), str(n["id"])),
    )
    if len(ranked) > 1:
        logger.warning(
            "shopify: redemption %s has %d orders in %s (keeping %s; duplicates %s)",
            code,
            len(ranked),
            client.shop.domain,
            ranked[0]["id"],
            ", ".join(str(n["id"]) for n in ranked[1:]),
        )
    return ShopOrder.from_node(ranked[0])


def _carries_mark(node: Mapping[str, Any], key: str) -> bool:
    tags = node.get("tags") or []
    if isinstance(tags, str):  # REST-shaped "a, b" strings, should a proxy hand one back
        tags = [t.strip() for t in tags.split(",")]
    return key in tags or node.get("sourceIdentifier") == key


# -- creating ----------------------------------------------------------------------------------------------


def order_create_variables(
    *,
    code: str,
    variant: Variant,
    customer: Mapping[str, Any],
    member: ValidatedMember,
    currency: str,
    test: bool = False,
) -> dict[str, Any]:
    """The ``orderCreate`` variables for one reward: exposed for tests and for the simulator's fixtures.

    ``customer`` is the ``OrderCreateCustomerInput`` (``customers.order_customer_input``): the member's
    customer is matched, created or updated by the same call that creates the order.
    """
    key = redemption_key(code)
    order: dict[str, Any] = {
        "lineItems": [
            {
                "variantId": variant.id,
                "quantity": 1,
                "priceSet": {"shopMoney": {"amount": "0.00", "currencyCode": currency}},
            }
        ],
        "customer": dict(customer),
        "shippingAddress": member.mailing_address(),
        "financialStatus": "PAID",
        "tags": [ORDER_TAG, key],
        "sourceIdentifier": key,
        "sourceName": SOURCE_NAME,
        "note": f"Loyalty reward redemption {code}",
    }
    if test:
        order["test"] = True
    return {
        "order": order,
        "options": {
            "inventoryBehaviour": "DECREMENT_OBEYING_POLICY",
            "sendReceipt": False,
            "sendFulfillmentReceipt": True,
        },
    }


def create_reward_order(
    client: ShopifyGraphQLClient,
    *,
    code: str,
    variant: Variant,
    customer: Mapping[str, Any],
    member: ValidatedMember,
    currency: str,
    test: bool = False,
) -> ShopOrder:
    """Create the zero-priced order; raise ``ProviderError`` naming the reward or member field at fault.

    A ``toUpsert`` that Shopify refuses because the stored customer is gone or the member's email or
    phone belongs to another customer raises ``CustomerGoneError``/``CustomerTakenError``: no order was
    made, and the caller matches the customer the slow way (``reward_order``).
    """
    variables = order_create_variables(
        code=code, variant=variant, customer=customer, member=member, currency=currency, test=test
    )
    data = client.execute(ORDER_CREATE, variables)
    payload = mutation_payload(data, "orderCreate", unknown="; the order may or may not exist")
    try:
        _raise_for_order_user_errors(payload.get("userErrors") or [], variant.sku, client.shop.domain, customer)
    except ProviderError as refused:
        refused.nothing_created = True  # Shopify answered with userErrors: it made no order
        raise
    order = payload.get("order")
    if not isinstance(order, Mapping) or not order.get("id"):
        raise ProviderError(
            "shop_unavailable",
            "Shopify answered orderCreate with neither an order nor an error; the order may or may not exist.",
            retryable=True,
            in_doubt=True,
        )
    return ShopOrder.from_node(order)


def _raise_for_order_user_errors(
    user_errors: Sequence[Any], sku: str, domain: str, customer: Mapping[str, Any]
) -> None:
    errors = [e for e in user_errors if isinstance(e, Mapping)]
    if not errors:
        return
    # The first error decides the code: Shopify lists the blocking problem first.
    error = errors[0]
    message = str(error.get("message") or "unknown error")
    also = [str(e.get("message")) for e in errors[1:] if e.get("message")]
    full = message + (f" (also: {'; '.join(also)})" if also else "")
    code = error.get("code")
    path = [str(part) for part in error.get("field") or []]
    last = path[-1] if path else ""
    lowered = message.lower()

    if UPSERT in path:
        # The member's customer, written by this call: the same reading as customerCreate/customerUpdate's errors.
        raise_for_customer_user_errors([e for e in errors if UPSERT in (e.get("field") or [])])

    if code == "INVENTORY_CLAIM_FAILED":
        raise ProviderError(
            "product_not_found",
            f"SKU '{sku}' is out of stock in {domain}: Shopify could not reserve a unit ({full}).",
            fix="Restock the variant in Shopify, or update the SKU in the Rewards section, then retry.",
            retryable=False,
            field="sku",
        )
    if "lineItems" in path or last in ("variantId", "productId", "sku", "quantity") or "variant" in lowered:
        raise ProviderError(
            "product_not_found",
            f"SKU '{sku}' cannot be ordered in {domain}: {full}",
            fix="Verify the SKU's availability in Shopify, or update the SKU in the Rewards section, then retry.",
            retryable=False,
            field="sku",
        )
    if "shippingAddress" in path:
        field = MEMBER_FIELDS.get(last)
        label = LABELS[field] if field else "shipping address"
        if says_missing(message):
            raise ProviderError(
                "missing_user_information",
                f"Shopify needs the member's {label} for the shipping address: {full}",
                fix=f"Fill in the member's {label} (contact the member if needed), then retry.",
                retryable=False,
                field=field,
            )
        raise ProviderError(
            "crm_id_not_found",
            f"Shopify rejected the member's {label} on the shipping address: {full}",
            fix=f"Correct the member's {label}, then retry.",
            retryable=False,
            field=field,
        )
    if "customer" in path:
        customer_id = json_object(customer, "toAssociate").get("id") or json_object(customer, "toUpsert").get("id")
        raise ProviderError(
            "crm_id_not_found",
            f"Shopify could not attach the order to {f'customer {customer_id}' if customer_id else 'the member'}: "
            f"{full}",
            fix="Check the customer in Shopify (it may have been merged or deleted), then retry.",
            retryable=False,
            field="shop_customer_id",
        )
    if code == "SHOP_DORMANT":
        raise ProviderError(
            "shop_unavailable",
            f"{domain} is dormant and accepts no new orders: {full}",
            fix="Ask the merchant to reactivate the shop in Shopify, then retry.",
            retryable=False,
        )
    raise ProviderError(
        "order_rejected",
        f"Shopify rejected the reward order: {full}",
        fix="Correct what Shopify's message points at (the reward or the shop's settings), then retry.",
        retryable=False,
    )


# -- cancelling ---------------------------------------------------------------------------------------------


def order_cancel_variables(order_id: str, code: str, *, restock: bool = True) -> dict[str, Any]:
    """The ``orderCancel`` variables: reason OTHER, restock as chosen, no email (``refund: false`` is in the query)."""
    return {
        "orderId": order_id,
        "reason": "OTHER",
        "restock": restock,
        "notifyCustomer": False,
        "staffNote": f"Loyalty redemption {code} reversed"[:MAX_STAFF_NOTE],
    }


def cancel_order(
    client: ShopifyGraphQLClient,
    *,
    order_id: str,
    code: str,
    poll_seconds: float,
    sleep: Callable[[float], None],
    restock: bool = True,
) -> CancelResult:
    """Cancel a reward order: restock it if asked, notify nobody, refund nothing (it was free).

    Shopify cancels asynchronously; the job is polled for up to
    ``poll_seconds`` and the order read back, so "cancelled" is only claimed
    when Shopify shows it (or when the job is still running, which Shopify
    has accepted). An order that was already cancelled counts as success.
    """
    data = client.execute(ORDER_CANCEL, order_cancel_variables(order_id, code, restock=restock))
    payload = mutation_payload(data, "orderCancel")
    errors = [e for e in payload.get("orderCancelUserErrors") or [] if isinstance(e, Mapping)]
    if errors:
        return _cancel_refused(errors, order_id)

    job = json_object(payload, "job")
    done = bool(job.get("done"))
    waited = 0.0
    while not done and job.get("id") and waited < poll_seconds:
        step = min(1.0, poll_seconds - waited)
        sleep(step)
        waited += step
        status = client.execute(JOB_STATUS, {"id": job["id"]}).get("job")
        done = bool(status.get("done")) if isinstance(status, Mapping) else False
    if not done:
        return CancelResult(
            cancelled=True,
            message=f"Shopify accepted the cancellation of order {order_id}; it completes in the background.",
        )
    order = client.execute(ORDER_BY_ID, {"id": order_id}).get("order")
    if not isinstance(order, Mapping):
        raise ProviderError(
            "order_not_found",
            f"Order {order_id} no longer exists in {client.shop.domain}.",
            fix="Nothing to cancel in Shopify; check the order was not deleted by mistake.",
            retryable=False,
        )
    if order.get("cancelledAt"):
        return CancelResult(cancelled=True, message=f"Order {order.get('name') or order_id} was cancelled in Shopify.")
    raise ProviderError(
        "order_not_cancellable",
        f"Shopify ran the cancellation of order {order.get('name') or order_id} but the order is not cancelled "
        f"(fulfilment status {order.get('displayFulfillmentStatus')}).",
        fix="Open the order in Shopify: cancel it by hand, or create a return if it has shipped.",
        retryable=False,
    )


def _cancel_refused(errors: Sequence[Mapping[str, Any]], order_id: str) -> CancelResult:
    messages = "; ".join(str(e.get("message") or "unknown error") for e in errors)
    lowered = messages.lower()
    if "already been cancel" in lowered or "already cancel" in lowered:
        return CancelResult(cancelled=True, message=f"Order {order_id} was already cancelled in Shopify.")
    codes = {e.get("code") for e in errors}
    if "NOT_FOUND" in codes:
        raise ProviderError(
            "order_not_found",
            f"Shopify has no order {order_id} to cancel: {messages}",
            fix="Nothing to cancel in Shopify; check the order was not deleted by mistake.",
            retryable=False,
        )
    if "INTERNAL_ERROR" in codes:
        raise ProviderError(
            "shop_unavailable",
            f"Shopify failed internally cancelling order {order_id}: {messages}",
            retryable=True,
        )
    raise ProviderError(
        "order_not_cancellable",
        f"Shopify refused to cancel order {order_id}: {messages}",
        fix="Open the order in Shopify: cancel it by hand, or create a return if it has shipped.",
        retryable=False,
    )


# -- reconciliation ------------------------------------------------------------------------------------


def list_reward_orders(client: ShopifyGraphQLClient, since: datetime, max_pages: int = 50) -> list[ExternalOrder]:
    """Every order tagged as a loyalty reward created since ``since``, newest first, cancelled ones too."""
    query = f"tag:{ORDER_TAG} created_at:>={since.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"
    found: list[ExternalOrder] = []
    after: str | None = None
    for _ in range(max_pages):
        data = client.execute(LIST_REWARD_ORDERS, {"query": query, "after": after})
        connection = data.get("orders") or {}
        for node in connection.get("nodes") or []:
            if isinstance(node, Mapping) and node.get("id"):
                found.append(_external_order(node))
        page = connection.get("pageInfo") or {}
        if not page.get("hasNextPage") or not page.get("endCursor"):
            break
        after = str(page["endCursor"])
    return found


def _external_order(node: Mapping[str, Any]) -> ExternalOrder:
    tags = node.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",")]
    marks = [str(t) for t in tags] + [str(node.get("sourceIdentifier") or "")]
    prefix = redemption_key("")
    code = next((m[len(prefix) :] for m in marks if m.startswith(prefix) and len(m) > len(prefix)), None)
    created = node.get("createdAt")
    return ExternalOrder(
        order_id=str(node["id"]),
        name=node.get("name"),
        redemption_code=code,
        created_at=datetime.fromisoformat(str(created).replace("Z", "+00:00")) if created else None,
        cancelled=node.get("cancelledAt") is not None,
    )
