"""Frequent-buyer schema, on the same ``Base`` (and so the same migrations) as the rest.

Uniqueness carries the promises here too: one reported redemption per retailer and
POS key (``uq_fb_pos_redemption_key``: a report uploaded twice imports nothing twice,
a corrected row replaces its denial in place), one report file per retailer and
content hash, one free good (credit) per processed redemption.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from connector.core.orm_base import Base, _now

_MONEY = Numeric(12, 2)
_SIZE = Numeric(12, 3)


class Program(Base):
    """A brand's Buy X Get Y frequent-buyer program: one brand per card, optional dates."""

    __tablename__ = "fb_programs"
    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    #: The program's code as POS systems print it (e.g. a DARTS program name); matched case-insensitively.
    code: Mapped[str] = mapped_column(String(100))
    buy_quantity: Mapped[int]  # X
    free_quantity: Mapped[int] = mapped_column(default=1)  # Y
    fulfilment_type: Mapped[str] = mapped_column(String(20))
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    #: When true, passed redemptions wait in Quality Check for a person; otherwise they are processed at once.
    quality_check_required: Mapped[bool] = mapped_column(default=False)
    #: The least a card's purchases must come to, in dollars, valued from the store's price list
    #: ("Insufficient Purchase Amount", seed 003); None = no dollar minimum, only the quantity rule.
    minimum_purchase_amount: Mapped[Decimal | None] = mapped_column(_MONEY)
    #: Set for a dollars-off program: each processed redemption owes the retailer this many dollars (a ``Rebate``)
    #: instead of a free good.
    rebate_amount: Mapped[Decimal | None] = mapped_column(_MONEY)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    __table_args__ = (UniqueConstraint("brand_id", "code", name="uq_fb_program_code"),)


class ProgramItem(Base):
    """An eligible item: SKU/UPC, description, size with unit, category."""

    __tablename__ = "fb_program_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("fb_programs.id"))
    sku: Mapped[str] = mapped_column(String(100))
    upc: Mapped[str | None] = mapped_column(String(20), index=True)
    description: Mapped[str] = mapped_column(String(300))
    size_value: Mapped[Decimal] = mapped_column(_SIZE)
    size_unit: Mapped[str] = mapped_column(String(10))  # lb, oz, kg, g, l, ml, fl oz, gal, ct, ...
    category: Mapped[str] = mapped_column(String(100), default="")
    __table_args__ = (
        UniqueConstraint("program_id", "sku", name="uq_fb_program_item_sku"),
        Index("ix_fb_program_items_sku", "sku"),
    )


class Distributor(Base):
    """Serves retailers inside its service area (states and/or ZIP prefixes) for its associated programs."""

    __tablename__ = "fb_distributors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    service_states: Mapped[list[str]] = mapped_column(JSON, default=list)
    service_zip_prefixes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=_now)


class DistributorProgram(Base):
    """The programs a distributor chose to be associated with (a distributor option for retailers)."""

    __tablename__ = "fb_distributor_programs"
    distributor_id: Mapped[int] = mapped_column(ForeignKey("fb_distributors.id"), primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("fb_programs.id"), primary_key=True)
    associated_at: Mapped[datetime] = mapped_column(default=_now)


class Retailer(Base):
    """A store account; a POS Report account submits redemptions as report files.

    It has no account number of its own: each distributor gives the store one, kept on the enrollment.
    """

    __tablename__ = "fb_retailers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=_now)


class RetailerLocation(Base):
    __tablename__ = "fb_retailer_locations"
    id: Mapped[int] = mapped_column(primary_key=True)
    retailer_id: Mapped[int] = mapped_column(ForeignKey("fb_retailers.id"))
    name: Mapped[str] = mapped_column(String(200))
    #: The store number the POS prints on each report row.
    store_code: Mapped[str] = mapped_column(String(50))
    address1: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[str] = mapped_column(String(10))
    zip: Mapped[str] = mapped_column(String(20))
    __table_args__ = (UniqueConstraint("retailer_id", "store_code", name="uq_fb_location_store_code"),)


class Enrollment(Base):
    """A retailer runs a program and has chosen who fulfils it (a distributor, for distributor programs)."""

    __tablename__ = "fb_enrollments"
    id: Mapped[int] = mapped_column(primary_key=True)
    retailer_id: Mapped[int] = mapped_column(ForeignKey("fb_retailers.id"))
    program_id: Mapped[int] = mapped_column(ForeignKey("fb_programs.id"))
    distributor_id: Mapped[int | None] = mapped_column(ForeignKey("fb_distributors.id"))
    #: The store's account number with that distributor (its changes: ``AccountNumberChange``).
    account_number: Mapped[str | None] = mapped_column(String(50))
    enrolled_at: Mapped[datetime] = mapped_column(default=_now)
    ended_at: Mapped[datetime | None]
    __table_args__ = (UniqueConstraint("retailer_id", "program_id", name="uq_fb_enrollment"),)


class Customer(Base):
    """A retailer's customer (a "pet owner account"), matched by phone, email or the POS's internal id."""

    __tablename__ = "fb_customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    retailer_id: Mapped[int] = mapped_column(ForeignKey("fb_retailers.id"))
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(20))  # digits only
    internal_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    __table_args__ = (
        Index("ix_fb_customers_phone", "retailer_id", "phone"),
        Index("ix_fb_customers_email", "retailer_id", "email"),
        Index("ix_fb_customers_internal_id", "retailer_id", "internal_id"),
    )


class PosReport(Base):
    """One uploaded file. The same bytes from the same retailer are one report, never two."""

    __tablename__ = "fb_pos_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    retailer_id: Mapped[int] = mapped_column(ForeignKey("fb_retailers.id"))
    format: Mapped[str] = mapped_column(String(50))
    filename: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    row_count: Mapped[int]
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(default=_now)
    __table_args__ = (UniqueConstraint("retailer_id", "sha256", name="uq_fb_pos_report_file"),)


class PosRedemption(Base):
    """One reported free-good redemption (a completed card) and where it stands.

    ``pos_key`` is the POS's own identity for the card redemption, so a resubmitted
    corrected row finds and replaces its denied predecessor instead of adding a second.
    """

    __tablename__ = "fb_pos_redemptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    retailer_id: Mapped[int] = mapped_column(ForeignKey("fb_retailers.id"))
    report_id: Mapped[int] = mapped_column(ForeignKey("fb_pos_reports.id"), index=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("fb_retailer_locations.id"))
    pos_key: Mapped[str] = mapped_column(String(200))
    #: The file rows (1-based, header = row 1) this redemption came from, for the Review screen.
    source_rows: Mapped[list[int]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20))
    denial_reason: Mapped[str | None] = mapped_column(String(40))
    denial_detail: Mapped[str | None] = mapped_column(Text)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("fb_customers.id"))
    program_id: Mapped[int | None] = mapped_column(ForeignKey("fb_programs.id"))
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id"))
    distributor_id: Mapped[int | None] = mapped_column(ForeignKey("fb_distributors.id"))
    redeemed_on: Mapped[date] = mapped_column(Date)
    #: The card as reported: {"purchases": [...], "free_goods": [...], "customer": {...}, "program_code": ...}.
    card: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now)
    __table_args__ = (
        UniqueConstraint("retailer_id", "pos_key", name="uq_fb_pos_redemption_key"),
        Index("ix_fb_pos_redemptions_status", "retailer_id", "status"),
    )


class FreeGood(Base):
    """A processed redemption as a credit owed to the retailer: the distributor's "New Reward"."""

    __tablename__ = "fb_free_goods"
    id: Mapped[int] = mapped_column(primary_key=True)
    pos_redemption_id: Mapped[int] = mapped_column(ForeignKey("fb_pos_redemptions.id"), unique=True)
    retailer_id: Mapped[int] = mapped_column(ForeignKey("fb_retailers.id"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("fb_retailer_locations.id"))
    #: None for direct (manufacturer) and retailer-fulfilled programs.
    distributor_id: Mapped[int | None] = mapped_column(ForeignKey("fb_distributors.id"))
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"))
    program_id: Mapped[int] = mapped_column(ForeignKey("fb_programs.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("fb_customers.id"))
    fulfilment_type: Mapped[str] = mapped_column(String(20))
    sku: Mapped[str] = mapped_column(String(100))
    upc: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int]
    size_value: Mapped[Decimal | None] = mapped_column(_SIZE)
    size_unit: Mapped[str | None] = mapped_column(String(10))
    redeemed_on: Mapped[date] = mapped_column(Date)
    #: Approximate cost from the retailer's price list at processing time, when one exists.
    unit_cost: Mapped[Decimal | None] = mapped_column(_MONEY)
    status: Mapped[str] = mapped_column(String(20))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("fb_batches.id"), index=True)
    reason: Mapped[str | None] = mapped_column(Text)  # why declined or held
    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now)
    __table_args__ = (
        Index("ix_fb_free_goods_distributor_status", "distributor_id", "status"),
        Index("ix_fb_free_goods_retailer_status", "retailer_id", "status"),
    )


class Batch(Base):
    """A distributor's Batch Report for one retailer: reviewed, then marked fulfilled/credited."""

    __tablename__ = "fb_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("fb_distributors.id"))
    retailer_id: Mapped[int] = mapped_column(ForeignKey("fb_retailers.id"))
    description: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20))
    credit_group_id: Mapped[int | None] = mapped_column(ForeignKey("fb_credit_groups.id"))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    fulfilled_at: Mapped[datetime | None]
    #: Set when the retailer confirms the distributor's credit memo matches.
    reconciled_at: Mapped[datetime | None]
    reconciled_by: Mapped[str | None] = mapped_column(String(200))
    #: The distributor's credit memo for the batch, recorded when it marks the batch fulfilled/credited
    #: (both or neither: the credit may also arrive on an invoice or an email, seed 000).
    credit_memo_number: Mapped[str | None] = mapped_column(String(50))
    credit_memo_amount: Mapped[Decimal | None] = mapped_column(_MONEY)
    __table_args__ = (Index("ix_fb_batches_distributor_status", "distributor_id", "status"),)


class CreditGroup(Base):
    """Fulfilled batches a distributor grouped to claim from the manufacturer (Batches Grouped for MFG Credit)."""

    __tablename__ = "fb_credit_groups"
    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("fb_distributors.id"))
    description: Mapped[str] = mapped_column(String(300))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=_now)


class PriceListEntry(Base):
    """A retailer's cost for an item: turns credit status counts into approximate money."""

    __tablename__ = "fb_price_list"
    id: Mapped[int] = mapped_column(primary_key=True)
    retailer_id: Mapped[int] = mapped_column(ForeignKey("fb_retailers.id"))
    sku: Mapped[str] = mapped_column(String(100))
    unit_cost: Mapped[Decimal] = mapped_column(_MONEY)
    srp: Mapped[Decimal | None] = mapped_column(_MONEY)
    __table_args__ = (UniqueConstraint("retailer_id", "sku", name="uq_fb_price_list_sku"),)


class CreditMemo(Base):
    """A distributor's credit memo the retailer imported to reconcile a credited batch."""

    __tablename__ = "fb_credit_memos"
    id: Mapped[int] = mapped_column(primary_key=True)
    retailer_id: Mapped[int] = mapped_column(ForeignKey("fb_retailers.id"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("fb_batches.id"))
    filename: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    imported_by: Mapped[str] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column(default=_now)
    #: True when every line matched and nothing in the batch is missing from the memo.
    matches: Mapped[bool]
    __table_args__ = (UniqueConstraint("batch_id", "sha256", name="uq_fb_credit_memo_file"),)


class CreditMemoLine(Base):
    __tablename__ = "fb_credit_memo_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    memo_id: Mapped[int] = mapped_column(ForeignKey("fb_credit_memos.id"), index=True)
    row: Mapped[int | None]  # file row; None for a batch item missing from the memo
    sku: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int | None]
    amount: Mapped[Decimal | None] = mapped_column(_MONEY)
    expected_quantity: Mapped[int | None]
    expected_amount: Mapped[Decimal | None] = mapped_column(_MONEY)
    outcome: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(Text, default="")


class FbEvent(Base):
    """Every frequent-buyer move: who, what, when, why, committed with the change it records."""

    __tablename__ = "fb_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: "pos_redemption", "free_good" or "batch".
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int]
    event: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=_now)
    __table_args__ = (Index("ix_fb_events_subject", "subject_type", "subject_id", "id"),)


from connector.core.frequent_buyer import account_number_tables as _account_number_tables  # noqa: E402, F401
from connector.core.frequent_buyer import rebate_tables as _rebate_tables  # noqa: E402, F401
