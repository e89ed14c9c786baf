"""What the API accepts and what it answers, as marshmallow schemas.

Request schemas validate input (unknown fields are refused, so a typo is an
error rather than a silent no-op). Response schemas dump the dictionaries the
presenters build; every response field is always present (possibly null)
unless its metadata says ``optional``. The OpenAPI document is generated from
both, so the description cannot drift from the code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, fields, validate

from connector.core.model import DeliveryStatus, LedgerKind, RedemptionStatus, Tab

#: Idempotency keys are stored in a 255-character column (and Stripe uses the same bound).
IDEMPOTENCY_KEY_MAX = 255


class UtcDateTime(fields.DateTime):
    """ISO 8601 in UTC with a ``Z`` suffix: ``2026-07-01T12:00:00.123456Z``."""

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:  # the database layer stores UTC; a naive value is UTC by contract
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


#: The largest id any table holds (a signed 64-bit integer, PostgreSQL's BIGINT and SQLite's INTEGER).
ID_MAX = 2**63 - 1
#: The largest count or quantity a 32-bit INTEGER column holds.
INT32_MAX = 2**31 - 1
#: The largest id a row can have: the id columns are INTEGER, 32-bit on PostgreSQL. A larger id in the
#: declared (64-bit) range names no record, and is answered 404 before it reaches the database.
STORED_ID_MAX = INT32_MAX
_ID_PROBLEM = f"must be an id between 1 and {ID_MAX}"
#: What an integer in a query string or a form field may look like: ASCII digits with an optional minus sign
#: (``int()`` would also take ``"+5"``, ``" 5"``, ``"1_000"`` and non-ASCII digits, which no client means).
_INTEGER_TEXT = re.compile(r"-?[0-9]+", re.ASCII)


#: Control characters other than tab, CR and LF: no API text takes them (PostgreSQL refuses NUL in text).
CONTROL_CHARACTERS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
#: Text without control characters (the OpenAPI ``pattern`` of every request string).
PLAIN_TEXT_PATTERN = rf"^[^{CONTROL_CHARACTERS}]*$"
#: The same with at least one character that is not white space: the server strips text, so a blank one is empty.
NOT_BLANK_PATTERN = rf"^[^{CONTROL_CHARACTERS}]*[^\s{CONTROL_CHARACTERS}][^{CONTROL_CHARACTERS}]*$"
#: A state or province code: two letters (stored upper-case).
STATE_PATTERN = r"^[A-Za-z]{2}$"


def id_range() -> validate.Range:
    """Ids are positive and fit a signed 64-bit column; a larger one would make the database raise (a 500)."""
    return validate.Range(min=1, max=ID_MAX, error=_ID_PROBLEM)


class StrictBoolean(fields.Boolean):
    """A JSON ``true`` or ``false``, nothing else: ``"yes"``, ``0`` or ``1`` are refused, not guessed at."""

    default_error_messages = {
        "invalid": "must be true or false (a JSON boolean)",
        "null": "must be true or false (a JSON boolean), not null",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> bool:
        if type(value) is not bool:  # ``0 == False`` and ``1 in {True}``: compare the type, not the value
            raise self.make_error("invalid")
        return value


class TextBoolean(fields.Boolean):
    """A query or form field spelled ``true`` or ``false`` (as an OpenAPI client serializes a boolean)."""

    default_error_messages = {"invalid": "must be true or false"}

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> bool:
        if value == "true":
            return True
        if value == "false":
            return False
        raise self.make_error("invalid")


class JsonInteger(fields.Integer):
    """A JSON integer: ``5``, and ``5.0`` or ``5e0`` too (JSON Schema counts them as integers); never ``"5"``,
    ``5.5`` or ``true``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if type(value) is not int:  # bool is an int subclass: true is not 1
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class TextInteger(fields.Integer):
    """An integer in a query string or form field: ASCII digits (and a leading ``-``) only."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> int:
        if not isinstance(value, str) or not _INTEGER_TEXT.fullmatch(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def _id_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    return {"format": "int64", **(metadata or {})}


def body_id(*, metadata: Mapping[str, Any] | None = None, **kwargs: Any) -> JsonInteger:
    """An id in a JSON body: a JSON integer (not ``"5"``) between 1 and ``ID_MAX``."""
    return JsonInteger(validate=id_range(), metadata=_id_metadata(metadata), **kwargs)


def query_id(*, metadata: Mapping[str, Any] | None = None, **kwargs: Any) -> TextInteger:
    """An id in a query string or form field: digits only, between 1 and ``ID_MAX``."""
    return TextInteger(validate=id_range(), metadata=_id_metadata(metadata), **kwargs)


def page_limit() -> TextInteger:
    """The ``limit`` of a paginated list."""
    return TextInteger(load_default=50, validate=validate.Range(min=1, max=500, error="must be between 1 and 500"))


def _choices(values: Any) -> validate.OneOf:
    names = [str(v) for v in values]
    return validate.OneOf(names, error=f"must be one of: {', '.join(names)}")


# -- requests ----------------------------------------------------------------------------------------------


class RedemptionCreateSchema(Schema):
    member_id = body_id(required=True, metadata={"description": "The member's id."})
    reward_id = body_id(
        required=True,
        metadata={"description": "The reward to redeem; it must belong to the member's brand and be active."},
    )


class ReverseSchema(Schema):
    reason = fields.String(
        load_default="",
        validate=validate.Length(max=500),
        metadata={"description": "Why; shown on the timeline and the points ledger."},
    )
    cancel_order = StrictBoolean(
        load_default=False,
        metadata={"description": "Also cancel the shop order (refused once it has shipped)."},
    )
    restock = StrictBoolean(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "With `cancel_order`: put the order's items back in the shop's stock (true) or not "
            "(false, e.g. the item is damaged or gone). Left out, it follows `cancel_order`, as before this "
            "field existed. `true` without `cancel_order` is refused (422): stock goes back only by cancelling."
        },
    )


class RetrySchema(Schema):
    note = fields.String(
        load_default="",
        validate=validate.Length(max=500),
        metadata={"description": "What was fixed; shown on the timeline."},
    )


class RedemptionFilterQuerySchema(Schema):
    """The Fulfillments filters, shared by the list and the CSV export so the two cannot drift apart."""

    tab = fields.String(
        validate=_choices(t.value for t in Tab),
        metadata={"description": "The Fulfillments tab: unfulfilled = pending and error."},
    )
    status = fields.String(validate=_choices(s.value for s in RedemptionStatus))
    q = fields.String(
        validate=validate.Length(max=200),
        metadata={
            "description": "Redemption code or member email (exact), member or reward name (contains); "
            "empty means no search."
        },
    )
    reward_id = query_id()
    claimed_from = fields.AwareDateTime(
        default_timezone=UTC, metadata={"description": "Claimed at or after (ISO 8601; UTC when no offset)."}
    )
    claimed_to = fields.AwareDateTime(
        default_timezone=UTC, metadata={"description": "Claimed before (ISO 8601; UTC when no offset)."}
    )


class RedemptionListQuerySchema(RedemptionFilterQuerySchema):
    limit = page_limit()
    cursor = fields.String(
        validate=validate.Length(max=500), metadata={"description": "``next_cursor`` of the previous page, unchanged."}
    )


# -- responses ---------------------------------------------------------------------------------------------


class MemberRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String(allow_none=True)


class RewardRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    sku = fields.String()
    instructions = fields.String()


class ShopOrderSchema(Schema):
    id = fields.String(metadata={"description": "The shop's order id (a Shopify GID)."})
    name = fields.String(allow_none=True, metadata={"description": "The order's name, like #1001."})
    admin_url = fields.String(
        allow_none=True, metadata={"description": "https://<shop>/admin/orders/<numeric id>", "format": "uri"}
    )


class DeliverySchema(Schema):
    status = fields.String(validate=_choices(d.value for d in DeliveryStatus))
    updated_at = UtcDateTime(allow_none=True)
    tracking_number = fields.String(allow_none=True)
    tracking_url = fields.String(allow_none=True)


class RedemptionErrorSchema(Schema):
    code = fields.String(metadata={"description": "Stable snake_case code, e.g. crm_id_not_found."})
    title = fields.String()
    message = fields.String(metadata={"description": "What went wrong."})
    fix = fields.String(allow_none=True, metadata={"description": "What to do about it."})
    field = fields.String(allow_none=True, metadata={"description": "The member or reward field at fault."})


class RedemptionEventSchema(Schema):
    at = UtcDateTime()
    actor = fields.String()
    kind = fields.String(metadata={"description": "claimed, attempt_started, fulfilled, failed, reversed, ..."})
    from_status = fields.String(data_key="from", allow_none=True)
    to_status = fields.String(data_key="to", allow_none=True)
    message = fields.String()


class RedemptionSummarySchema(Schema):
    id = fields.Integer()
    code = fields.String()
    status = fields.String(validate=_choices(s.value for s in RedemptionStatus))
    channel = fields.String()
    points_cost = fields.Integer()
    member = fields.Nested(MemberRefSchema)
    reward = fields.Nested(RewardRefSchema)
    shop_order = fields.Nested(ShopOrderSchema, allow_none=True)
    delivery = fields.Nested(DeliverySchema, allow_none=True)
    error = fields.Nested(
        RedemptionErrorSchema,
        allow_none=True,
        metadata={"description": "The last error; while pending, a temporary one shown with next_attempt_at."},
    )
    attempts = fields.Integer()
    next_attempt_at = UtcDateTime(allow_none=True)
    claimed_at = UtcDateTime()
    fulfilled_at = UtcDateTime(allow_none=True)
    reversed_at = UtcDateTime(allow_none=True)
    order_cancelled_at = UtcDateTime(allow_none=True)
    updated_at = UtcDateTime()


class RedemptionSchema(RedemptionSummarySchema):
    events = fields.List(fields.Nested(RedemptionEventSchema), metadata={"description": "The timeline, oldest first."})


class RedemptionPageSchema(Schema):
    items = fields.List(fields.Nested(RedemptionSummarySchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "Pass as ``cursor``; null on the last page."})


class ConfirmationSchema(Schema):
    message_id = fields.Integer()
    status = fields.String(validate=_choices(["queued", "sent", "failed"]))
    error = fields.String(allow_none=True, metadata={"description": "Why the send failed."})
    created_at = UtcDateTime()
    sent_at = UtcDateTime(allow_none=True)


class LedgerEntrySchema(Schema):
    id = fields.Integer()
    at = UtcDateTime()
    kind = fields.String(validate=_choices(k.value for k in LedgerKind))
    delta = fields.Integer(metadata={"description": "Points added (positive) or spent (negative)."})
    note = fields.String()
    redemption_id = fields.Integer(allow_none=True)
    actor = fields.String()


class MemberSchema(Schema):
    id = fields.Integer()
    external_ref = fields.String(allow_none=True)
    name = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    email = fields.String(allow_none=True)
    shop_customer_id = fields.String(allow_none=True, metadata={"description": "The linked shop customer (CRM ID)."})
    redacted_at = UtcDateTime(allow_none=True)
    points_balance = fields.Integer()
    ledger = fields.List(fields.Nested(LedgerEntrySchema), metadata={"description": "Every points move, oldest first."})


class WebhookReceiptSchema(Schema):
    status = fields.String(validate=_choices(["accepted", "duplicate"]))
    delivery_id = fields.Integer(metadata={"description": "Only when accepted.", "optional": True})


class HealthSchema(Schema):
    status = fields.String(validate=_choices(["ok", "unavailable"]))
    checks = fields.Dict(keys=fields.String(), values=fields.String())


class ErrorDetailSchema(Schema):
    code = fields.String(metadata={"description": "Stable snake_case code: validation_error, not_found, ..."})
    message = fields.String(metadata={"description": "What went wrong and, where it helps, what to do."})
    fields_ = fields.Dict(
        data_key="fields",
        keys=fields.String(),
        values=fields.Raw(),
        metadata={
            "description": "Validation errors: each bad field or parameter and what is wrong with it.",
            "optional": True,
        },
    )
    details = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        metadata={"description": "More about the error (e.g. the current state).", "optional": True},
    )


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)
