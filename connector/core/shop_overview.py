"""What the Shops page and ``GET /api/v1/shops`` show about one shop, read from its row.

One builder for both, so the console and the API cannot disagree. It never copies a credential: the
access token, refresh token, client secret and webhook secrets are reduced to "set" / "not set"
before anything leaves this module, and ``ShopOverview`` has no field that could hold one.

Required scopes come from the shop's plugin (``connector_check_scopes``): the host knows no
provider's scope names, only what the plugin says is needed and missing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pluggy import PluginManager

from connector.core.hooktypes import ScopeCheck
from connector.core.tables import Shop, ShopConnection, ShopStatus

#: How a shop's token is obtained, in the words the page uses.
CONNECTION_LABELS: dict[str, str] = {
    ShopConnection.INSTALL: "Install",
    ShopConnection.CLIENT_CREDENTIALS: "Client credentials",
    ShopConnection.STATIC_TOKEN: "Static token",
}
STATUS_LABELS: dict[str, str] = {
    ShopStatus.CONNECTED: "Connected",
    ShopStatus.AWAITING_BRAND: "Awaiting a brand",
    ShopStatus.NEEDS_RECONNECT: "Needs reconnecting",
    ShopStatus.DISCONNECTED: "Disconnected",
}
#: Webhook subscription health as one word: nothing synced yet, the last sync left everything in order, or not.
WEBHOOKS_NEVER_SYNCED = "never_synced"
WEBHOOKS_OK = "ok"
WEBHOOKS_PROBLEMS = "problems"
#: Keys of the sync summary that, when non-empty, mean the subscriptions are not as they should be.
_PROBLEM_KEYS = ("error", "errors", "problems", "failed")


@dataclass(frozen=True)
class Scopes:
    granted: tuple[str, ...]
    #: None when no installed plugin speaks for the shop's provider (then nothing is known to be missing).
    required: tuple[str, ...] | None
    missing: tuple[str, ...]
    #: Whether the grant was recorded at all: a static token pasted before grants were tracked has none, and its
    #: scopes are unknown, not missing.
    recorded: bool = True


@dataclass(frozen=True)
class Webhooks:
    state: str
    synced_at: datetime | None
    #: The last sync's summary as the sync stored it (a JSON object), or None.
    summary: dict[str, Any] | None


@dataclass(frozen=True)
class RateLimit:
    available: float
    maximum: float
    restore_rate: float
    at: datetime | None


@dataclass(frozen=True)
class ShopOverview:
    """Everything shown about a shop; credentials only as whether they are set."""

    id: int
    domain: str
    provider: str
    brand_id: int | None
    brand_name: str | None
    connection_kind: str
    connection_label: str
    status: str
    status_label: str
    status_reason: str | None
    status_changed_at: datetime | None
    scopes: Scopes
    access_token_set: bool
    access_token_expires_at: datetime | None
    #: Static tokens (and legacy offline tokens) never expire.
    access_token_expires: bool
    token_refreshed_at: datetime | None
    refresh_token_set: bool
    refresh_token_expires_at: datetime | None
    client_id: str | None
    client_secret_set: bool
    webhooks: Webhooks
    last_success_at: datetime | None
    rate_limit: RateLimit | None
    installed_at: datetime | None
    uninstalled_at: datetime | None
    created_at: datetime

    @property
    def callable(self) -> bool:
        return self.status == ShopStatus.CONNECTED and self.brand_id is not None


def parse_scopes(text: str | None) -> tuple[str, ...]:
    """Scope handles from the stored comma-separated text, trimmed, once each, in order."""
    seen: dict[str, None] = {}
    for part in (text or "").split(","):
        if part.strip():
            seen.setdefault(part.strip(), None)
    return tuple(seen)


def scope_check(plugins: PluginManager, provider: str, granted: tuple[str, ...]) -> Scopes:
    check: ScopeCheck | None = plugins.hook.connector_check_scopes(provider=provider, granted=granted)
    recorded = bool(granted)
    if check is None:
        return Scopes(granted=granted, required=None, missing=(), recorded=recorded)
    missing = tuple(check.missing) if recorded else ()
    return Scopes(granted=granted, required=tuple(check.required), missing=missing, recorded=recorded)


def _json_object(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) and value else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def rate_limit_of(text: str | None) -> RateLimit | None:
    """``Shop.rate_limit`` as written by ``shop_health`` (anything malformed reads as unknown)."""
    data = _json_object(text)
    if data is None:
        return None
    available, maximum, rate = (_number(data.get(k)) for k in ("available", "maximum", "restore_rate"))
    if available is None or maximum is None or rate is None:
        return None
    moment = _moment(data.get("at"))
    return RateLimit(available=available, maximum=maximum, restore_rate=rate, at=moment)


def webhooks_of(shop: Shop) -> Webhooks:
    summary = _json_object(shop.webhook_health)
    if shop.webhooks_synced_at is None and summary is None:
        return Webhooks(state=WEBHOOKS_NEVER_SYNCED, synced_at=None, summary=None)
    # The sync's own verdict when it gave one (``shop_webhooks.health_json`` writes ``healthy``), else:
    # nothing listed under a problem key.
    verdict = summary.get("healthy", summary.get("ok")) if summary else None
    problems = any(summary.get(key) for key in _PROBLEM_KEYS) if summary else False
    healthy = verdict if isinstance(verdict, bool) else not problems
    return Webhooks(
        state=WEBHOOKS_OK if healthy else WEBHOOKS_PROBLEMS, synced_at=shop.webhooks_synced_at, summary=summary
    )


def overview(shop: Shop, plugins: PluginManager, brand_name: str | None = None) -> ShopOverview:
    """The shop as the page and the API show it (``brand_name`` from the caller's join; no lazy load)."""
    kind = shop.connection_kind
    return ShopOverview(
        id=shop.id,
        domain=shop.domain,
        provider=shop.provider,
        brand_id=shop.brand_id,
        brand_name=brand_name,
        connection_kind=kind,
        connection_label=CONNECTION_LABELS.get(kind, kind.replace("_", " ").capitalize()),
        status=shop.status,
        status_label=STATUS_LABELS.get(shop.status, shop.status.replace("_", " ").capitalize()),
        status_reason=shop.status_reason,
        status_changed_at=shop.status_changed_at,
        scopes=scope_check(plugins, shop.provider, parse_scopes(shop.granted_scopes)),
        access_token_set=bool(shop.access_token),
        access_token_expires_at=shop.access_token_expires_at,
        access_token_expires=shop.access_token_expires_at is not None,
        token_refreshed_at=shop.token_refreshed_at,
        refresh_token_set=bool(shop.refresh_token),
        refresh_token_expires_at=shop.refresh_token_expires_at,
        client_id=shop.client_id if kind == ShopConnection.CLIENT_CREDENTIALS else None,
        client_secret_set=bool(shop.client_secret),
        webhooks=webhooks_of(shop),
        last_success_at=shop.last_success_at,
        rate_limit=rate_limit_of(shop.rate_limit),
        installed_at=shop.installed_at,
        uninstalled_at=shop.uninstalled_at,
        created_at=shop.created_at,
    )


def relative(moment: datetime | None, now: datetime) -> str:
    """``in 42 min``, ``3 h ago``, ``in 2 days``: how far ``moment`` is from ``now``, roughly."""
    if moment is None:
        return ""
    seconds = (moment - now).total_seconds()
    ahead = seconds >= 0
    span = abs(seconds)
    if span < 1:
        return "just now"
    if span < 60:
        amount = f"{int(span)} s"
    elif span < 3600:
        amount = f"{int(span // 60)} min"
    elif span < 2 * 86400:
        amount = f"{int(span // 3600)} h"
    else:
        amount = f"{int(span // 86400)} days"
    return f"in {amount}" if ahead else f"{amount} ago"
