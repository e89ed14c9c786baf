"""The webhook half of the plugin contract: subscription health a plugin reports, and the effects it reads
out of a delivery for the core to apply.

Kept apart from ``hooktypes`` (which re-exports every name) so each file holds one concern; plugins may
import either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from connector.core.model import DeliveryStatus

# -- webhook subscriptions a plugin keeps for a shop (``connector_sync_webhooks``) ---------------


@dataclass(frozen=True)
class WebhookTopicHealth:
    """One topic after a sync: is the shop sending it to the connector, and how?"""

    topic: str
    #: ``ok`` (already right), ``created``, ``updated``, ``unfiltered`` (subscribed, but the shop refused the
    #: filter, so every event of the topic arrives), ``deleted`` (no longer wanted) or ``error``.
    status: str
    subscription_id: str | None = None
    filter: str | None = None
    include_fields: tuple[str, ...] = ()
    #: The shop's own words when something went wrong.
    detail: str = ""


@dataclass(frozen=True)
class WebhookSyncReport:
    """What one sync of a shop's webhook subscriptions found and changed."""

    uri: str
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    #: Subscriptions pointing at another address (not ours to change): their addresses.
    foreign_uris: tuple[str, ...] = ()
    topics: tuple[WebhookTopicHealth, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted)

    @property
    def healthy(self) -> bool:
        """Every wanted topic is subscribed as wanted (``unfiltered`` still delivers, so it counts)."""
        return all(t.status != "error" for t in self.topics)


# -- effects a plugin reads out of a webhook payload; the core applies them ---------------
# The core applies each within the shop that signed the delivery: that shop's orders and its
# brand's members only, matched exactly. No effect carries a shop or brand of its own.


@dataclass(frozen=True)
class DeliveryUpdate:
    order_id: str
    status: DeliveryStatus
    updated_at: datetime | None
    tracking_number: str | None = None
    tracking_url: str | None = None


@dataclass(frozen=True)
class RetryErrorsForSku:
    skus: tuple[str, ...]


@dataclass(frozen=True)
class RetryErrorsForCustomer:
    customer_id: str
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class RedactCustomer:
    customer_id: str | None
    email: str | None
    phone: str | None


@dataclass(frozen=True)
class RedactShop:
    shop_domain: str


@dataclass(frozen=True)
class ShopUninstalled:
    """The merchant removed the app from the signing shop: disconnect it and park its pending redemptions."""

    shop_domain: str
    #: When the shop says it happened (the delivery's trigger time). An uninstall from before the shop's
    #: latest install concerns an earlier installation and is ignored: a late delivery must not undo a reinstall.
    uninstalled_at: datetime | None = None


@dataclass(frozen=True)
class ForgetCached:
    """Something the shop changed makes these entries of its cache (``ShopInfo.cache``) stale."""

    keys: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class CustomerDataRequest:
    customer_id: str | None
    email: str | None
    phone: str | None
    request_id: str | None


WebhookEffect = (
    DeliveryUpdate
    | RetryErrorsForSku
    | RetryErrorsForCustomer
    | RedactCustomer
    | RedactShop
    | CustomerDataRequest
    | ShopUninstalled
    | ForgetCached
)
