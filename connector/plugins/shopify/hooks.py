"""The Shopify plugin's hook implementations: the only module the host calls.

Each hook returns None for what is not Shopify's (another channel or webhook
provider), so plugins compose without the core knowing them. The work lives
in the modules named after it; this module holds the order of the steps,
which is where "one shop order per redemption" is decided.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connector import __version__, hookimpl
from connector.core.errors import ProviderError
from connector.core.hooktypes import (
    CancelRequest,
    CancelResult,
    CheckProblem,
    ExternalOrder,
    FulfilmentRequest,
    FulfilmentResult,
    HookContext,
    InboundWebhook,
    InstallCallback,
    InstallLinkRequest,
    MemberInfo,
    PluginInfo,
    ScopeCheck,
    SecretLookup,
    ShopInfo,
    TokenGrant,
    TokenGrantRequest,
    VerifiedWebhook,
    WebhookEffect,
    WebhookSyncReport,
)
from connector.plugins.shopify import install, orders, scopes, subscriptions, token_grants, webhook_topics, webhooks
from connector.plugins.shopify.config import ShopifyConfig
from connector.plugins.shopify.graphql_client import ShopifyGraphQLClient
from connector.plugins.shopify.identifiers import gid
from connector.plugins.shopify.member_validation import MemberDetailsError, validate_member
from connector.plugins.shopify.reward_order import place_reward_order
from connector.plugins.shopify.throttle import SHARED_THROTTLE, HostBuckets
from connector.plugins.shopify.variant_cache import orderable_variant
from connector.plugins.shopify.variants import find_orderable_variant

NAME = "shopify"
VERSION = __version__  # built in: versioned with the connector
CHANNEL = "shopify"


@hookimpl
def connector_plugin_info() -> PluginInfo:
    return PluginInfo(
        name=NAME,
        version=VERSION,
        description="Zero-priced Shopify orders for loyalty rewards, with delivery tracking from webhooks.",
        channels=(CHANNEL,),
        webhook_providers=(webhooks.PROVIDER,),
    )


@hookimpl
def connector_check_scopes(provider: str, granted: tuple[str, ...]) -> ScopeCheck | None:
    """``REQUIRED_SCOPES`` against what the shop granted (a ``write_X`` covers ``read_X``)."""
    if provider != webhooks.PROVIDER:
        return None
    return ScopeCheck(required=scopes.REQUIRED_SCOPES, missing=scopes.missing_scopes(granted))


@hookimpl
def connector_check_member(member: MemberInfo, channel: str, ctx: HookContext) -> list[CheckProblem] | None:
    """The fulfilment's own member validation (``member_validation``), run ahead of an attempt."""
    if channel != CHANNEL:
        return None
    try:
        validate_member(member, ctx.now().date())
    except ProviderError as exc:
        return [_problem(exc)]
    return []


@hookimpl
def connector_check_sku(shop: ShopInfo, sku: str, provider: str, ctx: HookContext) -> list[CheckProblem] | None:
    """The fulfilment's own variant lookup (``variants``): exists, ACTIVE, in stock or oversellable."""
    if provider != CHANNEL:
        return None
    config = ShopifyConfig.from_mapping(ctx.config)
    with make_client(shop, ctx, config) as client:
        try:
            find_orderable_variant(client, sku)
        except ProviderError as exc:
            if exc.retryable:
                raise
            return [_problem(exc)]
    return []


def _problem(exc: ProviderError) -> CheckProblem:
    fields = tuple(name for name in (exc.field or "").split(",") if name)
    per_field = exc.problems if isinstance(exc, MemberDetailsError) else ()
    return CheckProblem(code=exc.code, message=exc.message, fix=exc.fix or "", fields=fields, field_messages=per_field)


def make_client(shop: ShopInfo, ctx: HookContext, config: ShopifyConfig) -> ShopifyGraphQLClient:
    """A client for one hook call; tests replace this to inject a clock."""
    return ShopifyGraphQLClient(
        shop,
        connect_timeout=config.connect_timeout_seconds,
        read_timeout=config.read_timeout_seconds,
        max_throttle_wait=config.throttle_max_wait_seconds,
        sleep=ctx.sleep,
        clock=time.monotonic,
        logger=ctx.logger,
        allow_custom_api_base=config.allow_custom_api_base,
        throttle=HostBuckets(ctx.buckets) if ctx.buckets is not None else SHARED_THROTTLE,
        defer_reads=ctx.defer_when_throttled,
    )


def _aware(moment: datetime) -> datetime:
    """Treat a naive timestamp as UTC (the host stores UTC) so the lag arithmetic cannot raise."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _no_shop() -> ProviderError:
    return ProviderError(
        "shop_auth_failed",
        "No Shopify shop is connected for this reward's brand.",
        fix="Connect the brand's Shopify shop (install the app), then retry.",
        retryable=False,
    )


@hookimpl
def connector_fulfil_redemption(request: FulfilmentRequest, ctx: HookContext) -> FulfilmentResult | None:
    """Create the reward's zero-priced order, at most once per redemption.

    Steps, in this order on purpose:

    1. If an earlier attempt got as far as ``orderCreate`` (``submitted_at``),
       look its order up by tag/sourceIdentifier first. Found: done. Not found
       while Shopify's search may still lag (``SHOPIFY_ORDER_LOOKUP_LAG_SECONDS``
       after ``submitted_at``): retry later rather than risk a second order.
    2. Validate the member locally (no request wasted on an address Shopify
       would reject), then find the SKU's variant: from the shop's cache, else
       a cheap read that fails permanently (``variant_cache``).
    3. ``request.checkpoint()``: the host commits "submitted" before the one
       irreversible call, so a crash after it is looked up, never repeated.
    4. ``orderCreate``, carrying the customer to match, create or update (the
       CRM ID comes back on the order): one call, 10 points, in steady state.
       The rare answers that need the customer matched or the SKU looked up
       separately are in ``reward_order``.
    """
    if request.channel != CHANNEL:
        return None
    if request.shop is None:
        raise _no_shop()
    config = ShopifyConfig.from_mapping(ctx.config)
    with make_client(request.shop, ctx, config) as client:
        if request.submitted_at is not None:
            existing = orders.find_redemption_order(client, request.code, ctx.logger)
            if existing is not None:
                ctx.logger.info("shopify: redemption %s already has order %s", request.redemption_id, existing.id)
                return FulfilmentResult(
                    external_order_id=existing.id,
                    external_order_name=existing.name,
                    shop_customer_id=existing.customer_id or gid("Customer", request.member.shop_customer_id),
                    found_existing=True,
                )
            elapsed = (_aware(ctx.now()) - _aware(request.submitted_at)).total_seconds()
            remaining = config.order_lookup_lag_seconds - elapsed
            if remaining > 0:
                raise ProviderError(
                    "order_lookup_pending",
                    f"An earlier attempt may have created the order for redemption {request.code}; Shopify's "
                    f"search does not show it yet, so the connector checks again in {remaining:.0f}s before "
                    "creating one.",
                    retryable=True,
                    retry_after=remaining,
                )

        member = validate_member(request.member, _aware(ctx.now()).date())
        cache = request.shop.cache
        variant, from_cache = orderable_variant(client, request.reward.sku, cache, config.variant_cache_seconds)

        request.checkpoint()
        order = place_reward_order(
            client,
            code=request.code,
            variant=variant,
            variant_from_cache=from_cache,
            member=member,
            currency=config.currency,
            test=config.test_orders,
            cache=cache,
            cache_seconds=config.variant_cache_seconds,
            logger=ctx.logger,
            first_submission=request.submitted_at is None,
        )
    ctx.logger.info("shopify: redemption %s fulfilled as order %s", request.redemption_id, order.id)
    return FulfilmentResult(
        external_order_id=order.id,
        external_order_name=order.name,
        shop_customer_id=order.customer_id or gid("Customer", member.shop_customer_id),
    )


@hookimpl
def connector_cancel_order(request: CancelRequest, ctx: HookContext) -> CancelResult | None:
    """Cancel a reversed redemption's order (restocked if the reversal chose it, not refunded, customer not emailed)."""
    if request.channel != CHANNEL:
        return None
    if request.shop is None:
        raise _no_shop()
    order_id = gid("Order", request.external_order_id)
    if order_id is None:
        raise ProviderError(
            "order_not_found",
            f"'{request.external_order_id}' is not a Shopify order id, so there is nothing to cancel.",
            fix="Cancel the order by hand in Shopify if one exists.",
            retryable=False,
        )
    config = ShopifyConfig.from_mapping(ctx.config)
    with make_client(request.shop, ctx, config) as client:
        return orders.cancel_order(
            client,
            order_id=order_id,
            code=request.code,
            poll_seconds=config.cancel_poll_seconds,
            sleep=ctx.sleep,
            restock=request.restock,
        )


@hookimpl
def connector_list_reward_orders(
    shop: ShopInfo, provider: str, since: datetime, ctx: HookContext
) -> list[ExternalOrder] | None:
    """Reward orders created in the shop since ``since``, for reconciliation."""
    if provider != CHANNEL:
        return None
    config = ShopifyConfig.from_mapping(ctx.config)
    with make_client(shop, ctx, config) as client:
        return orders.list_reward_orders(client, since)


@hookimpl
def connector_verify_webhook(
    webhook: InboundWebhook, secrets_for: SecretLookup, ctx: HookContext
) -> VerifiedWebhook | None:
    """Verify a Shopify delivery's HMAC (CPU only) and return the keys to dedupe it by."""
    if webhook.provider != webhooks.PROVIDER:
        return None
    return webhooks.verify_delivery(webhook, secrets_for)


@hookimpl
def connector_interpret_webhook(
    delivery: VerifiedWebhook, payload: Mapping[str, Any], ctx: HookContext
) -> list[WebhookEffect] | None:
    """Map a stored Shopify delivery to delivery updates, retries and privacy requests."""
    if delivery.provider != webhooks.PROVIDER:
        return None
    return webhook_topics.interpret(delivery, payload)


@hookimpl
def connector_grant_token(request: TokenGrantRequest, provider: str, ctx: HookContext) -> TokenGrant | None:
    """Exchange a code, refresh token or client credentials for an Admin API token."""
    if provider != CHANNEL:
        return None
    return token_grants.request_token(request, ShopifyConfig.from_mapping(ctx.config), logger=ctx.logger)


@hookimpl
def connector_sync_webhooks(
    shop: ShopInfo, webhook_uri: str, provider: str, ctx: HookContext
) -> WebhookSyncReport | None:
    """Subscribe the shop to the topics the handlers need, filtered to reward orders and trimmed."""
    if provider != CHANNEL:
        return None
    config = ShopifyConfig.from_mapping(ctx.config)
    problem = subscriptions.webhook_uri_problem(webhook_uri, allow_plain_http=config.allow_custom_api_base)
    if problem:
        raise ProviderError(
            "plugin_config_invalid",
            f"Shopify cannot deliver webhooks to {webhook_uri!r}: {problem}.",
            fix="Set CONNECTOR_PUBLIC_URL to the https:// address shops reach the connector at, then sync again.",
            retryable=False,
            field="CONNECTOR_PUBLIC_URL",
        )
    desired = subscriptions.desired_subscriptions(webhook_uri, filters=config.webhook_filters)
    with make_client(shop, ctx, config) as client:
        report = subscriptions.sync_webhooks(client, desired)
    ctx.logger.info(
        "shopify %s webhooks: %d created, %d updated, %d deleted, %d unchanged",
        shop.domain,
        report.created,
        report.updated,
        report.deleted,
        report.unchanged,
    )
    return report


@hookimpl
def connector_install_url(request: InstallLinkRequest, provider: str, ctx: HookContext) -> str | None:
    """Shopify's authorize page for the shop (client id, scopes, redirect URI, the host's one-time state)."""
    if provider != CHANNEL:
        return None
    return install.authorize_url(request, ctx.config)


@hookimpl
def connector_verify_install_callback(
    query: Mapping[str, str], provider: str, ctx: HookContext
) -> InstallCallback | None:
    """The shop host rule and the hex HMAC of a query Shopify signed (CPU only)."""
    if provider != CHANNEL:
        return None
    return install.verify_callback(query, ctx.config)
