"""What the platform integration routes accept and answer: upserts by ref, redemptions by ref, webhooks."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from connector.api.catalogue_schemas import MemberDetailsBaseSchema, RewardBaseSchema
from connector.api.schemas import (
    INT32_MAX,
    NOT_BLANK_PATTERN,
    STATE_PATTERN,
    JsonInteger,
    StrictBoolean,
    UtcDateTime,
    body_id,
    page_limit,
    query_id,
)
from connector.core.outbound_events import EventType
from connector.core.platform_refs import MEMBER_FIELDS, REF_MAX, REF_PATTERN, REWARD_FIELDS

_REF_PROBLEM = f"1 to {REF_MAX} characters: letters, digits and . _ : @ + -"
_RESULTS = ["created", "updated", "unchanged"]
CHANNEL_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"


def _text(description: str, *, max_length: int, required_text: bool = False) -> fields.String:
    """Optional text; ``required_text`` ones may be left out but not blank or null (names, SKUs)."""
    rules: list[validate.Validator] = [validate.Length(min=1 if required_text else 0, max=max_length)]
    if required_text:
        rules.append(validate.Regexp(NOT_BLANK_PATTERN, error="must not be blank"))
    return fields.String(validate=rules, allow_none=not required_text, metadata={"description": description})


def _ref(description: str) -> fields.String:
    return fields.String(
        required=True,
        validate=validate.Regexp(REF_PATTERN, error=f"must be {_REF_PROBLEM}"),
        metadata={"description": description},
    )


class BrandQuerySchema(Schema):
    brand_id = query_id(
        metadata={"description": "The brand; only for tokens not scoped to one (a brand admin's is its own)."}
    )


class MemberUpsertSchema(Schema):
    """A member's fields; those left out are kept, an optional one sent as null is cleared."""

    first_name = _text("Required to create.", max_length=100, required_text=True)
    last_name = _text("Required to create.", max_length=100, required_text=True)
    email = fields.Email(allow_none=True, validate=validate.Length(max=255))
    phone = _text("E.164 is best, like +16135550142.", max_length=40)
    date_of_birth = fields.Date(allow_none=True, metadata={"description": "YYYY-MM-DD"})
    address1 = _text("Street address.", max_length=255)
    address2 = _text("Apartment, suite, ...", max_length=255)
    city = _text("City.", max_length=120)
    province_code = fields.String(
        allow_none=True,
        validate=validate.Regexp(STATE_PATTERN, error="must be a two-letter state or province code, like ON"),
    )
    country_code = fields.String(
        allow_none=True,
        validate=validate.Regexp(STATE_PATTERN, error="must be a two-letter ISO country code, like CA"),
    )
    zip = _text("Postal code.", max_length=20)
    points_balance = JsonInteger(
        validate=validate.Range(min=0, max=INT32_MAX),
        metadata={
            "description": "The balance the platform holds; one `adjusted` ledger entry brings the connector's "
            "to it (none when it already is)."
        },
    )


class PlatformMemberSchema(MemberDetailsBaseSchema):
    brand_id = fields.Integer()
    external_ref = fields.String()
    points_balance = fields.Integer()
    result = fields.String(
        validate=validate.OneOf(_RESULTS),
        metadata={"description": "What the upsert did (not in a GET).", "optional": True},
    )

    class Meta:
        # The order the answer has always had: the platform's keys right after the id.
        fields = ("id", "brand_id", "external_ref", *MEMBER_FIELDS, "points_balance", "result")


class RewardUpsertSchema(Schema):
    """A reward's fields; those left out are kept."""

    name = _text("Required to create.", max_length=200, required_text=True)
    sku = _text("The shop variant's SKU. Required to create.", max_length=100, required_text=True)
    points_cost = JsonInteger(
        validate=validate.Range(min=1, max=INT32_MAX), metadata={"description": "Required to create."}
    )
    channel = fields.String(
        validate=validate.Regexp(CHANNEL_PATTERN, error="must be a channel name such as shopify or email"),
        metadata={
            "description": "How it is fulfilled: a channel an installed plugin fulfils (`shopify`, `email`, ...); "
            "`shopify` (a shop order) when created without one."
        },
    )
    shop_id = body_id(allow_none=True, metadata={"description": "The brand's shop that fulfils it."})
    instructions = fields.String(validate=validate.Length(max=2000), metadata={"description": "Shown to the member."})
    active = StrictBoolean(metadata={"description": "Switched off rewards cannot be redeemed."})


class PlatformRewardSchema(RewardBaseSchema):
    external_ref = fields.String()
    result = fields.String(
        validate=validate.OneOf(_RESULTS),
        metadata={"description": "What the upsert did (not in a GET).", "optional": True},
    )

    class Meta:
        # The order the answer has always had: the platform's keys right after the id.
        fields = ("id", "brand_id", "external_ref", *REWARD_FIELDS, "result")


class RedemptionByRefSchema(Schema):
    member_ref = _ref("The member's `external_ref` (the platform's id for the member).")
    reward_ref = _ref("The reward's `external_ref`.")
    brand_id = body_id(load_default=None, metadata={"description": "Only for tokens not scoped to a brand: the brand."})


class EndpointCreateSchema(Schema):
    url = fields.String(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={
            "description": "Where events are POSTed: https, on a public address (see docs/security.md).",
            "format": "uri",
        },
    )
    description = fields.String(load_default="", validate=validate.Length(max=200))
    brand_id = body_id(load_default=None, metadata={"description": "Only for tokens not scoped to a brand: the brand."})


class EndpointSchema(Schema):
    id = fields.Integer()
    brand_id = fields.Integer()
    url = fields.String()
    description = fields.String()
    active = fields.Boolean(metadata={"description": "False once removed: nothing more is sent to it."})
    events = fields.List(
        fields.String(validate=validate.OneOf(EventType.ALL)), metadata={"description": "What it receives."}
    )
    created_at = UtcDateTime()
    removed_at = UtcDateTime(allow_none=True)
    secret_rolled_at = UtcDateTime(allow_none=True, metadata={"description": "When the secret was last rolled."})
    previous_secret_until = UtcDateTime(
        allow_none=True,
        metadata={"description": "Until when deliveries also carry the previous secret's signature (after a roll)."},
    )


class EndpointCreatedSchema(EndpointSchema):
    signing_secret = fields.String(
        metadata={"description": "Verifies the signature of every delivery. Shown only in this answer: keep it."}
    )


class SecretRollSchema(Schema):
    keep_old_hours = fields.Integer(
        load_default=24,
        strict=True,
        validate=validate.Range(min=0, max=168),
        metadata={
            "description": "Hours the old secret keeps signing beside the new one (0: stop it now, if it leaked)."
        },
    )


class EndpointListSchema(Schema):
    items = fields.List(fields.Nested(EndpointSchema))


class AttemptSchema(Schema):
    number = fields.Integer()
    at = UtcDateTime()
    status_code = fields.Integer(allow_none=True, metadata={"description": "The receiver's HTTP status, if any."})
    ok = fields.Boolean()
    error = fields.String(allow_none=True)


class OutboundDeliverySchema(Schema):
    id = fields.Integer()
    endpoint_id = fields.Integer()
    event_id = fields.String(metadata={"description": "The `Connector-Webhook-Id` header: evt_<n>."})
    event_type = fields.String(validate=validate.OneOf(EventType.ALL))
    redemption_id = fields.Integer()
    status = fields.String(validate=validate.OneOf(["pending", "delivered", "given_up"]))
    attempt_count = fields.Integer()
    next_attempt_at = UtcDateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = UtcDateTime()
    delivered_at = UtcDateTime(allow_none=True)
    attempts = fields.List(fields.Nested(AttemptSchema), metadata={"description": "Every send, oldest first."})


class OutboundDeliveryPageSchema(Schema):
    items = fields.List(fields.Nested(OutboundDeliverySchema))


class DeliveryListQuerySchema(Schema):
    limit = page_limit()
    before = query_id(metadata={"description": "Only deliveries with a smaller id (the next page)."})
