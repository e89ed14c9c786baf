"""Frequent-buyer notices (seed 003: "we will email you about denials"): the emails owed and each user's opt-outs.

``fb_notices`` is an outbox: one row per user, kind and subject (a report's denials, a credited batch, a
distributor's day of new rewards), unique on the three (``uq_fb_notice``), so however often the job that
derives them runs, a user gets one email per event or day. A row is written before it is sent; ``sent_at``
is set when the mailer accepted it, and a failed send keeps the row (with the mailer's error) to try again.

``fb_notice_optouts``: a row means the user switched that kind of notice off; no row means on.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from connector.core.orm_base import Base, _now


class FbNotice(Base):
    __tablename__ = "fb_notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: "denials", "credited" or "new_rewards_digest" (``connector.core.frequent_buyer.notices.NoticeKind``).
    kind: Mapped[str] = mapped_column(String(30))
    #: What it is about: "report-12", "batch-7", "day-2026-06-15".
    subject_key: Mapped[str] = mapped_column(String(60))
    to_email: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "subject_key", name="uq_fb_notice"),
        Index("ix_fb_notices_unsent", "sent_at", "id"),
    )


class FbNoticeOptOut(Base):
    __tablename__ = "fb_notice_optouts"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    opted_out_at: Mapped[datetime] = mapped_column(default=_now)
