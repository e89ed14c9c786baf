"""Webhooks in: verify, store once, answer fast; act on them later, once.

The request path does only CPU work and one insert (reliability.md §1.6). The
unique keys on ``webhook_deliveries`` make a redelivery a no-op; the job that
applies a delivery flips its status with a conditional update, so two workers
racing on one delivery apply it once.

Every effect is scoped to the shop that signed the delivery. A valid signature
proves which shop sent the body, nothing more: a shop of one brand can put any
email, customer id or order id in a body it signs. So the job resolves the
signing shop once and every lookup is confined to it: its brand's members, its
own redemptions (``Redemption.shop_id``), its own stored deliveries. Every match
is exact (an email in any case); a LIKE may narrow candidates, never decide. A
delivery whose shop is gone applies nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import NotFoundError, PayloadTooLargeError, WebhookRejectedError
from connector.core.fulfilment import schedule_fulfilment
from connector.core.hooktypes import (
    CustomerDataRequest,
    DeliveryUpdate,
    InboundWebhook,
    RedactCustomer,
    RedactShop,
    RetryErrorsForCustomer,
    RetryErrorsForSku,
    VerifiedWebhook,
    WebhookEffect,
)
from connector.core.links import safe_link
from connector.core.model import DELIVERY_RANK, DeliveryStatus, RedemptionStatus
from connector.core.redemptions import reopen_for_retry
from connector.core.runtime import Runtime
from connector.core.secret_cache import ShopSecrets
from connector.core.tables import Member, OutboundMessage, Redemption, Reward, Shop, WebhookDelivery
from connector.core.timeline import record_event

PROCESS_JOB = "process_webhook"
#: The job that applies every stored, unapplied delivery, and the key its wakes coalesce on.
DRAIN_JOB = "process_received_webhooks"
DRAIN_KEY = "webhook-drain"
_DRAIN_BATCH = 200
_CUSTOMER_ERRORS = ("crm_id_not_found", "missing_user_information")
#: Built once: a Core INSERT … RETURNING with bound parameters hits SQLAlchemy's compiled cache directly.
#: Building ``.values(**row)`` per delivery (cache key and all) cost ~0.7 ms of CPU, and the ORM unit of
#: work ~3 ms, on the one path that must keep up with Shopify's bursts (docs/performance.md).
_STORE_DELIVERY = insert(WebhookDelivery).returning(WebhookDelivery.id)


@dataclass(frozen=True)
class Received:
    delivery_id: int | None
    duplicate: bool
    topic: str


def _load_secrets(rt: Runtime, domain: str) -> ShopSecrets | None:
    with rt.sessions() as s:
        shop = s.scalars(select(Shop).where(Shop.domain == domain, Shop.active.is_(True))).one_or_none()
        if shop is None:
            return None
        return ShopSecrets(shop.webhook_secret, shop.previous_webhook_secret, shop.previous_secret_expires_at)


def shop_secrets(rt: Runtime, domain: str) -> Sequence[str]:
    """Secrets a shop's deliveries may be signed with: the current one, and the previous during rotation."""
    return rt.secret_cache.get(domain, rt.now(), lambda d: _load_secrets(rt, d))


def receive_webhook(rt: Runtime, provider: str, headers: Mapping[str, str], body: bytes) -> Received:
    """Verify and store one delivery; nothing is stored when it is refused.

    Raises ``WebhookRejectedError`` (401) on a bad signature or an unknown shop, and the plugin's
    ``WebhookPayloadError`` (400) for a signed body it cannot use (see ``connector_verify_webhook``).
    """
    if len(body) > rt.settings.webhook_max_bytes:
        raise PayloadTooLargeError(
            f"webhook body is {len(body)} bytes; the limit is {rt.settings.webhook_max_bytes} "
            "(CONNECTOR_WEBHOOK_MAX_BYTES)"
        )
    inbound = InboundWebhook(provider=provider, headers={k.lower(): v for k, v in headers.items()}, body=body)
    asked: list[str] = []

    def secrets_for(domain: str) -> Sequence[str]:
        asked.append(domain)
        return shop_secrets(rt, domain)

    def verify() -> VerifiedWebhook | None:
        return rt.plugins.hook.connector_verify_webhook(  # type: ignore[no-any-return]
            webhook=inbound, secrets_for=secrets_for, ctx=rt.hook_context(provider)
        )

    try:
        verified = verify()
    except WebhookRejectedError:
        if not asked:
            raise
        for domain in asked:  # the cache may predate a rotation or a new shop: check against fresh secrets
            rt.secret_cache.forget(domain)
        asked.clear()
        verified = verify()
    if verified is None:
        raise NotFoundError(f"no installed plugin receives webhooks for provider {provider!r}")
    _check_storable(verified)
    values = {
        "provider": verified.provider,
        "shop_domain": verified.shop_domain,
        "topic": verified.topic,
        "webhook_id": verified.webhook_id,
        "event_id": verified.event_id,
        "triggered_at": verified.triggered_at,
        "resource_id": verified.resource_id,
        "resource_updated_at": verified.resource_updated_at,
        "customer_ref": verified.customer_ref,
        "body": body.decode("utf-8"),
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "status": "received",
        "received_at": rt.now(),
    }
    try:
        delivery_id = _store_delivery(rt, values)
    except IntegrityError:
        return Received(delivery_id=None, duplicate=True, topic=verified.topic)
    try:
        # One drain run applies every delivery stored before it starts: at Shopify's burst rates that is
        # one job per batch instead of one per delivery, and the request pays a SET NX, not an enqueue.
        rt.wake(DRAIN_JOB, key=DRAIN_KEY)
    except Exception:  # noqa: BLE001 - the delivery is committed; the sweeper enqueues it when the queue is back
        rt.log.exception("webhook delivery %s stored but not enqueued; the sweeper will pick it up", delivery_id)
    return Received(delivery_id=delivery_id, duplicate=False, topic=verified.topic)


_TEXT_FIELDS = {
    "topic": "topic",
    "webhook_id": "webhook id",
    "event_id": "event id",
    "resource_id": "resource id",
    "customer_ref": "customer reference",
}


def _check_storable(verified: VerifiedWebhook) -> None:
    """Refuse, with the reason, a verified delivery whose identifiers the table cannot hold.

    A valid signature covers the body only: the topic and ids in headers are unsigned, and even a
    signed payload may carry a NUL or a 300-digit id. Storing those fails in the database, which
    would answer 500 and invite endless redelivery; refusing names the value instead.
    """
    columns = WebhookDelivery.__table__.c
    for name, label in _TEXT_FIELDS.items():
        value: str | None = getattr(verified, name)
        if value is None:
            continue
        limit = columns[name].type.length
        if limit is not None and len(value) > limit:
            raise WebhookRejectedError(
                f"the delivery's {label} is {len(value)} characters long; at most {limit} are accepted"
            )
        if "\x00" in value:
            raise WebhookRejectedError(f"the delivery's {label} contains a NUL character")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise WebhookRejectedError(f"the delivery's {label} is not valid Unicode (a lone surrogate)") from None
    for name, label in (("triggered_at", "trigger time"), ("resource_updated_at", "updated_at")):
        when: datetime | None = getattr(verified, name)
        try:
            if when is not None:
                when.astimezone(UTC)
        except OverflowError:
            raise WebhookRejectedError(f"the delivery's {label} ({when.isoformat()}) is out of range") from None


def _store_delivery(rt: Runtime, values: dict[str, Any]) -> int:
    """Insert one delivery; on PostgreSQL outside a transaction block.

    A single INSERT is atomic on its own, so autocommit drops two round trips (BEGIN, COMMIT)
    from every delivery without weakening anything: the row is durable before we answer 200.
    SQLite keeps its explicit ``BEGIN IMMEDIATE`` (see ``database.make_engine``).
    """
    engine = rt.engine
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            return int(conn.execute(_STORE_DELIVERY, values).scalar_one())
    with engine.begin() as conn:
        return int(conn.execute(_STORE_DELIVERY, values).scalar_one())


def process_received_webhooks(rt: Runtime, _arg: int = 0) -> str:
    """Job: apply every stored delivery not yet applied, oldest first.

    It clears its wake flag before it looks, so a delivery stored after it looked has woken
    another run. Each delivery is applied by ``process_webhook``, whose conditional update makes
    two runs racing on the same rows apply each once. The cursor only moves forward, so a
    delivery that another run holds, or that fails, cannot make this one loop; and one that
    fails is logged and left ``received`` rather than failing the run, or it would block every
    delivery behind it on every run. The sweeper gives it a job of its own, whose failure RQ
    keeps with its traceback.
    """
    rt.woken(DRAIN_KEY)
    applied = failed = after = 0
    while True:
        with rt.sessions() as s:
            ids = s.scalars(
                select(WebhookDelivery.id)
                .where(WebhookDelivery.status == "received", WebhookDelivery.id > after)
                .order_by(WebhookDelivery.id)
                .limit(_DRAIN_BATCH)
            ).all()
        if not ids:
            return f"applied {applied}" + (f", failed {failed}" if failed else "")
        for delivery_id in ids:
            try:
                applied += process_webhook(rt, delivery_id) == "processed"
            except Exception:  # noqa: BLE001 - one bad delivery must not hold up the others
                failed += 1
                rt.log.exception("webhook delivery %s could not be applied; the sweeper will retry it", delivery_id)
        after = ids[-1]


def process_webhook(rt: Runtime, delivery_id: int) -> str:
    """Job: apply a stored delivery's effects, once."""
    with rt.sessions() as s:
        d = s.get(WebhookDelivery, delivery_id)
        if d is None or d.status != "received":
            return "skipped"
        verified = VerifiedWebhook(
            provider=d.provider,
            shop_domain=d.shop_domain,
            topic=d.topic,
            webhook_id=d.webhook_id,
            event_id=d.event_id,
            triggered_at=d.triggered_at,
            resource_id=d.resource_id,
            resource_updated_at=d.resource_updated_at,
            customer_ref=d.customer_ref,
        )
        payload: dict[str, Any] = json.loads(d.body) if d.body else {}
    effects: list[WebhookEffect] = (
        rt.plugins.hook.connector_interpret_webhook(
            delivery=verified, payload=payload, ctx=rt.hook_context(verified.provider)
        )
        or []
    )
    now = rt.now()
    to_fulfil: list[tuple[int, int]] = []
    actor = f"{verified.provider} webhook {verified.topic}"
    with transaction(rt.sessions) as s:
        won = s.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == "received")
            .values(status="processed", processed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won != 1:
            return "skipped"
        # Resolved once: every effect below is confined to this shop and its brand.
        shop = s.scalars(select(Shop).where(Shop.domain == verified.shop_domain)).one_or_none()
        if shop is None:
            if effects:
                rt.log.warning(
                    "webhook delivery %s: shop %s is not connected; no effect", delivery_id, verified.shop_domain
                )
            return "processed"
        scope = ShopScope(shop_id=shop.id, brand_id=shop.brand_id, domain=shop.domain)
        for effect in effects:
            to_fulfil += _apply(rt, s, effect, scope, actor, now)
    for redemption_id, attempts in to_fulfil:
        schedule_fulfilment(rt, redemption_id, attempts)
    return "processed"


@dataclass(frozen=True)
class ShopScope:
    """The shop that signed a delivery: the only shop, and the only brand, its effects may touch."""

    shop_id: int
    brand_id: int
    domain: str


def _apply(
    rt: Runtime,
    s: Session,
    effect: WebhookEffect,
    scope: ShopScope,
    actor: str,
    now: datetime,
) -> list[tuple[int, int]]:
    if isinstance(effect, DeliveryUpdate):
        _apply_delivery(s, effect, scope, actor, now)
    elif isinstance(effect, RetryErrorsForSku):
        rows = s.scalars(
            select(Redemption)
            .join(Reward, Reward.id == Redemption.reward_id)
            .where(
                Redemption.shop_id == scope.shop_id,
                Redemption.brand_id == scope.brand_id,
                Redemption.status == RedemptionStatus.ERROR,
                Redemption.error_code == "product_not_found",
                Reward.sku.in_(effect.skus),
            )
        ).all()
        return [_auto_retry(s, r, actor, now, "the product was updated in the shop") for r in rows]
    elif isinstance(effect, RetryErrorsForCustomer):
        match = [Member.shop_customer_id == effect.customer_id]
        if effect.email:
            match.append(_email_is(effect.email))
        rows = s.scalars(
            select(Redemption)
            .join(Member, Member.id == Redemption.member_id)
            .where(
                Redemption.shop_id == scope.shop_id,
                Redemption.brand_id == scope.brand_id,
                Member.brand_id == scope.brand_id,
                Redemption.status == RedemptionStatus.ERROR,
                Redemption.error_code.in_(_CUSTOMER_ERRORS),
                or_(*match),
            )
        ).all()
        return [_auto_retry(s, r, actor, now, "the customer was updated in the shop") for r in rows]
    elif isinstance(effect, RedactCustomer):
        redact_customer(s, effect, scope, now)
    elif isinstance(effect, RedactShop):
        if effect.shop_domain == scope.domain:
            redact_shop(s, scope.domain, now)
        else:
            rt.log.warning("shop/redact from %s names another shop; ignored", scope.domain)
    elif isinstance(effect, CustomerDataRequest):
        export_customer_data(rt, s, effect, scope)
    return []


def _email_is(email: str) -> ColumnElement[bool]:
    """The same address in any case: exact, never a pattern (``ix_members_email_lower`` serves it)."""
    return func.lower(Member.email) == email.lower()


_TRACKING_URL_MAX = Redemption.__table__.c.tracking_url.type.length or 500
_TRACKING_NUMBER_MAX = Redemption.__table__.c.tracking_number.type.length or 100


def _storable_time(when: datetime | None) -> datetime | None:
    """``when``, or None when it cannot be held as UTC (``0001-01-01T00:00:00+14:00`` is a valid ISO time).

    A signed payload's timestamp is still untrusted input: storing one out of range failed the whole
    delivery in the drain, on every retry, forever. Without it the update is ordered as one without a time.
    """
    try:
        return when.astimezone(UTC) if when is not None else None
    except OverflowError:
        return None


def _apply_delivery(s: Session, effect: DeliveryUpdate, scope: ShopScope, actor: str, now: datetime) -> None:
    effect = replace(effect, updated_at=_storable_time(effect.updated_at))
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


def _auto_retry(s: Session, r: Redemption, actor: str, now: datetime, why: str) -> tuple[int, int]:
    return (r.id, reopen_for_retry(s, r, actor=actor, now=now, why=f"automatic: {why}"))


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
    if not match:
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
        if delivery_id not in found and _has_value(body, values, emails):
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
    """shop/redact: the shop uninstalled; drop its credentials and every stored body."""
    s.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.shop_domain == domain, WebhookDelivery.body.is_not(None))
        .values(body=None, redacted_at=now)
        .execution_options(synchronize_session=False)
    )
    s.execute(update(Shop).where(Shop.domain == domain).values(active=False, access_token=""))


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


def system_actor() -> Actor:
    return Actor.system("webhook")
