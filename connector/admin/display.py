"""How redemptions read on screen: labels, dates, the error shown on hover, which actions apply.

The rules for which button shows come from the lifecycle table and the access
rules (``sources_of``, ``Actor.check_can_act``), the same ones the use cases
enforce, so a button is offered exactly when pressing it can succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import url_for

from connector.admin.blueprint import bp
from connector.core.access import Actor
from connector.core.errors import PermissionDeniedError, catalog_entry
from connector.core.lifecycle import sources_of
from connector.core.links import safe_link, shop_admin_url
from connector.core.member_edit import MEMBER_ERROR_CODES
from connector.core.model import DELIVERY_RANK, DeliveryStatus, FulfilmentChannel, RedemptionEvent, RedemptionStatus
from connector.core.reward_catalogue import REWARD_ERROR_CODES
from connector.core.tables import Redemption

REVERSIBLE = frozenset(sources_of(RedemptionEvent.REVERSE))
RETRYABLE = frozenset(sources_of(RedemptionEvent.RETRY))
#: A confirmation is true of a pending or fulfilled redemption only (core.redemptions.resend_confirmation).
RESENDABLE = frozenset({RedemptionStatus.PENDING, RedemptionStatus.FULFILLED})
#: The shop refuses to cancel an order past these (the core refuses too, with the same reason).
NOT_CANCELLABLE = frozenset({DeliveryStatus.SHIPPED, DeliveryStatus.DELIVERED, DeliveryStatus.CANCELLED})

#: Where the parcel is, in the words a member would use on the phone. The shop's own word for an order that
#: has not shipped is "unfulfilled", which read as a contradiction beside a FULFILLED redemption (our word
#: for "the shop order was placed"), so the shop's fulfilment words are not used here.
DELIVERY_LABELS: dict[str, str] = {
    DeliveryStatus.UNFULFILLED: "Not shipped yet",
    DeliveryStatus.IN_PROGRESS: "Being prepared",
    DeliveryStatus.SHIPPED: "In transit",
    DeliveryStatus.DELIVERED: "Delivered",
    DeliveryStatus.FAILURE: "Delivery failed",
    DeliveryStatus.CANCELLED: "Order cancelled",
}
#: The happy path drawn as a progress bar on the details page, each step named for what has happened.
DELIVERY_STEPS: tuple[tuple[DeliveryStatus, str], ...] = (
    (DeliveryStatus.UNFULFILLED, "Order placed"),
    (DeliveryStatus.IN_PROGRESS, "Being prepared"),
    (DeliveryStatus.SHIPPED, "In transit"),
    (DeliveryStatus.DELIVERED, "Delivered"),
)


def can_act(actor: Actor) -> bool:
    try:
        actor.check_can_act()
    except PermissionDeniedError:
        return False
    return True


@bp.app_template_filter("when")
def when(value: datetime | None) -> str:
    """Dates in UTC, to the minute: the same clock the API and the CSV use."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else ""


@bp.app_template_filter("number")
def number(value: int | None) -> str:
    """Every count and amount of points in one format, with thousands separators: ``2,000``."""
    return f"{value:,}" if value is not None else ""


@bp.app_template_filter("signed")
def signed(value: int) -> str:
    """A points change with its sign, in the same format: ``+3,000``, ``-500``."""
    return f"{value:+,}"


def count_label(n: int, cap: int) -> str:
    """A tab's count: exact up to ``cap``, then ``1,000+`` (the counts stop reading there)."""
    return f"{number(cap)}+" if n > cap else number(n)


@bp.app_template_filter("iso")
def iso(value: datetime | None) -> str:
    return value.isoformat().replace("+00:00", "Z") if value is not None else ""


@bp.app_template_global()
def is_shop_order(r: Redemption) -> bool:
    """Only shop (Shopify) rewards have a delivery to track; email rewards show none (seed 004)."""
    return bool(r.channel == FulfilmentChannel.SHOPIFY)


@bp.app_template_global()
def delivery_label(r: Redemption) -> str:
    if not is_shop_order(r):
        return ""
    if r.delivery_status:
        return DELIVERY_LABELS.get(r.delivery_status, r.delivery_status)
    return "No order yet" if r.status != RedemptionStatus.REVERSED else ""


@dataclass(frozen=True)
class ErrorView:
    title: str
    message: str
    fix: str
    field: str | None
    #: A temporary error while pending: the connector retries it by itself.
    retrying: bool
    #: The page that fixes it (the member's or the reward's edit page), and the link's words.
    fix_url: str | None = None
    fix_link: str | None = None


@bp.app_template_global()
def error_of(r: Redemption) -> ErrorView | None:
    """The error to show on the status label: the stored message and fix, or the catalogue's."""
    if not r.error_code:
        return None
    entry = catalog_entry(r.error_code)
    return ErrorView(
        title=entry.title,
        message=r.error_message or entry.message,
        fix=r.error_fix or entry.fix,
        field=r.error_field,
        retrying=r.status == RedemptionStatus.PENDING,
        **_fix_link(r),
    )


def _fix_link(r: Redemption) -> dict[str, str]:
    """Straight to the page the fix text names: the member's edit page, or the reward's in the Rewards section."""
    if r.error_code in MEMBER_ERROR_CODES:
        return {"fix_url": url_for("admin.member_edit_page", member_id=r.member_id), "fix_link": "Edit the member"}
    if r.error_code in REWARD_ERROR_CODES:
        return {"fix_url": url_for("admin.reward_edit", reward_id=r.reward_id), "fix_link": "Edit the reward"}
    return {}


@bp.app_template_global()
def tracking_link(r: Redemption) -> str | None:
    """The tracking URL when it is safe as a link (absolute http or https); None shows the number as text.

    Tracking URLs come from shop webhooks. Webhooks no longer store other schemes, but rows stored
    earlier may hold ``javascript:``; the CSP would block it, and this keeps it from being a link at all.
    """
    return safe_link(r.tracking_url)


@bp.app_template_global()
def order_url(r: Redemption) -> str | None:
    """The order in the shop's admin, once the order exists."""
    return shop_admin_url(r.shop.domain if r.shop else None, r.external_order_id)


@bp.app_template_global()
def may_retry(actor: Actor, r: Redemption) -> bool:
    return can_act(actor) and r.status in RETRYABLE


@bp.app_template_global()
def may_reverse(actor: Actor, r: Redemption) -> bool:
    return can_act(actor) and r.status in REVERSIBLE


@bp.app_template_global()
def may_resend(actor: Actor, r: Redemption) -> bool:
    return can_act(actor) and r.status in RESENDABLE and bool(r.member.email)


def order_cancellable(r: Redemption) -> bool:
    """A shop order exists and has not shipped, been delivered or been cancelled."""
    return bool(r.external_order_id) and r.order_cancelled_at is None and r.delivery_status not in NOT_CANCELLABLE


@bp.app_template_global()
def delivery_steps(r: Redemption) -> list[tuple[str, str]]:
    """Each step of the delivery progress with its state: ``done``, ``current`` or ``todo``."""
    current = DeliveryStatus(r.delivery_status) if r.delivery_status else None
    on_path = current in {step for step, _ in DELIVERY_STEPS}
    rank = DELIVERY_RANK[current] if current is not None and on_path else -1
    steps = []
    for step, label in DELIVERY_STEPS:
        step_rank = DELIVERY_RANK[step]
        state = "done" if step_rank < rank else "current" if step_rank == rank else "todo"
        steps.append((label, state))
    return steps
