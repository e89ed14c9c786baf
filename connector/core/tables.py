"""Relational schema: the one source of truth.

Uniqueness constraints carry the product's promises where the database can
enforce them better than code: one ledger refund per redemption
(``uq_ledger_redemption_kind``), one stored webhook per shop and event, delivery
and signed body, one redemption per idempotency key.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from connector.core.credentials import EncryptedText
from connector.core.orm_base import Base, UTCDateTime, _now  # noqa: F401  (re-exported: callers import them here)


class Brand(Base):
    __tablename__ = "brands"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=_now)


class ShopConnection:
    """How a shop's Admin API token is obtained (``Shop.connection_kind``)."""

    #: Authorization code grant: the merchant installed the app; expiring token + refresh token.
    INSTALL = "install"
    #: Client credentials grant: an app of the brand's own organization; tokens fetched on demand.
    CLIENT_CREDENTIALS = "client_credentials"
    #: A legacy custom app's admin token, pasted once; lives until revoked.
    STATIC_TOKEN = "static_token"
    ALL = (INSTALL, CLIENT_CREDENTIALS, STATIC_TOKEN)


class ShopStatus:
    """Whether the connector may call a shop (``Shop.status``); only ``CONNECTED`` shops get calls."""

    CONNECTED = "connected"
    #: Installed from Shopify's side for a shop no brand claims yet: a platform admin assigns one.
    AWAITING_BRAND = "awaiting_brand"
    #: A token grant or refresh was refused for good: someone must reconnect the shop.
    NEEDS_RECONNECT = "needs_reconnect"
    #: The app was uninstalled (``app/uninstalled``) or the shop disconnected from the console.
    DISCONNECTED = "disconnected"
    ALL = (CONNECTED, AWAITING_BRAND, NEEDS_RECONNECT, DISCONNECTED)


class Shop(Base):
    __tablename__ = "shops"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: NULL only while ``status`` is ``awaiting_brand``; brand-scoped queries never match NULL.
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id"), index=True)
    provider: Mapped[str] = mapped_column(String(40), default="shopify")
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    api_base_url: Mapped[str] = mapped_column(String(500))
    api_version: Mapped[str] = mapped_column(String(20), default="2026-07")
    #: Credentials are ``EncryptedText`` (Fernet tokens at rest, see core/credentials.py); "" means no token.
    access_token: Mapped[str] = mapped_column(EncryptedText())
    webhook_secret: Mapped[str] = mapped_column(EncryptedText())
    #: Accepted alongside the current secret until ``previous_secret_expires_at`` (rotation).
    previous_webhook_secret: Mapped[str | None] = mapped_column(EncryptedText())
    previous_secret_expires_at: Mapped[datetime | None]
    #: Whether the shop's webhooks are accepted. Stays True after an uninstall: ``shop/redact`` follows 48 h later.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    connection_kind: Mapped[str] = mapped_column(
        String(20), default=ShopConnection.STATIC_TOKEN, server_default=ShopConnection.STATIC_TOKEN
    )
    status: Mapped[str] = mapped_column(String(20), default=ShopStatus.CONNECTED, server_default=ShopStatus.CONNECTED)
    #: The precise reason shown while the shop is not connected (and on every redemption it blocks).
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None]
    #: None: the token does not expire (static tokens, legacy offline tokens).
    access_token_expires_at: Mapped[datetime | None]
    refresh_token: Mapped[str | None] = mapped_column(EncryptedText())
    refresh_token_expires_at: Mapped[datetime | None]
    token_refreshed_at: Mapped[datetime | None]
    #: Client credentials shops only; install shops use the app-wide SHOPIFY_CLIENT_ID / SHOPIFY_CLIENT_SECRET.
    client_id: Mapped[str | None] = mapped_column(String(100))
    client_secret: Mapped[str | None] = mapped_column(EncryptedText())
    #: Comma-separated scope handles, as Shopify's ``scope`` answer lists them.
    granted_scopes: Mapped[str] = mapped_column(Text, default="", server_default="")
    last_success_at: Mapped[datetime | None]
    #: JSON: the rate-limit bucket last seen ({"available", "maximum", "restore_rate", "at"}).
    rate_limit: Mapped[str | None] = mapped_column(Text)
    webhooks_synced_at: Mapped[datetime | None]
    #: JSON: the last webhook subscription sync's summary.
    webhook_health: Mapped[str | None] = mapped_column(Text)
    installed_at: Mapped[datetime | None]
    uninstalled_at: Mapped[datetime | None]

    brand: Mapped[Brand | None] = relationship()

    @property
    def callable(self) -> bool:
        """Whether the connector may call this shop's Admin API now."""
        return self.status == ShopStatus.CONNECTED and self.brand_id is not None


class ShopInstallState(Base):
    """One ``state`` handed to Shopify's authorize page: used once, bound to the browser that started it."""

    __tablename__ = "shop_install_states"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 hex of the state: the state itself lives only in the browser's cookie and the redirect.
    state_digest: Mapped[str] = mapped_column(String(64), unique=True)
    shop_domain: Mapped[str] = mapped_column(String(255))
    #: The brand an install started from the console connects to; None when it started from Shopify's side.
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"))
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("brand_id", "external_ref", name="uq_members_brand_ref"),
        # The console's search (queries.search_condition): a whole email in any case, on every backend ...
        Index("ix_members_email_lower", literal_column("lower(email)")),
        # ... and part of an email or a name (LIKE '%term%') from trigram indexes, on PostgreSQL with pg_trgm only
        # (migration 0004). The name is written the way PostgreSQL stores it, so autogenerate compares it equal;
        # queries.MEMBER_NAME_SEARCH is the same expression (tests/web/admin/test_search.py checks the plan).
        Index(
            "ix_members_email_trgm",
            literal_column("lower(email)").label("email_search"),
            postgresql_using="gin",
            postgresql_ops={"email_search": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        Index(
            "ix_members_name_trgm",
            literal_column("lower((first_name::text || ' '::text) || last_name::text)").label("name_search"),
            postgresql_using="gin",
            postgresql_ops={"name_search": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"), index=True)
    external_ref: Mapped[str | None] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str | None] = mapped_column(String(255), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    address1: Mapped[str | None] = mapped_column(String(255))
    address2: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(120))
    province_code: Mapped[str | None] = mapped_column(String(10))
    country_code: Mapped[str | None] = mapped_column(String(2))
    zip: Mapped[str | None] = mapped_column(String(20))
    #: The linked Shopify customer GID (the "CRM ID").
    shop_customer_id: Mapped[str | None] = mapped_column(String(100), index=True)
    redacted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)

    brand: Mapped[Brand] = relationship()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class LedgerEntry(Base):
    """Points move only by appending here; a balance is always ``SUM(delta)``."""

    __tablename__ = "points_ledger"
    __table_args__ = (UniqueConstraint("redemption_id", "kind", name="uq_ledger_redemption_kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    delta: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    redemption_id: Mapped[int | None] = mapped_column(ForeignKey("redemptions.id"))
    note: Mapped[str] = mapped_column(String(500), default="")
    actor: Mapped[str] = mapped_column(String(200), default="system")
    created_at: Mapped[datetime] = mapped_column(default=_now)


class Reward(Base):
    __tablename__ = "rewards"
    #: The loyalty platform's own id for the reward (``PUT /api/v1/rewards/by-ref/<ref>``), unique per brand.
    __table_args__ = (UniqueConstraint("brand_id", "external_ref", name="uq_rewards_brand_ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"), index=True)
    external_ref: Mapped[str | None] = mapped_column(String(100))
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id"))
    name: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str] = mapped_column(String(100), index=True)
    points_cost: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(40), default="shopify")
    instructions: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    #: Claimable from / until these dates (inclusive, UTC); None: no bound (migration 0013).
    available_from: Mapped[date | None] = mapped_column(Date)
    available_until: Mapped[date | None] = mapped_column(Date)
    #: Redemptions one member may hold of it, and all members together (reversed ones give theirs back).
    per_member_limit: Mapped[int | None] = mapped_column(Integer)
    total_quantity: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime | None] = mapped_column(onupdate=_now)


class Redemption(Base):
    __tablename__ = "redemptions"
    __table_args__ = (
        UniqueConstraint("brand_id", "idempotency_key", name="uq_redemptions_idempotency"),
        # The Fulfillments tabs list by status, newest first, with keyset pagination on (claimed_at, id).
        Index("ix_redemptions_brand_status_claimed", "brand_id", "status", "claimed_at", "id"),
        Index("ix_redemptions_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_redemptions_claimed_id", "claimed_at", "id"),
        # A brand's Unfulfilled tab (pending + error), newest first at any cursor depth (migration 0007).
        Index(
            "ix_redemptions_unfulfilled",
            "brand_id",
            "claimed_at",
            "id",
            postgresql_where=text("status IN ('pending', 'error')"),
            sqlite_where=text("status IN ('pending', 'error')"),
        ),
        # Search by part of a code (queries.CODE_SEARCH, LIKE '%term%'), on PostgreSQL with pg_trgm only
        # (migration 0007); the expression written as autogenerate compares it, like ix_members_email_trgm.
        Index(
            "ix_redemptions_code_trgm",
            literal_column("upper(code)").label("code_search"),
            postgresql_using="gin",
            postgresql_ops={"code_search": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"))
    code: Mapped[str] = mapped_column(String(40), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id"), index=True)
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id"))
    channel: Mapped[str] = mapped_column(String(40))
    points_cost: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    delivery_status: Mapped[str | None] = mapped_column(String(20))
    delivery_updated_at: Mapped[datetime | None]
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    tracking_url: Mapped[str | None] = mapped_column(String(500))
    error_code: Mapped[str | None] = mapped_column(String(60))
    error_message: Mapped[str | None] = mapped_column(Text)
    error_fix: Mapped[str | None] = mapped_column(Text)
    error_field: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: ``attempts`` when the automatic-retry budget last started (creation or a manual retry).
    attempt_budget_from: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(40))
    claim_expires_at: Mapped[datetime | None]
    #: Set when an attempt reached the irreversible call: later attempts look the order up first.
    submitted_at: Mapped[datetime | None]
    external_order_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    external_order_name: Mapped[str | None] = mapped_column(String(100))
    cancel_requested_at: Mapped[datetime | None]
    order_cancelled_at: Mapped[datetime | None]
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column(default=_now)
    fulfilled_at: Mapped[datetime | None]
    reversed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)

    member: Mapped[Member] = relationship()
    reward: Mapped[Reward] = relationship()
    shop: Mapped[Shop | None] = relationship()
    events: Mapped[list[RedemptionEventRow]] = relationship(
        back_populates="redemption", order_by="RedemptionEventRow.id"
    )


class RedemptionEventRow(Base):
    """Who did what, when, and why: one row per attempt, transition and action."""

    __tablename__ = "redemption_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    redemption_id: Mapped[int] = mapped_column(ForeignKey("redemptions.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=_now)
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any] | None]

    redemption: Mapped[Redemption] = relationship(back_populates="events")


class WebhookDelivery(Base):
    """A verified delivery, stored before it is acted on (at-least-once in, once out)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # Every key includes the shop, so no shop's delivery is ever taken for a duplicate of another shop's.
        UniqueConstraint("provider", "shop_domain", "event_id", "topic", name="uq_webhooks_event"),
        UniqueConstraint("provider", "shop_domain", "webhook_id", name="uq_webhooks_delivery"),
        # The same signed body again for the same topic: a redelivery under new ids (two subscriptions), or a
        # replay. Only the body is signed, so this is the key a replay cannot dodge; no part of it is ever NULL
        # (a NULL never conflicts, which let bodies without ``updated_at`` be replayed at will: migration 0008).
        UniqueConstraint("provider", "shop_domain", "topic", "body_sha256", name="uq_webhooks_body"),
        # The drain job and the sweeper look for deliveries not yet applied: a handful among millions.
        Index(
            "ix_webhook_deliveries_received",
            "id",
            postgresql_where=text("status = 'received'"),
            sqlite_where=text("status = 'received'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(40))
    shop_domain: Mapped[str] = mapped_column(String(255), index=True)
    topic: Mapped[str] = mapped_column(String(100))
    webhook_id: Mapped[str | None] = mapped_column(String(100))
    event_id: Mapped[str | None] = mapped_column(String(100))
    triggered_at: Mapped[datetime | None]
    resource_id: Mapped[str | None] = mapped_column(String(100))
    resource_updated_at: Mapped[datetime | None]
    customer_ref: Mapped[str | None] = mapped_column(String(100), index=True)
    body: Mapped[str | None] = mapped_column(Text)
    body_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="received")
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=_now)
    processed_at: Mapped[datetime | None]
    redacted_at: Mapped[datetime | None]


class OutboundMessage(Base):
    """Every confirmation email sent (or attempted), for the audit trail."""

    __tablename__ = "outbound_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    redemption_id: Mapped[int] = mapped_column(ForeignKey("redemptions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40), default="confirmation")
    to_address: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200), default="system")
    status: Mapped[str] = mapped_column(String(20), default="queued")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    sent_at: Mapped[datetime | None]


class ApiToken(Base):
    """Bearer tokens, stored as SHA-256 hashes: a database leak reveals no usable token."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(30))
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id"))
    #: Frequent-buyer party scope (``Role.DISTRIBUTOR`` / ``Role.RETAILER``); checked by ``access.check_scope``.
    distributor_id: Mapped[int | None]
    retailer_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=_now)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class User(Base):
    """A person who signs in to the admin console; the password is stored as a salted scrypt hash.

    Scope mirrors ``ApiToken``: a brand for brand admins (and optionally viewers), a distributor
    or retailer for the frequent-buyer party roles, nothing for platform admins and support.
    """

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-cased, so sign-in is case-insensitive and there is one account per address.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(30))
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id"))
    distributor_id: Mapped[int | None]
    retailer_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=_now)
    last_login_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    #: Bumped on password change or disable: sessions carry it, so old sessions stop working.
    session_version: Mapped[int] = mapped_column(default=1)


class ConsoleSession(Base):
    """One signed-in console session, so signing out (or a password change) ends it on the server too.

    The cookie carries a random session id; only its SHA-256 is stored, so a database reader cannot
    replay a session. A row older than the absolute lifetime (``CONNECTOR_SESSION_LIFETIME_HOURS``)
    no longer counts, however active the session was.
    """

    __tablename__ = "console_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(index=True)


class SignInFailure(Base):
    """One wrong sign-in, kept for the throttle's window (``core.sign_in_throttle``).

    Counted per (account, client address) and per client address, never per account alone, so a
    guesser slows themselves down without locking the real user out. Rows in the database (not in a
    worker's memory) make the count the same across every gunicorn worker and host.
    """

    __tablename__ = "sign_in_failures"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the normalised email that was typed (an account or not: typed text is not stored).
    account: Mapped[str] = mapped_column(String(64))
    #: The client address (an IPv6 address reduced to its /64, which one client usually holds whole).
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(index=True)

    __table_args__ = (
        Index("ix_sign_in_failures_address_at", "address", "at"),
        Index("ix_sign_in_failures_account_address_at", "account", "address", "at"),
    )


# The frequent-buyer tables share this Base; importing them here keeps ``Base.metadata`` whole
# for migrations and for every caller that only imports this module.
from connector.core import outbound_tables as _outbound_tables  # noqa: E402, F401
from connector.core import shop_cache_tables as _shop_cache_tables  # noqa: E402, F401
from connector.core import user_admin_tables as _user_admin_tables  # noqa: E402, F401
from connector.core.frequent_buyer import checkout_tables as _checkout_tables  # noqa: E402, F401
from connector.core.frequent_buyer import notice_tables as _fb_notice_tables  # noqa: E402, F401
from connector.core.frequent_buyer import tables as _frequent_buyer_tables  # noqa: E402, F401
