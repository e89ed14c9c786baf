"""Schemas of the self-service routes (``self_service``): account numbers and their changes, a retailer's
distributor options, and a distributor's own programs and service area."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from connector.api.fb_schemas import (
    ACCOUNT_NUMBER_HELP,
    ZIP_PREFIX_PATTERN,
    FbDistributorSchema,
)
from connector.api.schemas import STATE_PATTERN, UtcDateTime, body_id, query_id


class AccountNumberInSchema(Schema):
    account_number = fields.String(
        required=True,
        allow_none=True,
        validate=validate.Length(max=50),
        metadata={"description": ACCOUNT_NUMBER_HELP + " null or blank clears it."},
    )


class AccountNumberChangeSchema(Schema):
    id = fields.Integer()
    enrollment_id = fields.Integer()
    retailer_id = fields.Integer()
    retailer_name = fields.String()
    program_id = fields.Integer()
    program_name = fields.String()
    distributor_id = fields.Integer(allow_none=True)
    distributor_name = fields.String(allow_none=True)
    old_account_number = fields.String(allow_none=True)
    new_account_number = fields.String(allow_none=True)
    changed_by = fields.String()
    changed_at = UtcDateTime()


class AccountNumberChangeListSchema(Schema):
    items = fields.List(fields.Nested(AccountNumberChangeSchema))


class DistributorOptionsQuerySchema(Schema):
    program_id = query_id(required=True)
    retailer_id = query_id(metadata={"description": "Required unless the token is a retailer's."})


class DistributorOptionListSchema(Schema):
    items = fields.List(fields.Nested(FbDistributorSchema))


class DistributorProgramsInSchema(Schema):
    program_ids = fields.List(
        body_id(),
        required=True,
        validate=validate.Length(max=1000),
        metadata={"description": "Every program the distributor is an option for, after the change."},
    )


class ServiceAreaInSchema(Schema):
    service_states = fields.List(
        fields.String(validate=validate.Regexp(STATE_PATTERN, error="a two-letter state code (like WA, OR)")),
        load_default=list,
        validate=validate.Length(max=100),
    )
    service_zip_prefixes = fields.List(
        fields.String(
            validate=[
                validate.Length(min=1, max=10),
                validate.Regexp(ZIP_PREFIX_PATTERN, error="a ZIP prefix: letters and digits (like 980)"),
            ]
        ),
        load_default=list,
        validate=validate.Length(max=1000),
    )


__all__ = [
    "AccountNumberChangeListSchema",
    "AccountNumberChangeSchema",
    "AccountNumberInSchema",
    "DistributorOptionListSchema",
    "DistributorOptionsQuerySchema",
    "DistributorProgramsInSchema",
    "ServiceAreaInSchema",
]
