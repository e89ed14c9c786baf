"""Typed errors and the catalogue of failure codes users see.

Every failure that reaches a user carries a stable code, a message that says
what went wrong and a fix that says what to do; web layers map the classes to
HTTP statuses without knowing the individual codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ErrorInfo:
    code: str
    title: str
    message: str
    fix: str
    retryable: bool


def _info(code: str, title: str, message: str, fix: str, retryable: bool = False) -> ErrorInfo:
    return ErrorInfo(code, title, message, fix, retryable)


#: Codes from seed 004 and the design; the message and fix are shown on hover of ERROR.
CATALOG: dict[str, ErrorInfo] = {
    i.code: i
    for i in (
        _info(
            "crm_id_not_found",
            "CRM ID Not Found",
            "The member could not be matched to a Shopify customer (their details are formatted differently).",
            "Verify and correct the member's State, City, Date of Birth and Address format, then retry.",
        ),
        _info(
            "missing_user_information",
            "Missing User Information",
            "Required address information is incomplete.",
            "Make sure every address field is filled in; contact the member for updated information, then retry.",
        ),
        _info(
            "product_not_found",
            "Product Not Found in Shopify",
            "The reward's SKU is unavailable in Shopify (removed, not active or out of stock).",
            "Verify the SKU's availability in Shopify, or update the SKU in the Rewards section, then retry.",
        ),
        _info(
            "shop_auth_failed",
            "Shop Authorisation Failed",
            "The shop's access token is invalid or lacks a required scope.",
            "Reconnect the shop (a new access token with write_orders and write_customers), then retry.",
        ),
        _info(
            "shop_reconnect_needed",
            "Shop Needs Reconnecting",
            "The shop refused to renew the connector's access (the refresh token or app credentials no longer work).",
            "Reconnect the shop from the Shops page (Reconnect); the connector then resumes its redemptions.",
        ),
        _info(
            "shop_disconnected",
            "Shop Disconnected",
            "The Shopify app was uninstalled from the shop, or the shop was disconnected, so the connector "
            "no longer calls it.",
            "Shop disconnected: reinstall the app (Shops page, Connect); the connector then resumes its "
            "redemptions, one order each.",
        ),
        _info(
            "shop_awaiting_brand",
            "Shop Awaiting a Brand",
            "The shop installed the app but no brand has claimed it yet.",
            "A platform admin assigns the shop to its brand on the Shops page.",
        ),
        _info(
            "shop_scopes_missing",
            "Shop Access Scopes Missing",
            "The shop granted the app fewer access scopes than the connector needs.",
            "Reconnect the shop and approve every scope the install page asks for.",
        ),
        _info(
            "shop_unavailable",
            "Shop Unavailable",
            "Shopify did not answer or answered with a server error.",
            "Nothing to do: the connector retries automatically.",
            retryable=True,
        ),
        _info(
            "throttled",
            "Throttled",
            "Shopify's rate limit was reached.",
            "Nothing to do: the connector waits for the rate limit and retries automatically.",
            retryable=True,
        ),
        _info(
            "network_error",
            "Network Error",
            "The connection to the shop failed or timed out.",
            "Nothing to do: the connector retries automatically.",
            retryable=True,
        ),
        _info(
            "order_lookup_pending",
            "Checking For An Earlier Order",
            "An earlier attempt may already have created the order; the connector is checking before it "
            "creates one, so the member never gets two.",
            "Nothing to do: the connector retries automatically.",
            retryable=True,
        ),
        _info(
            "retries_exhausted",
            "Retries Exhausted",
            "The shop kept failing with temporary errors and the automatic retries ran out.",
            "Check the shop's status, then retry.",
        ),
        _info(
            "no_fulfilment_plugin",
            "No Fulfillment Plugin",
            "No installed plugin fulfils this reward's channel.",
            "Install or enable the plugin for the channel, or change the reward's channel, then retry.",
        ),
        _info(
            "order_rejected",
            "Order Rejected by the Shop",
            "The shop refused to create the order.",
            "Read the shop's message on the redemption, correct the reward or member, then retry.",
        ),
        _info(
            "order_not_cancellable",
            "Order Cannot Be Cancelled",
            "The shop refused to cancel the order (for example, it has been fulfilled).",
            "Handle the order in the shop by hand; the points were already returned.",
        ),
        _info(
            "order_not_found",
            "Order Not Found",
            "The shop has no order with the stored id (it may have been deleted).",
            "Check the order in the shop; nothing else is needed for the reversal.",
        ),
        _info(
            "shop_request_invalid",
            "Shop Request Invalid",
            "The shop rejected the connector's request.",
            "Report it with the redemption code; the connector or its plugin needs a fix.",
        ),
        _info(
            "plugin_config_invalid",
            "Plugin Configuration Invalid",
            "A plugin setting has a value the plugin cannot use.",
            "Correct the named environment variable and restart, then retry.",
        ),
        _info(
            "reward_instructions_missing",
            "Reward Has No Instructions",
            "The reward is fulfilled by email but has no instructions to send.",
            "Write the reward's instructions (the code or link the member receives), then retry.",
        ),
        _info(
            "mail_unavailable",
            "Mail Server Unavailable",
            "The mail server did not accept the message.",
            "Nothing to do: the connector retries automatically.",
            retryable=True,
        ),
        _info(
            "internal_error",
            "Internal Error",
            "The fulfillment failed with an unexpected error.",
            "Retry; if it fails again, report it with the redemption code.",
            retryable=True,
        ),
    )
}


def catalog_entry(code: str) -> ErrorInfo:
    return CATALOG.get(code) or _info(code, code.replace("_", " ").title(), code, "Retry after fixing the cause.")


class ConnectorError(Exception):
    """Base of every error the connector raises on purpose."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **({"details": self.details} if self.details else {})}


class ValidationError(ConnectorError):
    """Input was wrong; ``fields`` maps each field to what is wrong with it."""

    status_code = 422
    code = "validation_error"

    def __init__(self, message: str, fields: dict[str, Any] | None = None) -> None:
        super().__init__(message, **({"fields": fields} if fields else {}))
        self.fields = fields or {}


class NotFoundError(ConnectorError):
    status_code = 404
    code = "not_found"


class ConflictError(ConnectorError):
    status_code = 409
    code = "conflict"


class IllegalTransitionError(ConflictError):
    code = "illegal_transition"


class PermissionDeniedError(ConnectorError):
    status_code = 403
    code = "forbidden"


class WebhookRejectedError(ConnectorError):
    """A delivery failed verification; answered 401 and nothing is stored.

    ``message`` is what the sender is told; ``reason`` (default: the message) is what the
    server logs. They differ where the precise reason would tell an outsider something, e.g.
    that a shop is connected: an unknown shop and a wrong signature answer alike.
    """

    status_code = 401
    code = "webhook_rejected"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


class WebhookPayloadError(ConnectorError):
    """A delivery's signature holds but its body is unusable (not JSON, too deep, not its topic's shape).

    Answered 400 with the reason and nothing is stored. The sender proved it holds the shop's
    secret (or replayed a body the shop signed), so the reason reveals nothing new.
    """

    status_code = 400
    code = "webhook_payload_invalid"


class InstallRefusedError(ConnectorError):
    """An install callback (or install request) failed a check: state, shop host, signature or grant.

    Answered with an HTML page and 400; nothing is stored. The message says which check failed and never
    holds the state, code, signature or any secret.
    """

    status_code = 400
    code = "install_refused"

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.fix = fix or "Start the install again from the Shops page (Connect) or from Shopify."


class NotConfiguredError(ConnectorError):
    """An app-wide setting a feature needs is missing or wrong; the message names the variable."""

    status_code = 503
    code = "not_configured"

    def __init__(self, message: str, *, setting: str) -> None:
        super().__init__(message, setting=setting)
        self.setting = setting


class PayloadTooLargeError(ConnectorError):
    status_code = 413
    code = "payload_too_large"


class PluginLoadError(ConnectorError):
    """A plugin could not be imported or registered: start-up stops with this."""

    code = "plugin_load_failed"


class NoPluginClaimedError(ConnectorError):
    code = "no_fulfilment_plugin"


class ProviderError(ConnectorError):
    """A remote system (Shopify, a distributor) refused or failed.

    ``retryable`` errors are retried with backoff; ``retry_after`` (seconds) is
    the provider's own hint. ``field`` names the member/reward field at fault so
    the UI can point at it. ``in_doubt`` means the request may have taken effect.
    ``nothing_created`` is the opposite proof, for a failure after the fulfilment checkpoint: the
    shop refused the irreversible call (it answered, with errors), so no order exists and the host
    forgets the checkpoint; the next attempt then creates at once instead of looking the order up.
    """

    status_code = 502

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        fix: str | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
        field: str | None = None,
        in_doubt: bool = False,
        nothing_created: bool = False,
    ) -> None:
        entry = catalog_entry(code)
        super().__init__(message or entry.message)
        self.code = code
        self.fix = fix or entry.fix
        self.retryable = entry.retryable if retryable is None else retryable
        self.retry_after = retry_after
        self.field = field
        self.in_doubt = in_doubt
        self.nothing_created = nothing_created and not in_doubt

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "fix": self.fix, "retryable": self.retryable}


class RateLimitDeferral(ConnectorError):
    """The shop's rate-limit bucket cannot afford the next call for ``retry_after`` seconds.

    Not a failure: the host runs the job again then (without counting an attempt) and the worker takes
    other shops' work meanwhile. Raised by a plugin only when ``HookContext.defer_when_throttled``.
    """

    code = "rate_limit_deferral"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after
