"""/api/v1 self-service: account numbers (with their history), distributor options, a distributor's own programs
and service area. Each role within its scope; refusals name the field and change nothing."""

from __future__ import annotations

from connector.core import catalog
from connector.core.database import transaction
from connector.core.frequent_buyer import programs
from connector.core.model import Role
from tests.frequent_buyer.conftest import auth


def _token(rt, name, role, **scope) -> str:
    with transaction(rt.sessions) as s:
        return catalog.create_api_token(s, name, role, **scope)[1]


def _distributor(rt, fb_world, distributor_id):
    d = programs.get_distributor(rt, fb_world.actors.support, distributor_id)
    return d.program_ids, d.service_states, d.service_zip_prefixes


def test_api_the_retailer_sets_an_account_number_and_reads_its_history(fb_client, fb_world, fb_tokens):
    url = f"/api/v1/enrollments/{fb_world.kibble_enrollment_id}"
    done = fb_client.put(f"{url}/account-number", json={"account_number": "NW-1"}, headers=auth(fb_tokens.retailer))
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["account_number"] == "NW-1"
    assert fb_client.get(url, headers=auth(fb_tokens.distributor)).get_json()["account_number"] == "NW-1"
    history = fb_client.get(f"{url}/account-number-changes", headers=auth(fb_tokens.distributor))
    assert [(c["old_account_number"], c["new_account_number"]) for c in history.get_json()["items"]] == [(None, "NW-1")]


def test_api_account_number_refusals_name_the_field_and_change_nothing(fb_client, rt, fb_world, fb_tokens):
    url = f"/api/v1/enrollments/{fb_world.kibble_enrollment_id}/account-number"
    fb_client.put(url, json={"account_number": "NW-1"}, headers=auth(fb_tokens.retailer))
    too_long = fb_client.put(url, json={"account_number": "X" * 51}, headers=auth(fb_tokens.retailer))
    assert too_long.status_code == 422 and "account_number" in str(too_long.get_json())
    assert fb_client.put(url, json={"account_number": "B"}, headers=auth(fb_tokens.other_retailer)).status_code == 404
    assert fb_client.put(url, json={"account_number": "D"}, headers=auth(fb_tokens.distributor)).status_code == 403
    treats = f"/api/v1/enrollments/{fb_world.treats_enrollment_id}/account-number"
    direct = fb_client.put(treats, json={"account_number": "T"}, headers=auth(fb_tokens.retailer))
    assert direct.status_code == 422 and "direct-fulfilled" in str(direct.get_json())
    e = programs.get_enrollment(rt, fb_world.actors.support, fb_world.kibble_enrollment_id)
    assert e.account_number == "NW-1"
    other = fb_client.get(
        f"/api/v1/enrollments/{fb_world.kibble_enrollment_id}/account-number-changes",
        headers=auth(fb_tokens.other_retailer),
    )
    assert other.status_code == 404


def test_api_enroll_and_change_distributor_carry_the_account_number(fb_client, rt, fb_world, fb_tokens):
    created = fb_client.post(
        "/api/v1/enrollments",
        json={"program_id": fb_world.wild_id, "distributor_id": fb_world.distributor_id, "account_number": "NW-9"},
        headers=auth(fb_tokens.retailer),
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["account_number"] == "NW-9"
    programs.set_service_area(
        rt, fb_world.actors.other_distributor, fb_world.other_distributor_id, service_states=["OR", "WA"]
    )
    moved = fb_client.patch(
        f"/api/v1/enrollments/{fb_world.kibble_enrollment_id}",
        json={"distributor_id": fb_world.other_distributor_id, "account_number": "C-3"},
        headers=auth(fb_tokens.retailer),
    )
    assert moved.status_code == 200, moved.get_json()
    assert (moved.get_json()["distributor_name"], moved.get_json()["account_number"]) == (
        "Columbia Distributing",
        "C-3",
    )


def test_api_distributor_options(fb_client, fb_world, fb_tokens):
    found = fb_client.get(
        "/api/v1/distributor-options", query_string={"program_id": fb_world.kibble_id}, headers=auth(fb_tokens.retailer)
    )
    assert [d["name"] for d in found.get_json()["items"]] == ["Northwest Pet Supply"]
    missing = fb_client.get(
        "/api/v1/distributor-options", query_string={"program_id": fb_world.kibble_id}, headers=auth(fb_tokens.support)
    )
    assert missing.status_code == 422 and "retailer_id" in str(missing.get_json())
    other = fb_client.get(
        "/api/v1/distributor-options",
        query_string={"program_id": fb_world.kibble_id, "retailer_id": fb_world.other_retailer_id},
        headers=auth(fb_tokens.retailer),
    )
    assert other.status_code == 404


def test_api_a_distributor_sets_its_programs_and_area_but_not_anothers(fb_client, rt, fb_world, fb_tokens):
    columbia = _token(rt, "fb-columbia", Role.DISTRIBUTOR, distributor_id=fb_world.other_distributor_id)
    own = f"/api/v1/distributors/{fb_world.other_distributor_id}"
    done = fb_client.put(
        f"{own}/programs", json={"program_ids": [fb_world.kibble_id, fb_world.wild_id]}, headers=auth(columbia)
    )
    assert done.status_code == 200 and done.get_json()["program_ids"] == [fb_world.kibble_id, fb_world.wild_id]
    area = fb_client.put(
        f"{own}/service-area", json={"service_states": ["OR", "WA"], "service_zip_prefixes": []}, headers=auth(columbia)
    )
    assert area.status_code == 200 and area.get_json()["service_states"] == ["OR", "WA"]
    before = _distributor(rt, fb_world, fb_world.distributor_id)
    north = f"/api/v1/distributors/{fb_world.distributor_id}"
    assert fb_client.put(f"{north}/programs", json={"program_ids": []}, headers=auth(columbia)).status_code == 404
    assert (
        fb_client.put(f"{north}/service-area", json={"service_states": ["OR"]}, headers=auth(columbia)).status_code
        == 404
    )
    assert (
        fb_client.put(f"{north}/service-area", json={"service_states": ["OR"]}, headers=auth(fb_tokens.retailer))
    ).status_code == 403
    stranded = fb_client.put(f"{north}/programs", json={"program_ids": []}, headers=auth(fb_tokens.distributor))
    assert stranded.status_code == 422 and "Paws Corner" in str(stranded.get_json())
    outside = fb_client.put(
        f"{north}/service-area", json={"service_states": ["OR"]}, headers=auth(fb_tokens.distributor)
    )
    assert outside.status_code == 422 and "Paws Corner Tacoma" in str(outside.get_json())
    assert _distributor(rt, fb_world, fb_world.distributor_id) == before


def test_api_the_account_number_changes_report(fb_client, rt, fb_world, fb_tokens):
    programs.set_account_number(rt, fb_world.actors.retailer, fb_world.kibble_enrollment_id, "NW-1")
    programs.set_account_number(rt, fb_world.actors.other_retailer, fb_world.other_kibble_enrollment_id, "C-1")
    page = fb_client.get("/api/v1/distribution/reports/account-number-changes", headers=auth(fb_tokens.distributor))
    assert page.status_code == 200, page.get_json()
    assert [r["new_account_number"] for r in page.get_json()["rows"]] == ["NW-1"]


def test_the_openapi_document_describes_the_self_service_routes(fb_client, fb_tokens):
    doc = fb_client.get("/api/v1/openapi.json").get_json()
    for path, method in [
        ("/api/v1/enrollments/{enrollment_id}/account-number", "put"),
        ("/api/v1/enrollments/{enrollment_id}/account-number-changes", "get"),
        ("/api/v1/distributor-options", "get"),
        ("/api/v1/distributors/{distributor_id}/programs", "put"),
        ("/api/v1/distributors/{distributor_id}/service-area", "put"),
    ]:
        assert method in doc["paths"][path], path
