"""The plugin contract. Each spec's docstring is the promise both sides keep.

Hooks marked firstresult have one owner per call: a plugin returns ``None`` for
anything that is not its own (another channel, another provider), so plugins
can be added without the core knowing them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from connector.core.frequent_buyer.pos_types import PosFormat
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

PROJECT = "connector"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def connector_plugin_info() -> PluginInfo:
    """Every plugin: its name, version, the channels it fulfils and webhook providers it verifies."""


# -- fulfilment ------------------------------------------------------------------------------


@hookspec(firstresult=True)
def connector_fulfil_redemption(request: FulfilmentRequest, ctx: HookContext) -> FulfilmentResult | None:
    """Fulfil one redemption of a channel this plugin owns; return None for other channels.

    Must be idempotent per ``request.redemption_id``: when ``request.submitted_at``
    is set, look the earlier attempt's effect up before repeating it. Call
    ``request.checkpoint()`` right before the irreversible remote call. Raise
    ``ProviderError`` (retryable or not) on failure; never return an error object.
    """


@hookspec(firstresult=True)
def connector_cancel_order(request: CancelRequest, ctx: HookContext) -> CancelResult | None:
    """Cancel the external order of a reversed redemption, if this plugin owns its channel.

    Cancelling an order that is already cancelled counts as success. Raise
    ``ProviderError`` when the shop refuses (for example, the order has shipped).
    """


@hookspec(firstresult=True)
def connector_list_reward_orders(
    shop: ShopInfo, provider: str, since: datetime, ctx: HookContext
) -> list[ExternalOrder] | None:
    """Every reward order the shop holds that was created since ``since`` (cancelled ones too).

    For reconciliation: the host compares them with its redemptions to find duplicate and
    orphaned orders. Return None for shops of other providers.
    """


# -- checks before an attempt -------------------------------------------------------------------


@hookspec(firstresult=True)
def connector_check_member(member: MemberInfo, channel: str, ctx: HookContext) -> list[CheckProblem] | None:
    """What fulfilling a reward of ``channel`` would refuse about ``member``'s details; None for another channel.

    An empty list means the details pass. CPU only (no database, no outbound HTTP): the console calls it
    on every member edit. The rules, codes and messages are exactly those the fulfilment applies, so an
    edit that passes here does not fail the attempt for the same reason.
    """


@hookspec(firstresult=True)
def connector_check_sku(shop: ShopInfo, sku: str, provider: str, ctx: HookContext) -> list[CheckProblem] | None:
    """Whether ``sku`` names something ``shop`` can order now; None for shops of another provider.

    An empty list means it can; otherwise the problem the fulfilment would fail with (the SKU does not
    exist, the product is not active, out of stock). Asks the shop (one read). A shop that cannot be
    asked (unavailable, throttled) raises a retryable ``ProviderError``.
    """


# -- webhooks ----------------------------------------------------------------------------------


@hookspec(firstresult=True)
def connector_grant_token(request: TokenGrantRequest, provider: str, ctx: HookContext) -> TokenGrant | None:
    """Ask ``provider``'s shop for an Admin API token (authorization code, refresh or client credentials).

    None for another provider. Sends the client secret, code or refresh token only to the shop's own
    host. A refusal that retrying cannot fix (bad code, refresh token or client) raises
    ``ProviderError("shop_reconnect_needed", retryable=False)``; no answer or a server error raises a
    retryable ``ProviderError("shop_unavailable")``, and the caller may retry with the same refresh
    token (Shopify keeps it valid until its replacement is used).
    """


@hookspec(firstresult=True)
def connector_sync_webhooks(
    shop: ShopInfo, webhook_uri: str, provider: str, ctx: HookContext
) -> WebhookSyncReport | None:
    """Make the shop's webhook subscriptions to ``webhook_uri`` exactly what this plugin's handlers need.

    None for another provider. Idempotent: a second run changes nothing and says so. Creates the
    missing subscriptions, corrects those that differ, deletes those to ``webhook_uri`` for topics no
    longer wanted, and never touches a subscription to another address. Topics the app declares in
    its own configuration (privacy topics) are not the sync's. Raise ``ProviderError`` when the shop
    cannot be asked; a topic the shop refuses is reported in the result, not raised.
    """


@hookspec(firstresult=True)
def connector_check_scopes(provider: str, granted: tuple[str, ...]) -> ScopeCheck | None:
    """The access scopes ``provider``'s shops need and which of them ``granted`` lacks; None for another provider.

    The provider's own rules decide what a granted scope covers (Shopify: ``write_X`` implies ``read_X``),
    so the host shows "granted vs required" without knowing any provider's scope names.
    """


@hookspec(firstresult=True)
def connector_install_url(request: InstallLinkRequest, provider: str, ctx: HookContext) -> str | None:
    """The address of ``provider``'s authorize page for ``request.shop_domain`` (authorization code grant).

    None for another provider. Carries the app's client id, the scopes to ask for, ``request.redirect_uri`` and
    ``request.state`` unchanged. Raises ``ValidationError`` (field ``shop``) for a shop name the provider does
    not accept, and ``ProviderError("plugin_config_invalid")`` naming the missing or wrong app setting.
    """


@hookspec(firstresult=True)
def connector_verify_install_callback(
    query: Mapping[str, str], provider: str, ctx: HookContext
) -> InstallCallback | None:
    """Check a query the provider signed (the install callback, or the install request from its side).

    None for another provider. CPU only: no database, no HTTP. Checks the shop's host rule and the
    query's signature with the app's client secret, in constant time, and returns the shop, where it is
    reached and the authorization code (when the query has one). Raises ``InstallRefusedError`` with a
    precise reason when either check fails; it must never echo a secret or the signature.
    """


@hookspec(firstresult=True)
def connector_verify_webhook(
    webhook: InboundWebhook, secrets_for: SecretLookup, ctx: HookContext
) -> VerifiedWebhook | None:
    """Verify a delivery for a provider this plugin owns; None for other providers.

    CPU only: no database and no outbound HTTP (the sender waits). Raise
    ``WebhookRejectedError`` (401) on a bad or missing signature, with a precise ``reason`` for
    the log and a ``message`` that does not tell an unknown shop from a wrong signature. Raise
    ``WebhookPayloadError`` (400) for a signed body that is unusable, including one that does not
    have the shape of its topic: only the body is signed, so the topic header may be a replay's.
    Set ``apply_now`` on a lifecycle delivery (an uninstall) so the host applies it in the request.
    """


@hookspec(firstresult=True)
def connector_interpret_webhook(
    delivery: VerifiedWebhook, payload: Mapping[str, Any], ctx: HookContext
) -> list[WebhookEffect] | None:
    """Turn a stored, verified delivery's payload into effects the core applies.

    Return None for other providers and an empty list for topics with no effect. Effects name
    customers and orders as the payload does; the core confines each to the shop that signed the
    delivery (its brand's members, its own orders), so a plugin need not, and cannot, widen them.
    """


# -- frequent buyer ------------------------------------------------------------------------------


@hookspec
def connector_pos_formats(ctx: HookContext) -> list[PosFormat]:
    """The POS report formats this plugin reads (e.g. ``darts-bxgy``); each format name is unique.

    ``ctx.config`` holds the host's POS settings, shared by every format plugin (not one plugin's
    ``NAME_*`` variables): ``CONNECTOR_POS_MAPPINGS_DIR``, the folder of operator-declared JSON
    mappings, when set. A plugin reads it there, never from the environment. A broken declaration
    raises (a silently missing format is worse).
    """
