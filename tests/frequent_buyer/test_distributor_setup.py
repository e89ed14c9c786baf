"""A distributor chooses its associated programs and service area itself; changes that would strand a retailer
enrolled with it are refused, naming the enrollments, and change nothing; nobody changes another distributor."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from connector.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from connector.core.frequent_buyer import programs
from connector.core.frequent_buyer.tables import FbEvent


def _setup(rt, fb_world, distributor_id: int) -> tuple:
    d = programs.get_distributor(rt, fb_world.actors.support, distributor_id)
    return d.program_ids, d.service_states, d.service_zip_prefixes


def _events(rt) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(FbEvent)) or 0)


def test_a_distributor_chooses_its_programs(rt, fb_world, actors):
    d = programs.set_associated_programs(
        rt, actors.other_distributor, fb_world.other_distributor_id, [fb_world.kibble_id, fb_world.wild_id]
    )
    assert d.program_ids == (fb_world.kibble_id, fb_world.wild_id)
    options = programs.list_distributors(rt, actors.retailer, program_id=fb_world.wild_id)
    assert fb_world.other_distributor_id in {o.id for o in options}
    before = _events(rt)
    programs.set_associated_programs(
        rt, actors.other_distributor, fb_world.other_distributor_id, [fb_world.wild_id, fb_world.kibble_id]
    )
    assert _events(rt) == before  # the same choice again records nothing


def test_dropping_a_program_retailers_are_enrolled_in_is_refused_naming_them(rt, fb_world, actors):
    before = _setup(rt, fb_world, fb_world.distributor_id)
    with pytest.raises(ValidationError) as err:
        programs.set_associated_programs(rt, actors.distributor, fb_world.distributor_id, [fb_world.wild_id])
    said = err.value.fields["program_ids"]
    assert "Paws Corner in 'Acme Kibble Buy 10 Get 1'" in said and "contact support" in said
    assert _setup(rt, fb_world, fb_world.distributor_id) == before
    # Once the retailer has ended that enrollment, the program can go.
    programs.end_enrollment(rt, actors.retailer, fb_world.kibble_enrollment_id)
    d = programs.set_associated_programs(rt, actors.distributor, fb_world.distributor_id, [fb_world.wild_id])
    assert d.program_ids == (fb_world.wild_id,)


def test_only_distributor_programs_can_be_chosen(rt, fb_world, actors):
    with pytest.raises(ValidationError) as err:
        programs.set_associated_programs(
            rt, actors.distributor, fb_world.distributor_id, [fb_world.kibble_id, fb_world.wild_id, fb_world.treats_id]
        )
    assert "direct-fulfilled" in err.value.fields["program_ids"]
    with pytest.raises(ValidationError) as err:
        programs.set_associated_programs(rt, actors.distributor, fb_world.distributor_id, [fb_world.kibble_id, 99999])
    assert "no program(s) 99999" in err.value.fields["program_ids"]
    assert _setup(rt, fb_world, fb_world.distributor_id)[0] == (fb_world.kibble_id, fb_world.wild_id)


def test_a_distributor_changes_its_service_area(rt, fb_world, actors):
    d = programs.set_service_area(
        rt, actors.distributor, fb_world.distributor_id, service_states=["wa", "ID"], service_zip_prefixes=["97"]
    )
    assert (d.service_states, d.service_zip_prefixes) == (("ID", "WA"), ("97",))


def test_an_area_that_leaves_out_an_enrolled_store_is_refused_naming_it(rt, fb_world, actors):
    before = _setup(rt, fb_world, fb_world.distributor_id)
    with pytest.raises(ValidationError) as err:
        programs.set_service_area(
            rt, actors.distributor, fb_world.distributor_id, service_states=[], service_zip_prefixes=["981"]
        )
    said = err.value.message
    assert "Paws Corner's store 'Paws Corner Tacoma' (WA 98402)" in said
    assert "Paws Corner Seattle" not in said  # 98101 stays inside 981
    assert _setup(rt, fb_world, fb_world.distributor_id) == before
    with pytest.raises(ValidationError) as err:
        programs.set_service_area(rt, actors.distributor, fb_world.distributor_id, service_states=["W1"])
    assert "not two-letter state codes: W1" in err.value.fields["service_states"]
    with pytest.raises(ValidationError) as err:
        programs.set_service_area(rt, actors.distributor, fb_world.distributor_id)
    assert "give states and/or ZIP prefixes" in err.value.fields["service_states"]
    assert _setup(rt, fb_world, fb_world.distributor_id) == before


def test_nobody_changes_another_distributors_programs_or_area(rt, fb_world, actors):
    before = _setup(rt, fb_world, fb_world.distributor_id)
    with pytest.raises(NotFoundError):
        programs.set_associated_programs(rt, actors.other_distributor, fb_world.distributor_id, [fb_world.kibble_id])
    with pytest.raises(NotFoundError):
        programs.set_service_area(rt, actors.other_distributor, fb_world.distributor_id, service_states=["OR"])
    for who in (actors.retailer, actors.brand_admin, actors.viewer):
        with pytest.raises(PermissionDeniedError):
            programs.set_service_area(rt, who, fb_world.distributor_id, service_states=["WA", "OR"])
        with pytest.raises(PermissionDeniedError):
            programs.set_associated_programs(rt, who, fb_world.distributor_id, [fb_world.kibble_id])
    assert _setup(rt, fb_world, fb_world.distributor_id) == before
    d = programs.set_service_area(rt, actors.support, fb_world.distributor_id, service_states=["WA", "OR"])
    assert d.service_states == ("OR", "WA")


def test_the_retailers_distributor_options_follow_the_area(rt, fb_world, actors):
    def options() -> list[str]:
        found = programs.distributor_options(
            rt, actors.retailer, retailer_id=fb_world.retailer_id, program_id=fb_world.kibble_id
        )
        return [d.name for d in found]

    assert options() == ["Northwest Pet Supply"]
    programs.set_service_area(rt, actors.other_distributor, fb_world.other_distributor_id, service_states=["OR", "WA"])
    assert options() == ["Northwest Pet Supply", "Columbia Distributing"]
    assert (
        programs.distributor_options(
            rt, actors.retailer, retailer_id=fb_world.retailer_id, program_id=fb_world.treats_id
        )
        == []
    )
    with pytest.raises(NotFoundError):
        programs.distributor_options(
            rt, actors.retailer, retailer_id=fb_world.other_retailer_id, program_id=fb_world.kibble_id
        )
