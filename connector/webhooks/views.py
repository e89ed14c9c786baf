"""``POST /webhooks/<provider>``.

The order matters (reliability.md §1.6): refuse an oversize body before reading
it, read the raw bytes once (nothing parses them before the provider's plugin
has verified the signature), verify and store in one use case, answer. No
remote call happens here; applying the delivery is a job run by the dispatcher
after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, cast

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from connector.api.openapi import operation
from connector.api.schemas import WebhookReceiptSchema
from connector.core.errors import PayloadTooLargeError, WebhookPayloadError, WebhookRejectedError
from connector.core.webhook_intake import receive_webhook
from connector.request_context import current_runtime
from connector.webhooks.blueprint import bp
from connector.webhooks.fast_path import PENDING_ERROR

log = logging.getLogger("connector.webhooks")
#: Built once: a marshmallow schema deep-copies its fields on every instantiation.
_RECEIPT = WebhookReceiptSchema()


def _too_large(size: int | str, limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"webhook body is {size} bytes; the limit is {limit} (CONNECTOR_WEBHOOK_MAX_BYTES)")


def read_body(limit: int) -> bytes:
    """The raw body, refusing more than ``limit`` bytes: by Content-Length first, then by what arrives."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise _too_large(declared, limit)
    # A body without Content-Length (chunked) is read up to one byte past the limit, never further:
    # Werkzeug stops there silently, so getting that extra byte is how "too large" is told apart.
    request.max_content_length = limit + 1
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise _too_large(f"more than {limit}", limit) from None
    if len(body) > limit:
        raise _too_large(f"more than {limit}" if declared is None else len(body), limit)
    return body


@bp.post("/<provider>")
@operation(
    summary="Receive a signed webhook delivery",
    description=(
        "The provider's plugin verifies the signature over the raw body (Shopify: base64 HMAC-SHA256 in "
        "`X-Shopify-Hmac-Sha256`, plus `X-Shopify-Topic`, `X-Shopify-Shop-Domain`, `X-Shopify-Webhook-Id`, "
        "`X-Shopify-Event-Id`, `X-Shopify-Triggered-At`). A verified delivery is stored once and applied by a "
        "background job; a redelivery (or the same signed body again under a fresh delivery id) answers 200 "
        "`duplicate` and has no second effect. A delivery that fails verification answers 401 and nothing is "
        "stored; an unknown shop and a wrong signature answer alike. A signed body that is not a JSON object, "
        "nests too deeply, or does not have the shape of its `X-Shopify-Topic` answers 400 with the reason and "
        "nothing is stored. Every effect is confined to the signing shop and its brand."
    ),
    tag="webhooks",
    public=True,
    raw_body="The provider's payload, byte for byte as signed.",
    responses={200: ("Stored (accepted) or already stored (duplicate)", WebhookReceiptSchema)},
    errors=(400, 401, 404, 413),
)
def receive(provider: str) -> dict[str, Any]:
    rt = current_runtime()
    body = read_body(rt.settings.webhook_max_bytes)
    # The fast path in front of Flask (fast_path.py) already ran the use case and hands over what it raised.
    pending: Exception | None = request.environ.pop(PENDING_ERROR, None)
    try:
        if pending is not None:
            raise pending
        # werkzeug's Headers is a case-insensitive str mapping that its stubs do not type as a Mapping.
        received = receive_webhook(rt, provider, cast("Mapping[str, str]", request.headers), body)
    except WebhookRejectedError as exc:
        # Log the precise reason and the provider only: the body may hold personal data, and the
        # answer may be deliberately vaguer than the reason (an unknown shop answers as a bad signature).
        log.info("webhook rejected (provider %s): %s", provider, exc.reason)
        raise
    except WebhookPayloadError as exc:
        log.info("webhook refused (provider %s): %s", provider, exc.message)
        raise
    if received.duplicate:
        return _RECEIPT.dump({"status": "duplicate"})
    return _RECEIPT.dump({"status": "accepted", "delivery_id": received.delivery_id})
