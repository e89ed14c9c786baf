"""The tables behind the Users, API tokens and Audit log pages: one-time links and the audit trail.

Kept out of ``tables.py`` (which imports this module once, at its end) so the user-administration
feature is one module to read and merge.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from connector.core.orm_base import Base, _now


class UserLink(Base):
    """A one-time link that lets a person set their password: an invitation or a password reset.

    Only the SHA-256 of the link's secret is stored, so a database reader cannot use a pending link.
    A link works once (``used_at``), until ``expires_at``, and not after a newer link of the same
    user replaced it (``used_at`` is then stamped too, with ``voided`` set).
    """

    __tablename__ = "user_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: ``invite`` or ``reset``: what the page says and what the audit row records.
    purpose: Mapped[str] = mapped_column(String(20))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    #: True when the link ended unused: a newer link replaced it, or the user was disabled.
    voided: Mapped[bool] = mapped_column(default=False)


class AuditEntry(Base):
    """One change to a user or an API token: who did it, when, and the before and after (never a secret).

    ``brand_id`` is the brand the target belongs to (after the change, or before it when it left every
    brand), so a brand admin's Audit log shows their own brand's rows only; rows about users without
    a brand (platform admins, cross-brand support, distributor and retailer users) are a platform
    admin's alone.
    """

    __tablename__ = "audit_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    #: The actor's event-log name: ``user:<email>``, ``token:<name>`` or ``system``.
    actor: Mapped[str] = mapped_column(String(400))
    #: ``user.invited``, ``user.role_changed``, ``token.created``, ...
    action: Mapped[str] = mapped_column(String(50))
    target_kind: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int]
    #: The target's email (a user) or name (a token) at the time, so the row reads well after a rename.
    target_label: Mapped[str] = mapped_column(String(400))
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="SET NULL"))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_audit_entries_brand_id_id", "brand_id", "id"),)
