"""A brand's outbound webhook endpoints and their delivery log: add, list, roll the secret, remove, resend.

Brand admins (and platform admins) configure them; every read and action is confined to the actor's
brand, and an id of another brand's endpoint or delivery is "not found", as if it did not exist.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session, selectinload

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import ConflictError, NotFoundError, ValidationError
from connector.core.outbound_delivery import GIVEN_UP, PENDING
from connector.core.outbound_tables import OutboundAttempt, OutboundDelivery, OutboundEndpoint, OutboundEvent
from connector.core.outbound_urls import endpoint_url_problem
from connector.core.runtime import Runtime
from connector.core.scheduling import schedule_outbound
from connector.core.tables import Brand

#: An endpoint's secret: ``whsec_`` and 32 random bytes, url-safe base64.
SECRET_PREFIX = "whsec_"
DESCRIPTION_MAX = 200
#: How long a rolled secret's predecessor still signs, by default and at most (a week covers a slow deploy).
KEEP_OLD_HOURS_DEFAULT = 24
KEEP_OLD_HOURS_MAX = 168
#: Endpoints per brand: enough for a platform and a staging copy, few enough that one event stays cheap.
MAX_ENDPOINTS = 10


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: OutboundEndpoint
    #: Shown once, in the answer that created it; stored encrypted, never shown again.
    secret: str


def brand_for(s: Session, actor: Actor, brand_id: int | None) -> int:
    """The brand an action is for: the actor's own, or (for an actor of every brand) the one named."""
    if actor.brand_id is not None:
        if brand_id is not None and brand_id != actor.brand_id:
            raise NotFoundError(f"brand {brand_id} not found", fields={"brand_id": "not a brand this token manages"})
        return actor.brand_id
    if brand_id is None:
        raise ValidationError(
            "which brand? this token is not scoped to one", fields={"brand_id": "give the brand's id"}
        )
    if s.get(Brand, brand_id) is None:
        raise ValidationError(f"brand {brand_id} not found", fields={"brand_id": f"no brand with id {brand_id}"})
    return brand_id


def create_endpoint(
    rt: Runtime, actor: Actor, *, url: str, description: str = "", brand_id: int | None = None
) -> NewEndpoint:
    """Add an endpoint; the answer carries its signing secret, the only time it is shown."""
    actor.check_can_configure()
    url = url.strip()
    problem = endpoint_url_problem(url, allow_local=rt.settings.outbound_allow_local)
    if problem:
        raise ValidationError(f"invalid url: {problem}", fields={"url": problem})
    description = description.strip()
    if len(description) > DESCRIPTION_MAX:
        raise ValidationError("description too long", fields={"description": f"at most {DESCRIPTION_MAX} characters"})
    secret = _new_secret()
    with transaction(rt.sessions) as s:
        brand = brand_for(s, actor, brand_id)
        active = s.scalars(
            select(OutboundEndpoint.id).where(OutboundEndpoint.brand_id == brand, OutboundEndpoint.active.is_(True))
        ).all()
        if len(active) >= MAX_ENDPOINTS:
            raise ConflictError(f"this brand already has {MAX_ENDPOINTS} endpoints; remove one first")
        endpoint = OutboundEndpoint(
            brand_id=brand, url=url, description=description, signing_secret=secret, active=True, created_at=rt.now()
        )
        s.add(endpoint)
        s.flush()
        s.expunge(endpoint)
    rt.log.info("outbound webhook endpoint %s added for brand %s by %s", endpoint.id, brand, actor.name)
    return NewEndpoint(endpoint=endpoint, secret=secret)


@dataclass(frozen=True)
class RolledSecret:
    endpoint: OutboundEndpoint
    #: Shown once, in the answer to the roll; stored encrypted, never shown again.
    secret: str


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def roll_secret(
    rt: Runtime, actor: Actor, endpoint_id: int, *, keep_old_hours: int = KEEP_OLD_HOURS_DEFAULT
) -> RolledSecret:
    """Give an endpoint a new signing secret, shown once; the old one keeps signing for ``keep_old_hours``.

    Why an overlap: the receiver learns the new secret some time after the roll (a deploy, a vault update).
    Meanwhile every delivery carries two signatures, one per secret, so a receiver that checks any of them
    refuses nothing. ``keep_old_hours=0`` stops the old secret at once, for a secret that leaked. Rolling
    again during an overlap drops the oldest secret: only the two newest ever sign.
    """
    actor.check_can_configure()
    if (
        isinstance(keep_old_hours, bool)
        or not isinstance(keep_old_hours, int)
        or not (0 <= keep_old_hours <= KEEP_OLD_HOURS_MAX)
    ):
        raise ValidationError(
            "keep_old_hours out of range",
            fields={
                "keep_old_hours": f"a whole number of hours from 0 (stop the old secret now) to {KEEP_OLD_HOURS_MAX}"
            },
        )
    now = rt.now()
    secret = _new_secret()
    with transaction(rt.sessions) as s:
        endpoint = _endpoint(s, actor, endpoint_id, lock=True)
        if not endpoint.active:
            raise ConflictError(f"webhook endpoint {endpoint_id} was removed: add a new endpoint instead")
        keep = keep_old_hours > 0
        endpoint.previous_signing_secret = endpoint.signing_secret if keep else None
        endpoint.previous_secret_until = now + timedelta(hours=keep_old_hours) if keep else None
        endpoint.signing_secret = secret
        endpoint.secret_rolled_at = now
        s.flush()
        s.expunge(endpoint)
    rt.log.info(
        "outbound webhook endpoint %s: signing secret rolled by %s, old one kept %sh",
        endpoint_id,
        actor.name,
        keep_old_hours,
    )
    return RolledSecret(endpoint=endpoint, secret=secret)


def _visible(actor: Actor) -> list[ColumnElement[bool]]:
    return [] if actor.brand_id is None else [OutboundEndpoint.brand_id == actor.brand_id]


def list_endpoints(rt: Runtime, actor: Actor) -> Sequence[OutboundEndpoint]:
    """The actor's brand's endpoints (every brand's for a platform admin), removed ones included."""
    actor.check_can_configure()
    with rt.sessions() as s:
        rows = s.scalars(select(OutboundEndpoint).where(*_visible(actor)).order_by(OutboundEndpoint.id)).all()
        s.expunge_all()
        return rows


def _endpoint(s: Session, actor: Actor, endpoint_id: int, *, lock: bool = False) -> OutboundEndpoint:
    q = select(OutboundEndpoint).where(OutboundEndpoint.id == endpoint_id)
    endpoint = s.scalars(q.with_for_update() if lock else q).one_or_none()
    if endpoint is None or not actor.sees_brand(endpoint.brand_id):
        raise NotFoundError(f"webhook endpoint {endpoint_id} not found")
    return endpoint


def get_endpoint(rt: Runtime, actor: Actor, endpoint_id: int) -> OutboundEndpoint:
    actor.check_can_configure()
    with rt.sessions() as s:
        endpoint = _endpoint(s, actor, endpoint_id)
        s.expunge(endpoint)
        return endpoint


def remove_endpoint(rt: Runtime, actor: Actor, endpoint_id: int) -> OutboundEndpoint:
    """Stop sending to an endpoint; what it was still owed is given up (and stays in the log)."""
    actor.check_can_configure()
    now = rt.now()
    with transaction(rt.sessions) as s:
        endpoint = _endpoint(s, actor, endpoint_id, lock=True)
        if not endpoint.active:
            raise ConflictError(f"webhook endpoint {endpoint_id} was already removed")
        endpoint.active = False
        endpoint.removed_at = now
        s.execute(
            update(OutboundDelivery)
            .where(OutboundDelivery.endpoint_id == endpoint.id, OutboundDelivery.status == PENDING)
            .values(status=GIVEN_UP, next_attempt_at=None, last_error="the endpoint was removed")
            .execution_options(synchronize_session=False)
        )
        s.flush()
        s.expunge(endpoint)
    rt.log.info("outbound webhook endpoint %s removed by %s", endpoint_id, actor.name)
    return endpoint


@dataclass(frozen=True)
class DeliveryView:
    delivery: OutboundDelivery
    event: OutboundEvent
    attempts: Sequence[OutboundAttempt]


def list_deliveries(
    rt: Runtime, actor: Actor, endpoint_id: int, *, limit: int = 50, before: int | None = None
) -> Sequence[DeliveryView]:
    """An endpoint's deliveries, newest first, each with its event and every attempt (the delivery log)."""
    actor.check_can_configure()
    with rt.sessions() as s:
        endpoint = _endpoint(s, actor, endpoint_id)
        q = (
            select(OutboundDelivery)
            .where(OutboundDelivery.endpoint_id == endpoint.id, OutboundDelivery.brand_id == endpoint.brand_id)
            .options(selectinload(OutboundDelivery.event))
            .order_by(OutboundDelivery.id.desc())
            .limit(limit)
        )
        if before is not None:
            q = q.where(OutboundDelivery.id < before)
        deliveries = s.scalars(q).all()
        attempts: dict[int, list[OutboundAttempt]] = {d.id: [] for d in deliveries}
        if deliveries:
            for a in s.scalars(
                select(OutboundAttempt)
                .where(OutboundAttempt.delivery_id.in_(list(attempts)))
                .order_by(OutboundAttempt.id)
            ):
                attempts[a.delivery_id].append(a)
        views = [DeliveryView(delivery=d, event=d.event, attempts=attempts[d.id]) for d in deliveries]
        s.expunge_all()
        return views


def delivery_view(rt: Runtime, actor: Actor, delivery_id: int) -> DeliveryView:
    """One delivery of the actor's brand with its event and attempts."""
    actor.check_can_configure()
    with rt.sessions() as s:
        d = s.get(OutboundDelivery, delivery_id)
        if d is None or not actor.sees_brand(d.brand_id):
            raise NotFoundError(f"webhook delivery {delivery_id} not found")
        attempts = s.scalars(
            select(OutboundAttempt).where(OutboundAttempt.delivery_id == d.id).order_by(OutboundAttempt.id)
        ).all()
        view = DeliveryView(delivery=d, event=d.event, attempts=attempts)
        s.expunge_all()
        return view


def resend_delivery(rt: Runtime, actor: Actor, delivery_id: int) -> OutboundDelivery:
    """Queue a delivered or given-up delivery again, with a fresh retry budget (same event id and body).

    It keeps its place in its redemption's order: if an earlier event of the redemption is still pending
    for the endpoint, it goes after that one.
    """
    actor.check_can_configure()
    now = rt.now()
    with transaction(rt.sessions) as s:
        d = s.scalars(
            select(OutboundDelivery).where(OutboundDelivery.id == delivery_id).with_for_update()
        ).one_or_none()
        if d is None or not actor.sees_brand(d.brand_id):
            raise NotFoundError(f"webhook delivery {delivery_id} not found")
        endpoint = s.get_one(OutboundEndpoint, d.endpoint_id)
        if not endpoint.active:
            raise ConflictError("this delivery's endpoint was removed; add the endpoint again to receive new events")
        if d.status == PENDING:
            when = f" (next attempt at {_iso(d.next_attempt_at)})" if d.next_attempt_at else ""
            raise ConflictError(f"this delivery is already queued{when}; it will be sent without a resend")
        d.status = PENDING
        d.next_attempt_at = None
        d.attempt_budget_from = d.attempts
        d.delivered_at = None
        attempts = d.attempts
        s.flush()
        s.expunge(d)
    rt.log.info("outbound webhook delivery %s queued again by %s at %s", delivery_id, actor.name, _iso(now))
    schedule_outbound(rt, delivery_id, attempts)
    return d


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""
