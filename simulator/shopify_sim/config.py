"""Run-time settings of the simulator, changeable while it runs (``POST /_sim/config``).

One mutable object shared by every request thread. Reads are plain attribute reads (a
torn read of two settings changed together is harmless in a test double); writes go
through :meth:`SimConfig.update`, which validates and converts JSON values so a typo in a
test fails loudly instead of silently configuring nothing.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any

#: The API version the bundled schema subset was extracted from.
API_VERSION = "2026-07"

#: Alternative spellings accepted by :meth:`SimConfig.update` (Shopify's own names).
ALIASES = {
    "maximum_available": "bucket_size",
    "restore_rate_per_second": "restore_rate",
    "latency": "latency_ms",
    "token": "access_token",
}


@dataclass
class SimConfig:
    """Everything a test may want to turn. Defaults model a Standard-plan dev store."""

    #: Value the ``X-Shopify-Access-Token`` header must carry; anything else gets HTTP 401.
    access_token: str = "shpat_simulator"
    #: ``X-Shopify-API-Version`` answered and sent on webhooks.
    api_version: str = API_VERSION
    #: ``X-Shopify-Shop-Domain`` on webhooks and ``shop_domain`` in privacy payloads.
    shop_domain: str = "sim-shop.myshopify.com"
    #: ``shop_id`` in privacy webhook payloads.
    shop_id: int = 548380009
    #: Shop currency used when an order does not say otherwise.
    currency: str = "USD"
    #: Added to every GraphQL request before it is processed (models network + Shopify time).
    latency_ms: float = 0.0
    #: Leaky bucket size (``throttleStatus.maximumAvailable``); Standard plan = 2000.
    bucket_size: float = 2000.0
    #: Points restored per second (``throttleStatus.restoreRate``); Standard plan = 100.
    restore_rate: float = 100.0
    #: Single-query cost ceiling (``MAX_COST_EXCEEDED`` above it), as Shopify documents.
    max_query_cost: int = 1000
    #: Orders younger than this are invisible to ``orders(query:)`` (search-index lag).
    search_lag_seconds: float = 0.0
    #: Access scopes the app "lacks": root fields needing them answer ``ACCESS_DENIED``.
    missing_scopes: frozenset[str] = field(default_factory=frozenset)
    #: Where webhooks are POSTed; ``None`` disables automatic deliveries.
    webhook_target_url: str | None = None
    #: HMAC key for ``X-Shopify-Hmac-Sha256`` (the app's client secret on real Shopify).
    webhook_secret: str = "sim-webhook-secret"
    #: Topics "subscribed" for automatic deliveries; ``None`` means every topic.
    webhook_topics: frozenset[str] | None = None
    #: Per-delivery HTTP timeout (Shopify allows about 5 s).
    webhook_timeout_seconds: float = 5.0
    #: How long a ``timeout``/``after_effect_timeout`` fault sleeps (longer than the client's timeout).
    timeout_seconds: float = 5.0
    #: ``Retry-After`` header value sent with a ``429`` fault.
    retry_after: str = "1.0"
    #: How long an ``orderCancel`` job stays ``done: false``.
    job_delay_seconds: float = 0.0
    #: Log every request handled by the foreground server (``run``) / ``SimServer``.
    verbose: bool = False
    # -- the app installed on the shop (OAuth side, see oauth.py) --------------------------
    #: The app's client id: ``/admin/oauth/authorize`` and ``/admin/oauth/access_token`` accept no other.
    client_id: str = "sim-client-id"
    #: The app's client secret: authenticates token requests and keys the callback's ``hmac``.
    client_secret: str = "sim-client-secret"
    #: Redirect URIs allowed at ``/admin/oauth/authorize`` (exact match); empty allows any.
    redirect_uris: frozenset[str] = field(default_factory=frozenset)
    #: Scopes the merchant grants; ``None`` grants what was asked (client credentials: every known scope).
    granted_scopes: frozenset[str] | None = None
    #: ``expires_in`` of expiring offline access tokens (Shopify: 3600).
    access_token_lifetime_seconds: float = 3600.0
    #: ``refresh_token_expires_in`` of refresh tokens (Shopify: 90 days).
    refresh_token_lifetime_seconds: float = 90 * 86400.0
    #: ``expires_in`` of client-credentials tokens (Shopify: 86399, about a day).
    client_credentials_lifetime_seconds: float = 86399.0
    #: How long an authorization code can be exchanged (Shopify: one minute, once).
    authorization_code_lifetime_seconds: float = 60.0
    #: ``/admin/oauth/authorize`` approves at once; false models a merchant who declines.
    auto_approve: bool = True

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def update(self, changes: dict[str, Any]) -> None:
        """Apply ``changes`` (JSON-ish values) atomically; unknown keys raise ``ValueError``."""
        known = {f.name: f for f in fields(self)}
        converted: dict[str, Any] = {}
        for raw_key, value in changes.items():
            key = ALIASES.get(raw_key, raw_key)
            if key not in known:
                raise ValueError(f"unknown simulator setting {raw_key!r}; known: {sorted(known)}")
            try:
                converted[key] = _convert(key, value)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"invalid value for {raw_key}: {value!r} ({exc})") from exc
        with self._lock:
            for key, value in converted.items():
                setattr(self, key, value)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view (sets become sorted lists)."""
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, frozenset):
                data[key] = sorted(value)
        return data


def _convert(key: str, value: Any) -> Any:
    """Coerce a JSON value to the type the setting needs, rejecting nonsense early."""
    if key in ("missing_scopes", "webhook_topics", "redirect_uris", "granted_scopes"):
        if value is None:
            if key in ("missing_scopes", "redirect_uris"):
                return frozenset()
            return None
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list | tuple | set | frozenset):
            raise ValueError(f"{key} must be a list of strings")
        return frozenset(str(item) for item in value)
    if key == "webhook_target_url":
        return None if value in (None, "") else str(value)
    if key in (
        "access_token",
        "api_version",
        "shop_domain",
        "currency",
        "webhook_secret",
        "retry_after",
        "client_id",
        "client_secret",
    ):
        if value is None:
            raise ValueError(f"{key} must not be null")
        return str(value)
    if key in ("shop_id", "max_query_cost"):
        return int(value)
    if key in ("verbose", "auto_approve"):
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    number = float(value)
    if number < 0:
        raise ValueError(f"{key} must not be negative")
    if key in ("bucket_size", "restore_rate") and number <= 0:
        raise ValueError(f"{key} must be positive")
    return number
