"""``/api/v1`` self-service: a retailer's account numbers and distributor options, a distributor's own
programs and service area (seeds 001 and 002).

Thin, like ``programs``: each route validates its input and calls one use case of
``connector.core.frequent_buyer.programs``, which scopes it (a retailer its own stores, a distributor itself).
"""

from __future__ import annotations

from typing import Any

from connector.api.auth import current_actor
from connector.api.blueprint import bp
from connector.api.fb_schemas import EnrollmentSchema, FbDistributorSchema
from connector.api.openapi import operation
from connector.api.payload import load_body, load_query
from connector.api.self_service_schemas import (
    AccountNumberChangeListSchema,
    AccountNumberInSchema,
    DistributorOptionListSchema,
    DistributorOptionsQuerySchema,
    DistributorProgramsInSchema,
    ServiceAreaInSchema,
)
from connector.core.errors import ValidationError
from connector.core.frequent_buyer import programs as core
from connector.core.model import Role
from connector.request_context import current_runtime


@bp.put("/enrollments/<id:enrollment_id>/account-number")
@operation(
    summary="Change the store's account number with the enrollment's distributor (the retailer, or support)",
    description=(
        "Every change is recorded (old, new, who, when) and appears in the distributor's Account Number Changes "
        "report. The same number again records nothing. Direct and retailer-fulfilled enrollments have none (422)."
    ),
    tag="frequent-buyer",
    body=AccountNumberInSchema,
    responses={200: ("Changed", EnrollmentSchema)},
    errors=(403, 404, 409),
)
def set_account_number(enrollment_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(AccountNumberInSchema())
    return EnrollmentSchema().dump(core.set_account_number(rt, actor, enrollment_id, data["account_number"]))


@bp.get("/enrollments/<id:enrollment_id>/account-number-changes")
@operation(
    summary="The account number changes of one enrollment, oldest first",
    description="A distributor sees only the changes made while the enrollment was with it.",
    tag="frequent-buyer",
    responses={200: ("The changes", AccountNumberChangeListSchema)},
    errors=(404,),
)
def list_account_number_changes(enrollment_id: int) -> dict[str, Any]:
    found = core.list_account_number_changes(current_runtime(), current_actor(), enrollment_id=enrollment_id)
    return AccountNumberChangeListSchema().dump({"items": found})


@bp.get("/distributor-options")
@operation(
    summary="The distributors a retailer may choose for a program",
    description=(
        "Associated with the program and serving every location of the retailer: what enrolling accepts. Empty for "
        "direct and retailer-fulfilled programs, or when no associated distributor serves the stores."
    ),
    tag="frequent-buyer",
    query=DistributorOptionsQuerySchema,
    responses={200: ("The distributors", DistributorOptionListSchema)},
    errors=(404,),
)
def distributor_options() -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    args = load_query(DistributorOptionsQuerySchema())
    retailer_id = args.get("retailer_id")
    if retailer_id is None:
        if actor.role != Role.RETAILER or actor.retailer_id is None:
            raise ValidationError("retailer_id is required", fields={"retailer_id": "the retailer that would enroll"})
        retailer_id = actor.retailer_id
    found = core.distributor_options(rt, actor, retailer_id=retailer_id, program_id=args["program_id"])
    return DistributorOptionListSchema().dump({"items": found})


@bp.put("/distributors/<id:distributor_id>/programs")
@operation(
    summary="Choose the programs the distributor is an option for (the distributor itself, or support)",
    description=(
        "Replaces the whole list. Removing a program retailers are enrolled in with this distributor is refused "
        "(422 naming those enrollments); nothing changes. Only distributor-fulfilled programs can be chosen."
    ),
    tag="frequent-buyer",
    body=DistributorProgramsInSchema,
    responses={200: ("The distributor", FbDistributorSchema)},
    errors=(403, 404),
)
def set_distributor_programs(distributor_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(DistributorProgramsInSchema())
    return FbDistributorSchema().dump(core.set_associated_programs(rt, actor, distributor_id, data["program_ids"]))


@bp.put("/distributors/<id:distributor_id>/service-area")
@operation(
    summary="Replace the distributor's service area: states and/or ZIP prefixes (the distributor itself, or support)",
    description=(
        "An area that would leave out a store already enrolled with the distributor is refused (422 naming the "
        "stores and enrollments); nothing changes."
    ),
    tag="frequent-buyer",
    body=ServiceAreaInSchema,
    responses={200: ("The distributor", FbDistributorSchema)},
    errors=(403, 404),
)
def set_service_area(distributor_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(ServiceAreaInSchema())
    view = core.set_service_area(
        rt,
        actor,
        distributor_id,
        service_states=data["service_states"],
        service_zip_prefixes=data["service_zip_prefixes"],
    )
    return FbDistributorSchema().dump(view)
