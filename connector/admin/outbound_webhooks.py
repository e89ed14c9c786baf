"""The Webhooks page: a brand admin's endpoints for the loyalty platform, their delivery log, Resend, Roll secret.

Brand admins only (the page is about one brand's integration; platform admins use the API with a
``brand_id``). Every action is a POST with the CSRF token that calls the same core use case as the API.
The signing secret is shown once, in the page that answers the Add form itself (not through a
redirect and a flash, which would carry it in the session cookie).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from connector.admin.blueprint import add_nav, bp
from connector.admin.session_auth import current_actor
from connector.core import outbound_endpoints as endpoints
from connector.core.access import Actor
from connector.core.errors import ConflictError, PermissionDeniedError, ValidationError
from connector.core.model import Role
from connector.request_context import current_runtime

#: Deliveries shown per endpoint (the API pages through all of them).
RECENT = 25
WEBHOOK_ROLES = frozenset({Role.BRAND_ADMIN})
#: The overlaps the Roll secret form offers, in hours, and how each reads.
KEEP_OLD_CHOICES = (
    (24, "keep the old secret signing for 24 hours"),
    (1, "for 1 hour"),
    (168, "for a week"),
    (0, "stop the old secret now (it leaked)"),
)


def _check(actor: Actor) -> None:
    if actor.role not in WEBHOOK_ROLES:
        raise PermissionDeniedError("only a brand admin manages the brand's webhook endpoints")


def _page(
    actor: Actor,
    *,
    new_secret: str | None = None,
    new_endpoint_id: int | None = None,
    rolled: endpoints.RolledSecret | None = None,
    status: int = 200,
) -> tuple[str, int]:
    rt = current_runtime()
    rows = endpoints.list_endpoints(rt, actor)
    logs = {e.id: endpoints.list_deliveries(rt, actor, e.id, limit=RECENT) for e in rows}
    html = render_template(
        "admin/webhooks.html",
        endpoints=rows,
        logs=logs,
        new_secret=new_secret,
        new_endpoint_id=new_endpoint_id,
        rolled=rolled,
        keep_old_choices=KEEP_OLD_CHOICES,
        now=rt.now(),
        form=request.form if request.method == "POST" else {},
    )
    return html, status


@bp.get("/webhooks")
def webhooks() -> tuple[str, int]:
    actor = current_actor()
    _check(actor)
    return _page(actor)


@bp.post("/webhooks")
def webhook_add() -> tuple[str, int]:
    actor = current_actor()
    _check(actor)
    try:
        made = endpoints.create_endpoint(
            current_runtime(),
            actor,
            url=request.form.get("url", ""),
            description=request.form.get("description", ""),
        )
    except (ValidationError, ConflictError) as exc:
        flash(_refusal(exc), "error")
        return _page(actor, status=422 if isinstance(exc, ValidationError) else 409)
    return _page(actor, new_secret=made.secret, new_endpoint_id=made.endpoint.id, status=201)


@bp.post("/webhooks/<id:endpoint_id>/roll-secret")
def webhook_roll_secret(endpoint_id: int) -> tuple[str, int]:
    actor = current_actor()
    _check(actor)
    raw = request.form.get("keep_old_hours", "")
    hours = int(raw) if raw.isdigit() and len(raw) <= 4 else -1  # anything else: the core names the range
    try:
        rolled = endpoints.roll_secret(current_runtime(), actor, endpoint_id, keep_old_hours=hours)
    except (ValidationError, ConflictError) as exc:
        flash(_refusal(exc), "error")
        return _page(actor, status=422 if isinstance(exc, ValidationError) else 409)
    return _page(actor, new_secret=rolled.secret, new_endpoint_id=endpoint_id, rolled=rolled)


@bp.post("/webhooks/<id:endpoint_id>/remove")
def webhook_remove(endpoint_id: int) -> Response:
    actor = current_actor()
    _check(actor)
    try:
        removed = endpoints.remove_endpoint(current_runtime(), actor, endpoint_id)
    except ConflictError as exc:
        flash(_refusal(exc), "error")
    else:
        flash(f"{removed.url} removed: nothing more is sent to it.", "success")
    return redirect(url_for("admin.webhooks"))


@bp.post("/webhooks/deliveries/<id:delivery_id>/resend")
def webhook_resend(delivery_id: int) -> Response:
    actor = current_actor()
    _check(actor)
    rt = current_runtime()
    try:
        endpoints.resend_delivery(rt, actor, delivery_id)
        view = endpoints.delivery_view(rt, actor, delivery_id)
    except ConflictError as exc:
        flash(_refusal(exc), "error")
    else:
        outcome = {"delivered": "delivered", "pending": "queued", "given_up": "given up"}[view.delivery.status]
        flash(f"evt_{view.event.id} ({view.event.event_type}) sent again: {outcome}.", "success")
    return redirect(url_for("admin.webhooks") + f"#delivery-{int(delivery_id)}")


def _refusal(exc: ConflictError | ValidationError) -> str:
    message = exc.message[:1].upper() + exc.message[1:]
    return message if message.endswith(".") else message + "."


add_nav("Webhooks", "admin.webhooks", WEBHOOK_ROLES)
