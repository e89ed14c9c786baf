"""Domain vocabulary shared by storage, services, plugins and the web layers.

The enum values are the strings stored in the database and shown in the UI and
API, so they are part of the public contract: never rename one.
"""

from __future__ import annotations

from enum import StrEnum


class RedemptionStatus(StrEnum):
    PENDING = "pending"
    FULFILLED = "fulfilled"
    ERROR = "error"
    REVERSED = "reversed"


class RedemptionEvent(StrEnum):
    """What can happen to a redemption; the lifecycle table is keyed by these."""

    FULFIL = "fulfil"
    FAIL = "fail"
    RETRY = "retry"
    REVERSE = "reverse"


class DeliveryStatus(StrEnum):
    """Where a shop order is on its way to the member (shop orders only)."""

    UNFULFILLED = "unfulfilled"
    IN_PROGRESS = "in_progress"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    FAILURE = "failure"
    CANCELLED = "cancelled"


#: How far along each delivery status is; a webhook may only move a redemption forward.
DELIVERY_RANK: dict[DeliveryStatus, int] = {
    DeliveryStatus.UNFULFILLED: 0,
    DeliveryStatus.IN_PROGRESS: 1,
    DeliveryStatus.SHIPPED: 2,
    DeliveryStatus.FAILURE: 3,
    DeliveryStatus.DELIVERED: 4,
    DeliveryStatus.CANCELLED: 5,
}


class FulfilmentChannel(StrEnum):
    SHOPIFY = "shopify"
    EMAIL = "email"


class LedgerKind(StrEnum):
    EARNED = "earned"
    SPENT = "spent"
    RETURNED = "returned"
    ADJUSTED = "adjusted"


class Role(StrEnum):
    PLATFORM_ADMIN = "platform_admin"
    BRAND_ADMIN = "brand_admin"
    SUPPORT = "support"
    VIEWER = "viewer"
    #: Frequent-buyer parties: scoped to one distributor or one retailer, never to brand redemptions.
    DISTRIBUTOR = "distributor"
    RETAILER = "retailer"
    #: A retailer's counter login (seed 002's "Cashier User"): Checkout only, for its one retailer.
    CASHIER = "cashier"


class Tab(StrEnum):
    """The Fulfillments screen's tabs (seed 004), plus the Reversed view."""

    UNFULFILLED = "unfulfilled"
    FULFILLED = "fulfilled"
    REVERSED = "reversed"


TAB_STATUSES: dict[Tab, tuple[RedemptionStatus, ...]] = {
    Tab.UNFULFILLED: (RedemptionStatus.PENDING, RedemptionStatus.ERROR),
    Tab.FULFILLED: (RedemptionStatus.FULFILLED,),
    Tab.REVERSED: (RedemptionStatus.REVERSED,),
}
