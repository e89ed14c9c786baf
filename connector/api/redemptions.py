"""``/api/v1/redemptions``: claim, list, export, inspect, reverse, retry, resend the confirmation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Response, request, stream_with_context, url_for
from sqlalchemy.orm import Session

from connector.api.auth import current_actor
from connector.api.blueprint import bp
from connector.api.openapi import HeaderParam, operation
from connector.api.payload import load_body, load_query
from connector.api.presenters import confirmation, redemption_detail, redemption_summary
from connector.api.schemas import (
    IDEMPOTENCY_KEY_MAX,
    ConfirmationSchema,
    RedemptionCreateSchema,
    RedemptionFilterQuerySchema,
    RedemptionListQuerySchema,
    RedemptionPageSchema,
    RedemptionSchema,
    RetrySchema,
    ReverseSchema,
)
from connector.core import redemptions as core_redemptions
from connector.core import reversal
from connector.core.access import Actor
from connector.core.errors import NotFoundError, ValidationError
from connector.core.export import COLUMNS, export_csv, in_chunks
from connector.core.model import RedemptionStatus, Tab
from connector.core.queries import RedemptionFilter, decode_cursor
from connector.core.queries import list_redemptions as query_redemptions
from connector.core.redemptions import load_for_actor
from connector.core.runtime import Runtime
from connector.core.tables import Redemption
from connector.request_context import current_runtime

IDEMPOTENCY_HEADER = "Idempotency-Key"
#: Printable ASCII, not blank (surrounding spaces are trimmed): what ``idempotency_key`` takes.
IDEMPOTENCY_KEY_PATTERN = r"^[\x20-\x7e]*[\x21-\x7e][\x20-\x7e]*$"
_ACTION_ERRORS = (403, 404, 409)


def _not_found(redemption_id: int) -> NotFoundError:
    # One message whether the id does not exist or belongs to another brand, so existence does not leak.
    return NotFoundError(f"redemption {redemption_id} not found")


@contextmanager
def _same_not_found(redemption_id: int) -> Iterator[None]:
    try:
        yield
    except NotFoundError:
        raise _not_found(redemption_id) from None


def visible_redemption(s: Session, actor: Actor, redemption_id: int) -> Redemption:
    """The redemption with what its detail shows, if the actor may see it; otherwise ``NotFoundError``."""
    with _same_not_found(redemption_id):
        return load_for_actor(s, redemption_id, actor, details=True)


def _detail(rt: Runtime, actor: Actor, redemption_id: int) -> dict[str, Any]:
    with rt.sessions() as s:
        return RedemptionSchema().dump(redemption_detail(visible_redemption(s, actor, redemption_id)))


#: What every way of creating a redemption (by ids, or by the platform's refs) documents alike: the
#: ``Idempotency-Key`` it takes and its two answers, so the key space reads the same on both routes.
IDEMPOTENT_CREATE: dict[str, Any] = {
    "headers": (
        HeaderParam(
            IDEMPOTENCY_HEADER,
            "Makes the request safe to retry; one redemption per key (per brand). A UUID is recommended.",
            max_length=IDEMPOTENCY_KEY_MAX,
            pattern=IDEMPOTENCY_KEY_PATTERN,
        ),
    ),
    "responses": {
        201: ("Created; its fulfilment is queued", RedemptionSchema),
        200: ("Replayed: the redemption this Idempotency-Key already created", RedemptionSchema),
    },
    "response_headers": {
        201: {"Location": "The new redemption's URL."},
        200: {"Idempotency-Replayed": "`true`: nothing new was created."},
    },
}


def created_answer(
    rt: Runtime, actor: Actor, created: core_redemptions.Created
) -> tuple[dict[str, Any], int, dict[str, str]]:
    """201 with its ``Location`` for a new redemption; 200 marked replayed when the key had already made it."""
    redemption_id = created.redemption.id
    body = _detail(rt, actor, redemption_id)
    if created.replayed:
        return body, 200, {"Idempotency-Replayed": "true"}
    return body, 201, {"Location": url_for("api.get_redemption", redemption_id=redemption_id)}


def idempotency_key() -> str | None:
    raw = request.headers.get(IDEMPOTENCY_HEADER)
    if raw is None:
        return None
    key = raw.strip()
    problem = None
    if not key:
        problem = "must not be empty"
    elif len(key) > IDEMPOTENCY_KEY_MAX:
        problem = f"must be at most {IDEMPOTENCY_KEY_MAX} characters (a UUID is recommended); got {len(key)}"
    elif not key.isascii() or not key.isprintable():
        problem = "must be printable ASCII (a UUID is recommended)"
    if problem:
        raise ValidationError(f"invalid {IDEMPOTENCY_HEADER} header: {problem}", fields={IDEMPOTENCY_HEADER: problem})
    return key


@bp.post("/redemptions")
@operation(
    summary="Redeem a reward for a member",
    description=(
        "Spends the member's points and queues the fulfilment (e.g. a zero-priced shop order). Send an "
        "`Idempotency-Key` to make retries safe: the same key with the same body answers 200 with the same "
        "redemption and `Idempotency-Replayed: true`; the same key with a different body answers 409."
    ),
    tag="redemptions",
    body=RedemptionCreateSchema,
    **IDEMPOTENT_CREATE,
    errors=(403, 409),
)
def create_redemption() -> tuple[dict[str, Any], int, dict[str, str]]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(RedemptionCreateSchema())
    key = idempotency_key()
    created = core_redemptions.create_redemption(
        rt, actor, member_id=data["member_id"], reward_id=data["reward_id"], idempotency_key=key
    )
    return created_answer(rt, actor, created)


@bp.get("/redemptions")
@operation(
    summary="List redemptions (the Fulfillments tabs), newest first",
    description="Keyset-paginated: pass `next_cursor` back as `cursor` until it is null.",
    tag="redemptions",
    query=RedemptionListQuerySchema,
    responses={200: ("One page", RedemptionPageSchema)},
)
def list_redemptions() -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    args = load_query(RedemptionListQuerySchema())
    cursor = args.get("cursor")
    if cursor:
        at, _ = decode_cursor(cursor)
        if at.tzinfo is None:
            raise ValidationError("invalid cursor", fields={"cursor": "pass back next_cursor unchanged"})
    f = _filter_of(args)
    with rt.sessions() as s:
        page = query_redemptions(s, actor, f, limit=args["limit"], cursor=cursor)
        items = [redemption_summary(r) for r in page.items]
    return RedemptionPageSchema().dump({"items": items, "next_cursor": page.next_cursor})


@bp.get("/redemptions/export.csv")
@operation(
    summary="Export redemptions as CSV, with the same filters as the list",
    description=(
        "Answers `text/csv` (UTF-8, RFC 4180, every cell quoted), streamed, newest first: every redemption the "
        "filters match, not one page, so `limit` and `cursor` are not taken. Columns: "
        + ", ".join(f"`{c}`" for c in COLUMNS)
        + ". A cell that a spreadsheet would read as a formula (starting with =, +, -, @, tab or carriage "
        "return) is prefixed with a single quote."
    ),
    tag="redemptions",
    query=RedemptionFilterQuerySchema,
    responses={200: ("The CSV file, as an attachment (`Content-Type: text/csv`)", None)},
    media_types={200: "text/csv"},
    errors=(403,),
)
def export_redemptions() -> Response:
    rt, actor = current_runtime(), current_actor()
    f = _filter_of(load_query(RedemptionFilterQuerySchema()))
    lines = export_csv(rt, actor, f)  # checks the role before the first byte is sent
    response = Response(stream_with_context(in_chunks(lines)), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    filename = f"redemptions-{rt.now():%Y-%m-%d}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"  # member names and emails
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _filter_of(args: dict[str, Any]) -> RedemptionFilter:
    """The core filter from validated query parameters (list and export alike)."""
    claimed_from, claimed_to = args.get("claimed_from"), args.get("claimed_to")
    if claimed_from and claimed_to and claimed_from >= claimed_to:
        raise ValidationError(
            "invalid query parameters: claimed_to must be after claimed_from",
            fields={"claimed_to": "must be after claimed_from"},
        )
    return RedemptionFilter(
        tab=Tab(args["tab"]) if "tab" in args else None,
        status=RedemptionStatus(args["status"]) if "status" in args else None,
        search=(args.get("q") or "").strip() or None,
        reward_id=args.get("reward_id"),
        claimed_from=claimed_from,
        claimed_to=claimed_to,
    )


@bp.get("/redemptions/<id:redemption_id>")
@operation(
    summary="One redemption with its member, reward, shop order, delivery, error and timeline",
    tag="redemptions",
    responses={200: ("The redemption", RedemptionSchema)},
    errors=(404,),
)
def get_redemption(redemption_id: int) -> dict[str, Any]:
    return _detail(current_runtime(), current_actor(), redemption_id)


@bp.post("/redemptions/<id:redemption_id>/reverse")
@operation(
    summary="Reverse a redemption: its points go back to the member, once",
    description=(
        "Allowed from pending, error and fulfilled; a second reversal answers 409. With `cancel_order` the "
        "shop order is cancelled by a background job (refused with 422 once the order has shipped), its items put "
        "back in stock unless `restock` is false."
    ),
    tag="redemptions",
    body=ReverseSchema,
    responses={200: ("Reversed", RedemptionSchema)},
    errors=_ACTION_ERRORS,
)
def reverse_redemption(redemption_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(ReverseSchema())
    with _same_not_found(redemption_id):
        reversal.reverse_redemption(
            rt,
            redemption_id,
            actor,
            reason=data["reason"],
            cancel_order=data["cancel_order"],
            restock=data["cancel_order"] if data["restock"] is None else data["restock"],
        )
    return _detail(rt, actor, redemption_id)


@bp.post("/redemptions/<id:redemption_id>/retry")
@operation(
    summary="Retry a redemption in error, after its cause was fixed",
    description="Only a redemption in error can be retried; anything else answers 409 with the reason.",
    tag="redemptions",
    body=RetrySchema,
    responses={200: ("Back to pending; an attempt is queued", RedemptionSchema)},
    errors=_ACTION_ERRORS,
)
def retry_redemption(redemption_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(RetrySchema())
    with _same_not_found(redemption_id):
        core_redemptions.retry_redemption(rt, redemption_id, actor, note=data["note"])
    return _detail(rt, actor, redemption_id)


@bp.post("/redemptions/<id:redemption_id>/resend-confirmation")
@operation(
    summary="Send the confirmation email again",
    description="Every send is logged on the timeline; a failed send answers 200 with status `failed` and why.",
    tag="redemptions",
    responses={200: ("The message and whether it was sent", ConfirmationSchema)},
    errors=(*_ACTION_ERRORS, 422),
)
def resend_confirmation(redemption_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    with _same_not_found(redemption_id):
        msg = core_redemptions.resend_confirmation(rt, redemption_id, actor)
    return ConfirmationSchema().dump(confirmation(msg))
