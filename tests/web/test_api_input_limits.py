"""Input the API must refuse with a 4xx, never a 500: ids past int64, deep JSON, loose booleans.

Each of these once answered 500 (SQLite's OverflowError, PostgreSQL's "out of range",
the JSON decoder's RecursionError) or silently accepted a value the client did not mean
(``"yes"`` as ``true``). The answers must name the field and say what is allowed, and
change nothing.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from connector.core.tables import LedgerEntry, Redemption
from tests.web.support import bearer

ID_MAX = 2**63 - 1
TOO_BIG = 2**63


def _count(rt, table) -> int:
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(table))


def _create(client, world, tokens) -> dict:
    response = client.post(
        "/api/v1/redemptions",
        json={"member_id": world.member.id, "reward_id": world.reward.id},
        headers=bearer(tokens.support),
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/redemptions/{id}"),
        ("post", "/api/v1/redemptions/{id}/reverse"),
        ("get", "/api/v1/members/{id}"),
        ("get", "/api/v1/programs/{id}"),
        ("get", "/api/v1/retailers/{id}"),
        ("get", "/api/v1/distribution/batches/{id}"),
        ("get", "/api/v1/pos-reports/{id}"),
        ("patch", "/api/v1/enrollments/{id}"),
        ("get", "/api/v1/retailer/batches/{id}/credit-memos"),
        ("put", "/api/v1/retailers/{id}/price-list"),
    ],
)
@pytest.mark.parametrize("value", [TOO_BIG, 10**30, 0, "٣"])
def test_a_path_id_past_int64_is_404_not_500(client, tokens, method, path, value):
    response = getattr(client, method)(path.format(id=value), headers=bearer(tokens.support), json={})
    assert response.status_code == 404, response.get_json()
    assert response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("value", [2**31 - 1, 2**31, ID_MAX])
def test_an_id_in_range_that_no_row_has_is_404_on_every_backend(client, rt, world, tokens, value):
    """PostgreSQL's INTEGER ids end at 2**31 - 1: a larger id the API accepts names no record (not a 500)."""
    assert client.get(f"/api/v1/redemptions/{value}", headers=bearer(tokens.support)).status_code == 404
    assert client.get(f"/api/v1/members/{value}", headers=bearer(tokens.support)).status_code == 404
    listed = client.get(f"/api/v1/redemptions?reward_id={value}", headers=bearer(tokens.support))
    assert listed.status_code in (200, 404), listed.get_json()
    if listed.status_code == 200:
        assert listed.get_json()["items"] == []
    body = {"member_id": value, "reward_id": world.reward.id}
    created = client.post("/api/v1/redemptions", json=body, headers=bearer(tokens.support))
    assert created.status_code in (404, 422), created.get_json()
    error = created.get_json()["error"]
    assert "member_id" in (error.get("fields") or error["details"]["fields"])
    assert _count(rt, Redemption) == 0


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/redemptions", "reward_id"),
        ("/api/v1/redemptions/export.csv", "reward_id"),
        ("/api/v1/programs", "brand_id"),
        ("/api/v1/distributors", "program_id"),
        ("/api/v1/enrollments", "retailer_id"),
        ("/api/v1/distribution/sections", "brand_id"),
        ("/api/v1/retailer/credit-status", "retailer_id"),
    ],
)
def test_a_query_id_past_int64_is_422_naming_the_field_and_the_range(client, tokens, path, field):
    response = client.get(f"{path}?{field}={TOO_BIG}", headers=bearer(tokens.support))
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    problem = response.get_json()["error"]["fields"][field]
    assert "1" in problem and str(ID_MAX) in problem


@pytest.mark.parametrize("field", ["member_id", "reward_id"])
def test_a_body_id_past_int64_is_422_naming_the_field_and_creates_nothing(client, rt, world, tokens, field):
    body = {"member_id": world.member.id, "reward_id": world.reward.id, field: TOO_BIG}
    response = client.post("/api/v1/redemptions", json=body, headers=bearer(tokens.support))
    assert response.status_code == 422, response.get_json()
    assert str(ID_MAX) in response.get_json()["error"]["fields"][field]
    assert _count(rt, Redemption) == 0


def test_a_body_id_past_int64_inside_a_list_is_422(client, tokens):
    response = client.post(
        "/api/v1/distributors", json={"name": "Far Away Feed", "program_ids": [TOO_BIG]}, headers=bearer(tokens.support)
    )
    assert response.status_code == 422, response.get_json()
    assert "program_ids" in next(iter(response.get_json()["error"]["fields"]))


@pytest.mark.parametrize("depth", [2_000, 30_000])
def test_deeply_nested_json_is_400_invalid_json(client, rt, tokens, depth):
    body = "[" * depth + "]" * depth
    response = client.post(
        "/api/v1/redemptions", data=body, content_type="application/json", headers=bearer(tokens.support)
    )
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_json" and "nested" in error["message"]
    assert _count(rt, Redemption) == 0


def test_deeply_nested_json_objects_are_400_too(client, tokens, world):
    body = '{"a":' * 10_000 + "1" + "}" * 10_000
    response = client.post(
        "/api/v1/redemptions", data=body, content_type="application/json", headers=bearer(tokens.support)
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_json_without_a_json_meaning_is_400(client, tokens, world, literal):
    body = f'{{"member_id": {literal}, "reward_id": {world.reward.id}}}'
    response = client.post(
        "/api/v1/redemptions", data=body, content_type="application/json", headers=bearer(tokens.support)
    )
    assert response.status_code == 400
    assert literal in response.get_json()["error"]["message"]


@pytest.mark.parametrize("value", ["yes", 0, 1, "true", "1", None])
def test_cancel_order_takes_only_true_or_false(client, rt, world, tokens, value):
    created = _create(client, world, tokens)
    ledger = _count(rt, LedgerEntry)
    response = client.post(
        f"/api/v1/redemptions/{created['id']}/reverse", json={"cancel_order": value}, headers=bearer(tokens.support)
    )
    assert response.status_code == 422, response.get_json()
    assert "true or false" in response.get_json()["error"]["fields"]["cancel_order"]
    detail = client.get(f"/api/v1/redemptions/{created['id']}", headers=bearer(tokens.support)).get_json()
    assert detail["reversed_at"] is None and _count(rt, LedgerEntry) == ledger


@pytest.mark.parametrize("value", ["yes", "1", "on", "True", "t"])
def test_a_boolean_query_parameter_takes_only_true_or_false(client, tokens, value):
    response = client.get(f"/api/v1/enrollments?active={value}", headers=bearer(tokens.support))
    assert response.status_code == 422
    assert "true or false" in response.get_json()["error"]["fields"]["active"]


@pytest.mark.parametrize("value", ["true", "false"])
def test_a_boolean_query_parameter_takes_true_and_false(client, tokens, value):
    assert client.get(f"/api/v1/enrollments?active={value}", headers=bearer(tokens.support)).status_code == 200


@pytest.mark.parametrize("value", ["1_000", "١", " 5", "+5", "5.0"])
def test_an_integer_query_parameter_takes_plain_digits_only(client, tokens, value):
    response = client.get("/api/v1/redemptions", query_string={"limit": value}, headers=bearer(tokens.support))
    assert response.status_code == 422, response.get_json()
    assert "limit" in response.get_json()["error"]["fields"]


def test_a_retailer_named_past_the_slug_length_gets_a_cut_slug_not_a_500(client, tokens):
    response = client.post("/api/v1/retailers", json={"name": "0" * 200}, headers=bearer(tokens.support))
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    assert response.get_json()["slug"] == "0" * 100


@pytest.mark.parametrize("path", ["/api/v1/redemptions/export.csv", "/api/v1/redemptions"])
def test_a_filter_id_no_row_can_have_is_404_before_any_byte_is_sent(client, tokens, path):
    """PostgreSQL's ids are 32-bit: a larger filter id once broke the CSV stream after its header was sent."""
    response = client.get(f"{path}?reward_id={2**33}", headers=bearer(tokens.support))
    assert response.status_code == 404
    assert "reward_id" in response.get_json()["error"]["details"]["fields"]


def test_associating_a_missing_program_is_422_naming_it_and_a_missing_distributor_404(client, tokens):
    created = client.post(
        "/api/v1/distributors", json={"name": "Far Away Feed", "service_states": ["WA"]}, headers=bearer(tokens.support)
    )
    assert created.status_code == 201, created.get_json()
    url = f"/api/v1/distributors/{created.get_json()['id']}/programs"
    response = client.post(url, json={"program_id": 999_999}, headers=bearer(tokens.support))
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"program_id": "no program 999999"}
    missing = client.post(
        "/api/v1/distributors/999999/programs", json={"program_id": 1}, headers=bearer(tokens.support)
    )
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("make", "status"),
    [(float, 201), (lambda i: i + 0.5, 422), (str, 422), (lambda i: True, 422)],
    ids=["integral-float", "fraction", "string", "boolean"],
)
def test_a_body_id_is_a_json_integer_as_json_schema_counts_them(client, world, tokens, make, status):
    """JSON Schema's ``integer`` takes 7.0 (the document says integer): so does the server; never "7" or true."""
    body = {"member_id": world.member.id, "reward_id": make(world.reward.id)}
    response = client.post("/api/v1/redemptions", json=body, headers=bearer(tokens.support))
    assert response.status_code == status, response.get_json()


def test_a_multipart_part_without_a_readable_name_is_422_not_500(client, rt, world):
    """A Content-Disposition name werkzeug cannot read (``name="D\\"``) became the key None: once a 500."""
    from connector.core.model import Role
    from tests.web.support import make_token

    boundary = "b0undary"
    part = f'--{boundary}\r\nContent-Disposition: form-data; name="D\\"\r\n\r\nx\r\n'
    body = (part + part + f"--{boundary}--\r\n").encode()
    response = client.post(
        "/api/v1/pos-reports",
        data=body,
        headers={
            **bearer(make_token(rt, Role.PLATFORM_ADMIN)),
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "no readable name" in response.get_json()["error"]["message"]
