"""Place a reward order in one ``orderCreate`` (10 points), falling back to today's slower steps only when needed.

Steady state, a redemption is exactly one call: the SKU's variant comes from the per-shop cache
(``variant_cache``) and the customer rides in the order (``customers.order_customer_input``). Two
answers send the plugin back to the separate calls, each after an ``orderCreate`` that Shopify
refused with userErrors, so no order exists and a second ``orderCreate`` cannot duplicate one:

* the linked customer is gone (deleted or merged): the order is placed again upserting by email, as
  for a member never linked (a member without email goes on to the next case);
* the upsert was refused because the member's email or phone belongs to another customer, or the
  gone customer's member has no email: ``sync_customer`` matches the customer as before (search,
  create or update, with the same errors), and the order is placed again with ``toAssociate``;
* the order was refused as product-not-found (unknown variant, nothing to claim): the SKU is
  forgotten; when the variant came from the cache, it is looked up afresh (``find_orderable_variant``,
  with its precise reasons) and the order placed again if the SKU now names another variant.

Both happen after the host's checkpoint, inside the same attempt; a crash there is handled like any
other crash after the checkpoint (the next attempt looks the order up first).

An attempt that ends in an error with no ``orderCreate`` that may have taken effect says so
(``ProviderError.nothing_created``) when it was the redemption's first to reach the checkpoint, so
a retry after the merchant restocks creates the order at once, as it did when the stock was checked
before the checkpoint, instead of waiting out the order-lookup window. After an earlier attempt whose
order was in doubt, the checkpoint is kept: that order may still surface in search.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from connector.core.errors import ProviderError
from connector.core.hooktypes import ShopCache
from connector.plugins.shopify import variant_cache
from connector.plugins.shopify.customers import (
    CustomerGoneError,
    CustomerTakenError,
    order_customer_input,
    sync_customer,
)
from connector.plugins.shopify.graphql_client import ShopifyGraphQLClient
from connector.plugins.shopify.member_validation import ValidatedMember
from connector.plugins.shopify.orders import ShopOrder, create_reward_order
from connector.plugins.shopify.variants import Variant, find_orderable_variant


def place_reward_order(
    client: ShopifyGraphQLClient,
    *,
    code: str,
    variant: Variant,
    variant_from_cache: bool,
    member: ValidatedMember,
    currency: str,
    test: bool,
    cache: ShopCache | None,
    cache_seconds: float,
    logger: logging.Logger,
    first_submission: bool,
) -> ShopOrder:
    """The reward's order, its customer matched in the same call whenever Shopify allows.

    ``first_submission``: no earlier attempt reached the checkpoint, so an error here may prove that no
    order exists (``ProviderError.nothing_created``).
    """
    customer = order_customer_input(member)
    rematched = refreshed = unlinked_tried = False
    may_exist = False  # whether an orderCreate of this attempt may have made an order
    try:
        while True:
            may_exist = True
            try:
                order = create_reward_order(
                    client, code=code, variant=variant, customer=customer, member=member, currency=currency, test=test
                )
                if variant_from_cache and order.line_skus and variant.sku not in order.line_skus:
                    # The cached variant's SKU was changed and its products/update never arrived: the order
                    # stands (it cannot be taken back here), the entry goes, and the log says which order.
                    variant_cache.forget(cache, variant.sku)
                    logger.warning(
                        "shopify: order %s for SKU %s was placed for cached variant %s, whose SKU is now %s; "
                        "check the order",
                        order.id,
                        variant.sku,
                        variant.id,
                        ", ".join(order.line_skus),
                    )
                return order
            except (CustomerGoneError, CustomerTakenError) as refused:
                may_exist = False
                if rematched:  # toAssociate is never refused this way; a guard against looping all the same
                    raise
                unlinked = replace(member, shop_customer_id=None)
                if isinstance(refused, CustomerGoneError) and member.email and not unlinked_tried:
                    # The stored customer is gone: let Shopify match by email, as for a fresh member (10 points).
                    unlinked_tried = True
                    logger.info("shopify: member %s's stored customer is gone; upserting by email", member.id)
                    customer = order_customer_input(unlinked)
                    continue
                rematched = True
                logger.info(
                    "shopify: upsert of member %s's customer refused (%s); matching it first", member.id, refused
                )
                # A gone stored customer is not read again: an upsert just said it does not exist.
                gone = unlinked_tried or isinstance(refused, CustomerGoneError)
                known = unlinked if gone else member
                customer = {"toAssociate": {"id": sync_customer(client, known, logger)}}
            except ProviderError as failed:
                may_exist = not failed.nothing_created
                if failed.code != "product_not_found":
                    raise
                variant_cache.forget(cache, variant.sku)
                if not variant_from_cache or refreshed:
                    raise
                refreshed = True
                fresh = find_orderable_variant(client, variant.sku)  # raises with today's precise reason
                if fresh.id == variant.id:
                    raise
                if cache is not None and cache_seconds > 0:
                    variant_cache.remember(cache, fresh, cache_seconds)
                logger.info("shopify: SKU %s moved from %s to %s; ordering again", variant.sku, variant.id, fresh.id)
                variant = fresh
    except ProviderError as error:
        error.nothing_created = first_submission and not may_exist and not error.in_doubt
        raise
