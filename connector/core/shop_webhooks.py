"""Keep each shop's webhook subscriptions as the connector needs them, and remember how that went.

The plugin knows which topics, filters and fields its handlers need (``connector_sync_webhooks``);
the host knows the shops, the public address and where to keep the result. One sync asks the
shop's plugin to make its subscriptions to ``{CONNECTOR_PUBLIC_URL}/webhooks/<provider>`` right and
stores the outcome on that shop's row only: ``webhooks_synced_at`` (the last sync that reached the
shop) and ``webhook_health`` (JSON: counts, per-topic status, or the error), which the Shops page
and ``GET /api/v1/shops`` show. Shops that are not connected get no call; their health is kept.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update

from connector.core.database import transaction
from connector.core.errors import ConnectorError, NotFoundError, ProviderError, ValidationError
from connector.core.hooktypes import WebhookSyncReport
from connector.core.runtime import Runtime
from connector.core.shop_tokens import shop_for_plugin, status_error
from connector.core.tables import Shop

PUBLIC_URL_VARIABLE = "CONNECTOR_PUBLIC_URL"


def webhook_uri(public_url: str | None, provider: str) -> str:
    """``{public_url}/webhooks/<provider>``, the route ``connector.webhooks`` serves; a bad base is refused."""
    base = (public_url or "").strip().rstrip("/")
    problem = None
    if not base:
        problem = "it is not set"
    else:
        try:
            parts = urlsplit(base)
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("https", "http") or not parts.hostname:
            problem = f"{base!r} is not an absolute https:// URL"
        elif parts.query or parts.fragment or parts.username is not None or parts.password is not None:
            problem = f"{base!r} has a query, fragment or credentials"
    if problem:
        raise ValidationError(
            f"{PUBLIC_URL_VARIABLE} {problem}: shops deliver webhooks to "
            f"{{{PUBLIC_URL_VARIABLE}}}/webhooks/{provider}. Set it to the https:// address shops reach the "
            "connector at, e.g. https://rewards.example.com.",
            fields={PUBLIC_URL_VARIABLE: problem},
        )
    return f"{base}/webhooks/{provider}"


@dataclass(frozen=True)
class ShopWebhookSync:
    """One shop's sync: the plugin's report, or why there is none."""

    shop_id: int
    domain: str
    report: WebhookSyncReport | None = None
    #: The shop could not be synced (refused, unreachable, no plugin); stored as its health.
    error: str | None = None
    #: The shop was not called at all (not connected); its stored health is left as it was.
    skipped: str | None = None

    @property
    def changed(self) -> bool:
        return self.report is not None and self.report.changed


def health_json(report: WebhookSyncReport | None, error: str | None, at: datetime) -> str:
    """What ``shops.webhook_health`` holds: the last sync's counts and per-topic status, or its error."""
    data: dict[str, Any] = {"at": at.isoformat(), "healthy": error is None and report is not None and report.healthy}
    if error is not None:
        data["error"] = error
    if report is not None:
        data.update(
            uri=report.uri,
            created=report.created,
            updated=report.updated,
            deleted=report.deleted,
            unchanged=report.unchanged,
            foreign_uris=list(report.foreign_uris),
            topics={
                t.topic: {k: v for k, v in asdict(t).items() if k != "topic" and v not in (None, "", ())}
                for t in report.topics
            },
        )
    return json.dumps(data, sort_keys=True)


def sync_shop_webhooks(
    rt: Runtime, shop_id: int, *, public_url: str | None, brand_id: int | None = None
) -> ShopWebhookSync:
    """Sync one shop (only within ``brand_id`` when given: a brand admin reaches no other brand's shop)."""
    conditions = [Shop.id == shop_id]
    if brand_id is not None:
        conditions.append(Shop.brand_id == brand_id)
    with rt.sessions() as s:
        shop = s.scalars(select(Shop).where(*conditions)).first()
        if shop is None:
            raise NotFoundError(f"no shop {shop_id}")
        domain, provider = shop.domain, shop.provider
        blocked = status_error(shop)
        if blocked is not None:
            return ShopWebhookSync(shop_id, domain, skipped=blocked.message)
        info = shop_for_plugin(rt, shop)
    uri = webhook_uri(public_url, provider)

    report: WebhookSyncReport | None = None
    error: str | None = None
    try:
        report = rt.plugins.hook.connector_sync_webhooks(
            shop=info, webhook_uri=uri, provider=provider, ctx=rt.hook_context(provider)
        )
        if report is None:
            error = f"no installed plugin manages webhook subscriptions for {provider!r} shops"
    except ProviderError as exc:
        # A redemption's "retries automatically" does not apply here: nothing re-runs a sync by itself.
        fix = "Sync again once the shop answers (Sync webhooks, or connector shops sync-webhooks)."
        error = f"{exc.message} {fix if exc.retryable else exc.fix}".strip()
    except ConnectorError as exc:
        error = exc.message

    now = rt.now()
    values: dict[str, Any] = {"webhook_health": health_json(report, error, now)}
    if report is not None:
        values["webhooks_synced_at"] = now
    with transaction(rt.sessions) as s:
        s.execute(update(Shop).where(Shop.id == shop_id).values(**values).execution_options(synchronize_session=False))
    return ShopWebhookSync(shop_id, domain, report=report, error=error)


def shops_to_sync(rt: Runtime, *, domain: str | None = None) -> list[int]:
    """Ids of one shop (by exact domain) or of every shop whose webhooks are accepted, oldest first."""
    query = select(Shop.id).order_by(Shop.id)
    query = query.where(Shop.domain == domain.strip()) if domain else query.where(Shop.active.is_(True))
    with rt.sessions() as s:
        return list(s.scalars(query))
