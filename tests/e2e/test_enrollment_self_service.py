"""Self-service in a real browser: a store enrolls from the Programs page's Enroll button and later changes its
distributor; a distributor chooses its programs and service area, and a change that would strand the store is
refused with its name. Every step is a click; the database is checked after each one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from connector.core.access import Actor
from connector.core.frequent_buyer import programs
from connector.core.runtime import Runtime
from tests.e2e.enrollment_screenshots import (
    EnrollmentWorld,
    change_distributor,
    enroll_from_programs_page,
    open_distributor_setup,
    save_service_area,
    seed_enrollment_world,
)
from tests.e2e.pages import click_and_wait, flash, log_in


@pytest.fixture
def world(rt: Runtime) -> EnrollmentWorld:
    return seed_enrollment_world(rt)


def _enrollments(rt: Runtime, world: EnrollmentWorld) -> list[tuple[int, int | None, str | None]]:
    found = programs.list_enrollments(rt, Actor.system("check"), retailer_id=world.retailer_id)
    return [(e.program_id, e.distributor_id, e.account_number) for e in found]


def test_a_store_enrolls_and_changes_its_distributor(
    new_page: Callable[[], Any], rt: Runtime, world: EnrollmentWorld
) -> None:
    store: Page = new_page()
    log_in(store, world.retailer)
    enroll_from_programs_page(store, world.dog_id, "Rocky Mountain Feed", "MHP-2201")
    expect(flash(store, "success")).to_have_text("Enrolled in TOTW DOG DRY 12+1 with Rocky Mountain Feed.")
    expect(store.locator("#my-account-number")).to_have_text("MHP-2201")
    assert _enrollments(rt, world) == [(world.dog_id, world.rocky_id, "MHP-2201")]

    change_distributor(store, "Front Range Pet Supply", "FR-0417")
    expect(flash(store, "success")).to_have_text("TOTW DOG DRY 12+1 is now credited by Front Range Pet Supply.")
    expect(store.locator("#my-distributor")).to_have_text("Front Range Pet Supply")
    expect(store.locator("#account-number-changes tbody tr")).to_have_count(2)
    assert _enrollments(rt, world) == [(world.dog_id, world.front_range_id, "FR-0417")]

    # The Programs page now shows it enrolled, without an Enroll button on that row.
    store.goto("/admin/programs")
    dog = store.locator(f'tr[data-program-id="{world.dog_id}"]')
    expect(dog.locator("a.fb-enroll")).to_have_count(0)
    expect(dog).to_contain_text("Front Range Pet Supply")


def test_a_distributor_chooses_its_programs_and_area_and_cannot_strand_a_store(
    new_page: Callable[[], Any], rt: Runtime, world: EnrollmentWorld
) -> None:
    programs.enroll(rt, Actor.system("seed"), retailer_id=world.retailer_id, program_id=world.dog_id,
                    distributor_id=world.front_range_id)  # fmt: skip
    fran: Page = new_page()
    log_in(fran, world.front_range)
    open_distributor_setup(fran)
    fran.locator(f'#distributor-programs input[value="{world.cat_id}"]').check()
    click_and_wait(fran.locator('#distributor-programs button[type="submit"]'))
    expect(flash(fran, "success")).to_have_text("Front Range Pet Supply is now a distributor option for 2 program(s).")

    save_service_area(fran, "CO, WY", "82")
    expect(flash(fran, "success")).to_have_text("Front Range Pet Supply now serves CO, WY, 82*.")

    save_service_area(fran, "WY")
    refusal = flash(fran, "error")
    expect(refusal).to_contain_text("Mile High Pets's store 'Denver' (CO 80202)")
    expect(refusal).to_contain_text("Nothing was changed.")
    d = programs.get_distributor(rt, Actor.system("check"), world.front_range_id)
    assert (d.program_ids, d.service_states, d.service_zip_prefixes) == (
        (world.dog_id, world.cat_id),
        ("CO", "WY"),
        ("82",),
    )
