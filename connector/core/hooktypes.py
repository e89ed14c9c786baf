"""Frozen data that crosses the plugin boundary.

Plugins receive these instead of ORM rows or Flask objects so that a plugin can
neither lazy-load the database nor keep a session alive across a remote call,
and so the contract can be read in one file.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str
    description: str = ""
    #: Fulfilment channels this plugin fulfils (``Reward.channel`` values).
    channels: tuple[str, ...] = ()
    #: ``/webhooks/<provider>`` paths this plugin verifies.
    webhook_providers: tuple[str, ...] = ()


@dataclass(frozen=True)
class HookContext:
    """What the host lends a plugin for one call."""

    config: Mapping[str, str] = field(default_factory=dict)
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("connector.plugins"))
    now: Callable[[], datetime] = utcnow
    sleep: Callable[[float], None] = field(default_factory=lambda: __import__("time").sleep)
    #: ``send_email(to, subject, body)`` through the host's mail transport (SMTP or the outbox).
    send_email: Callable[[str, str, str], None] | None = None
    #: The host's rate-limit buckets, shared by every worker process (None: the plugin keeps its own).
    buckets: SharedBuckets | None = None
    #: True when the host would rather run the job later than have a read wait for the bucket: the plugin then
    #: raises ``RateLimitDeferral`` (connector.core.errors) before a read the bucket cannot afford yet.
    defer_when_throttled: bool = False


@dataclass(frozen=True)
class ShopInfo:
    id: int
    domain: str
    api_base_url: str
    #: The token stored when the call began; use ``tokens`` when present (it refreshes).
    access_token: str
    api_version: str = "2026-07"
    #: The host's keeper of an expiring token (None for a static token that never changes).
    tokens: AccessTokens | None = field(default=None, compare=False, repr=False)
    #: Where the plugin reports the rate-limit bucket a shop's answer carried (None: nobody listens). The host
    #: keeps the last one in memory and stores it, throttled, with the shop's last successful call.
    rate_limit_seen: Callable[[RateLimitStatus], None] | None = field(default=None, compare=False, repr=False)
    #: The host's key/value cache for this shop only, shared by every process (None: nothing is cached).
    cache: ShopCache | None = field(default=None, compare=False, repr=False)

    def current_token(self) -> str:
        """The token to send now: the keeper's (refreshed when near expiry), else the stored one."""
        return self.tokens.current() if self.tokens is not None else self.access_token

    def report_rate_limit(self, status: RateLimitStatus) -> None:
        """Tell the host what the shop's last answer said about its rate-limit bucket (cheap: memory only)."""
        if self.rate_limit_seen is not None:
            self.rate_limit_seen(status)


@dataclass(frozen=True)
class RateLimitStatus:
    """A shop's API rate-limit bucket as one answer reported it (Shopify: ``extensions.cost.throttleStatus``)."""

    available: float
    maximum: float
    #: Points (or requests) the bucket regains per second.
    restore_rate: float


@dataclass(frozen=True)
class BucketReservation:
    """Points set aside in a shop's bucket for one request; give them back with ``SharedBuckets.settle``."""

    key: str
    points: float
    #: Orders reservations: an answer to an older one is not adopted over a newer one's report.
    id: int = 0


class SharedBuckets(Protocol):
    """The host's estimate of each shop's leaky bucket, shared by every worker (core/rate_buckets.py)."""

    def reserve(self, key: str, operation: str) -> tuple[BucketReservation | None, float]:
        """Reserve the operation's learned cost; ``(None, seconds)`` when the bucket cannot afford it yet."""
        ...

    def settle(
        self, reservation: BucketReservation, operation: str, status: RateLimitStatus | None, cost: float | None
    ) -> None:
        """The request was answered (or failed): what the answer said about the bucket and the cost, if anything."""
        ...

    def count(self, key: str, what: str) -> None:
        """Count an event of the shop's (``throttled``, ``waited``) for diagnostics and benches."""
        ...


@dataclass(frozen=True)
class ScopeCheck:
    """The access scopes a provider's shops need, and which of them a shop's granted scopes lack."""

    required: tuple[str, ...]
    missing: tuple[str, ...]


class ShopCache(Protocol):
    """A small key/value store the host keeps for one shop, in its database, for every process.

    For answers a plugin would otherwise ask the shop for on every call and that rarely change (a
    SKU's variant). Scoped by construction: a plugin holds the cache of the shop it is calling and
    can name no other. Keys and tags are exact strings (at most 255 characters); values are text
    (JSON, typically). Entries are disposable: ``get`` may answer None at any time, so a plugin
    must always be able to ask the shop instead. Each call is its own short transaction.
    """

    def get(self, key: str) -> str | None:
        """The value stored under ``key``, or None when absent or expired."""
        ...

    def put(self, key: str, value: str, *, tag: str | None = None, ttl_seconds: float | None = None) -> None:
        """Store ``value`` under ``key`` (replacing it), grouped under ``tag``, for ``ttl_seconds`` (None: until
        forgotten). Never raises for a concurrent writer: the last one wins."""
        ...

    def forget(self, keys: Sequence[str] = (), tags: Sequence[str] = ()) -> int:
        """Drop the entries with any of ``keys`` or ``tags``; how many there were."""
        ...


class AccessTokens(Protocol):
    """The host's side of an expiring Admin API token, lent to a plugin for one call.

    The host owns storage and the one-refresher-per-shop rule across every process; the plugin
    only says when the shop refused a token, so refreshes happen where the host can lock.
    """

    def current(self) -> str:
        """A token good for now; the host refreshes it first when it is about to expire."""
        ...

    def rejected(self, token: str) -> str:
        """The shop answered 401 to ``token``: refresh once (unless another process already did) and
        return the new token. Raises ``ProviderError("shop_reconnect_needed")`` when that cannot work."""
        ...


#: ``TokenGrantRequest.grant`` values: the three OAuth grants an app uses to get an Admin API token.
GRANT_AUTHORIZATION_CODE = "authorization_code"
GRANT_REFRESH_TOKEN = "refresh_token"
GRANT_CLIENT_CREDENTIALS = "client_credentials"


@dataclass(frozen=True)
class TokenGrantRequest:
    """One token request to a shop (``connector_grant_token``); the secrets are only for that shop's host."""

    shop_domain: str
    api_base_url: str
    grant: str
    client_id: str
    client_secret: str = field(repr=False)
    code: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class TokenGrant:
    """What the shop granted: store ``access_token`` and ``refresh_token`` together, or neither."""

    access_token: str = field(repr=False)
    scopes: tuple[str, ...]
    #: Seconds until the access token expires; None when it does not.
    expires_in: float | None
    refresh_token: str | None = field(default=None, repr=False)
    refresh_token_expires_in: float | None = None


@dataclass(frozen=True)
class InstallLinkRequest:
    """What the host asks a plugin to build the shop's authorize page address from (``connector_install_url``).

    ``state`` is the one-time nonce bound to the browser; the host keeps only its SHA-256.
    """

    shop_domain: str
    state: str = field(repr=False)
    redirect_uri: str


@dataclass(frozen=True)
class InstallCallback:
    """A callback (or install request) query the plugin verified (``connector_verify_install_callback``).

    ``shop_domain`` passed the provider's host rule and the query's signature held; ``api_base_url`` is
    where that shop is reached (its own address, or the simulator when the installation allows one);
    ``code`` is the authorization code (None on an install request, which carries none).
    """

    shop_domain: str
    api_base_url: str
    code: str | None = field(default=None, repr=False)


#: A shop's own domain, as Shopify names it.
SHOP_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]*\.myshopify\.com")
#: The setting (read by the host at ``shops add`` and by the Shopify plugin at every call) that lets a shop's
#: API base URL be something other than its own ``https://{shop}.myshopify.com``: the local simulator of
#: ``connector demo`` and the tests. Off by default.
ALLOW_CUSTOM_API_BASE = "SHOPIFY_ALLOW_CUSTOM_API_BASE"


def api_base_url_problem(domain: str, api_base_url: str, *, allow_custom: bool) -> str | None:
    """Why the shop's access token may not be sent to ``api_base_url``, or None when it may.

    The token goes only to the shop's own ``https://{domain}``; any other address (plain HTTP, another
    host, a port) only when ``allow_custom`` says this installation talks to a simulator on purpose.
    Credentials in the URL are refused always: they would be sent along and shown wherever the URL is.
    One rule, shared by ``catalog.add_shop`` (when the shop is connected) and the Shopify client (at
    every call, for rows stored before the rule or edited by hand).
    """
    try:
        parts = urlsplit(api_base_url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return f"{redact_url(api_base_url)!r} is not a URL"
    if "@" in parts.netloc:
        return "it must not contain credentials (user:password@ before the host); the access token is sent separately"
    own = f"https://{domain.lower()}"
    if SHOP_DOMAIN.fullmatch(domain.lower()) and api_base_url.rstrip("/").lower() == own:
        return None
    if not allow_custom:
        return (
            f"{api_base_url!r} is not the shop's own {own}; the access token is sent only there. A custom API "
            f"base URL (a local Shopify simulator) needs {ALLOW_CUSTOM_API_BASE}=true in the environment"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{api_base_url!r} is not an http:// or https:// URL with a host"
    if parts.query or parts.fragment:
        return f"{api_base_url!r} must not have a query (?...) or a fragment (#...)"
    return None


def redact_url(url: str) -> str:
    """``url`` without the credentials it may carry (``user:password@``), for printing and messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(not a URL)" if "@" in url else url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


@dataclass(frozen=True)
class MemberInfo:
    id: int
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    date_of_birth: date | None
    address1: str | None
    address2: str | None
    city: str | None
    province_code: str | None
    country_code: str | None
    zip: str | None
    shop_customer_id: str | None


#: The words a message uses for each of a member's details (``MemberInfo`` attributes but ``id`` and
#: ``shop_customer_id``), in form order: one table, so a plugin's error and the console's form name a field alike.
MEMBER_FIELD_LABELS: dict[str, str] = {
    "first_name": "first name",
    "last_name": "last name",
    "email": "email",
    "phone": "phone",
    "date_of_birth": "date of birth",
    "address1": "address line 1",
    "address2": "address line 2",
    "city": "city",
    "province_code": "state/province",
    "country_code": "country",
    "zip": "ZIP/postal code",
}


@dataclass(frozen=True)
class CheckProblem:
    """What a plugin would refuse, found before the attempt: the error it would fail with, word for word.

    ``connector_check_member`` and ``connector_check_sku`` return these so the console can refuse a bad
    edit with the same message a fulfilment would have stored, without the host knowing the plugin's rules.
    """

    code: str
    message: str
    fix: str
    #: The ``MemberInfo`` attributes (or ``sku``) at fault.
    fields: tuple[str, ...] = ()
    #: (field, what is wrong with it) when the plugin can say it per field; a form shows each by its field.
    field_messages: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RewardInfo:
    id: int
    name: str
    sku: str
    points_cost: int
    channel: str
    instructions: str = ""


@dataclass(frozen=True)
class FulfilmentRequest:
    """One attempt at fulfilling a redemption.

    ``submitted_at`` is set when an earlier attempt reached the point of no
    return (it may have created the order): the plugin must look the order up
    before creating another. The plugin calls ``checkpoint()`` immediately
    before its irreversible remote call; the host commits that fact.
    """

    redemption_id: int
    code: str
    channel: str
    attempt: int
    member: MemberInfo
    reward: RewardInfo
    shop: ShopInfo | None
    submitted_at: datetime | None
    checkpoint: Callable[[], None]


@dataclass(frozen=True)
class FulfilmentResult:
    external_order_id: str | None = None
    external_order_name: str | None = None
    #: The shop's customer id the member was matched to (the "CRM ID").
    shop_customer_id: str | None = None
    #: True when the order already existed (an earlier attempt created it).
    found_existing: bool = False


@dataclass(frozen=True)
class CancelRequest:
    redemption_id: int
    code: str
    channel: str
    shop: ShopInfo | None
    external_order_id: str
    reason: str
    #: Put the order's items back in the shop's stock: the user's choice when reversing (an item that never
    #: left the warehouse goes back on the shelf; a damaged or lost one does not).
    restock: bool = True


@dataclass(frozen=True)
class CancelResult:
    cancelled: bool
    message: str = ""


@dataclass(frozen=True)
class ExternalOrder:
    """A reward order as the shop lists it, for reconciliation."""

    order_id: str
    name: str | None
    #: The redemption code the order carries (tag / source identifier), if any.
    redemption_code: str | None
    created_at: datetime | None
    cancelled: bool


@dataclass(frozen=True)
class InboundWebhook:
    """The raw delivery, before anything trusts it. Header names are lowercase."""

    provider: str
    headers: Mapping[str, str]
    body: bytes


#: Given a shop domain, the secrets its deliveries may be signed with (current first).
SecretLookup = Callable[[str], Sequence[str]]


@dataclass(frozen=True)
class VerifiedWebhook:
    """A delivery whose signature checked out, with the keys used to dedupe it."""

    provider: str
    shop_domain: str
    topic: str
    webhook_id: str | None
    event_id: str | None
    triggered_at: datetime | None
    resource_id: str | None
    resource_updated_at: datetime | None
    customer_ref: str | None = None
    #: Apply the delivery in the request that stored it, not only when the drain job gets to it: a
    #: lifecycle event (an uninstall) must stop calls to the shop at once, not behind a burst of orders.
    apply_now: bool = False


JsonDict = dict[str, Any]

# The webhook half of the contract lives in its own module; its names are part of this one too.
from connector.core.webhook_types import (  # noqa: E402, F401
    CustomerDataRequest,
    DeliveryUpdate,
    ForgetCached,
    RedactCustomer,
    RedactShop,
    RetryErrorsForCustomer,
    RetryErrorsForSku,
    ShopUninstalled,
    WebhookEffect,
    WebhookSyncReport,
    WebhookTopicHealth,
)
