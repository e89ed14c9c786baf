"""Programs, retailers, distributors, enrollments and price lists: validation, service areas and scope."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from connector.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from connector.core.frequent_buyer import programs
from connector.core.frequent_buyer.programs import ItemSpec, LocationSpec, PriceSpec
from connector.core.frequent_buyer.tables import FbEvent, ProgramItem


def _item(sku="NEW-1", **kw) -> ItemSpec:
    values = {"description": "New Food 5 lb", "size_value": "5", "size_unit": "lb"} | kw
    return ItemSpec(sku=sku, **values)


# -- programs ---------------------------------------------------------------------------------------------


def test_a_brand_admin_creates_a_program_with_normalised_sizes(rt, fb_world):
    program = programs.create_program(
        rt,
        fb_world.actors.brand_admin,
        brand_id=fb_world.brand_id,
        name="Acme Cat Buy 8 Get 1",
        buy_quantity=8,
        items=[
            _item("CAT-7", size_value="7.000", size_unit="LBS", upc="0 12345-00007 1"),
            _item("CAT-S", size_value=12, size_unit="Count"),
        ],
    )
    assert (program.code, program.brand_name, program.free_quantity, program.fulfilment_type) == (
        "Acme Cat Buy 8 Get 1",
        "Acme Pets",
        1,
        "distributor",
    )
    assert [(i.sku, i.upc, i.size, i.size_unit) for i in program.items] == [
        ("CAT-7", "012345000071", "7 lb", "lb"),
        ("CAT-S", None, "12 ct", "ct"),
    ]
    assert programs.get_program(rt, fb_world.actors.retailer, program.id).item_count == 2


def test_program_validation_names_every_bad_field(rt, fb_world):
    with pytest.raises(ValidationError) as err:
        programs.create_program(
            rt,
            fb_world.actors.platform_admin,
            brand_id=fb_world.brand_id,
            name="Acme Kibble Buy 10 Get 1 (again)",
            code="acme-kibble",
            buy_quantity=0,
            fulfilment_type="carrier pigeon",
            starts_on=date(2026, 5, 1),
            ends_on=date(2026, 4, 1),
            items=[_item("A", size_unit="bags"), _item("A", size_value="-1"), _item("B", upc="12-ab")],
        )
    fields = err.value.fields
    assert fields["code"] == "brand 'Acme Pets' already has a program with code 'acme-kibble'; choose another code"
    assert fields["buy_quantity"].startswith("a whole number of purchases from 1")
    assert fields["fulfilment_type"] == "one of: distributor, direct, retailer"
    assert fields["ends_on"] == "must not be before starts_on (2026-05-01)"
    assert fields["items.0.size_unit"].startswith("unknown size unit 'bags'; use one of: lb, oz, kg, g")
    assert fields["items.1.sku"] == "SKU 'A' is already item 0 of this program"
    assert fields["items.1.size_value"] == "size '-1' must be a positive number"
    assert fields["items.2.upc"] == "'12-ab' is not a UPC/EAN: 6 to 14 digits"


def test_only_a_brands_admin_or_platform_admin_creates_its_programs(rt, fb_world):
    a = fb_world.actors
    kwargs = {"name": "X", "buy_quantity": 2, "items": [_item()]}
    with pytest.raises(ValidationError) as err:
        programs.create_program(rt, a.other_brand_admin, brand_id=fb_world.brand_id, **kwargs)
    assert err.value.fields == {"brand_id": f"no brand {fb_world.brand_id}"}
    for actor in (a.support, a.retailer, a.distributor, a.viewer):
        with pytest.raises(PermissionDeniedError):
            programs.create_program(rt, actor, brand_id=fb_world.brand_id, **kwargs)
    with pytest.raises(NotFoundError):  # another brand's program is not there for it
        programs.add_program_items(rt, a.other_brand_admin, fb_world.kibble_id, [_item()])
    with pytest.raises(PermissionDeniedError):
        programs.add_program_items(rt, a.retailer, fb_world.kibble_id, [_item()])


def test_adding_items_refuses_skus_and_upcs_already_in_the_program(rt, fb_world):
    with pytest.raises(ValidationError) as err:
        programs.add_program_items(
            rt, fb_world.actors.brand_admin, fb_world.kibble_id, [_item("kib-4"), _item("N2", upc="12345000157")]
        )
    assert err.value.fields == {
        "items.0.sku": "SKU 'kib-4' is already an existing item of this program",
        "items.1.upc": "UPC '12345000157' is already an existing item of this program",
    }
    added = programs.add_program_items(rt, fb_world.actors.brand_admin, fb_world.kibble_id, [_item("KIB-40")])
    assert added.item_count == 6


def test_programs_are_listed_per_scope(rt, fb_world):
    a = fb_world.actors
    assert {p.id for p in programs.list_programs(rt, a.brand_admin)} == {fb_world.kibble_id, fb_world.treats_id}
    assert {p.id for p in programs.list_programs(rt, a.other_brand_admin)} == {fb_world.wild_id}
    everyone = {fb_world.kibble_id, fb_world.treats_id, fb_world.wild_id}
    for actor in (a.retailer, a.distributor, a.support, a.viewer):
        assert {p.id for p in programs.list_programs(rt, actor)} == everyone
    with pytest.raises(NotFoundError):
        programs.get_program(rt, a.other_brand_admin, fb_world.kibble_id)


def test_product_list_export_is_csv_with_formulas_neutralised(rt, fb_world):
    programs.add_program_items(
        rt,
        fb_world.actors.brand_admin,
        fb_world.kibble_id,
        [
            _item("=HYPERLINK(1)", description='+SUM(A1), "quoted"', category="@evil"),
            _item("-5", description="Minus", category="Treats"),
        ],
    )
    program, lines = programs.export_product_list(rt, fb_world.actors.retailer, fb_world.kibble_id)
    lines = list(lines)
    assert program.code == "ACME-KIBBLE"
    assert lines[0] == '"SKU","UPC","Description","Size","Unit","Category"\r\n'
    assert lines[1] == '"KIB-4","012345000041","Acme Kibble 4 lb","4","lb","Dry Food"\r\n'
    assert lines[4] == '"KIB-2KG","","Acme Kibble 2 kg","2","kg","Dry Food"\r\n'
    assert lines[6] == '"\'=HYPERLINK(1)","","\'+SUM(A1), ""quoted""","5","lb","\'@evil"\r\n'
    assert lines[7] == '"\'-5","","Minus","5","lb","Treats"\r\n'
    view = programs.ItemView(1, 1, "S", None, "\tTab", Decimal("2.50"), "kg", "\rCR")
    assert list(programs.product_list_lines([view]))[1] == '"S","","\'\tTab","2.5","kg","\'\rCR"\r\n'
    assert len(lines) == 8


# -- retailers and distributors --------------------------------------------------------------------------


def test_retailer_validation_and_store_codes(rt, fb_world):
    with pytest.raises(ValidationError) as err:
        programs.create_retailer(
            rt,
            fb_world.actors.support,
            name="Paws Corner",
            slug="paws-corner",
            locations=[LocationSpec("One", "01", "Washington", "98101"), LocationSpec("Two", "1", "WA", "")],
        )
    assert err.value.fields == {
        "locations.0.state": "'Washington' is not a two-letter state or province code (like WA, OR, ON)",
        "locations.1.zip": "the location's ZIP or postal code (distributors serve by ZIP prefix)",
        "locations.1.store_code": "store code '1' is already used by location 'One'; each location needs its own",
        "slug": "'paws-corner' is taken; choose another slug",
    }
    with pytest.raises(ValidationError) as err:
        programs.add_location(
            rt, fb_world.actors.retailer, fb_world.retailer_id, LocationSpec("Dup", "0002", "WA", "98001")
        )
    assert err.value.fields == {"store_code": "store code '0002' is already used by location 'Paws Corner Tacoma'"}
    added = programs.add_location(
        rt, fb_world.actors.retailer, fb_world.retailer_id, LocationSpec("Spokane", "003", "wa", "99201")
    )
    assert (added.state, added.store_code) == ("WA", "003")


def test_who_sees_and_changes_retailers(rt, fb_world):
    a = fb_world.actors
    with pytest.raises(PermissionDeniedError):
        programs.create_retailer(rt, a.retailer, name="Mine")
    with pytest.raises(NotFoundError):
        programs.get_retailer(rt, a.retailer, fb_world.other_retailer_id)
    with pytest.raises(NotFoundError):
        programs.add_location(rt, a.retailer, fb_world.other_retailer_id, LocationSpec("X", "9", "OR", "97000"))
    with pytest.raises(PermissionDeniedError):
        programs.add_location(rt, a.distributor, fb_world.retailer_id, LocationSpec("X", "9", "WA", "98000"))
    assert [r.id for r in programs.list_retailers(rt, a.retailer)] == [fb_world.retailer_id]
    # A distributor sees its Participating Retailers only; a brand those enrolled in its programs.
    assert [r.id for r in programs.list_retailers(rt, a.distributor)] == [fb_world.retailer_id]
    assert [r.id for r in programs.list_retailers(rt, a.other_distributor)] == [fb_world.other_retailer_id]
    assert [r.id for r in programs.list_retailers(rt, a.other_brand_admin)] == []
    assert len(programs.list_retailers(rt, a.brand_admin)) == 2
    with pytest.raises(NotFoundError):
        programs.get_retailer(rt, a.distributor, fb_world.other_retailer_id)


def test_distributors_need_a_service_area_and_staff(rt, fb_world):
    with pytest.raises(ValidationError) as err:
        programs.create_distributor(rt, fb_world.actors.support, name="Nowhere Inc", program_ids=[999])
    assert err.value.fields == {
        "service_states": "a distributor serves only retailers inside its service area: "
        "give states and/or ZIP prefixes",
        "program_ids": "no program(s) 999",
    }
    with pytest.raises(ValidationError) as err:
        programs.create_distributor(rt, fb_world.actors.support, name="Odd", service_states=["Texas"])
    assert err.value.fields == {"service_states": "not two-letter state codes: TEXAS"}
    with pytest.raises(PermissionDeniedError):
        programs.create_distributor(rt, fb_world.actors.distributor, name="Me", service_states=["WA"])
    d = programs.create_distributor(
        rt, fb_world.actors.support, name="Bay Area Pet", service_zip_prefixes=["940", " 941 "], service_states=["ca"]
    )
    assert (d.slug, d.service_states, d.service_zip_prefixes, d.program_ids) == (
        "bay-area-pet",
        ("CA",),
        ("940", "941"),
        (),
    )
    # The program's brand admin may make it an option for its program; another brand's does not even see it.
    with pytest.raises(NotFoundError):
        programs.associate_program(rt, fb_world.actors.other_brand_admin, d.id, fb_world.kibble_id)
    assert programs.associate_program(rt, fb_world.actors.brand_admin, d.id, fb_world.kibble_id).program_ids == (
        fb_world.kibble_id,
    )


# -- enrollments -----------------------------------------------------------------------------------------


def test_enrollment_refused_when_the_distributor_is_not_associated_with_the_program(rt, fb_world):
    with pytest.raises(ValidationError) as err:
        programs.enroll(
            rt,
            fb_world.actors.retailer,
            retailer_id=fb_world.retailer_id,
            program_id=fb_world.wild_id,
            distributor_id=fb_world.other_distributor_id,
        )
    assert err.value.fields == {
        "distributor_id": "distributor 'Columbia Distributing' is not associated with program "
        f"'Wild Taste Buy 8 Get 1'; choose one of: Northwest Pet Supply (id {fb_world.distributor_id})"
    }


def test_enrollment_refused_when_the_distributor_does_not_serve_the_retailers_area(rt, fb_world):
    with pytest.raises(ValidationError) as err:
        programs.enroll(
            rt,
            fb_world.actors.other_retailer,
            retailer_id=fb_world.other_retailer_id,
            program_id=fb_world.wild_id,
            distributor_id=fb_world.distributor_id,
        )
    assert err.value.fields == {
        "distributor_id": "distributor 'Northwest Pet Supply' does not serve 'Bark Avenue Portland' (OR 97201): its "
        "service area is states WA; no associated distributor serves every location yet; ask support to add one to "
        "the program"
    }


def test_every_location_must_be_served_and_zip_prefixes_count(rt, fb_world):
    # Columbia serves OR and ZIPs 986...: a Vancouver, WA store is inside, a Seattle one is not.
    programs.add_location(
        rt, fb_world.actors.other_retailer, fb_world.other_retailer_id, LocationSpec("Vancouver", "B2", "WA", "98660")
    )
    programs.change_distributor(
        rt, fb_world.actors.other_retailer, fb_world.other_kibble_enrollment_id, fb_world.other_distributor_id
    )
    programs.add_location(
        rt, fb_world.actors.other_retailer, fb_world.other_retailer_id, LocationSpec("Seattle", "B3", "WA", "98101")
    )
    with pytest.raises(ValidationError) as err:
        programs.change_distributor(
            rt, fb_world.actors.other_retailer, fb_world.other_kibble_enrollment_id, fb_world.other_distributor_id
        )
    assert "does not serve 'Seattle' (WA 98101)" in err.value.fields["distributor_id"]
    assert "states OR; ZIP prefixes 986" in err.value.fields["distributor_id"]


def test_enrollment_needs_a_distributor_only_for_distributor_programs(rt, fb_world):
    a = fb_world.actors
    with pytest.raises(ValidationError) as err:
        programs.enroll(rt, a.retailer, retailer_id=fb_world.retailer_id, program_id=fb_world.wild_id)
    assert err.value.fields == {
        "distributor_id": "program 'Wild Taste Buy 8 Get 1' is fulfilled by a distributor; choose one of: "
        f"Northwest Pet Supply (id {fb_world.distributor_id})"
    }
    with pytest.raises(ValidationError) as err:
        programs.enroll(
            rt,
            a.other_retailer,
            retailer_id=fb_world.other_retailer_id,
            program_id=fb_world.treats_id,
            distributor_id=fb_world.other_distributor_id,
        )
    assert err.value.fields == {
        "distributor_id": "program 'Acme Treats Buy 5 Get 1' is direct-fulfilled (the manufacturer credits the "
        "store); leave the distributor out"
    }
    bare = programs.create_retailer(rt, a.support, name="No Stores Yet")
    with pytest.raises(ValidationError) as err:
        programs.enroll(rt, a.support, retailer_id=bare.id, program_id=fb_world.kibble_id, distributor_id=1)
    assert list(err.value.fields) == ["retailer_id"] and "add one first" in err.value.fields["retailer_id"]


def test_enroll_change_end_and_enroll_again(rt, fb_world):
    a = fb_world.actors
    e = programs.enroll(
        rt,
        a.retailer,
        retailer_id=fb_world.retailer_id,
        program_id=fb_world.wild_id,
        distributor_id=fb_world.distributor_id,
    )
    assert (e.program_name, e.distributor_name, e.active) == ("Wild Taste Buy 8 Get 1", "Northwest Pet Supply", True)
    with pytest.raises(ConflictError, match="already enrolled"):
        programs.enroll(
            rt,
            a.retailer,
            retailer_id=fb_world.retailer_id,
            program_id=fb_world.wild_id,
            distributor_id=fb_world.distributor_id,
        )
    ended = programs.end_enrollment(rt, a.retailer, e.id)
    assert ended.ended_at is not None and not ended.active
    with pytest.raises(ConflictError, match="has ended"):
        programs.change_distributor(rt, a.retailer, e.id, fb_world.distributor_id)
    again = programs.enroll(
        rt,
        a.support,
        retailer_id=fb_world.retailer_id,
        program_id=fb_world.wild_id,
        distributor_id=fb_world.distributor_id,
    )
    assert again.id == e.id and again.active
    with rt.sessions() as s:
        moves = list(
            s.execute(
                select(FbEvent.event, FbEvent.actor)
                .where(FbEvent.subject_type == "enrollment", FbEvent.subject_id == e.id)
                .order_by(FbEvent.id)
            )
        )
    assert [tuple(m) for m in moves] == [("enroll", "test:paws"), ("end", "test:paws"), ("enroll", "test:support")]


def test_who_may_enroll_and_see_enrollments(rt, fb_world):
    a = fb_world.actors
    for actor in (a.distributor, a.brand_admin, a.viewer):
        with pytest.raises(PermissionDeniedError):
            programs.enroll(rt, actor, retailer_id=fb_world.retailer_id, program_id=fb_world.treats_id)
    with pytest.raises(NotFoundError):
        programs.enroll(rt, a.other_retailer, retailer_id=fb_world.retailer_id, program_id=fb_world.treats_id)
    with pytest.raises(NotFoundError):
        programs.change_distributor(rt, a.other_retailer, fb_world.kibble_enrollment_id, fb_world.other_distributor_id)
    with pytest.raises(PermissionDeniedError):
        programs.change_distributor(rt, a.distributor, fb_world.kibble_enrollment_id, fb_world.distributor_id)
    mine = {e.id for e in programs.list_enrollments(rt, a.retailer)}
    assert mine == {fb_world.kibble_enrollment_id, fb_world.treats_enrollment_id}
    assert {e.id for e in programs.list_enrollments(rt, a.distributor)} == {fb_world.kibble_enrollment_id}
    assert {e.id for e in programs.list_enrollments(rt, a.other_distributor)} == {fb_world.other_kibble_enrollment_id}
    assert len(programs.list_enrollments(rt, a.brand_admin)) == 3
    assert programs.list_enrollments(rt, a.other_brand_admin) == []
    assert len(programs.list_enrollments(rt, a.support, program_id=fb_world.kibble_id)) == 2
    with pytest.raises(NotFoundError):
        programs.get_enrollment(rt, a.distributor, fb_world.other_kibble_enrollment_id)


# -- price list ------------------------------------------------------------------------------------------


def test_price_list_upsert_adds_and_updates_by_sku(rt, fb_world):
    result = programs.upsert_price_list(
        rt,
        fb_world.actors.retailer,
        fb_world.retailer_id,
        [PriceSpec("kib-4", "13.00"), PriceSpec("KIB-15", Decimal("40.5"), "59.99")],
    )
    assert (result.created, result.updated) == (1, 1)
    assert [(p.sku, p.unit_cost, p.srp) for p in result.entries] == [
        ("KIB-15", Decimal("40.50"), Decimal("59.99")),
        ("KIB-4", Decimal("13.00"), None),
    ]
    with pytest.raises(ValidationError) as err:
        programs.upsert_price_list(
            rt,
            fb_world.actors.retailer,
            fb_world.retailer_id,
            [PriceSpec("A", "1.234"), PriceSpec("B", "-1"), PriceSpec("a", "x")],
        )
    assert err.value.fields == {
        "entries.0.unit_cost": "'1.234' has more than 2 decimal places; the cost is dollars and cents",
        "entries.1.unit_cost": "'-1' must be zero or more (and under 10 billion): the cost in dollars",
        "entries.2.unit_cost": "'x' is not an amount; give the cost in dollars, like 25.00",
        "entries.2.sku": "SKU 'a' is given twice",
    }
    with pytest.raises(NotFoundError):
        programs.upsert_price_list(rt, fb_world.actors.other_retailer, fb_world.retailer_id, [PriceSpec("A", "1")])
    with pytest.raises(PermissionDeniedError):
        programs.get_price_list(rt, fb_world.actors.distributor, fb_world.retailer_id)
    assert len(programs.get_price_list(rt, fb_world.actors.support, fb_world.retailer_id)) == 2


def test_item_rows_keep_the_canonical_unit(rt, fb_world):
    with rt.sessions() as s:
        units = set(s.scalars(select(ProgramItem.size_unit)))
    assert units == {"lb", "kg", "ct", "oz"}
