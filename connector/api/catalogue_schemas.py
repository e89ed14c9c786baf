"""Request and response schemas of member edits (``PATCH /members/<id>``) and the Rewards catalogue.

Lengths mirror the columns (``core.member_edit.MAX_LENGTH``, ``core.reward_catalogue``), so a value the
database could not hold is refused here with the field's name; what JSON Schema cannot say (a plugin's
address rules, a SKU the shop cannot order, dates out of order) is the core's, answered 422 per field.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from connector.api.schemas import INT32_MAX, JsonInteger, StrictBoolean, UtcDateTime, body_id
from connector.core.member_edit import MAX_LENGTH

#: A SKU: no spaces or control characters (the shop's variant SKU, copied exactly).
SKU_PATTERN = r"^[^\x00-\x20\x7f]+$"


def _text(max_length: int, *, description: str = "", required: bool = False, nullable: bool = True) -> fields.String:
    return fields.String(
        required=required,
        allow_none=nullable,
        validate=validate.Length(min=1 if required else 0, max=max_length),
        metadata={"description": description} if description else {},
    )


def _count(description: str) -> JsonInteger:
    return JsonInteger(
        allow_none=True,
        validate=validate.Range(min=1, max=INT32_MAX, error=f"must be a whole number from 1 to {INT32_MAX}"),
        metadata={"description": description},
    )


class RewardBaseSchema(Schema):
    """A reward as every answer that shows it has it: the Rewards catalogue's and the platform's by-ref one
    extend it, so the two cannot drift apart."""

    id = fields.Integer()
    brand_id = fields.Integer()
    name = fields.String()
    sku = fields.String()
    points_cost = fields.Integer()
    channel = fields.String()
    shop_id = fields.Integer(allow_none=True)
    instructions = fields.String()
    active = fields.Boolean()


class MemberDetailsBaseSchema(Schema):
    """A member's id and editable details (``hooktypes.MEMBER_FIELD_LABELS``), as every answer that shows them
    has them: the member edit's and the platform's by-ref one extend it, so the two cannot drift apart."""

    id = fields.Integer()
    first_name = fields.String()
    last_name = fields.String()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    date_of_birth = fields.Date(allow_none=True)
    address1 = fields.String(allow_none=True)
    address2 = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    province_code = fields.String(allow_none=True)
    country_code = fields.String(allow_none=True)
    zip = fields.String(allow_none=True)


class MemberEditSchema(Schema):
    """The member's details to change; fields left out stay as they are, null or "" empties one."""

    first_name = _text(MAX_LENGTH["first_name"])
    last_name = _text(MAX_LENGTH["last_name"])
    email = _text(MAX_LENGTH["email"])
    phone = _text(MAX_LENGTH["phone"], description="Any common form; the shop's plugin checks it can be dialled.")
    date_of_birth = fields.Date(allow_none=True)
    address1 = _text(MAX_LENGTH["address1"])
    address2 = _text(MAX_LENGTH["address2"])
    city = _text(MAX_LENGTH["city"])
    province_code = _text(MAX_LENGTH["province_code"], description="State or province code, e.g. NY or ON.")
    country_code = _text(MAX_LENGTH["country_code"], description="ISO 3166 two-letter code, e.g. US or CA.")
    zip = _text(MAX_LENGTH["zip"])
    retry = StrictBoolean(
        load_default=False,
        metadata={"description": "Also retry the member's redemptions in error that this change cures."},
    )


class CheckProblemSchema(Schema):
    channel = fields.String(metadata={"description": "The fulfilment channel whose plugin reported it."})
    code = fields.String()
    message = fields.String()
    fix = fields.String()
    fields_ = fields.List(fields.String(), data_key="fields")


class BlockedSchema(Schema):
    id = fields.Integer()
    reason = fields.String(metadata={"description": "Why this save did not retry it."})


class RetriedSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    status = fields.String(metadata={"description": "Its status right after the retry (the attempt may be done)."})


class MemberDetailsSchema(MemberDetailsBaseSchema):
    updated_at = UtcDateTime()


class MemberEditResultSchema(Schema):
    member = fields.Nested(MemberDetailsSchema)
    changed = fields.List(fields.String(), metadata={"description": "The fields whose value changed."})
    warnings = fields.List(
        fields.Nested(CheckProblemSchema),
        metadata={"description": "Empty fields a plugin needs: stored anyway; their redemptions are not retried."},
    )
    retried = fields.List(fields.Nested(RetriedSchema))
    still_blocked = fields.List(fields.Nested(BlockedSchema))


class _RewardFieldsSchema(Schema):
    shop_id = body_id(allow_none=True, metadata={"description": "The shop that fulfils it (of the reward's brand)."})
    instructions = _text(5000, nullable=False)
    available_from = fields.Date(allow_none=True, metadata={"description": "First day it can be claimed (UTC)."})
    available_until = fields.Date(allow_none=True, metadata={"description": "Last day it can be claimed (UTC)."})
    per_member_limit = _count("Redemptions one member may hold (reversed ones do not count); null: no limit.")
    total_quantity = _count("Redemptions all members together may hold; null: no cap.")


class RewardCreateSchema(_RewardFieldsSchema):
    """A new reward; its SKU is checked live in its shop."""

    brand_id = body_id(metadata={"description": "Its brand; defaults to the token's own brand."})
    name = _text(200, required=True, nullable=False)
    sku = fields.String(
        required=True, validate=[validate.Length(min=1, max=100), validate.Regexp(SKU_PATTERN, error="no spaces")]
    )
    points_cost = JsonInteger(required=True, validate=validate.Range(min=1, max=INT32_MAX))
    channel = fields.String(
        load_default="shopify",
        validate=validate.Length(min=1, max=40),
        metadata={"description": "Which plugin fulfils it (shopify, email, ...)."},
    )


class RewardUpdateSchema(_RewardFieldsSchema):
    """The reward's fields to change; left out stays as it is."""

    name = _text(200, nullable=False)
    sku = fields.String(validate=[validate.Length(min=1, max=100), validate.Regexp(SKU_PATTERN, error="no spaces")])
    points_cost = JsonInteger(validate=validate.Range(min=1, max=INT32_MAX))
    channel = fields.String(validate=validate.Length(min=1, max=40))
    active = StrictBoolean(metadata={"description": "false switches it off (no new claims); admins only."})
    retry = StrictBoolean(
        load_default=False,
        metadata={"description": "Also retry the redemptions in error that this change cures (product_not_found)."},
    )


class RewardSchema(RewardBaseSchema):
    available_from = fields.Date(allow_none=True)
    available_until = fields.Date(allow_none=True)
    per_member_limit = fields.Integer(allow_none=True)
    total_quantity = fields.Integer(allow_none=True)
    claimed = fields.Integer(metadata={"description": "Redemptions held (not reversed)."})
    created_at = UtcDateTime()
    updated_at = UtcDateTime(allow_none=True)


class RewardListSchema(Schema):
    items = fields.List(fields.Nested(RewardSchema))


class SkuCheckSchema(Schema):
    status = fields.String(
        validate=validate.OneOf(["confirmed", "unchecked"]),
        metadata={
            "description": "confirmed: the shop can order it; unchecked: the shop was not asked or could not answer."
        },
    )
    detail = fields.String(allow_none=True)


class RewardSaveResultSchema(Schema):
    reward = fields.Nested(RewardSchema)
    changed = fields.List(fields.String())
    sku_check = fields.Nested(
        SkuCheckSchema, allow_none=True, metadata={"description": "Null: no SKU check was needed."}
    )
    retried = fields.List(fields.Nested(RetriedSchema))
    still_blocked = fields.List(fields.Nested(BlockedSchema))
