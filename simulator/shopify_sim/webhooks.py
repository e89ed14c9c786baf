"""Webhook payloads, signing and delivery, shaped like Shopify's (shopify-api.md §3).

* Bodies are the REST resource JSON: snake_case keys, numeric ``id`` plus
  ``admin_graphql_api_id``, ``tags`` as one comma-separated string.
* Headers: ``X-Shopify-Topic``, ``X-Shopify-Hmac-Sha256`` (base64 HMAC-SHA256 of the
  raw body keyed with the app secret), ``X-Shopify-Shop-Domain``,
  ``X-Shopify-API-Version``, ``X-Shopify-Webhook-Id`` (new for every delivery),
  ``X-Shopify-Event-Id`` (one per event, the same on every redelivery) and
  ``X-Shopify-Triggered-At``.
* Deliveries triggered by GraphQL mutations run on a background thread, like Shopify's
  (the API response never waits for the receiver); deliveries triggered through the
  control API are synchronous so a test can assert on the receiver's answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import threading
import time
import uuid
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import requests

from shopify_sim.config import API_VERSION, SimConfig
from shopify_sim.store import (
    Address,
    Customer,
    Fulfillment,
    LineItem,
    Order,
    Product,
    Store,
    gid,
    rest_time,
)

#: How many deliveries / events the dispatcher remembers for ``GET /_sim/webhooks``.
LOG_SIZE = 1000


def sign(secret: str, body: bytes) -> str:
    """``X-Shopify-Hmac-Sha256`` for ``body``: base64 of HMAC-SHA256 keyed with ``secret``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def encode_body(payload: Any) -> bytes:
    """Serialise a payload the way it goes on the wire (UTF-8 JSON)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def triggered_at_now() -> str:
    """``X-Shopify-Triggered-At`` format, e.g. ``2025-07-10T16:15:47.000000Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class WebhookEvent:
    """One merchant action; every delivery of it carries the same Event-Id and body."""

    topic: str
    body: bytes
    event_id: str
    triggered_at: str
    url: str | None = None


@dataclass
class Delivery:
    """Outcome of one HTTP delivery attempt."""

    topic: str
    url: str
    event_id: str
    webhook_id: str
    triggered_at: str
    status: int | None
    error: str | None
    elapsed_ms: float
    response_body: str = ""

    @property
    def ok(self) -> bool:
        """Shopify counts only 2xx as success (redirects are failures)."""
        return self.status is not None and 200 <= self.status < 300

    def as_dict(self) -> dict[str, Any]:
        """JSON view for the control API."""
        data = asdict(self)
        data["ok"] = self.ok
        return data


def make_event(topic: str, payload: Any = None, *, body: bytes | None = None, url: str | None = None) -> WebhookEvent:
    """Freeze a payload into an event (fresh Event-Id and trigger time)."""
    raw = body if body is not None else encode_body(payload)
    return WebhookEvent(topic=topic, body=raw, event_id=str(uuid.uuid4()), triggered_at=triggered_at_now(), url=url)


def webhook_headers(
    event: WebhookEvent,
    *,
    secret: str,
    shop_domain: str,
    api_version: str = API_VERSION,
    webhook_id: str | None = None,
) -> dict[str, str]:
    """The headers Shopify sends with one delivery of ``event``."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "Shopify-Captain-Hook",
        "X-Shopify-Topic": event.topic,
        "X-Shopify-Hmac-Sha256": sign(secret, event.body),
        "X-Shopify-Shop-Domain": shop_domain,
        "X-Shopify-API-Version": api_version,
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": event.event_id,
        "X-Shopify-Triggered-At": event.triggered_at,
    }


def send_webhook(
    url: str,
    topic: str,
    payload: Any = None,
    *,
    secret: str,
    shop_domain: str,
    api_version: str = API_VERSION,
    body: bytes | None = None,
    event: WebhookEvent | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
) -> Delivery:
    """POST one signed delivery and report what the receiver answered (never raises).

    Pass ``event`` to redeliver an earlier event (same Event-Id, new Webhook-Id); else
    ``payload`` (JSON-serialised) or raw ``body`` bytes make a new event. ``headers``
    override or add headers after signing, e.g. a wrong ``X-Shopify-Hmac-Sha256``.
    """
    if event is None:
        event = make_event(topic, payload, body=body)
    sent = webhook_headers(event, secret=secret, shop_domain=shop_domain, api_version=api_version)
    for key, value in (headers or {}).items():
        # Case-insensitive override so {"x-shopify-hmac-sha256": ...} replaces the signed one.
        for existing in [k for k in sent if k.lower() == key.lower()]:
            del sent[existing]
        if value is not None:
            sent[key] = value
    started = time.monotonic()
    status: int | None = None
    error: str | None = None
    text = ""
    try:
        response = requests.post(url, data=event.body, headers=sent, timeout=timeout, allow_redirects=False)
        status, text = response.status_code, response.text[:500]
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"
    return Delivery(
        topic=event.topic,
        url=url,
        event_id=event.event_id,
        webhook_id=next((v for k, v in sent.items() if k.lower() == "x-shopify-webhook-id"), ""),
        triggered_at=event.triggered_at,
        status=status,
        error=error,
        elapsed_ms=round((time.monotonic() - started) * 1000, 1),
        response_body=text,
    )


@dataclass(frozen=True)
class Routes:
    """Where one event goes when the shop's webhook subscriptions cover its topic."""

    #: ``(uri, payload trimmed to that subscription's includeFields)`` per subscription whose filter passed.
    targets: list[tuple[str, Any]]
    #: Subscriptions of the topic whose filter the payload failed: no delivery.
    filtered: int = 0
    #: Subscriptions to a Pub/Sub or EventBridge address, which the simulator cannot reach.
    undeliverable: int = 0


#: ``router(topic, payload)``: the event's :class:`Routes`, or ``None`` to leave it to the settings.
Router = Callable[[str, Any], "Routes | None"]


class WebhookDispatcher:
    """Sends events to subscriptions (or the configured target); remembers events and deliveries.

    With a ``router`` (the simulator's webhook subscriptions, see ``subscriptions.routes``), an
    event whose topic has subscriptions goes to each one whose filter it passes, trimmed to that
    subscription's ``includeFields``; every delivery of one event shares its Event-Id. Topics
    without a subscription keep the settings' behaviour (``webhook_target_url`` + ``webhook_topics``).
    """

    def __init__(self, config: SimConfig, router: Router | None = None) -> None:
        self.config = config
        self._router = router
        self._lock = threading.Lock()
        self._queue: queue.Queue[WebhookEvent | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._log: deque[Delivery] = deque(maxlen=LOG_SIZE)
        self._events: OrderedDict[str, WebhookEvent] = OrderedDict()
        self._counts: Counter[str] = Counter()

    def subscribed(self, topic: str) -> bool:
        """Whether automatic deliveries of ``topic`` go out (target set and topic wanted)."""
        topics = self.config.webhook_topics
        return bool(self.config.webhook_target_url) and (topics is None or topic in topics)

    def remember(self, event: WebhookEvent) -> None:
        """Keep ``event`` for redelivery (bounded)."""
        with self._lock:
            self._events[event.event_id] = event
            while len(self._events) > LOG_SIZE:
                self._events.popitem(last=False)

    def event(self, event_id: str) -> WebhookEvent | None:
        """A remembered event."""
        with self._lock:
            return self._events.get(event_id)

    def deliver(self, event: WebhookEvent, headers: dict[str, str] | None = None, url: str | None = None) -> Delivery:
        """Deliver ``event`` now (new Webhook-Id), log and return the outcome."""
        target = url or event.url or self.config.webhook_target_url
        if not target:
            raise ValueError("no webhook_target_url configured and no url given")
        delivery = send_webhook(
            target,
            event.topic,
            event=event,
            secret=self.config.webhook_secret,
            shop_domain=self.config.shop_domain,
            api_version=self.config.api_version,
            headers=headers,
            timeout=self.config.webhook_timeout_seconds,
        )
        with self._lock:
            self._log.append(delivery)
            self._counts["bytes"] += len(event.body)
        return delivery

    def emit(self, topic: str, payload: Any, *, sync: bool) -> Delivery | None:
        """Send an automatic webhook if subscribed: now (``sync``) or on the background thread.

        Returns the (first) delivery when ``sync``; every delivery is in :meth:`log`.
        """
        routed = self._router(topic, payload) if self._router is not None else None
        if routed is None:
            if not self.subscribed(topic):
                return None
            events = [make_event(topic, payload, url=self.config.webhook_target_url)]
        else:
            with self._lock:
                self._counts["filtered"] += routed.filtered
                self._counts["undeliverable"] += routed.undeliverable
            shared = make_event(topic, body=b"")
            events = [
                WebhookEvent(topic, encode_body(trimmed), shared.event_id, shared.triggered_at, url=uri)
                for uri, trimmed in routed.targets
            ]
        first: Delivery | None = None
        for event in events:
            self.remember(event)
            if sync:
                delivery = self.deliver(event)
                first = first or delivery
            else:
                self._ensure_worker()
                self._queue.put(event)
        return first

    def counts(self) -> dict[str, int]:
        """Since the last reset: deliveries suppressed by subscription filters (``filtered``), those to
        addresses the simulator cannot reach (``undeliverable``), and body bytes sent (``bytes``)."""
        with self._lock:
            return {key: self._counts[key] for key in ("filtered", "undeliverable", "bytes")}

    def _ensure_worker(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="shopify-sim-webhooks", daemon=True)
                self._thread.start()

    def _work(self) -> None:
        while True:
            event = self._queue.get()
            try:
                if event is None:
                    return
                self.deliver(event)
            except Exception:  # a broken delivery must not kill the worker
                pass
            finally:
                self._queue.task_done()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until queued deliveries are done; ``False`` if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._queue.all_tasks_done.wait(remaining):
                    return not self._queue.unfinished_tasks
        return True

    def log(self) -> list[dict[str, Any]]:
        """Deliveries so far, oldest first."""
        with self._lock:
            return [d.as_dict() for d in self._log]

    def reset(self) -> None:
        """Forget deliveries, events and counts (queued deliveries still go out)."""
        with self._lock:
            self._log.clear()
            self._events.clear()
            self._counts.clear()

    def stop(self) -> None:
        """Let the background thread finish after the queued deliveries."""
        with self._lock:
            thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)


# -- REST payloads ------------------------------------------------------------------------
def money(amount: Decimal) -> str:
    """REST money string, two decimals."""
    return f"{amount:.2f}"


def _money_set(amount: Decimal, currency: str) -> dict[str, Any]:
    one = {"amount": money(amount), "currency_code": currency}
    return {"shop_money": one, "presentment_money": dict(one)}


def address_payload(
    address: Address | None, *, customer_id: int | None = None, default: bool | None = None
) -> dict[str, Any] | None:
    """REST address object (customer default address or order shipping address)."""
    if address is None:
        return None
    data: dict[str, Any] = {
        "first_name": address.first_name,
        "last_name": address.last_name,
        "company": address.company,
        "address1": address.address1,
        "address2": address.address2,
        "city": address.city,
        "province": address.province,
        "country": address.country,
        "zip": address.zip,
        "phone": address.phone,
        "name": address.name,
        "province_code": address.province_code,
        "country_code": address.country_code,
        "country_name": address.country,
    }
    if customer_id is not None:
        data = {"id": address.id, "customer_id": customer_id, **data, "default": bool(default)}
    return data


def customer_payload(customer: Customer) -> dict[str, Any]:
    """``customers/create`` / ``customers/update`` body (and ``order.customer``)."""
    return {
        "id": customer.id,
        "email": customer.email,
        "created_at": rest_time(customer.created_at),
        "updated_at": rest_time(customer.updated_at),
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "state": "disabled",
        "note": customer.note,
        "verified_email": True,
        "multipass_identifier": None,
        "tax_exempt": False,
        "phone": customer.phone,
        "tags": ", ".join(customer.tags),
        "currency": "USD",
        "tax_exemptions": [],
        "admin_graphql_api_id": gid("Customer", customer.id),
        "addresses": [
            address_payload(a, customer_id=customer.id, default=i == 0) for i, a in enumerate(customer.addresses)
        ],
        "default_address": address_payload(customer.default_address, customer_id=customer.id, default=True),
    }


def line_item_payload(item: LineItem, order: Order, fulfilled: bool) -> dict[str, Any]:
    """One ``line_items`` entry of an order payload."""
    return {
        "id": item.id,
        "admin_graphql_api_id": gid("LineItem", item.id),
        "variant_id": item.variant_id,
        "product_id": item.product_id,
        "sku": item.sku,
        "title": item.title,
        "variant_title": item.variant_title,
        "name": f"{item.title} - {item.variant_title}" if item.variant_title else item.title,
        "quantity": item.quantity,
        "current_quantity": 0 if order.cancelled_at else item.quantity,
        "fulfillable_quantity": 0 if fulfilled or order.cancelled_at else item.quantity,
        "fulfillment_status": "fulfilled" if fulfilled else None,
        "price": money(item.price),
        "price_set": _money_set(item.price, order.currency),
        "requires_shipping": item.requires_shipping,
        "properties": [dict(p) for p in item.properties],
    }


def fulfillment_payload(store: Store, fulfillment: Fulfillment) -> dict[str, Any]:
    """``fulfillments/create`` / ``fulfillments/update`` body."""
    order = store.orders[fulfillment.order_id]
    numbers = [fulfillment.tracking_number] if fulfillment.tracking_number else []
    urls = [fulfillment.tracking_url] if fulfillment.tracking_url else []
    return {
        "id": fulfillment.id,
        "admin_graphql_api_id": gid("Fulfillment", fulfillment.id),
        "order_id": order.id,
        "name": fulfillment.name,
        "status": fulfillment.status.lower(),
        "shipment_status": fulfillment.shipment_status,
        "service": "manual",
        "location_id": None,
        "origin_address": None,
        "email": order.email,
        "destination": address_payload(order.shipping_address),
        "tracking_company": fulfillment.tracking_company,
        "tracking_number": fulfillment.tracking_number,
        "tracking_numbers": numbers,
        "tracking_url": fulfillment.tracking_url,
        "tracking_urls": urls,
        "receipt": {},
        "created_at": rest_time(fulfillment.created_at),
        "updated_at": rest_time(fulfillment.updated_at),
        "line_items": [line_item_payload(li, order, True) for li in order.line_items],
    }


def order_payload(store: Store, order: Order) -> dict[str, Any]:
    """``orders/*`` body (also what ``GET /_sim/orders`` lists)."""
    fulfilled = store.display_fulfillment_status(order) == "FULFILLED"
    customer = store.customers.get(order.customer_id) if order.customer_id else None
    total = order.total
    return {
        "id": order.id,
        "admin_graphql_api_id": gid("Order", order.id),
        "name": order.name,
        "number": order.number - 1000,
        "order_number": order.number,
        "email": order.email,
        "contact_email": order.email,
        "phone": order.phone,
        "tags": ", ".join(order.tags),
        "source_identifier": order.source_identifier,
        "source_name": order.source_name or "api",
        "note": order.note,
        "note_attributes": [],
        "test": order.test,
        "confirmed": True,
        "created_at": rest_time(order.created_at),
        "updated_at": rest_time(order.updated_at),
        "processed_at": rest_time(order.processed_at),
        "cancelled_at": rest_time(order.cancelled_at),
        "cancel_reason": order.cancel_reason.lower() if order.cancel_reason else None,
        "closed_at": rest_time(order.closed_at),
        "currency": order.currency,
        "financial_status": order.financial_status.lower(),
        "fulfillment_status": "fulfilled" if fulfilled else None,
        "total_price": money(total),
        "subtotal_price": money(total - order.shipping_total),
        "total_price_set": _money_set(total, order.currency),
        "current_total_price": money(Decimal(0) if order.cancelled_at else total),
        "line_items": [line_item_payload(li, order, fulfilled) for li in order.line_items],
        "fulfillments": [fulfillment_payload(store, f) for f in store.order_fulfillments(order)],
        "shipping_address": address_payload(order.shipping_address),
        "billing_address": address_payload(order.billing_address),
        "customer": customer_payload(customer) if customer else None,
        "refunds": [],
    }


def product_payload(store: Store, product: Product) -> dict[str, Any]:
    """``products/create`` / ``products/update`` body."""
    variants = [store.variants[v] for v in product.variant_ids]
    return {
        "id": product.id,
        "admin_graphql_api_id": gid("Product", product.id),
        "title": product.title,
        "status": product.status.lower(),
        "vendor": product.vendor,
        "created_at": rest_time(product.created_at),
        "updated_at": rest_time(product.updated_at),
        "variants": [
            {
                "id": v.id,
                "admin_graphql_api_id": gid("ProductVariant", v.id),
                "product_id": product.id,
                "sku": v.sku,
                "title": v.title,
                "price": money(v.price),
                "position": v.position,
                "inventory_quantity": v.inventory_quantity,
                "inventory_policy": v.policy.lower(),
                "inventory_management": "shopify" if v.tracked else None,
                "inventory_item_id": v.inventory_item_id,
                "created_at": rest_time(v.created_at),
                "updated_at": rest_time(v.updated_at),
            }
            for v in variants
        ],
    }


def customers_redact_payload(config: SimConfig, customer: dict[str, Any], orders_to_redact: list[int]) -> dict:
    """``customers/redact`` body."""
    return {
        "shop_id": config.shop_id,
        "shop_domain": config.shop_domain,
        "customer": customer,
        "orders_to_redact": orders_to_redact,
    }


def customers_data_request_payload(
    config: SimConfig, customer: dict[str, Any], orders_requested: list[int], request_id: int
) -> dict:
    """``customers/data_request`` body."""
    return {
        "shop_id": config.shop_id,
        "shop_domain": config.shop_domain,
        "orders_requested": orders_requested,
        "customer": customer,
        "data_request": {"id": request_id},
    }


def shop_redact_payload(config: SimConfig) -> dict:
    """``shop/redact`` body."""
    return {"shop_id": config.shop_id, "shop_domain": config.shop_domain}
