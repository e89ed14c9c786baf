"""Outbound webhooks to a brand's loyalty platform: endpoints, the outbox of events, deliveries, attempts.

An event row is written in the transaction of the redemption transition it reports (the outbox), with
one delivery row per active endpoint of the brand; workers send the deliveries afterwards. So an event
is never lost (it commits with the change) and never invented (it rolls back with it).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from connector.core.credentials import EncryptedText
from connector.core.orm_base import Base, _now


class OutboundEndpoint(Base):
    """Where one brand's events are sent, and the secret they are signed with (encrypted at rest)."""

    __tablename__ = "outbound_endpoints"
    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(String(200), default="")
    #: The signing secret: shown once when the endpoint is made, then only used to sign.
    signing_secret: Mapped[str] = mapped_column(EncryptedText())
    #: After a roll, the secret it replaced: deliveries carry its signature too until ``previous_secret_until``,
    #: so a receiver can switch to the new secret without refusing anything in between.
    previous_signing_secret: Mapped[str | None] = mapped_column(EncryptedText(), nullable=True)
    previous_secret_until: Mapped[datetime | None]
    secret_rolled_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    removed_at: Mapped[datetime | None]


class OutboundEvent(Base):
    """One thing that happened to a redemption, as the platform hears it; the body is fixed when written."""

    __tablename__ = "outbound_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"), index=True)
    redemption_id: Mapped[int] = mapped_column(ForeignKey("redemptions.id"), index=True)
    event_type: Mapped[str] = mapped_column(String(40))
    #: The JSON body sent, byte for byte, on every attempt (the signature covers it with a fresh timestamp).
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=_now)


class OutboundDelivery(Base):
    """One event owed to one endpoint: ``pending`` until ``delivered`` or ``given_up``."""

    __tablename__ = "outbound_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id", name="uq_outbound_deliveries_event_endpoint"),
        # Per endpoint and redemption, the earliest pending delivery goes first (ordering); and the sweeper
        # and the drain look for pending ones only: a few among many.
        Index("ix_outbound_deliveries_queue", "endpoint_id", "redemption_id", "event_id"),
        Index(
            "ix_outbound_deliveries_pending",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbound_events.id"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("outbound_endpoints.id"))
    #: Copied from the event: the order is kept per (endpoint, redemption), and brand scoping needs no join.
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"), index=True)
    redemption_id: Mapped[int] = mapped_column(ForeignKey("redemptions.id"))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: ``attempts`` when the retry budget last started (creation or a resend).
    attempt_budget_from: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_holder: Mapped[str | None] = mapped_column(String(40))
    claim_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    delivered_at: Mapped[datetime | None]

    event: Mapped[OutboundEvent] = relationship()
    endpoint: Mapped[OutboundEndpoint] = relationship()


class OutboundAttempt(Base):
    """One try at sending a delivery: what the receiver answered, or why nothing was answered."""

    __tablename__ = "outbound_attempts"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("outbound_deliveries.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=_now)
    actor: Mapped[str] = mapped_column(String(200), default="worker")
    status_code: Mapped[int | None]
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Why it failed (connection refused, timeout, refused address, HTTP 500 and the start of the answer).
    error: Mapped[str | None] = mapped_column(Text)
