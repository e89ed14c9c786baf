"""``/api/v1`` frequent-buyer setup: programs, retailers and their stores and prices, distributors, enrollments.

Thin: each route validates its input with a schema from ``fb_schemas`` and calls one use case
of ``connector.core.frequent_buyer.programs``, which decides who may do what (see its table).
"""

from __future__ import annotations

from typing import Any

from flask import Response, stream_with_context, url_for

from connector.api.auth import current_actor
from connector.api.blueprint import bp
from connector.api.fb_schemas import (
    DistributorCreateSchema,
    DistributorListQuerySchema,
    DistributorProgramSchema,
    EnrollmentChangeSchema,
    EnrollmentCreateSchema,
    EnrollmentListQuerySchema,
    EnrollmentListSchema,
    EnrollmentSchema,
    FbDistributorListSchema,
    FbDistributorSchema,
    PriceListResultSchema,
    PriceListSchema,
    PriceListUpsertSchema,
    ProgramCreateSchema,
    ProgramItemsAddSchema,
    ProgramListQuerySchema,
    ProgramListSchema,
    ProgramMinimumSchema,
    ProgramSchema,
    RetailerCreateSchema,
    RetailerListSchema,
    RetailerLocationInSchema,
    RetailerLocationSchema,
    RetailerSchema,
)
from connector.api.openapi import operation
from connector.api.payload import load_body, load_query
from connector.core.catalog import slugify
from connector.core.errors import NotFoundError, ValidationError
from connector.core.frequent_buyer import programs as core
from connector.core.model import Role
from connector.request_context import current_runtime

_READ_ERRORS = (404,)
_WRITE_ERRORS = (403, 404)


def _items(raw: list[dict[str, Any]]) -> list[core.ItemSpec]:
    return [core.ItemSpec(**item) for item in raw]


# -- programs ---------------------------------------------------------------------------------------------


@bp.post("/programs")
@operation(
    summary="Create a Buy X Get Y program with its eligible items",
    description=(
        "Brand admins create programs for their own brand, platform admins for any. Every item needs a SKU, "
        "a description and a size with its unit (lb, oz, kg, g, ml, l, fl oz, gal or ct); the whole program is "
        "refused if one item is wrong, with `error.fields` naming it (`items.2.size_unit`)."
    ),
    tag="frequent-buyer",
    body=ProgramCreateSchema,
    responses={201: ("Created", ProgramSchema)},
    response_headers={201: {"Location": "The new program's URL."}},
    errors=(403,),
)
def create_program() -> tuple[dict[str, Any], int, dict[str, str]]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(ProgramCreateSchema())
    program = core.create_program(rt, actor, **{**data, "items": _items(data["items"])})
    headers = {"Location": url_for("api.get_program", program_id=program.id)}
    return ProgramSchema().dump(program), 201, headers


@bp.get("/programs")
@operation(
    summary="List programs (a brand's own; every program for retailers and distributors, who choose from them)",
    tag="frequent-buyer",
    query=ProgramListQuerySchema,
    responses={200: ("The programs, oldest first, without their items", ProgramListSchema)},
)
def list_programs() -> dict[str, Any]:
    args = load_query(ProgramListQuerySchema())
    found = core.list_programs(current_runtime(), current_actor(), brand_id=args.get("brand_id"))
    return ProgramListSchema().dump({"items": found})


@bp.get("/programs/<id:program_id>")
@operation(
    summary="One program with its items and associated distributors",
    tag="frequent-buyer",
    responses={200: ("The program", ProgramSchema)},
    errors=_READ_ERRORS,
)
def get_program(program_id: int) -> dict[str, Any]:
    return ProgramSchema().dump(core.get_program(current_runtime(), current_actor(), program_id))


@bp.patch("/programs/<id:program_id>")
@operation(
    summary="Edit a program's minimum purchase in dollars (Insufficient Purchase Amount); null removes it",
    description=(
        "Brand admins edit their own brand's programs, platform admins any. The minimum applies to reports "
        "imported afterwards (and denied rows resubmitted then), never to redemptions already processed."
    ),
    tag="frequent-buyer",
    body=ProgramMinimumSchema,
    responses={200: ("The program", ProgramSchema)},
    errors=_WRITE_ERRORS,
)
def edit_program(program_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(ProgramMinimumSchema())
    return ProgramSchema().dump(core.set_minimum_purchase(rt, actor, program_id, data["minimum_purchase_amount"]))


@bp.post("/programs/<id:program_id>/items")
@operation(
    summary="Add eligible items to a program (all or none; an SKU or UPC already in it is refused)",
    tag="frequent-buyer",
    body=ProgramItemsAddSchema,
    responses={200: ("The program with every item", ProgramSchema)},
    errors=_WRITE_ERRORS,
)
def add_program_items(program_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(ProgramItemsAddSchema())
    return ProgramSchema().dump(core.add_program_items(rt, actor, program_id, _items(data["items"])))


@bp.get("/programs/<id:program_id>/products.csv")
@operation(
    summary="The program's Product List as CSV: SKU, UPC, Description, Size, Unit, Category",
    description="Cells a spreadsheet would run as a formula (starting with = + - @, tab or CR) get a leading `'`.",
    tag="frequent-buyer",
    responses={200: ("The CSV file (text/csv; charset=utf-8), header row first", None)},
    media_types={200: "text/csv"},
    errors=_READ_ERRORS,
)
def export_products(program_id: int) -> Response:
    program, lines = core.export_product_list(current_runtime(), current_actor(), program_id)
    name = f"{slugify(program.code or program.name)}-products.csv"
    return Response(
        stream_with_context(lines),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# -- retailers --------------------------------------------------------------------------------------------


@bp.post("/retailers")
@operation(
    summary="Create a retailer (a store account) with its locations (support and platform admins)",
    tag="frequent-buyer",
    body=RetailerCreateSchema,
    responses={201: ("Created", RetailerSchema)},
    response_headers={201: {"Location": "The new retailer's URL."}},
    errors=(403,),
)
def create_retailer() -> tuple[dict[str, Any], int, dict[str, str]]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(RetailerCreateSchema())
    locations = [core.LocationSpec(**loc) for loc in data.pop("locations")]
    retailer = core.create_retailer(rt, actor, **data, locations=locations)
    headers = {"Location": url_for("api.get_retailer", retailer_id=retailer.id)}
    return RetailerSchema().dump(retailer), 201, headers


@bp.get("/retailers")
@operation(
    summary="List the retailers this token may see (a distributor: its Participating Retailers)",
    tag="frequent-buyer",
    responses={200: ("The retailers", RetailerListSchema)},
)
def list_retailers() -> dict[str, Any]:
    return RetailerListSchema().dump({"items": core.list_retailers(current_runtime(), current_actor())})


@bp.get("/retailers/<id:retailer_id>")
@operation(
    summary="One retailer with its locations",
    tag="frequent-buyer",
    responses={200: ("The retailer", RetailerSchema)},
    errors=_READ_ERRORS,
)
def get_retailer(retailer_id: int) -> dict[str, Any]:
    return RetailerSchema().dump(core.get_retailer(current_runtime(), current_actor(), retailer_id))


@bp.post("/retailers/<id:retailer_id>/locations")
@operation(
    summary="Add a store location (the retailer itself, or support)",
    tag="frequent-buyer",
    body=RetailerLocationInSchema,
    responses={201: ("Added", RetailerLocationSchema)},
    errors=_WRITE_ERRORS,
)
def add_location(retailer_id: int) -> tuple[dict[str, Any], int]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(RetailerLocationInSchema())
    return RetailerLocationSchema().dump(core.add_location(rt, actor, retailer_id, core.LocationSpec(**data))), 201


@bp.get("/retailers/<id:retailer_id>/price-list")
@operation(
    summary="The retailer's cost (and SRP) per SKU (the retailer itself, or support)",
    tag="frequent-buyer",
    responses={200: ("Every entry, by SKU", PriceListSchema)},
    errors=(403, 404),
)
def get_price_list(retailer_id: int) -> dict[str, Any]:
    entries = core.get_price_list(current_runtime(), current_actor(), retailer_id)
    return PriceListSchema().dump({"items": entries})


@bp.put("/retailers/<id:retailer_id>/price-list")
@operation(
    summary="Set costs per SKU: new SKUs are added, known ones updated (all or none)",
    description="Free goods processed later carry the cost of their SKU, for approximate credit amounts.",
    tag="frequent-buyer",
    body=PriceListUpsertSchema,
    responses={200: ("What changed, and the whole price list", PriceListResultSchema)},
    errors=_WRITE_ERRORS,
)
def upsert_price_list(retailer_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(PriceListUpsertSchema())
    entries = [core.PriceSpec(**e) for e in data["entries"]]
    return PriceListResultSchema().dump(core.upsert_price_list(rt, actor, retailer_id, entries))


# -- distributors -----------------------------------------------------------------------------------------


@bp.post("/distributors")
@operation(
    summary="Create a distributor with its service area and associated programs (support and platform admins)",
    tag="frequent-buyer",
    body=DistributorCreateSchema,
    responses={201: ("Created", FbDistributorSchema)},
    response_headers={201: {"Location": "The new distributor's URL."}},
    errors=(403,),
)
def create_distributor() -> tuple[dict[str, Any], int, dict[str, str]]:
    rt, actor = current_runtime(), current_actor()
    distributor = core.create_distributor(rt, actor, **load_body(DistributorCreateSchema()))
    headers = {"Location": url_for("api.get_distributor", distributor_id=distributor.id)}
    return FbDistributorSchema().dump(distributor), 201, headers


@bp.get("/distributors")
@operation(
    summary="List distributors (the options retailers choose from)",
    tag="frequent-buyer",
    query=DistributorListQuerySchema,
    responses={200: ("The distributors", FbDistributorListSchema)},
)
def list_distributors() -> dict[str, Any]:
    args = load_query(DistributorListQuerySchema())
    found = core.list_distributors(current_runtime(), current_actor(), program_id=args.get("program_id"))
    return FbDistributorListSchema().dump({"items": found})


@bp.get("/distributors/<id:distributor_id>")
@operation(
    summary="One distributor with its service area and programs",
    tag="frequent-buyer",
    responses={200: ("The distributor", FbDistributorSchema)},
    errors=_READ_ERRORS,
)
def get_distributor(distributor_id: int) -> dict[str, Any]:
    return FbDistributorSchema().dump(core.get_distributor(current_runtime(), current_actor(), distributor_id))


@bp.post("/distributors/<id:distributor_id>/programs")
@operation(
    summary="Associate a distributor with a program (support, or the program's brand admin)",
    tag="frequent-buyer",
    body=DistributorProgramSchema,
    responses={200: ("The distributor", FbDistributorSchema)},
    errors=_WRITE_ERRORS,
)
def associate_program(distributor_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(DistributorProgramSchema())
    core.get_distributor(rt, actor, distributor_id)  # 404 is about the distributor in the path only
    try:
        distributor = core.associate_program(rt, actor, distributor_id, data["program_id"])
    except NotFoundError:
        # The program named in the body: invalid input (422, like a missing member when redeeming), answered
        # the same whether it does not exist or is another brand's.
        program_id = data["program_id"]
        raise ValidationError("program not found", fields={"program_id": f"no program {program_id}"}) from None
    return FbDistributorSchema().dump(distributor)


# -- enrollments ------------------------------------------------------------------------------------------


@bp.post("/enrollments")
@operation(
    summary="Enroll a retailer in a program, choosing its distributor",
    description=(
        "For a distributor-fulfilled program the distributor must be associated with the program and serve every "
        "location of the retailer; otherwise 422 names `distributor_id` and lists the distributors that would do. "
        "Direct and retailer-fulfilled programs take no distributor."
    ),
    tag="frequent-buyer",
    body=EnrollmentCreateSchema,
    responses={201: ("Enrolled", EnrollmentSchema)},
    response_headers={201: {"Location": "The enrollment's URL."}},
    errors=(403, 404, 409),
)
def create_enrollment() -> tuple[dict[str, Any], int, dict[str, str]]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(EnrollmentCreateSchema())
    retailer_id = data.get("retailer_id")
    if retailer_id is None:
        # A retailer user always carries its retailer (check_scope, where users and tokens are made).
        if actor.role != Role.RETAILER or actor.retailer_id is None:
            raise ValidationError("retailer_id is required", fields={"retailer_id": "the retailer to enroll"})
        retailer_id = actor.retailer_id
    e = core.enroll(
        rt,
        actor,
        retailer_id=retailer_id,
        program_id=data["program_id"],
        distributor_id=data["distributor_id"],
        account_number=data["account_number"],
    )
    return EnrollmentSchema().dump(e), 201, {"Location": url_for("api.get_enrollment", enrollment_id=e.id)}


@bp.get("/enrollments")
@operation(
    summary="List enrollments in scope (a retailer's Enrolled list, a distributor's Enrolled Programs)",
    tag="frequent-buyer",
    query=EnrollmentListQuerySchema,
    responses={200: ("The enrollments", EnrollmentListSchema)},
)
def list_enrollments() -> dict[str, Any]:
    args = load_query(EnrollmentListQuerySchema())
    found = core.list_enrollments(
        current_runtime(),
        current_actor(),
        retailer_id=args.get("retailer_id"),
        program_id=args.get("program_id"),
        distributor_id=args.get("distributor_id"),
        active_only=bool(args.get("active")),
    )
    return EnrollmentListSchema().dump({"items": found})


@bp.get("/enrollments/<id:enrollment_id>")
@operation(
    summary="One enrollment",
    tag="frequent-buyer",
    responses={200: ("The enrollment", EnrollmentSchema)},
    errors=_READ_ERRORS,
)
def get_enrollment(enrollment_id: int) -> dict[str, Any]:
    return EnrollmentSchema().dump(core.get_enrollment(current_runtime(), current_actor(), enrollment_id))


@bp.patch("/enrollments/<id:enrollment_id>")
@operation(
    summary="Change the enrollment's distributor (checked like enrolling)",
    description=(
        "Free goods already processed stay with their distributor; later cards go to the new one. The account "
        "number follows the distributor (the one given, else the store's existing one with the new distributor)."
    ),
    tag="frequent-buyer",
    body=EnrollmentChangeSchema,
    responses={200: ("Changed", EnrollmentSchema)},
    errors=(403, 404, 409),
)
def change_enrollment(enrollment_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(EnrollmentChangeSchema())
    changed = core.change_distributor(rt, actor, enrollment_id, data["distributor_id"], data["account_number"])
    return EnrollmentSchema().dump(changed)


@bp.post("/enrollments/<id:enrollment_id>/end")
@operation(
    summary="End an enrollment: cards redeemed from today on are denied as ineligible_program",
    tag="frequent-buyer",
    responses={200: ("Ended", EnrollmentSchema)},
    errors=(403, 404, 409),
)
def end_enrollment(enrollment_id: int) -> dict[str, Any]:
    return EnrollmentSchema().dump(core.end_enrollment(current_runtime(), current_actor(), enrollment_id))
