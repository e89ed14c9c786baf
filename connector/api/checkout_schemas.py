"""Marshmallow schemas of the Checkout routes (``checkout``): pet-owner lookup and add, cards, punches, redeem.

Same conventions as ``connector.api.schemas``: request schemas refuse unknown fields, response schemas dump
the core's frozen views and always carry every field. Names are prefixed ``Checkout`` so they never clash
with another module's component.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from connector.api.schemas import JsonInteger, body_id, query_id

_RETAILER = {"description": "Required for support and platform admins; a cashier's or retailer's token is its own."}


class CheckoutLookupQuerySchema(Schema):
    q = fields.String(
        required=True,
        validate=validate.Length(min=2, max=200),
        metadata={"description": "A name (or a word of it), phone number or email: exact, or how it begins."},
    )
    retailer_id = query_id(metadata=_RETAILER)


class CheckoutRetailerQuerySchema(Schema):
    retailer_id = query_id(metadata=_RETAILER)


class CheckoutCustomerInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(max=200))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    email = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=320))
    internal_id = fields.String(
        data_key="customer_number",
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=100),
        metadata={"description": "The POS's own customer id (internal customer id), if the store uses one."},
    )
    retailer_id = body_id(load_default=None, allow_none=True, metadata=_RETAILER)


class CheckoutCustomerSchema(Schema):
    id = fields.Integer()
    retailer_id = fields.Integer()
    name = fields.String()
    phone = fields.String(allow_none=True, metadata={"description": "Digits only."})
    email = fields.String(allow_none=True)
    internal_id = fields.String(
        data_key="customer_number", allow_none=True, metadata={"description": "The POS's own customer id."}
    )


class CheckoutCustomerListSchema(Schema):
    customers = fields.List(fields.Nested(CheckoutCustomerSchema), metadata={"description": "At most 20."})


class CheckoutFreeChoiceSchema(Schema):
    item_id = fields.Integer(metadata={"description": "Send as `free_item_id` to redeem."})
    sku = fields.String()
    description = fields.String()
    size = fields.String()


class CheckoutCardSchema(Schema):
    program_id = fields.Integer()
    program_name = fields.String()
    brand_name = fields.String()
    buy_quantity = fields.Integer()
    free_quantity = fields.Integer()
    punched = fields.Integer(metadata={"description": "Units bought toward this card's reward."})
    eligible = fields.Boolean(metadata={"description": "The card can be redeemed now (for one of `choices`)."})
    choices = fields.List(fields.Nested(CheckoutFreeChoiceSchema))
    denial_reason = fields.String(
        allow_none=True, metadata={"description": "Why no free good passes yet (a denial reason), when none does."}
    )
    denial_detail = fields.String(allow_none=True)


class CheckoutPurchaseInSchema(Schema):
    item = fields.String(
        required=True, validate=validate.Length(min=1, max=100), metadata={"description": "The item's SKU or UPC."}
    )
    quantity = JsonInteger(load_default=1, validate=validate.Range(min=1, max=999))
    program_id = body_id(
        load_default=None, allow_none=True, metadata={"description": "Needed only when two programs hold the item."}
    )
    location_id = body_id(load_default=None, allow_none=True, metadata={"description": "The store rung up at."})
    retailer_id = body_id(load_default=None, allow_none=True, metadata=_RETAILER)


class CheckoutRedeemInSchema(Schema):
    program_id = body_id(required=True)
    free_item_id = body_id(required=True, metadata={"description": "One of the card's `choices`."})
    location_id = body_id(load_default=None, allow_none=True, metadata={"description": "The store rung up at."})
    retailer_id = body_id(load_default=None, allow_none=True, metadata=_RETAILER)


class CheckoutRedemptionSchema(Schema):
    redemption_id = fields.Integer(metadata={"description": "The POS redemption it is, on the day's Checkout report."})
    status = fields.String(metadata={"description": "`processed`, or `quality_check` when the program asks for one."})
    program_id = fields.Integer()
    program_name = fields.String()
    free_good_id = fields.Integer(allow_none=True, metadata={"description": "Null while in Quality Check."})
    sku = fields.String()
    description = fields.String()
    quantity = fields.Integer()
    distributor_id = fields.Integer(allow_none=True)
    redeemed_on = fields.Date()
    report_id = fields.Integer()
    replayed = fields.Boolean()
    cards = fields.List(fields.Nested(CheckoutCardSchema), metadata={"description": "The cards after redeeming."})


class CheckoutCustomerCardsSchema(Schema):
    customer = fields.Nested(CheckoutCustomerSchema)
    cards = fields.List(fields.Nested(CheckoutCardSchema))
    visit = fields.List(
        fields.Nested(CheckoutRedemptionSchema),
        metadata={"description": "Rewards Earned / Redeemed This Visit: the customer's counter redemptions today."},
    )
