"""In-memory shop state: products, customers, orders, fulfillments, cancel jobs, webhook subscriptions.

One :class:`Store` per simulator; every read and write of its records happens while
holding :attr:`Store.lock`, so a GraphQL request sees a consistent snapshot and two
concurrent ``orderCreate`` calls cannot both claim the last unit of stock. The lock is
re-entrant because resolvers call helpers that also lock.

Numeric ids come from one process-wide counter shared by every record type and every
store: an id is never reused, not even after ``/_sim/reset``, and an order id can never
be mistaken for a customer id. That makes stale ids held by a client fail loudly
(``Customer does not exist``) instead of silently hitting a new record. Ids are above
2**32 like Shopify's, to catch 32-bit columns.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from shopify_sim.validation import CleanAddress

_ids = itertools.count(7_000_000_000_001)
_ids_lock = threading.Lock()


def next_id() -> int:
    """A process-wide unique numeric id (shared across record types and resets)."""
    with _ids_lock:
        return next(_ids)


def gid(kind: str, number: int | str) -> str:
    """Shopify global id, e.g. ``gid://shopify/Order/7000000000001``."""
    return f"gid://shopify/{kind}/{number}"


def parse_gid(value: object, kind: str) -> int | None:
    """The numeric part of ``gid://shopify/<kind>/<n>`` (query string ignored), else ``None``."""
    if not isinstance(value, str):
        return None
    prefix = f"gid://shopify/{kind}/"
    if not value.startswith(prefix):
        return None
    number = value[len(prefix) :].split("?", 1)[0]
    return int(number) if number.isdigit() else None


def iso(ts: float | None) -> str | None:
    """GraphQL ``DateTime`` form: UTC, second precision, ``Z`` suffix."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rest_time(ts: float | None) -> str | None:
    """REST/webhook form: ISO 8601 with an explicit offset, as Shopify's payloads use."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).replace(microsecond=0).isoformat()


@dataclass
class Address:
    """A stored mailing address (customer default address or order shipping address)."""

    id: int
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    province: str | None = None
    province_code: str | None = None
    country: str | None = None
    country_code: str | None = None
    zip: str | None = None
    phone: str | None = None

    @classmethod
    def from_clean(cls, clean: CleanAddress) -> Address:
        """Give a validated address an id."""
        return cls(id=next_id(), **clean.__dict__)

    @property
    def name(self) -> str | None:
        """``MailingAddress.name``: first and last name joined."""
        joined = " ".join(p for p in (self.first_name, self.last_name) if p)
        return joined or None


@dataclass
class Variant:
    """A product variant with its (single-location) inventory."""

    id: int
    product_id: int
    inventory_item_id: int
    sku: str | None
    title: str
    price: Decimal
    inventory_quantity: int
    tracked: bool
    policy: str  # "DENY" | "CONTINUE"
    position: int
    created_at: float
    updated_at: float


@dataclass
class Product:
    """A product; ``status`` is the GraphQL ``ProductStatus`` name."""

    id: int
    title: str
    status: str
    variant_ids: list[int]
    created_at: float
    updated_at: float
    vendor: str = "Simulator"


@dataclass
class Customer:
    """A customer; ``phone`` is stored in E.164 form like Shopify does."""

    id: int
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    tags: list[str]
    note: str | None
    addresses: list[Address]
    created_at: float
    updated_at: float

    @property
    def default_address(self) -> Address | None:
        """The first address is the default one."""
        return self.addresses[0] if self.addresses else None

    @property
    def display_name(self) -> str:
        """Shopify's ``displayName``: the name, else the email, else the phone."""
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or self.email or self.phone or ""


@dataclass
class LineItem:
    """An order line; ``price`` is the unit price in shop currency."""

    id: int
    variant_id: int | None
    product_id: int | None
    sku: str | None
    title: str
    variant_title: str | None
    quantity: int
    price: Decimal
    requires_shipping: bool = True
    properties: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Fulfillment:
    """A fulfillment of a whole order. ``status`` uses GraphQL ``FulfillmentStatus`` names."""

    id: int
    order_id: int
    name: str
    status: str
    shipment_status: str | None
    tracking_number: str | None
    tracking_url: str | None
    tracking_company: str | None
    created_at: float
    updated_at: float


@dataclass
class Order:
    """An order as created by ``orderCreate``."""

    id: int
    number: int
    email: str | None
    phone: str | None
    customer_id: int | None
    tags: list[str]
    source_identifier: str | None
    source_name: str | None
    note: str | None
    test: bool
    financial_status: str
    currency: str
    line_items: list[LineItem]
    shipping_address: Address | None
    billing_address: Address | None
    created_at: float
    updated_at: float
    processed_at: float
    shipping_total: Decimal = Decimal("0")
    cancelled_at: float | None = None
    cancel_reason: str | None = None
    closed_at: float | None = None
    fulfillment_ids: list[int] = field(default_factory=list)
    #: variant id -> units claimed by this order (given back by a restocking cancel).
    inventory_claims: dict[int, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """``#1001``, ``#1002``, ..."""
        return f"#{self.number}"

    @property
    def total(self) -> Decimal:
        """Sum of line prices times quantities plus shipping (no tax, no discounts)."""
        lines = sum((li.price * li.quantity for li in self.line_items), Decimal("0"))
        return lines + self.shipping_total


@dataclass
class WebhookSubscription:
    """A ``webhookSubscriptionCreate`` result: where one topic's events go, filtered and trimmed.

    ``topic`` is the ``WebhookSubscriptionTopic`` name (``ORDERS_FULFILLED``); ``filter`` is the
    search-syntax text as given (``None`` for no filter); ``include_fields`` empty means the whole payload.
    """

    id: int
    topic: str
    uri: str
    format: str
    filter: str | None
    include_fields: list[str]
    metafield_namespaces: list[str]
    name: str | None
    created_at: float
    updated_at: float


@dataclass
class Job:
    """The async job ``orderCancel`` returns; done once ``done_at`` has passed."""

    id: str
    done_at: float

    @property
    def done(self) -> bool:
        """Whether the job has finished (polled through ``job(id:)``)."""
        return time.time() >= self.done_at


class Store:
    """All records of one simulated shop. Hold :attr:`lock` while touching them."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.products: dict[int, Product] = {}
        self.variants: dict[int, Variant] = {}
        self.customers: dict[int, Customer] = {}
        self.orders: dict[int, Order] = {}
        self.fulfillments: dict[int, Fulfillment] = {}
        self.jobs: dict[str, Job] = {}
        self.webhook_subscriptions: dict[int, WebhookSubscription] = {}
        self.next_order_number = 1001

    def reset(self) -> None:
        """Forget every record; order names restart at ``#1001`` (ids never restart)."""
        with self.lock:
            self.products.clear()
            self.variants.clear()
            self.customers.clear()
            self.orders.clear()
            self.fulfillments.clear()
            self.jobs.clear()
            self.webhook_subscriptions.clear()
            self.next_order_number = 1001

    # -- products -------------------------------------------------------------------
    def add_product(self, title: str, status: str, variants: list[dict]) -> Product:
        """Create a product with variants (dicts of sku/title/price/inventory/tracked/policy)."""
        with self.lock:
            now = time.time()
            product = Product(id=next_id(), title=title, status=status, variant_ids=[], created_at=now, updated_at=now)
            for position, spec in enumerate(variants, start=1):
                variant = Variant(
                    id=next_id(),
                    product_id=product.id,
                    inventory_item_id=next_id(),
                    sku=spec.get("sku"),
                    title=spec.get("title") or "Default Title",
                    price=Decimal(str(spec.get("price", "0.00"))),
                    inventory_quantity=int(spec.get("inventory", 0)),
                    tracked=bool(spec.get("tracked", True)),
                    policy=str(spec.get("policy", "DENY")).upper(),
                    position=position,
                    created_at=now,
                    updated_at=now,
                )
                self.variants[variant.id] = variant
                product.variant_ids.append(variant.id)
            self.products[product.id] = product
            return product

    def variants_with_sku(self, sku: str) -> list[Variant]:
        """Exact (case-sensitive) SKU matches, oldest first."""
        with self.lock:
            return [v for v in self.variants.values() if v.sku == sku]

    def product_of(self, variant: Variant) -> Product:
        """The product owning ``variant``."""
        return self.products[variant.product_id]

    # -- customers ------------------------------------------------------------------
    def customer_by_email(self, email: str, exclude: int | None = None) -> Customer | None:
        """Case-insensitive email lookup (Shopify treats emails case-insensitively)."""
        wanted = email.strip().lower()
        with self.lock:
            return next(
                (c for c in self.customers.values() if c.id != exclude and c.email and c.email.lower() == wanted),
                None,
            )

    def customer_by_phone(self, phone: str, exclude: int | None = None) -> Customer | None:
        """Lookup by E.164 phone."""
        with self.lock:
            return next((c for c in self.customers.values() if c.id != exclude and c.phone == phone), None)

    # -- orders ---------------------------------------------------------------------
    def take_order_number(self) -> int:
        """Reserve the next order number (``#1001`` first)."""
        with self.lock:
            number = self.next_order_number
            self.next_order_number += 1
            return number

    def order_fulfillments(self, order: Order) -> list[Fulfillment]:
        """The order's fulfillments, oldest first."""
        with self.lock:
            return [self.fulfillments[f] for f in order.fulfillment_ids]

    def display_fulfillment_status(self, order: Order) -> str:
        """``FULFILLED`` once an active fulfillment exists, else ``UNFULFILLED``."""
        active = [f for f in self.order_fulfillments(order) if f.status not in ("CANCELLED", "ERROR", "FAILURE")]
        return "FULFILLED" if active else "UNFULFILLED"

    def new_job(self, delay_seconds: float) -> Job:
        """Register an async job finishing after ``delay_seconds``."""
        with self.lock:
            job = Job(id=str(uuid.uuid4()), done_at=time.time() + delay_seconds)
            self.jobs[job.id] = job
            return job
