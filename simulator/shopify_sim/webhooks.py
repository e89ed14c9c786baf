"""Webhook signing and delivery, shaped like Shopify's (shopify-api.md §3).

* Bodies are the REST resource JSON built in :mod:`shopify_sim.payloads` (re-exported here).
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
from typing import Any

import requests

from shopify_sim.config import API_VERSION, SimConfig
from shopify_sim.payloads import (
    address_payload,
    customer_payload,
    customers_data_request_payload,
    customers_redact_payload,
    fulfillment_payload,
    line_item_payload,
    money,
    order_payload,
    product_payload,
    shop_redact_payload,
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


__all__ = [
    "Delivery",
    "LOG_SIZE",
    "Router",
    "Routes",
    "WebhookDispatcher",
    "WebhookEvent",
    "address_payload",
    "customer_payload",
    "customers_data_request_payload",
    "customers_redact_payload",
    "encode_body",
    "fulfillment_payload",
    "line_item_payload",
    "make_event",
    "money",
    "order_payload",
    "product_payload",
    "send_webhook",
    "shop_redact_payload",
    "sign",
    "triggered_at_now",
    "webhook_headers",
]
