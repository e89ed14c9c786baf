"""The per-shop key/value cache's table (``core.shop_cache``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from connector.core.orm_base import Base, _now


class ShopCacheEntry(Base):
    """One answer a plugin learned from a shop and may reuse until it is told the answer changed.

    Rows are tenant data of their shop (``shop_id`` is in every key and every query) and disposable:
    a missing row only costs the plugin one more call to the shop. ``tag`` groups entries a single
    event invalidates together (all of a product's SKUs, for a ``products/update``).
    """

    __tablename__ = "shop_cache_entries"
    __table_args__ = (
        UniqueConstraint("shop_id", "key", name="uq_shop_cache_key"),
        Index("ix_shop_cache_shop_tag", "shop_id", "tag"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(Text)
    tag: Mapped[str | None] = mapped_column(String(255))
    #: None: kept until forgotten. Expired rows read as absent and are replaced by the next ``put``.
    expires_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=_now)
