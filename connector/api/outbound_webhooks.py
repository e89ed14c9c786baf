"""``/api/v1/webhook-endpoints``: where a brand's redemption events are sent, and the log of every send.

Brand admins manage their own brand's endpoints (platform admins any brand's); the signing secret is
answered once, when the endpoint is made. Another brand's endpoint or delivery is "not found".
"""

from __future__ import annotations

from typing import Any

from flask import url_for

from connector.api.auth import current_actor
from connector.api.blueprint import bp
from connector.api.openapi import operation
from connector.api.payload import load_body, load_query
from connector.api.platform_schemas import (
    DeliveryListQuerySchema,
    EndpointCreatedSchema,
    EndpointCreateSchema,
    EndpointListSchema,
    EndpointSchema,
    OutboundDeliveryPageSchema,
    OutboundDeliverySchema,
    SecretRollSchema,
)
from connector.core import outbound_endpoints as endpoints
from connector.core.outbound_events import EventType
from connector.core.outbound_tables import OutboundEndpoint
from connector.request_context import current_runtime


def endpoint_view(e: OutboundEndpoint) -> dict[str, Any]:
    return {
        "id": e.id,
        "brand_id": e.brand_id,
        "url": e.url,
        "description": e.description,
        "active": e.active,
        "events": list(EventType.ALL),
        "created_at": e.created_at,
        "removed_at": e.removed_at,
        "secret_rolled_at": e.secret_rolled_at,
        "previous_secret_until": e.previous_secret_until,
    }


def delivery_view(view: endpoints.DeliveryView) -> dict[str, Any]:
    d = view.delivery
    return {
        "id": d.id,
        "endpoint_id": d.endpoint_id,
        "event_id": f"evt_{view.event.id}",
        "event_type": view.event.event_type,
        "redemption_id": d.redemption_id,
        "status": d.status,
        "attempt_count": d.attempts,
        "next_attempt_at": d.next_attempt_at,
        "last_error": d.last_error,
        "created_at": d.created_at,
        "delivered_at": d.delivered_at,
        "attempts": [
            {"number": a.number, "at": a.at, "status_code": a.status_code, "ok": a.ok, "error": a.error}
            for a in view.attempts
        ],
    }


@bp.post("/webhook-endpoints")
@operation(
    summary="Add an endpoint that receives this brand's redemption events",
    description=(
        "Every event (`" + "`, `".join(EventType.ALL) + "`) is POSTed to it, signed with HMAC-SHA256 "
        "(docs/platform-integration.md). The answer holds `signing_secret`, shown this once. The URL must be "
        "https on a public address; anything else answers 422 with the reason."
    ),
    tag="platform",
    body=EndpointCreateSchema,
    responses={201: ("Added; keep the signing secret", EndpointCreatedSchema)},
    response_headers={201: {"Location": "The endpoint's URL."}},
    errors=(403, 409),
)
def create_webhook_endpoint() -> Any:
    rt, actor = current_runtime(), current_actor()
    data = load_body(EndpointCreateSchema())
    made = endpoints.create_endpoint(
        rt, actor, url=data["url"], description=data["description"], brand_id=data["brand_id"]
    )
    body = EndpointCreatedSchema().dump({**endpoint_view(made.endpoint), "signing_secret": made.secret})
    return body, 201, {"Location": url_for("api.get_webhook_endpoint", endpoint_id=made.endpoint.id)}


@bp.get("/webhook-endpoints")
@operation(
    summary="This brand's webhook endpoints (removed ones too), never their secrets",
    tag="platform",
    responses={200: ("The endpoints", EndpointListSchema)},
    errors=(403,),
)
def list_webhook_endpoints() -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    return EndpointListSchema().dump({"items": [endpoint_view(e) for e in endpoints.list_endpoints(rt, actor)]})


@bp.get("/webhook-endpoints/<id:endpoint_id>")
@operation(
    summary="One webhook endpoint",
    tag="platform",
    responses={200: ("The endpoint", EndpointSchema)},
    errors=(403, 404),
)
def get_webhook_endpoint(endpoint_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    return EndpointSchema().dump(endpoint_view(endpoints.get_endpoint(rt, actor, endpoint_id)))


@bp.post("/webhook-endpoints/<id:endpoint_id>/roll-secret")
@operation(
    summary="Roll an endpoint's signing secret: a new one, shown once; the old one keeps signing for a while",
    description=(
        "Until `previous_secret_until` every delivery's `Connector-Webhook-Signature` carries two signatures "
        "separated by a space, one per secret, so a receiver verifying any of them refuses nothing while it "
        "switches. `keep_old_hours` 0 stops the old secret at once (a leaked secret). A removed endpoint answers 409."
    ),
    tag="platform",
    body=SecretRollSchema,
    responses={200: ("Rolled; keep the new signing secret", EndpointCreatedSchema)},
    errors=(403, 404, 409),
)
def roll_webhook_secret(endpoint_id: int) -> Any:
    rt, actor = current_runtime(), current_actor()
    data = load_body(SecretRollSchema())
    rolled = endpoints.roll_secret(rt, actor, endpoint_id, keep_old_hours=data["keep_old_hours"])
    return EndpointCreatedSchema().dump({**endpoint_view(rolled.endpoint), "signing_secret": rolled.secret})


@bp.delete("/webhook-endpoints/<id:endpoint_id>")
@operation(
    summary="Remove a webhook endpoint: nothing more is sent to it",
    description="What it was still owed is given up (and stays in its delivery log). A second removal answers 409.",
    tag="platform",
    responses={200: ("Removed", EndpointSchema)},
    errors=(403, 404, 409),
)
def remove_webhook_endpoint(endpoint_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    return EndpointSchema().dump(endpoint_view(endpoints.remove_endpoint(rt, actor, endpoint_id)))


@bp.get("/webhook-endpoints/<id:endpoint_id>/deliveries")
@operation(
    summary="An endpoint's deliveries, newest first, with every attempt (the delivery log)",
    description="Pass the last item's `id` as `before` for the next page.",
    tag="platform",
    query=DeliveryListQuerySchema,
    responses={200: ("One page", OutboundDeliveryPageSchema)},
    errors=(403, 404),
)
def list_webhook_deliveries(endpoint_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    args = load_query(DeliveryListQuerySchema())
    views = endpoints.list_deliveries(rt, actor, endpoint_id, limit=args["limit"], before=args.get("before"))
    return OutboundDeliveryPageSchema().dump({"items": [delivery_view(v) for v in views]})


@bp.post("/webhook-deliveries/<id:delivery_id>/resend")
@operation(
    summary="Send a delivered or given-up delivery again (same event id and body, a fresh signature)",
    description=(
        "Queued at once with a fresh retry budget, still after any earlier event of the same redemption that is "
        "pending for the endpoint. A delivery still pending answers 409: it is sent without a resend."
    ),
    tag="platform",
    responses={200: ("Queued (or already sent, when the worker was quick)", OutboundDeliverySchema)},
    errors=(403, 404, 409),
)
def resend_webhook_delivery(delivery_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    d = endpoints.resend_delivery(rt, actor, delivery_id)
    view = endpoints.delivery_view(rt, actor, d.id)
    return OutboundDeliverySchema().dump(delivery_view(view))
