"""Webhook effects applied within the shop that signed the delivery: delivery updates, retries, privacy, cache.

A valid signature proves which shop sent a body, nothing more: a shop of one brand can put any email,
customer id or order id in a body it signs. So ``webhook_intake.process_webhook`` resolves the signing
shop once, as a ``ShopScope``, and every lookup here is confined to it: its brand's members, its own
redemptions (``Redemption.shop_id``), its own stored deliveries. Every match is exact (an email in any
case); a LIKE may narrow candidates, never decide.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, update
from sqlalchemy.orm import Session

from connector.core.hooktypes import (
    CustomerDataRequest,
    DeliveryUpdate,
    ForgetCached,
    RedactCustomer,
    RedactShop,
    RetryErrorsForCustomer,
    RetryErrorsForSku,
    ShopUninstalled,
    WebhookEffect,
)
from connector.core.links import safe_link
from connector.core.model import DELIVERY_RANK, DeliveryStatus, RedemptionStatus
from connector.core.redemptions import reopen_for_retry
from connector.core.runtime import Runtime
from connector.core.shop_cache import forget_entries
from connector.core.shop_lifecycle import disconnect_shop
from connector.core.storable import declared_length, text_problem, utc_or_none
from connector.core.tables import Member, OutboundMessage, Redemption, Reward, Shop, WebhookDelivery
from connector.core.timeline import record_event

_CUSTOMER_ERRORS = ("crm_id_not_found", "missing_user_information")


@dataclass(frozen=True)
class ShopScope:
    """The shop that signed a delivery: the only shop, and the only brand, its effects may touch.

    ``brand_id`` is None while the shop awaits a brand (installed from Shopify's side): no brand's data
    is then in reach, so only the effects on the shop itself apply (uninstall, shop and customer redaction
    of its own stored bodies).
    """

    shop_id: int
    brand_id: int | None
    domain: str


#: What a shop awaiting a brand may still do: effects on the shop itself and its own stored bodies.
_BRANDLESS_EFFECTS = (ShopUninstalled, RedactShop, RedactCustomer, ForgetCached)
#: The reason a shop shows (and its parked redemptions say) after the merchant removed the app.
UNINSTALLED_REASON = "the app was uninstalled from the shop"


def _without_unusable_text(effect: WebhookEffect) -> WebhookEffect | None:
    """``effect`` with each unusable text value dropped; None when a value it cannot do without is unusable.

    A signed payload's values are still untrusted: a NUL in a phone used in a lookup, or in a tracking
    number to store, made PostgreSQL refuse the statement, and the delivery failed in the drain on every
    retry, forever. Such a value matches nothing and can be stored nowhere, so it is treated as absent:
    an optional one becomes None, a list loses it, and an effect that needs it (the order of a delivery
    update) has no effect at all.
    """
    changes: dict[str, Any] = {}
    for f in fields(effect):
        value = getattr(effect, f.name)
        if isinstance(value, str) and text_problem(value):
            if "None" not in str(f.type):
                return None
            changes[f.name] = None
        elif isinstance(value, tuple) and any(isinstance(v, str) and text_problem(v) for v in value):
            changes[f.name] = tuple(v for v in value if not (isinstance(v, str) and text_problem(v)))
    return replace(effect, **changes) if changes else effect


def apply_effect(
    rt: Runtime,
    s: Session,
    effect: WebhookEffect,
    scope: ShopScope,
    actor: str,
    now: datetime,
) -> list[tuple[int, int]]:
    """Apply one effect within ``scope``; the (redemption id, attempts) of redemptions to fulfil again."""
    usable = _without_unusable_text(effect)
    if usable is None:
        rt.log.warning("webhook effect %s names a value no stored text can hold; no effect", type(effect).__name__)
        return []
    effect = usable
    if scope.brand_id is None and not isinstance(effect, _BRANDLESS_EFFECTS):
        rt.log.info("webhook effect %s from %s: the shop has no brand yet; none", type(effect).__name__, scope.domain)
        return []
    if isinstance(effect, ShopUninstalled):
        _apply_uninstall(rt, s, effect, scope, actor, now)
    elif isinstance(effect, ForgetCached):
        # The signing shop's own cache only: another shop's entries are never named by shop here.
        forget_entries(s, scope.shop_id, effect.keys, effect.tags)
    elif isinstance(effect, DeliveryUpdate):
        _apply_delivery(s, effect, scope, actor, now)
    elif isinstance(effect, RetryErrorsForSku):
        failed = (
            select(Redemption)
            .join(Reward, Reward.id == Redemption.reward_id)
            .where(Redemption.error_code == "product_not_found", Reward.sku.in_(effect.skus))
        )
        return _retry_failed(s, scope, failed, actor, now, "the product was updated in the shop")
    elif isinstance(effect, RetryErrorsForCustomer):
        match = [Member.shop_customer_id == effect.customer_id]
        if effect.email:
            match.append(_email_is(effect.email))
        failed = (
            select(Redemption)
            .join(Member, Member.id == Redemption.member_id)
            .where(Member.brand_id == scope.brand_id, Redemption.error_code.in_(_CUSTOMER_ERRORS), or_(*match))
        )
        return _retry_failed(s, scope, failed, actor, now, "the customer was updated in the shop")
    elif isinstance(effect, RedactCustomer):
        redact_customer(s, effect, scope, now)
    elif isinstance(effect, RedactShop):
        if effect.shop_domain == scope.domain:
            _disconnect(s, scope, "the shop asked for its data to be erased (shop/redact)", actor, now)
            redact_shop(s, scope.domain, now)
        else:
            rt.log.warning("shop/redact from %s names another shop; ignored", scope.domain)
    elif isinstance(effect, CustomerDataRequest):
        export_customer_data(rt, s, effect, scope)
    return []


def _apply_uninstall(
    rt: Runtime, s: Session, effect: ShopUninstalled, scope: ShopScope, actor: str, now: datetime
) -> None:
    """app/uninstalled: the signing shop (and only it) is disconnected at once; a stale one changes nothing."""
    if effect.shop_domain != scope.domain:
        rt.log.warning("app/uninstalled from %s names another shop; ignored", scope.domain)
        return
    shop = s.scalars(select(Shop).where(Shop.id == scope.shop_id).with_for_update()).one()
    happened = utc_or_none(effect.uninstalled_at)
    if happened is not None and shop.installed_at is not None and happened < shop.installed_at:
        rt.log.warning(
            "app/uninstalled from %s happened at %s, before the shop's latest install (%s); ignored",
            scope.domain,
            happened.isoformat(),
            shop.installed_at.isoformat(),
        )
        return
    disconnect_shop(s, shop, reason=UNINSTALLED_REASON, actor=actor, now=now, uninstalled=True)


def _disconnect(s: Session, scope: ShopScope, reason: str, actor: str, now: datetime) -> None:
    shop = s.scalars(select(Shop).where(Shop.id == scope.shop_id).with_for_update()).one()
    disconnect_shop(s, shop, reason=reason, actor=actor, now=now)
    s.flush()


def _email_is(email: str) -> ColumnElement[bool]:
    """The same address in any case: exact, never a pattern (``ix_members_email_lower`` serves it)."""
    return func.lower(Member.email) == email.lower()


_TRACKING_URL_MAX = declared_length(Redemption.__table__.c.tracking_url) or 500
_TRACKING_NUMBER_MAX = declared_length(Redemption.__table__.c.tracking_number) or 100


def _apply_delivery(s: Session, effect: DeliveryUpdate, scope: ShopScope, actor: str, now: datetime) -> None:
    # A time with no UTC value (valid ISO 8601 all the same) cannot be stored: the update is ordered as one without.
    effect = replace(effect, updated_at=utc_or_none(effect.updated_at))
    r = s.scalars(
        select(Redemption)
        .where(Redemption.external_order_id == effect.order_id, Redemption.shop_id == scope.shop_id)
        .with_for_update()
    ).one_or_none()
    if r is None:
        return  # an order this connector did not create in this shop
    current = DeliveryStatus(r.delivery_status) if r.delivery_status else DeliveryStatus.UNFULFILLED
    forward = DELIVERY_RANK[effect.status] > DELIVERY_RANK[current]
    if effect.updated_at and r.delivery_updated_at:
        if effect.updated_at < r.delivery_updated_at:
            return  # older than what we already know: an out-of-order delivery
        if effect.updated_at == r.delivery_updated_at and not forward:
            return  # same second (Shopify's resolution): only progress can be newer
    elif not forward and effect.status != current:
        return  # no timestamp to order by: only move forward
    if r.delivery_status == DeliveryStatus.CANCELLED and effect.status != DeliveryStatus.CANCELLED:
        return
    # Untrusted values that would not fit their columns are dropped, not truncated: a cut tracking number
    # is a wrong one, and an oversize value would fail the whole delivery on PostgreSQL, forever.
    number = effect.tracking_number if len(effect.tracking_number or "") <= _TRACKING_NUMBER_MAX else None
    url = safe_link(effect.tracking_url)
    r.delivery_status = effect.status
    r.delivery_updated_at = effect.updated_at or now
    r.tracking_number = number or r.tracking_number
    r.tracking_url = (url if url and len(url) <= _TRACKING_URL_MAX else None) or r.tracking_url
    if current != effect.status:
        record_event(
            s,
            r,
            actor=actor,
            kind="delivery_updated",
            at=now,
            message=f"delivery {current} → {effect.status}",
            detail={"from": current, "to": effect.status, "tracking_number": number},
        )


def _retry_failed(
    s: Session, scope: ShopScope, failed: Select[Redemption], actor: str, now: datetime, why: str
) -> list[tuple[int, int]]:
    """Reopen, for an automatic retry, the redemptions ``failed`` selects that are in error in the signing shop."""
    rows = s.scalars(
        failed.where(
            Redemption.shop_id == scope.shop_id,
            Redemption.brand_id == scope.brand_id,
            Redemption.status == RedemptionStatus.ERROR,
        )
    ).all()
    return [(r.id, reopen_for_retry(s, r, actor=actor, now=now, why=f"automatic: {why}")) for r in rows]


def _brand_members(
    s: Session, scope: ShopScope, customer_id: str | None, email: str | None, phone: str | None
) -> Sequence[Member]:
    """The signing shop's brand's members the shop's customer may be: same customer id, email or phone, exactly."""
    match: list[ColumnElement[bool]] = []
    if customer_id:
        match.append(Member.shop_customer_id == customer_id)
    if email:
        match.append(_email_is(email))
    if phone:
        match.append(Member.phone == phone)
    if not match or scope.brand_id is None:  # no brand: no member is the shop's (and NULL must not match NULL)
        return []
    return s.scalars(select(Member).where(Member.brand_id == scope.brand_id, or_(*match)).order_by(Member.id)).all()


def redact_customer(s: Session, effect: RedactCustomer, scope: ShopScope, now: datetime) -> int:
    """Erase a customer's personal data within the signing shop's brand: member fields, stored bodies, emails.

    Stored bodies are the signing shop's own, and only those that concern the customer: the
    customer reference is theirs, or their email or phone is one of the body's JSON values. A
    body that merely contains the text (an email of ``"`` is in every body) is not theirs.
    """
    members = _brand_members(s, scope, effect.customer_id, effect.email, effect.phone)
    for m in members:
        m.first_name, m.last_name = "Redacted", "Member"
        m.email = m.phone = m.address1 = m.address2 = m.city = m.zip = None
        m.date_of_birth = None
        m.redacted_at = now
        s.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.redemption_id.in_(
                    select(Redemption.id).where(Redemption.member_id == m.id, Redemption.brand_id == scope.brand_id)
                )
            )
            .values(to_address="redacted", body="")
        )
    ids = _deliveries_about(s, scope.domain, effect)
    for chunk in range(0, len(ids), 500):
        s.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids[chunk : chunk + 500]))
            .values(body=None, redacted_at=now)
            .execution_options(synchronize_session=False)
        )
    return len(members)


def _deliveries_about(s: Session, domain: str, effect: RedactCustomer) -> list[int]:
    """Ids of ``domain``'s stored bodies that concern the customer (see ``redact_customer``).

    The database narrows the candidates (the value's text appears in the body, as written raw or
    JSON-escaped); each candidate is then parsed and kept only if the value is one of its values.
    """
    own = (WebhookDelivery.shop_domain == domain, WebhookDelivery.body.is_not(None))
    found: set[int] = set()
    if effect.customer_id:
        found.update(
            s.scalars(select(WebhookDelivery.id).where(*own, WebhookDelivery.customer_ref == effect.customer_id))
        )
    values = {v for v in (effect.email, effect.phone) if v}
    if not values:
        return sorted(found)
    needles = {n for v in values for n in (v, json.dumps(v)[1:-1], json.dumps(v, ensure_ascii=False)[1:-1]) if n}
    emails = {effect.email.lower()} if effect.email else set()
    candidates = s.execute(
        select(WebhookDelivery.id, WebhookDelivery.body)
        .where(*own, or_(*(WebhookDelivery.body.icontains(n, autoescape=True) for n in needles)))
        .execution_options(yield_per=500)
    )
    for delivery_id, body in candidates:
        # A NULL body never matches icontains: the None check only tells mypy so.
        if delivery_id not in found and body is not None and _has_value(body, values, emails):
            found.add(delivery_id)
    return sorted(found)


def _has_value(body: str, values: set[str], emails: set[str]) -> bool:
    """True when one of the JSON body's string values is one of ``values`` (an email in any case)."""
    try:
        stack: list[Any] = [json.loads(body)]
    except (ValueError, RecursionError):
        return False  # not JSON we can read: it cannot be shown to concern the customer
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and (item in values or item.lower() in emails):
            return True
    return False


def redact_shop(s: Session, domain: str, now: datetime) -> None:
    """shop/redact: the shop uninstalled; drop its credentials (tokens, client secret) and every stored body."""
    s.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.shop_domain == domain, WebhookDelivery.body.is_not(None))
        .values(body=None, redacted_at=now)
        .execution_options(synchronize_session=False)
    )
    s.execute(
        update(Shop)
        .where(Shop.domain == domain)
        .values(active=False, access_token="", refresh_token=None, client_secret=None)
    )


def export_customer_data(rt: Runtime, s: Session, effect: CustomerDataRequest, scope: ShopScope) -> None:
    """customers/data_request: write what the signing shop's brand holds on the customer, for its merchant."""
    shop_domain = scope.domain
    members = _brand_members(s, scope, effect.customer_id, effect.email, effect.phone)
    export = {
        "shop_domain": shop_domain,
        "request_id": effect.request_id,
        "members": [
            {
                "first_name": m.first_name,
                "last_name": m.last_name,
                "email": m.email,
                "phone": m.phone,
                "date_of_birth": m.date_of_birth.isoformat() if m.date_of_birth else None,
                "address": [m.address1, m.address2, m.city, m.province_code, m.country_code, m.zip],
                "redemptions": [
                    {"code": r.code, "status": r.status, "claimed_at": r.claimed_at.isoformat()}
                    for r in s.scalars(
                        select(Redemption)
                        .where(Redemption.member_id == m.id, Redemption.brand_id == scope.brand_id)
                        .order_by(Redemption.id)
                    )
                ],
            }
            for m in members
        ],
    }
    target = rt.settings.outbox_dir / "data-requests"
    target.mkdir(parents=True, exist_ok=True)
    name = f"{shop_domain}-{effect.request_id or effect.customer_id or 'request'}.json".replace("/", "_")
    (target / name).write_text(json.dumps(export, indent=2))
