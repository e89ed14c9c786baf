"""Webhooks in: verify, store once, answer fast; act on them later, once.

The request path does only CPU work and one insert (reliability.md §1.6). The
unique keys on ``webhook_deliveries`` make a redelivery a no-op; the job that
applies a delivery flips its status with a conditional update, so two workers
racing on one delivery apply it once. The one exception to "later": a delivery
the plugin marks ``apply_now`` (an uninstall) is applied in the request, right
after it is stored, because calls to that shop must stop at once.

Every effect is scoped to the shop that signed the delivery: the job resolves
that shop once and ``webhook_effects`` applies each effect within it. A delivery
whose shop is gone applies nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from connector.core import intake_connection
from connector.core.database import rowcount, transaction
from connector.core.errors import NotFoundError, PayloadTooLargeError, WebhookRejectedError
from connector.core.hooktypes import InboundWebhook, VerifiedWebhook, WebhookEffect
from connector.core.runtime import Runtime
from connector.core.scheduling import DRAIN_JOB, DRAIN_KEY, PROCESS_JOB, schedule_fulfilment  # noqa: F401  (re-exported)
from connector.core.secret_cache import ShopSecrets
from connector.core.storable import declared_length, text_problem, utc_or_none
from connector.core.tables import Shop, WebhookDelivery
from connector.core.webhook_effects import ShopScope, apply_effect

_DRAIN_BATCH = 200
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
        return rt.plugins.hook.connector_verify_webhook(
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
    if verified.apply_now:
        _apply_now(rt, delivery_id)
    try:
        # One drain run applies every delivery stored before it starts: at Shopify's burst rates that is
        # one job per batch instead of one per delivery, and the request pays a SET NX, not an enqueue.
        rt.wake(DRAIN_JOB, key=DRAIN_KEY)
    except Exception:  # noqa: BLE001 - the delivery is committed; the sweeper enqueues it when the queue is back
        rt.log.exception("webhook delivery %s stored but not enqueued; the sweeper will pick it up", delivery_id)
    return Received(delivery_id=delivery_id, duplicate=False, topic=verified.topic)


def _apply_now(rt: Runtime, delivery_id: int) -> None:
    """Apply a lifecycle delivery (an uninstall) before answering, instead of behind the drain's backlog.

    Only database work (no remote call), and once: ``process_webhook`` flips the delivery's status with a
    conditional update, so the drain that runs later skips it. Should it fail, the delivery stays
    ``received``: the drain (woken next) and the sweeper apply it then, and the sender still gets its 200
    for a delivery that is stored.
    """
    try:
        process_webhook(rt, delivery_id)
    except Exception:  # noqa: BLE001 - stored: the drain or the sweeper applies it later
        rt.log.exception("webhook delivery %s could not be applied at once; the drain will retry it", delivery_id)


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
        limit = declared_length(columns[name])
        if limit is not None and len(value) > limit:
            raise WebhookRejectedError(
                f"the delivery's {label} is {len(value)} characters long; at most {limit} are accepted"
            )
        problem = text_problem(value)
        if problem:
            raise WebhookRejectedError(f"the delivery's {label} {problem}")
    for name, label in (("triggered_at", "trigger time"), ("resource_updated_at", "updated_at")):
        when: datetime | None = getattr(verified, name)
        if when is not None and utc_or_none(when) is None:
            raise WebhookRejectedError(f"the delivery's {label} ({when.isoformat()}) is out of range")


def _store_delivery(rt: Runtime, values: dict[str, Any]) -> int:
    """Insert one delivery; on PostgreSQL outside a transaction block, on the thread's held connection.

    A single INSERT is atomic on its own, so autocommit drops two round trips (BEGIN, COMMIT)
    from every delivery without weakening anything: the row is durable before we answer 200.
    The connection stays with the thread (``intake_connection``): no pool checkout and pre-ping per
    delivery. SQLite keeps its explicit ``BEGIN IMMEDIATE`` (see ``database.make_engine``).
    """
    engine = rt.engine
    if engine.dialect.name == "postgresql":
        return int(intake_connection.insert_one(engine, _STORE_DELIVERY, values))
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
        won = rowcount(
            s.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == "received")
                .values(status="processed", processed_at=now)
                .execution_options(synchronize_session=False)
            )
        )
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
            to_fulfil += apply_effect(rt, s, effect, scope, actor, now)
    for redemption_id, attempts in to_fulfil:
        schedule_fulfilment(rt, redemption_id, attempts)
    return "processed"
