"""Self-service in the console: a retailer enrolls (Enroll button, distributor choice, account number), changes
its distributor and account number; a distributor chooses its programs and service area. Refusals say why and
change nothing; another retailer or distributor reaches nothing."""

from __future__ import annotations

from connector.core.frequent_buyer import programs
from tests.web.admin_fb.conftest import flashes


def _enrollment(rt, fb_world, enrollment_id):
    return programs.get_enrollment(rt, fb_world.actors.support, enrollment_id)


def _distributor(rt, fb_world, distributor_id):
    d = programs.get_distributor(rt, fb_world.actors.support, distributor_id)
    return d.program_ids, d.service_states, d.service_zip_prefixes


def test_the_programs_page_has_an_enroll_button_where_the_retailer_is_not_enrolled(signed_in, people, fb_world):
    page = signed_in(people.retailer).page("/admin/programs")
    wild = page.one("tr", data_program_id=str(fb_world.wild_id))
    assert wild.one("a", class_="fb-enroll")["href"] == f"/admin/programs/{fb_world.wild_id}#enroll"
    kibble = page.one("tr", data_program_id=str(fb_world.kibble_id))
    assert kibble.find_all("a", class_="fb-enroll") == []
    other = signed_in(people.distributor).page("/admin/programs")
    assert other.find_all("a", class_="fb-enroll") == []


def test_a_retailer_enrolls_choosing_among_the_distributors_that_serve_it(signed_in, people, rt, fb_world):
    browser = signed_in(people.retailer)
    page = browser.page(f"/admin/programs/{fb_world.wild_id}")
    form = page.one("form", id="enroll-form")
    offered = [o.text for o in form.one("select", name="distributor_id").find_all("option")]
    assert offered == ["Northwest Pet Supply"]
    done = browser.follow(
        browser.post(form["action"], {"distributor_id": str(fb_world.distributor_id), "account_number": "NW-5"})
    )
    assert flashes(done, "success") == ["Enrolled in Wild Taste Buy 8 Get 1 with Northwest Pet Supply."]
    assert done.one("strong", id="my-account-number").text == "NW-5"
    (wild,) = programs.list_enrollments(rt, fb_world.actors.retailer, program_id=fb_world.wild_id)
    assert (wild.distributor_id, wild.account_number) == (fb_world.distributor_id, "NW-5")


def test_enrolling_with_a_distributor_that_does_not_serve_the_store_is_refused_with_the_reason(
    signed_in, people, rt, fb_world
):
    programs.set_associated_programs(
        rt, fb_world.actors.other_distributor, fb_world.other_distributor_id, [fb_world.kibble_id, fb_world.wild_id]
    )
    browser = signed_in(people.retailer)
    done = browser.follow(
        browser.post(
            f"/admin/programs/{fb_world.wild_id}/enroll", {"distributor_id": str(fb_world.other_distributor_id)}
        )
    )
    (message,) = flashes(done, "error")
    assert "Columbia Distributing' does not serve" in message and "Nothing was changed." in message
    assert "choose one of: Northwest Pet Supply" in message
    assert programs.list_enrollments(rt, fb_world.actors.retailer, program_id=fb_world.wild_id) == []


def test_a_retailer_changes_its_distributor_and_account_number(signed_in, people, rt, fb_world):
    programs.set_service_area(
        rt, fb_world.actors.other_distributor, fb_world.other_distributor_id, service_states=["OR", "WA"]
    )
    browser = signed_in(people.retailer)
    page = browser.page(f"/admin/programs/{fb_world.kibble_id}")
    form = page.one("form", id="account-number")
    done = browser.follow(browser.post(form["action"], {"account_number": "NW-100"}))
    assert flashes(done, "success") == ["Account number with Northwest Pet Supply is now NW-100."]
    form = done.one("form", id="change-distributor")
    offered = [o.text for o in form.one("select", name="distributor_id").find_all("option")]
    assert offered == ["Northwest Pet Supply", "Columbia Distributing"]
    done = browser.follow(
        browser.post(form["action"], {"distributor_id": str(fb_world.other_distributor_id), "account_number": "C-7"})
    )
    assert flashes(done, "success") == ["Acme Kibble Buy 10 Get 1 is now credited by Columbia Distributing."]
    assert done.one("strong", id="my-distributor").text == "Columbia Distributing"
    history = [
        [td.text for td in tr.find_all("td")][1:4]
        for tr in done.one("table", id="account-number-changes").find_all("tr")[1:]
    ]
    assert history == [["Northwest Pet Supply", "—", "NW-100"], ["Columbia Distributing", "—", "C-7"]]


def test_another_retailer_cannot_change_the_first_ones_enrollment(signed_in, people, rt, fb_world):
    before = _enrollment(rt, fb_world, fb_world.kibble_enrollment_id)
    bark = signed_in(people.other_retailer)
    url = f"/admin/enrollments/{fb_world.kibble_enrollment_id}"
    assert bark.post(f"{url}/account-number", {"account_number": "BARK"}).status_code == 404
    assert bark.post(f"{url}/distributor", {"distributor_id": str(fb_world.distributor_id)}).status_code == 404
    distributor = signed_in(people.distributor)
    assert distributor.post(f"{url}/account-number", {"account_number": "NW"}).status_code == 403
    assert distributor.post(f"/admin/programs/{fb_world.wild_id}/enroll", {}).status_code == 403
    assert _enrollment(rt, fb_world, fb_world.kibble_enrollment_id) == before


def test_a_distributor_chooses_its_programs_and_service_area(signed_in, people, rt, fb_world):
    browser = signed_in(people.other_distributor)
    portal = browser.page("/admin/distribution")
    page = browser.page(portal.one("a", id="distributor-setup")["href"])
    boxes = page.one("form", id="distributor-programs").find_all("input", name="program_ids")
    assert {b["value"]: "checked" in b.attrs for b in boxes} == {
        str(fb_world.kibble_id): True,
        str(fb_world.wild_id): False,  # the direct-fulfilled treats program is not offered
    }
    done = browser.follow(
        browser.post(
            "/admin/distribution/setup/programs", {"program_ids": [str(fb_world.kibble_id), str(fb_world.wild_id)]}
        )
    )
    assert flashes(done, "success") == ["Columbia Distributing is now a distributor option for 2 program(s)."]
    done = browser.follow(
        browser.post("/admin/distribution/setup/service-area", {"service_states": "or, wa", "zips": "986"})
    )
    assert flashes(done, "success") == ["Columbia Distributing now serves OR, WA, 986*."]
    assert _distributor(rt, fb_world, fb_world.other_distributor_id) == (
        (fb_world.kibble_id, fb_world.wild_id),
        ("OR", "WA"),
        ("986",),
    )


def test_a_distributor_cannot_strand_its_retailers_and_is_told_who(signed_in, people, rt, fb_world):
    before = _distributor(rt, fb_world, fb_world.distributor_id)
    browser = signed_in(people.distributor)
    done = browser.follow(browser.post("/admin/distribution/setup/programs", {"program_ids": [str(fb_world.wild_id)]}))
    (message,) = flashes(done, "error")
    assert "Paws Corner in 'Acme Kibble Buy 10 Get 1'" in message and message.endswith("Nothing was changed.")
    done = browser.follow(browser.post("/admin/distribution/setup/service-area", {"service_states": "OR"}))
    (message,) = flashes(done, "error")
    assert "Paws Corner Seattle" in message and "Paws Corner Tacoma" in message
    assert _distributor(rt, fb_world, fb_world.distributor_id) == before


def test_one_distributor_cannot_change_another_and_other_roles_are_refused(signed_in, people, rt, fb_world):
    before = _distributor(rt, fb_world, fb_world.distributor_id)
    columbia = signed_in(people.other_distributor)
    # The distributor_id a staff form carries is ignored for a distributor: it always edits itself.
    columbia.post(
        "/admin/distribution/setup/service-area",
        {"distributor_id": str(fb_world.distributor_id), "service_states": "OR"},
    )
    assert _distributor(rt, fb_world, fb_world.distributor_id) == before
    page = columbia.page(f"/admin/distribution/setup?distributor_id={fb_world.distributor_id}")
    assert "Columbia Distributing" in page.one("legend").text
    for person in (people.retailer, people.brand_admin):
        assert signed_in(person).get("/admin/distribution/setup").status_code == 403
        assert (
            signed_in(person).post("/admin/distribution/setup/service-area", {"service_states": "OR"}).status_code
            == 403
        )
    assert _distributor(rt, fb_world, fb_world.distributor_id) == before
    admin = signed_in(people.platform_admin)
    page = admin.page(f"/admin/distribution/setup?distributor_id={fb_world.distributor_id}")
    assert "Northwest Pet Supply" in page.one("legend").text
