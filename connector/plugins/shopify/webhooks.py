"""Verify a Shopify webhook delivery and read the keys the host dedupes it by.

Shopify signs the raw body only (HMAC-SHA256 with the app's client secret,
base64 in ``X-Shopify-Hmac-Sha256``); no header is signed. So:

* the body is verified before anything parses it, and the JSON is only read
  once the signature holds;
* the comparison is constant-time over **bytes**: ``hmac.compare_digest`` on
  ``str`` raises ``TypeError`` for non-ASCII text, which an attacker controls
  through the header and which would turn a forgery into an HTTP 500;
* every verification failure is a ``WebhookRejectedError`` (401) with a precise
  reason, except that an unknown shop and a wrong signature give the same answer
  (``SIGNATURE_MISMATCH``), so the endpoint cannot be used to list connected shops;
  the precise reason goes to the server log only;
* a signed body that is not a JSON object, nests too deeply for the parser, or
  does not have the shape its (unsigned) topic header promises
  (``payload_shapes``) is a ``WebhookPayloadError`` (400), and nothing is stored;
* every secret the host lists for the shop is tried, because after a secret
  rotation Shopify keeps signing with the old one for up to an hour.

This runs inside the webhook request (Shopify waits at most 5 s): CPU only,
no database, no HTTP.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connector.core.errors import WebhookPayloadError, WebhookRejectedError
from connector.core.hooktypes import InboundWebhook, SecretLookup, VerifiedWebhook
from connector.plugins.shopify.identifiers import gid
from connector.plugins.shopify.payload_shapes import shape_problem

PROVIDER = "shopify"

HMAC_HEADER = "x-shopify-hmac-sha256"
SHOP_HEADER = "x-shopify-shop-domain"
TOPIC_HEADER = "x-shopify-topic"
WEBHOOK_ID_HEADER = "x-shopify-webhook-id"
EVENT_ID_HEADER = "x-shopify-event-id"
TRIGGERED_AT_HEADER = "x-shopify-triggered-at"

_SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9.-]{0,253}$")
_TOPIC = re.compile(r"^[a-z0-9_]+(/[a-z0-9_]+)+$")
_SHA256_BYTES = 32
#: The one answer to "no such shop" and "wrong signature" alike.
SIGNATURE_MISMATCH = (
    "signature does not match: sign the raw body with the shop's current webhook secret "
    "(the app's client secret), and check that the shop is connected"
)
_NO_SECRET = "no-secret-configured"

#: Lifecycle topics the host applies in the request that stores them (``VerifiedWebhook.apply_now``): after an
#: uninstall the shop's token is dead, and no call may wait behind a backlog of order events to learn it.
APPLY_NOW_TOPICS = frozenset({"app/uninstalled"})

#: Topics whose payload *is* a customer; other topics name the customer inside the payload.
CUSTOMER_TOPICS = frozenset({"customers/create", "customers/update", "customers/delete", "customers/enable"})


def verify_delivery(webhook: InboundWebhook, secrets_for: SecretLookup) -> VerifiedWebhook:
    """Check the delivery's signature and return its identity; raise ``WebhookRejectedError`` otherwise.

    A body that is signed but unusable (not a JSON object, nested too deep, not the shape of
    its topic) raises ``WebhookPayloadError`` (400).
    """
    headers = _lowercase(webhook.headers)
    signature = headers.get(HMAC_HEADER, "").strip()
    if not signature:
        raise WebhookRejectedError("missing X-Shopify-Hmac-Sha256 header")
    shop_domain = headers.get(SHOP_HEADER, "").strip().lower()
    if not shop_domain:
        raise WebhookRejectedError("missing X-Shopify-Shop-Domain header")
    if not shop_domain.isascii() or not _SHOP_DOMAIN.match(shop_domain):
        raise WebhookRejectedError("X-Shopify-Shop-Domain header is not a shop domain")
    # Checked before the shop is looked up, so the answer to a malformed signature cannot tell
    # a connected shop from an unknown one.
    provided = _signature_bytes(signature)

    body = webhook.body or b""
    secrets = [s for s in (secrets_for(shop_domain) or ()) if s]
    if not secrets:
        _sign(_NO_SECRET, body)  # the same work as a known shop's check: the timing does not tell them apart
        raise WebhookRejectedError(
            SIGNATURE_MISMATCH, reason=f"unknown shop {shop_domain}: no webhook secret is configured for it"
        )
    if not any(hmac.compare_digest(_sign(secret, body), provided) for secret in secrets):
        raise WebhookRejectedError(
            SIGNATURE_MISMATCH,
            reason=f"signature does not match any of the {len(secrets)} webhook secret(s) of {shop_domain}",
        )

    topic = headers.get(TOPIC_HEADER, "").strip().lower()
    if not topic:
        raise WebhookRejectedError("missing X-Shopify-Topic header")
    if not topic.isascii() or not _TOPIC.match(topic):
        raise WebhookRejectedError("X-Shopify-Topic header is not a Shopify topic")

    payload = parse_payload(body)
    problem = shape_problem(topic, payload, shop_domain)
    if problem is not None:
        raise WebhookPayloadError(f"{problem}; a body is only accepted under the topic it was sent for")
    return VerifiedWebhook(
        provider=PROVIDER,
        shop_domain=shop_domain,
        topic=topic,
        webhook_id=_ascii_or_none(headers.get(WEBHOOK_ID_HEADER)),
        event_id=_ascii_or_none(headers.get(EVENT_ID_HEADER)),
        triggered_at=parse_timestamp(headers.get(TRIGGERED_AT_HEADER)),
        resource_id=resource_id(topic, payload, shop_domain),
        resource_updated_at=parse_timestamp(payload.get("updated_at")),
        customer_ref=customer_ref(topic, payload),
        apply_now=topic in APPLY_NOW_TOPICS,
    )


def parse_payload(body: bytes) -> dict[str, Any]:
    """The JSON object of a verified body; a body that is not one is refused (400) with the reason."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise WebhookPayloadError("body is not UTF-8 text") from None
    except RecursionError:
        raise WebhookPayloadError("body nests JSON arrays or objects too deeply to read") from None
    except ValueError:
        raise WebhookPayloadError("body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise WebhookPayloadError("body is not a JSON object")
    return payload


def sign(secret: str, body: bytes) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value Shopify would send for ``body``."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def _sign(secret: str, body: bytes) -> bytes:
    return sign(secret, body).encode("ascii")


def _signature_bytes(signature: str) -> bytes:
    """The header as bytes, once it is known to be well-formed base64 of a SHA-256 digest."""
    if not signature.isascii():
        raise WebhookRejectedError("signature is not valid base64 (it contains non-ASCII characters)")
    raw = signature.encode("ascii")
    try:
        digest = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookRejectedError("signature is not valid base64") from None
    if len(digest) != _SHA256_BYTES:
        raise WebhookRejectedError("signature is not an HMAC-SHA256 digest (wrong length)")
    return raw


def _lowercase(headers: Mapping[str, str]) -> dict[str, str]:
    # The host promises lowercase names; accepting any case costs nothing and survives a host change.
    return {str(name).lower(): str(value) for name, value in headers.items()}


def _ascii_or_none(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    if not text or not text.isascii() or not text.isprintable() or len(text) > 255:
        return None
    return text


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO-8601 timestamp as an aware datetime (UTC when no offset is given); None when absent or bad."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def resource_id(topic: str, payload: Mapping[str, Any], shop_domain: str) -> str | None:
    """The id of the resource the delivery is about, as a GID where Shopify gives one."""
    if topic in ("customers/redact", "customers/data_request"):
        customer = payload.get("customer")
        return gid("Customer", customer.get("id")) if isinstance(customer, Mapping) else None
    if topic == "shop/redact":
        return gid("Shop", payload.get("shop_id")) or shop_domain
    if topic == "app/uninstalled":
        return gid("Shop", payload.get("id")) or shop_domain
    api_id = payload.get("admin_graphql_api_id")
    if isinstance(api_id, str) and api_id.startswith("gid://"):
        return api_id
    raw = payload.get("id")
    return None if raw is None or isinstance(raw, bool | dict | list) else str(raw)


def customer_ref(topic: str, payload: Mapping[str, Any]) -> str | None:
    """The customer GID a delivery concerns, so the host can find the member without parsing payloads."""
    if topic in CUSTOMER_TOPICS:
        return _customer_gid(payload)
    customer = payload.get("customer")
    if isinstance(customer, Mapping):
        return _customer_gid(customer)
    return None


def _customer_gid(customer: Mapping[str, Any]) -> str | None:
    api_id = customer.get("admin_graphql_api_id")
    if isinstance(api_id, str) and api_id.startswith("gid://shopify/Customer/"):
        return api_id
    return gid("Customer", customer.get("id"))
