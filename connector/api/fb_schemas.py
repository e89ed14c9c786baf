"""Marshmallow schemas of the frequent-buyer setup routes (``programs``); POS reports are in ``pos_schemas``.

Same conventions as ``connector.api.schemas``: request schemas refuse unknown fields,
response schemas dump the core's frozen views and always carry every field. Amounts and sizes
are decimal strings ("12.50", "4"), never floats, so no cent is lost on the way. Names are
prefixed where a generic one (``Retailer``) could clash with another module's component.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import Schema, fields, validate

from connector.api.schemas import (
    STATE_PATTERN,
    JsonInteger,
    StrictBoolean,
    TextBoolean,
    UtcDateTime,
    _choices,
    body_id,
    query_id,
)
from connector.core.frequent_buyer.model import FulfilmentType
from connector.core.frequent_buyer.units import format_quantity


class DecimalString(fields.String):
    """A ``Decimal`` as a plain decimal string: ``Decimal("4.000")`` → ``"4"``, ``Decimal("12.50")`` → ``"12.50"``."""

    def __init__(self, *, trim: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.trim = trim
        # marshmallow types ``metadata`` as a read-only Mapping: extend a copy rather than the caller's dict.
        metadata = dict(self.metadata)
        metadata.setdefault("format", "decimal")
        self.metadata = metadata

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        amount = Decimal(value)
        return format_quantity(amount) if self.trim else format(amount, "f")


#: A UPC/EAN as the core takes it: 6 to 14 digits, spaces and dashes allowed between them; blank means none.
UPC_PATTERN = r"^[ -]*(?:(?:[0-9][ -]*){6,14})?$"
#: A ZIP prefix before the core drops its spaces and dashes: letters and digits.
ZIP_PREFIX_PATTERN = r"^[ -]*[A-Za-z0-9][A-Za-z0-9 -]*$"
#: Package sizes and amounts are stored as NUMERIC(12, 3) and NUMERIC(12, 2): below 10 billion either way.
SIZE_MAX = 10**9
MONEY_MAX = 10**10


def _money_range() -> validate.Range:
    return validate.Range(min=0, max=MONEY_MAX, max_inclusive=False, error="zero or more, under 10 billion")


# -- programs ---------------------------------------------------------------------------------------------

_MINIMUM_TEXT = (
    "Minimum purchase in dollars (25.00; at most 2 decimal places), or null for none: a card whose purchases, "
    "valued at the store's price list (SRP, else unit cost), come to less is denied as insufficient_purchase_amount."
)


class ProgramItemInSchema(Schema):
    """An eligible item of a program."""

    sku = fields.String(required=True, validate=validate.Length(min=1, max=100))
    upc = fields.String(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(max=20), validate.Regexp(UPC_PATTERN, error="a UPC/EAN: 6 to 14 digits")],
        metadata={"description": "6 to 14 digits (spaces and dashes are dropped); empty for none."},
    )
    description = fields.String(required=True, validate=validate.Length(min=1, max=300))
    size_value = fields.Decimal(
        required=True,
        validate=validate.Range(min=0, min_inclusive=False, max=SIZE_MAX, max_inclusive=False),
        metadata={"description": "The package size, like 4 or 2.5 (with size_unit); at most 3 decimal places."},
    )
    size_unit = fields.String(
        required=True,
        validate=validate.Length(min=1, max=20),
        metadata={"description": "lb, oz, kg, g (weight), ml, l, fl oz, gal (volume) or ct (count); spellings vary."},
    )
    category = fields.String(load_default="", validate=validate.Length(max=100))


class ProgramCreateSchema(Schema):
    brand_id = body_id(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    code = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "How POS systems name the program (defaults to the name); unique per brand."},
    )
    buy_quantity = JsonInteger(
        required=True,
        validate=validate.Range(min=1, max=10_000),
        metadata={"description": "X in Buy X Get Y."},
    )
    free_quantity = JsonInteger(
        load_default=1,
        validate=validate.Range(min=1, max=1_000),
        metadata={"description": "Y in Buy X Get Y."},
    )
    fulfilment_type = fields.String(
        load_default=FulfilmentType.DISTRIBUTOR.value, validate=_choices(t.value for t in FulfilmentType)
    )
    starts_on = fields.Date(load_default=None, allow_none=True)
    ends_on = fields.Date(load_default=None, allow_none=True)
    quality_check_required = StrictBoolean(
        load_default=False,
        metadata={"description": "Passed cards wait in Quality Check for support to approve them."},
    )
    rebate_amount = fields.Decimal(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=MONEY_MAX, min_inclusive=False, max_inclusive=False),
        metadata={
            "description": "Dollars off per redemption (5.00): makes this a dollars-off program whose redemptions "
            "owe the retailer a rebate, credited through its distributor, instead of a free good."
        },
    )
    items = fields.List(fields.Nested(ProgramItemInSchema), required=True, validate=validate.Length(min=1, max=5000))
    minimum_purchase_amount = fields.Decimal(
        load_default=None, allow_none=True, validate=_money_range(), metadata={"description": _MINIMUM_TEXT}
    )


class ProgramMinimumSchema(Schema):
    minimum_purchase_amount = fields.Decimal(
        required=True, allow_none=True, validate=_money_range(), metadata={"description": _MINIMUM_TEXT}
    )


class ProgramItemsAddSchema(Schema):
    items = fields.List(fields.Nested(ProgramItemInSchema), required=True, validate=validate.Length(min=1, max=5000))


class ProgramListQuerySchema(Schema):
    brand_id = query_id()


class ProgramItemSchema(Schema):
    id = fields.Integer()
    sku = fields.String()
    upc = fields.String(allow_none=True)
    description = fields.String()
    size_value = DecimalString(trim=True)
    size_unit = fields.String(metadata={"description": "Canonical unit: lb, oz, kg, g, ml, l, fl oz, gal or ct."})
    category = fields.String()


class ProgramSummarySchema(Schema):
    id = fields.Integer()
    brand_id = fields.Integer()
    brand_name = fields.String()
    name = fields.String()
    code = fields.String()
    buy_quantity = fields.Integer()
    free_quantity = fields.Integer()
    fulfilment_type = fields.String(validate=_choices(t.value for t in FulfilmentType))
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    quality_check_required = StrictBoolean()
    rebate_amount = DecimalString(allow_none=True, metadata={"description": "Dollars off; null for free goods."})
    item_count = fields.Integer()
    minimum_purchase_amount = DecimalString(allow_none=True, metadata={"description": _MINIMUM_TEXT})
    distributor_ids = fields.List(fields.Integer(), metadata={"description": "Distributors associated with it."})
    created_at = UtcDateTime()


class ProgramSchema(ProgramSummarySchema):
    items = fields.List(fields.Nested(ProgramItemSchema))


class ProgramListSchema(Schema):
    items = fields.List(fields.Nested(ProgramSummarySchema))


# -- retailers --------------------------------------------------------------------------------------------


class RetailerLocationInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    store_code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=50),
        metadata={"description": "The store number the POS prints on each report row."},
    )
    state = fields.String(
        required=True,
        validate=validate.Regexp(STATE_PATTERN, error="a two-letter state or province code (like WA, OR, ON)"),
    )
    zip = fields.String(required=True, validate=validate.Length(min=1, max=20))
    address1 = fields.String(load_default="", validate=validate.Length(max=200))
    city = fields.String(load_default="", validate=validate.Length(max=100))


class RetailerCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    slug = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))
    locations = fields.List(fields.Nested(RetailerLocationInSchema), load_default=list)


class RetailerLocationSchema(Schema):
    id = fields.Integer()
    retailer_id = fields.Integer()
    name = fields.String()
    store_code = fields.String()
    address1 = fields.String()
    city = fields.String()
    state = fields.String()
    zip = fields.String()


class RetailerSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    slug = fields.String()
    locations = fields.List(fields.Nested(RetailerLocationSchema))
    created_at = UtcDateTime()


class RetailerListSchema(Schema):
    items = fields.List(fields.Nested(RetailerSchema))


class PriceListEntryInSchema(Schema):
    sku = fields.String(required=True, validate=validate.Length(min=1, max=100))
    unit_cost = fields.Decimal(
        required=True,
        validate=_money_range(),
        metadata={"description": "The store's cost, in dollars (12.50): at most 2 decimal places."},
    )
    srp = fields.Decimal(
        load_default=None,
        allow_none=True,
        validate=_money_range(),
        metadata={"description": "Suggested retail price, in dollars: at most 2 decimal places."},
    )


class PriceListUpsertSchema(Schema):
    entries = fields.List(
        fields.Nested(PriceListEntryInSchema), required=True, validate=validate.Length(min=1, max=20000)
    )


class PriceListEntrySchema(Schema):
    sku = fields.String()
    unit_cost = DecimalString()
    srp = DecimalString(allow_none=True)


class PriceListSchema(Schema):
    items = fields.List(fields.Nested(PriceListEntrySchema))


class PriceListResultSchema(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    entries = fields.List(fields.Nested(PriceListEntrySchema), metadata={"description": "The whole price list now."})


# -- distributors -----------------------------------------------------------------------------------------


class DistributorCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    slug = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))
    service_states = fields.List(
        fields.String(validate=validate.Regexp(STATE_PATTERN, error="a two-letter state code (like WA, OR)")),
        load_default=list,
        metadata={"description": "Two-letter states served (WA, OR, ...)."},
    )
    service_zip_prefixes = fields.List(
        fields.String(
            validate=[
                validate.Length(min=1, max=10),
                validate.Regexp(ZIP_PREFIX_PATTERN, error="a ZIP prefix: letters and digits (like 980)"),
            ]
        ),
        load_default=list,
        metadata={"description": "ZIP prefixes served (980, 97201, ...); states and/or prefixes."},
    )
    program_ids = fields.List(body_id(), load_default=list)


class DistributorProgramSchema(Schema):
    program_id = body_id(required=True)


class DistributorListQuerySchema(Schema):
    program_id = query_id()


class FbDistributorSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    slug = fields.String()
    service_states = fields.List(fields.String())
    service_zip_prefixes = fields.List(fields.String())
    program_ids = fields.List(fields.Integer(), metadata={"description": "Programs it is a distributor option for."})
    created_at = UtcDateTime()


class FbDistributorListSchema(Schema):
    items = fields.List(fields.Nested(FbDistributorSchema))


ACCOUNT_NUMBER_HELP = "The store's account number with the distributor (up to 50 characters); only with a distributor."


# -- enrollments ------------------------------------------------------------------------------------------


class EnrollmentCreateSchema(Schema):
    retailer_id = body_id(
        metadata={"description": "Required unless the token is a retailer's (then it is that retailer)."}
    )
    program_id = body_id(required=True)
    distributor_id = body_id(
        load_default=None,
        allow_none=True,
        metadata={"description": "Required for distributor-fulfilled programs; it must serve every location."},
    )
    account_number = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=50),
        metadata={"description": ACCOUNT_NUMBER_HELP},
    )


class EnrollmentChangeSchema(Schema):
    distributor_id = body_id(required=True, allow_none=True)
    account_number = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=50),
        metadata={
            "description": ACCOUNT_NUMBER_HELP + " Left out: the one the store has with the new distributor, if any."
        },
    )


class EnrollmentListQuerySchema(Schema):
    retailer_id = query_id()
    program_id = query_id()
    distributor_id = query_id()
    active = TextBoolean(metadata={"description": "true: only enrollments that have not ended."})


class EnrollmentSchema(Schema):
    id = fields.Integer()
    retailer_id = fields.Integer()
    retailer_name = fields.String()
    program_id = fields.Integer()
    program_name = fields.String()
    fulfilment_type = fields.String(validate=_choices(t.value for t in FulfilmentType))
    distributor_id = fields.Integer(allow_none=True)
    distributor_name = fields.String(allow_none=True)
    account_number = fields.String(
        allow_none=True, metadata={"description": "The store's account number with the distributor."}
    )
    active = TextBoolean()
    enrolled_at = UtcDateTime()
    ended_at = UtcDateTime(allow_none=True)


class EnrollmentListSchema(Schema):
    items = fields.List(fields.Nested(EnrollmentSchema))
